// Reads a Notation COSE envelope (`application/cose`: a COSE_Sign1_Tagged, RFC 9052) into the same
// typed parts as a JWS envelope, without trusting any of it, and verifies its signature over the
// Sig_structure ["Signature1", protected, h'', payload] with the signing certificate's key. The
// Notary Project COSE envelope spec: alg (label 1) one of PS256/384/512, ES256/384/512; crit (2)
// naming io.cncf.notary.signingScheme (and expiry and authenticSigningTime when present); content
// type (3) the Notation payload type; times as tag 1 (epoch); x5chain (33) in the unprotected header,
// leaf first. CBOR is decoded by cbor2 with duplicate keys, streaming and deep nesting refused.
import { constants, verify as nodeVerify } from 'node:crypto';
import { decode, encode, Tag } from 'cbor2';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';
import { MAX_CHAIN_LENGTH, parseCertificate, type Certificate, type NotationAlgorithm } from './certificates.js';
import { HEADER, PAYLOAD_CONTENT_TYPE, UNDERSTOOD_CRITICAL, type ProtectedHeader, type SignedEnvelope } from './envelope.js';

const COSE_SIGN1_TAG = 18;
const LABEL = { alg: 1, crit: 2, contentType: 3, x5chain: 33 } as const;
const ALGORITHMS: ReadonlyMap<number, NotationAlgorithm> = new Map([
  [-37, 'PS256'],
  [-38, 'PS384'],
  [-39, 'PS512'],
  [-7, 'ES256'],
  [-35, 'ES384'],
  [-36, 'ES512'],
]);
const MUST_BE_CRITICAL: readonly string[] = [HEADER.signingScheme, HEADER.authenticSigningTime, HEADER.expiry, HEADER.verificationPlugin, HEADER.verificationPluginMinVersion];
// rejectBigInts: a bignum (tag 2/3) of a few hundred KiB took a minute to convert to a BigInt, with the
// event loop held, before any trust check; no Notary Project header carries one.
const DECODE_OPTIONS = { preferMap: true, rejectDuplicateKeys: true, rejectStreaming: true, rejectBigInts: true, rejectLargeNegatives: true, maxDepth: 16 } as const;

export interface CoseEnvelope extends SignedEnvelope {
  readonly format: 'cose';
  /** The protected header exactly as received (a bstr), for the Sig_structure. */
  readonly protectedBytes: Uint8Array;
  readonly payload: Uint8Array;
}

export function parseCoseEnvelope(bytes: Buffer): Result<CoseEnvelope, string> {
  let outer: unknown;
  try {
    outer = decode(bytes, DECODE_OPTIONS);
  } catch (error) {
    return err(`the COSE envelope is not valid CBOR (${error instanceof Error ? error.message.slice(0, 120) : 'unreadable'})`);
  }
  if (!(outer instanceof Tag) || Number(outer.tag) !== COSE_SIGN1_TAG) return err('the COSE envelope is not a COSE_Sign1_Tagged (CBOR tag 18)');
  const parts = outer.contents;
  if (!Array.isArray(parts) || parts.length !== 4) return err('the COSE_Sign1 is not an array of protected header, unprotected header, payload and signature');
  const [protectedBytes, unprotected, payload, signature] = parts as unknown[];
  if (!(protectedBytes instanceof Uint8Array) || protectedBytes.length === 0) return err('the COSE protected header is not a non-empty byte string');
  if (!(unprotected instanceof Map)) return err('the COSE unprotected header is not a map');
  if (!(payload instanceof Uint8Array)) return err('the COSE payload is detached or not a byte string; Notation embeds it');
  if (!(signature instanceof Uint8Array) || signature.length === 0) return err('the COSE signature is not a byte string');

  let decodedHeader: unknown;
  try {
    decodedHeader = decode(protectedBytes, DECODE_OPTIONS);
  } catch {
    return err('the COSE protected header is not valid CBOR');
  }
  if (!(decodedHeader instanceof Map)) return err('the COSE protected header is not a map');
  const header = protectedHeader(decodedHeader as Map<unknown, unknown>, unprotected as Map<unknown, unknown>);
  if (!header.ok) return header;
  const chain = parseX5chain(unprotected.get(LABEL.x5chain));
  if (!chain.ok) return chain;
  const stamp = unprotected.get(HEADER.timestampSignature);
  if (stamp !== undefined && !(stamp instanceof Uint8Array && stamp.length > 0)) return err(`the unprotected header ${HEADER.timestampSignature} is not a byte string`);
  return ok({
    format: 'cose',
    header: header.value,
    chain: chain.value,
    timestampToken: stamp instanceof Uint8Array ? Buffer.from(stamp) : undefined,
    signatureValue: Buffer.from(signature),
    protectedBytes,
    payload,
  });
}

