// Reads a Notation JWS envelope (flattened JSON serialization) into typed parts without trusting any
// of it: the protected header's Notary Project fields and their critical-header rules, the x5c
// certificates, and (separately, after the signature verified) the signed payload's target
// descriptor. Pure; every refusal is a sentence for the developer who produced the signature.
import type { Digest } from '../../reference/types.js';
import { asDigest } from '../../reference/digest.js';
import { decodeStrictBase64 } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';
import { isJsonObject, parseStrictJsonBytes, type JsonObject } from '../../util/strict-json.js';
import { MAX_CHAIN_LENGTH, parseCertificate, type Certificate, type NotationAlgorithm } from './certificates.js';

export const NOTATION_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
export const JWS_MEDIA_TYPE = 'application/jose+json';
export const COSE_MEDIA_TYPE = 'application/cose';
export const PAYLOAD_CONTENT_TYPE = 'application/vnd.cncf.notary.payload.v1+json';

export const HEADER = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  /** Unprotected: the RFC 3161 TimeStampToken over the signature value. */
  timestampSignature: 'io.cncf.notary.timestampSignature',
} as const;

/** Critical headers this verifier implements; anything else marked critical makes the signature unusable. */
export const UNDERSTOOD_CRITICAL: readonly string[] = [HEADER.signingScheme, HEADER.signingTime, HEADER.authenticSigningTime, HEADER.expiry];

/** Headers that must be listed in `crit` whenever they are present (Notary Project JWS envelope spec). */
const MUST_BE_CRITICAL: readonly string[] = [HEADER.signingScheme, HEADER.authenticSigningTime, HEADER.expiry, HEADER.verificationPlugin, HEADER.verificationPluginMinVersion];

const ALGORITHMS: readonly NotationAlgorithm[] = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

export type SigningScheme = 'notary.x509' | 'notary.x509.signingAuthority';

export interface ProtectedHeader {
  readonly alg: NotationAlgorithm;
  readonly signingScheme: SigningScheme;
  /** Claimed by the signer; not authenticated. Required for notary.x509. */
  readonly signingTime: Date | undefined;
  /** Vouched for by the signing authority. Required for notary.x509.signingAuthority. */
  readonly authenticSigningTime: Date | undefined;
  readonly expiry: Date | undefined;
}

/** What every Notation envelope format yields once parsed (nothing in it is trusted yet). */
export interface SignedEnvelope {
  readonly format: 'jws' | 'cose';
  readonly header: ProtectedHeader;
  /** Leaf first. */
  readonly chain: readonly Certificate[];
  /** The DER TimeStampToken from the unprotected header, when there is one (not yet verified). */
  readonly timestampToken: Buffer | undefined;
  /** The raw signature value: what an RFC 3161 timestamp countersigns. */
  readonly signatureValue: Buffer;
}

export interface JwsEnvelope extends SignedEnvelope {
  readonly format: 'jws';
  /** The three base64url members exactly as received, for jose. */
  readonly jws: { readonly protected: string; readonly payload: string; readonly signature: string; readonly header: Readonly<Record<string, unknown>> };
}