function protectedHeader(header: Map<unknown, unknown>, unprotected: Map<unknown, unknown>): Result<ProtectedHeader, string> {
  const algLabel = header.get(LABEL.alg);
  const alg = typeof algLabel === 'number' ? ALGORITHMS.get(algLabel) : undefined;
  if (alg === undefined) return err(`the COSE algorithm ${quote(algLabel)} is not one Notation allows (PS256, PS384, PS512, ES256, ES384, ES512)`);
  const contentType = header.get(LABEL.contentType);
  if (contentType !== PAYLOAD_CONTENT_TYPE) return err(`the COSE content type is ${quote(contentType)}, not ${PAYLOAD_CONTENT_TYPE}`);
  for (const key of header.keys()) {
    if (unprotected.has(key)) return err(`the header ${quote(key)} appears both protected and unprotected`);
  }

  const critField = header.get(LABEL.crit);
  if (!Array.isArray(critField) || critField.length === 0) return err(`the COSE protected header must have a non-empty crit list naming ${HEADER.signingScheme}`);
  const crit = critField as unknown[];
  if (new Set(crit).size !== crit.length) return err('the COSE crit list names a header twice');
  for (const name of crit) {
    if (!header.has(name)) return err(`the COSE crit list names ${quote(name)}, which the protected header does not contain`);
  }
  for (const name of MUST_BE_CRITICAL) {
    if (header.has(name) && !crit.includes(name)) return err(`the protected header has ${name} but does not list it in crit`);
  }
  if (header.has(HEADER.verificationPlugin)) {
    return err(`the signature requires the Notation verification plugin ${quote(header.get(HEADER.verificationPlugin))}; Signet does not run verification plugins`);
  }
  const unknown = crit.filter((name) => typeof name !== 'string' || !UNDERSTOOD_CRITICAL.includes(name));
  if (unknown.length > 0) return err(`the signature marks ${unknown.map(quote).join(', ')} as critical, which Signet does not understand, so it cannot be verified safely`);

  const scheme = header.get(HEADER.signingScheme);
  if (scheme !== 'notary.x509' && scheme !== 'notary.x509.signingAuthority') return err(`the signing scheme ${quote(scheme)} is not notary.x509 or notary.x509.signingAuthority`);
  const times: Record<string, Date | undefined> = {};
  for (const name of [HEADER.signingTime, HEADER.authenticSigningTime, HEADER.expiry]) {
    const value = header.get(name);
    if (value === undefined) continue;
    // cbor2 turns tag 1 (epoch seconds) into a Date; anything else is not a Notation time.
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) return err(`${name} is not a CBOR epoch time (tag 1)`);
    times[name] = value;
  }
  if (scheme === 'notary.x509' && times[HEADER.signingTime] === undefined) return err(`the notary.x509 signing scheme requires ${HEADER.signingTime}`);
  if (scheme === 'notary.x509.signingAuthority' && times[HEADER.authenticSigningTime] === undefined) {
    return err(`the notary.x509.signingAuthority signing scheme requires ${HEADER.authenticSigningTime}`);
  }
  return ok({
    alg,
    signingScheme: scheme,
    signingTime: times[HEADER.signingTime],
    authenticSigningTime: times[HEADER.authenticSigningTime],
    expiry: times[HEADER.expiry],
  });
}

function parseX5chain(field: unknown): Result<Certificate[], string> {
  // RFC 9360: one certificate may be a bare byte string, several are an array.
  const entries = field instanceof Uint8Array ? [field] : field;
  if (!Array.isArray(entries) || entries.length === 0) return err('the COSE unprotected header has no x5chain certificate chain');
  if (entries.length > MAX_CHAIN_LENGTH) return err(`the x5chain has ${entries.length} certificates; at most ${MAX_CHAIN_LENGTH} are accepted`);
  const chain: Certificate[] = [];
  for (const [index, entry] of entries.entries()) {
    if (!(entry instanceof Uint8Array) || entry.length === 0) return err(`x5chain[${index}] is not a byte string (DER certificate)`);
    const certificate = parseCertificate(Buffer.from(entry));
    if (!certificate.ok) return err(`x5chain[${index}] ${certificate.error}`);
    chain.push(certificate.value);
  }
  return ok(chain);
}

function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The payload when the COSE signature verifies with the leaf's key under the declared algorithm. */
export function verifyCose(envelope: CoseEnvelope, leaf: Certificate): Uint8Array | undefined {
  // cbor2 writes a Node Buffer as an object, so the byte strings go in as plain Uint8Array views.
  const toBeSigned = encode(['Signature1', plain(envelope.protectedBytes), new Uint8Array(0), plain(envelope.payload)]);
  const alg = envelope.header.alg;
  const hash = `sha${alg.slice(2)}`;
  try {
    const verified = alg.startsWith('PS')
      ? nodeVerify(hash, toBeSigned, { key: leaf.node.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }, envelope.signatureValue)
      : nodeVerify(hash, toBeSigned, { key: leaf.node.publicKey, dsaEncoding: 'ieee-p1363' }, envelope.signatureValue);
    return verified ? envelope.payload : undefined;
  } catch {
    return undefined;
  }
}