export interface TargetArtifact {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url as JWS requires (RFC 7515 §2): no padding, no other alphabet, no impossible length. */
export function isBase64Url(text: string): boolean {
  return text !== '' && BASE64URL.test(text) && text.length % 4 !== 1;
}
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

export function parseJwsEnvelope(bytes: Buffer): Result<JwsEnvelope, string> {
  const parsed = parseStrictJsonBytes(bytes);
  if (!parsed.ok) return err(`the JWS envelope is not valid JSON: ${parsed.error}`);
  const envelope = parsed.value;
  if (!isJsonObject(envelope)) return err('the JWS envelope is not a JSON object');
  for (const member of Object.keys(envelope)) {
    if (!['payload', 'protected', 'header', 'signature'].includes(member)) {
      return err(`the JWS envelope has the member ${quote(member)}; Notation uses the flattened JSON serialization with payload, protected, header and signature only`);
    }
  }
  const { payload, protected: protectedText, header, signature } = envelope;
  if (typeof payload !== 'string' || typeof protectedText !== 'string' || typeof signature !== 'string') {
    return err('the JWS envelope must have string payload, protected and signature members');
  }
  // Only the protected header is decoded before the signature is checked. A payload or signature that
  // is not clean base64url (e.g. padded) simply fails verification, since the signing input is the text as sent.
  if (!isBase64Url(protectedText)) return err('the JWS protected member is not unpadded base64url');
  if (!isJsonObject(header)) return err('the JWS envelope has no unprotected header object (it carries the x5c certificate chain)');

  const protectedHeader = parseProtectedHeader(protectedText, header);
  if (!protectedHeader.ok) return protectedHeader;
  const chain = parseX5c(header['x5c']);
  if (!chain.ok) return chain;
  const stamp = header[HEADER.timestampSignature];
  let timestampToken: Buffer | undefined;
  if (stamp !== undefined) {
    timestampToken = typeof stamp === 'string' ? decodeStrictBase64(stamp) : undefined;
    if (timestampToken === undefined || timestampToken.length === 0) return err(`the unprotected header ${HEADER.timestampSignature} is not standard base64 (a DER RFC 3161 token)`);
  }
  return ok({
    format: 'jws',
    jws: { protected: protectedText, payload, signature, header },
    header: protectedHeader.value,
    chain: chain.value,
    timestampToken,
    signatureValue: Buffer.from(signature, 'base64url'),
  });
}

function parseProtectedHeader(text: string, unprotected: JsonObject): Result<ProtectedHeader, string> {
  const decoded = parseStrictJsonBytes(Buffer.from(text, 'base64url'));
  if (!decoded.ok) return err(`the JWS protected header is not valid JSON: ${decoded.error}`);
  const header = decoded.value;
  if (!isJsonObject(header)) return err('the JWS protected header is not a JSON object');

  const alg = header['alg'];
  if (typeof alg !== 'string' || !(ALGORITHMS as readonly string[]).includes(alg)) {
    return err(`the JWS algorithm ${quote(alg)} is not one Notation allows (${ALGORITHMS.join(', ')})`);
  }
  const cty = header['cty'];
  if (cty !== PAYLOAD_CONTENT_TYPE) return err(`the JWS content type (cty) is ${quote(cty)}, not ${PAYLOAD_CONTENT_TYPE}`);
  if (Object.hasOwn(header, 'b64')) return err('the JWS protected header has "b64"; Notation payloads are always base64url-encoded');
  for (const name of Object.keys(header)) {
    if (Object.hasOwn(unprotected, name)) return err(`the header ${quote(name)} appears both protected and unprotected`);
  }

  const critField = header['crit'];
  if (!Array.isArray(critField) || critField.length === 0 || !critField.every((entry) => typeof entry === 'string')) {
    return err(`the JWS protected header must have a non-empty "crit" list naming ${HEADER.signingScheme}`);
  }
  const crit = critField as string[];
  if (new Set(crit).size !== crit.length) return err('the JWS "crit" list names a header twice');
  for (const name of crit) {
    if (!Object.hasOwn(header, name)) return err(`the JWS "crit" list names ${quote(name)}, which the protected header does not contain`);
  }
  for (const name of MUST_BE_CRITICAL) {
    if (Object.hasOwn(header, name) && !crit.includes(name)) return err(`the protected header has ${name} but does not list it in "crit"`);
  }
  const plugin = header[HEADER.verificationPlugin];
  if (plugin !== undefined) {
    return err(`the signature requires the Notation verification plugin ${quote(plugin)}; Signet does not run verification plugins`);
  }
  const unknown = crit.filter((name) => !UNDERSTOOD_CRITICAL.includes(name));
  if (unknown.length > 0) {
    return err(`the signature marks ${unknown.map(quote).join(', ')} as critical, which Signet does not understand, so it cannot be verified safely`);
  }

  const scheme = header[HEADER.signingScheme];
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority') {
    return err(`the signing scheme ${quote(scheme)} is not notary.x509 or notary.x509.signingAuthority`);
  }
  const signingTime = timeField(header, HEADER.signingTime);
  if (!signingTime.ok) return signingTime;
  const authenticSigningTime = timeField(header, HEADER.authenticSigningTime);
  if (!authenticSigningTime.ok) return authenticSigningTime;
  const expiry = timeField(header, HEADER.expiry);
  if (!expiry.ok) return expiry;
  if (scheme === 'notary.x509' && signingTime.value === undefined) return err(`the notary.x509 signing scheme requires ${HEADER.signingTime}`);
  if (scheme === 'notary.x509.signingAuthority' && authenticSigningTime.value === undefined) {
    return err(`the notary.x509.signingAuthority signing scheme requires ${HEADER.authenticSigningTime}`);
  }
  return ok({
    alg: alg as NotationAlgorithm,
    signingScheme: scheme,
    signingTime: signingTime.value,
    authenticSigningTime: authenticSigningTime.value,
    expiry: expiry.value,
  });
}

function timeField(header: JsonObject, name: string): Result<Date | undefined, string> {
  const value = header[name];
  if (value === undefined) return ok(undefined);
  if (typeof value !== 'string' || !RFC3339.test(value)) return err(`${name} is ${quote(value)}, not an RFC 3339 time`);
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) return err(`${name} is ${quote(value)}, not a valid time`);
  return ok(time);
}

function parseX5c(field: unknown): Result<Certificate[], string> {
  if (!Array.isArray(field) || field.length === 0) return err('the JWS unprotected header has no x5c certificate chain');
  if (field.length > MAX_CHAIN_LENGTH) return err(`the x5c chain has ${field.length} certificates; at most ${MAX_CHAIN_LENGTH} are accepted`);
  const chain: Certificate[] = [];
  for (const [index, entry] of field.entries()) {
    const der = typeof entry === 'string' ? decodeStrictBase64(entry) : undefined;
    if (der === undefined || der.length === 0) return err(`x5c[${index}] is not standard base64 (DER certificate)`);
    const certificate = parseCertificate(der);
    if (!certificate.ok) return err(`x5c[${index}] ${certificate.error}`);
    chain.push(certificate.value);
  }
  return ok(chain);
}

/** The signed payload (only call after the signature verified): `{"targetArtifact": {mediaType, digest, size, ...}}`. */
export function parseTargetArtifact(payload: Uint8Array): Result<TargetArtifact, string> {
  const parsed = parseStrictJsonBytes(payload);
  if (!parsed.ok) return err(`the signed payload is not valid JSON: ${parsed.error}`);
  if (!isJsonObject(parsed.value)) return err('the signed payload is not a JSON object');
  const target = parsed.value['targetArtifact'];
  if (!isJsonObject(target)) return err('the signed payload has no targetArtifact descriptor');
  const { mediaType, digest, size, annotations } = target;
  if (typeof mediaType !== 'string' || mediaType === '') return err('the signed targetArtifact has no mediaType');
  const checkedDigest = typeof digest === 'string' ? asDigest(digest) : undefined;
  if (checkedDigest === undefined) return err(`the signed targetArtifact digest ${quote(digest)} is not a valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return err(`the signed targetArtifact size ${quote(size)} is not a byte count`);
  const strings: Record<string, string> = {};
  if (annotations !== undefined) {
    if (!isJsonObject(annotations)) return err('the signed targetArtifact annotations are not an object');
    for (const [name, value] of Object.entries(annotations)) {
      if (typeof value !== 'string') return err(`the signed targetArtifact annotation ${quote(name)} is not a string`);
      Object.defineProperty(strings, name, { value, enumerable: true });
    }
  }
  return ok({ mediaType, digest: checkedDigest, size, annotations: strings });
}
