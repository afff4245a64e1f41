// Test PKI and signer for Notation: a throw-away root (and optional intermediate) CA, signing
// certificates with whatever extensions a test needs, and JWS envelopes in Notation's flattened
// form signed with jose, or (for cases jose refuses to produce) with node:crypto directly.
//
//   const pki = await makePki();                                    // root → intermediate → leaf, ECDSA P-256
//   const bytes = await signEnvelope({ signer: pki.leaf, chain: pki.chain, target });
//   const policy = trustPolicy([pki.root.certificate]);
import 'reflect-metadata';
import { createPrivateKey, sign as nodeSign, constants, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FlattenedSign } from 'jose';
import { parseCertificate, type Certificate, type NotationAlgorithm } from '../../../src/signatures/notation/certificates.js';
import type { NotationTrustPolicy, TrustStoreType, VerificationLevel } from '../../../src/signatures/notation/trust.js';
import { parseTrustedIdentities } from '../../../src/signatures/notation/identity.js';
import type { NotationTarget } from '../../../src/signatures/notation/verify.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyKind = 'ec-p256' | 'ec-p384' | 'ec-p521' | 'rsa-1024' | 'rsa-2048';

export interface TestKey {
  readonly kind: KeyKind;
  readonly keys: webcrypto.CryptoKeyPair;
  /** The private key as node:crypto holds it, for signing JWS. */
  readonly privateKey: KeyObject;
  /** The JWS algorithm Notation pairs with this key. */
  readonly alg: NotationAlgorithm;
  /** What certificates this key issues are signed with. */
  readonly certificateAlgorithm: { name: string; hash: string };
}

export interface Issued {
  readonly key: TestKey;
  readonly certificate: x509.X509Certificate;
  readonly der: Buffer;
}

const KEY_PARAMS: Record<KeyKind, { generate: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams; alg: NotationAlgorithm; hash: string }> = {
  'ec-p256': { generate: { name: 'ECDSA', namedCurve: 'P-256' }, alg: 'ES256', hash: 'SHA-256' },
  'ec-p384': { generate: { name: 'ECDSA', namedCurve: 'P-384' }, alg: 'ES384', hash: 'SHA-384' },
  'ec-p521': { generate: { name: 'ECDSA', namedCurve: 'P-521' }, alg: 'ES512', hash: 'SHA-512' },
  'rsa-1024': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    alg: 'PS256',
    hash: 'SHA-256',
  },
  'rsa-2048': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    alg: 'PS256',
    hash: 'SHA-256',
  },
};

export async function makeKey(kind: KeyKind): Promise<TestKey> {
  const params = KEY_PARAMS[kind];
  const keys = (await webcrypto.subtle.generateKey(params.generate, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    kind,
    keys,
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    alg: params.alg,
    certificateAlgorithm: { name: params.generate.name, hash: params.hash },
  };
}

export const FAR_PAST = new Date('2020-01-01T00:00:00Z');
export const FAR_FUTURE = new Date('2100-01-01T00:00:00Z');
/** The "now" of unit tests: every default certificate is valid then. */
export const NOW = new Date('2025-06-01T12:00:00Z');

export interface CertificateOptions {
  readonly subject: string;
  readonly key: TestKey;
  /** Signed by this issuer; self-signed when absent. */
  readonly issuer?: Issued;
  /** Basic constraints: true → CA:TRUE (pathLength optional); false → CA:FALSE; null → no extension. */
  readonly ca?: boolean | null;
  readonly pathLength?: number;
  /** Key usage flags, or null for no extension. Default: digitalSignature for a leaf, keyCertSign|cRLSign for a CA. */
  readonly keyUsage?: number | null;
  readonly keyUsageCritical?: boolean;
  /** EKU OIDs, or null for no extension. Default: codeSigning for a leaf, none for a CA. */
  readonly extendedKeyUsages?: readonly string[] | null;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Hash of the certificate's own signature; default the issuer key's usual one. */
  readonly signatureHash?: string;
  readonly extraExtensions?: readonly x509.Extension[];
}

let serial = 1;

export async function issue(options: CertificateOptions): Promise<Issued> {
  const isCa = options.ca === true;
  const extensions: x509.Extension[] = [];
  if (options.ca !== null) extensions.push(new x509.BasicConstraintsExtension(isCa, isCa ? options.pathLength : undefined, true));
  const keyUsage = options.keyUsage === undefined ? (isCa ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature) : options.keyUsage;
  if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage, options.keyUsageCritical ?? true));
  const ekus = options.extendedKeyUsages === undefined ? (isCa ? null : [x509.ExtendedKeyUsage.codeSigning]) : options.extendedKeyUsages;
  if (ekus !== null) extensions.push(new x509.ExtendedKeyUsageExtension([...ekus]));
  extensions.push(...(options.extraExtensions ?? []));

  const signer = options.issuer?.key ?? options.key;
  const signingAlgorithm = { ...signer.certificateAlgorithm, hash: options.signatureHash ?? signer.certificateAlgorithm.hash };
  const common = {
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    notBefore: options.notBefore ?? FAR_PAST,
    notAfter: options.notAfter ?? FAR_FUTURE,
    signingAlgorithm,
    extensions,
  };
  const certificate =
    options.issuer === undefined
      ? await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: options.subject, keys: options.key.keys })
      : await x509.X509CertificateGenerator.create({
          ...common,
          subject: options.subject,
          issuer: options.issuer.certificate.subject,
          signingKey: options.issuer.key.keys.privateKey,
          publicKey: options.key.keys.publicKey,
        });
  return { key: options.key, certificate, der: Buffer.from(certificate.rawData) };
}

export interface Pki {
  readonly root: Issued;
  readonly intermediate: Issued;
  readonly leaf: Issued;
  /** leaf, intermediate, root */
  readonly chain: readonly Issued[];
}

export const LEAF_SUBJECT = 'C=US, ST=WA, L=Seattle, O=Acme Rockets, OU=Builds, CN=signet test signer';

export async function makePki(leafKind: KeyKind = 'ec-p256', names: { root?: string; intermediate?: string; leaf?: string } = {}): Promise<Pki> {
  const root = await issue({ subject: names.root ?? 'C=US, O=Acme Rockets, CN=signet test root', key: await makeKey('ec-p256'), ca: true, pathLength: 1 });
  const intermediate = await issue({
    subject: names.intermediate ?? 'C=US, O=Acme Rockets, CN=signet test intermediate',
    key: await makeKey('ec-p256'),
    issuer: root,
    ca: true,
    pathLength: 0,
  });
  const leaf = await issue({ subject: names.leaf ?? LEAF_SUBJECT, key: await makeKey(leafKind), issuer: intermediate });
  return { root, intermediate, leaf, chain: [leaf, intermediate, root] };
}

export interface EnvelopeOptions {
  readonly signer: Issued;
  readonly chain: readonly Issued[];
  readonly target: NotationTarget | Record<string, unknown>;
  readonly scheme?: 'notary.x509' | 'notary.x509.signingAuthority';
  /** Defaults: signingTime 2025-01-01 for notary.x509; authenticSigningTime 2025-01-01 for signingAuthority. */
  readonly signingTime?: string | null;
  readonly authenticSigningTime?: string | null;
  readonly expiry?: string;
  /** Added to (or, when undefined values, removed from) the protected header. */
  readonly protectedExtra?: Readonly<Record<string, unknown>>;
  /** Replaces the computed crit list. */
  readonly crit?: readonly string[];
  readonly alg?: string;
  readonly cty?: string;
  /** The payload object; default `{targetArtifact: target}`. */
  readonly payload?: unknown;
  /** Sign with node:crypto instead of jose (jose refuses weak keys and mismatched algorithms). */
  readonly manual?: boolean;
}

export function protectedHeaderFor(options: EnvelopeOptions): Record<string, unknown> {
  const scheme = options.scheme ?? 'notary.x509';
  const header: Record<string, unknown> = {
    alg: options.alg ?? options.signer.key.alg,
    cty: options.cty ?? 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': scheme,
  };
  const signingTime = options.signingTime === undefined ? (scheme === 'notary.x509' ? '2025-01-01T00:00:00Z' : null) : options.signingTime;
  if (signingTime !== null) header['io.cncf.notary.signingTime'] = signingTime;
  const authentic =
    options.authenticSigningTime === undefined ? (scheme === 'notary.x509.signingAuthority' ? '2025-01-01T00:00:00Z' : null) : options.authenticSigningTime;
  if (authentic !== null) header['io.cncf.notary.authenticSigningTime'] = authentic;
  if (options.expiry !== undefined) header['io.cncf.notary.expiry'] = options.expiry;
  for (const [name, value] of Object.entries(options.protectedExtra ?? {})) {
    if (value === undefined) delete header[name];
    else header[name] = value;
  }
  const crit = ['io.cncf.notary.signingScheme', 'io.cncf.notary.authenticSigningTime', 'io.cncf.notary.expiry'].filter((name) => name in header);
  header['crit'] = options.crit !== undefined ? [...options.crit] : crit;
  return header;
}

const b64url = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64url');

/** A Notation JWS envelope (flattened JSON) as bytes, the way `notation sign` stores it. */
export async function signEnvelope(options: EnvelopeOptions): Promise<Buffer> {
  const header = protectedHeaderFor(options);
  const payload = Buffer.from(JSON.stringify(options.payload ?? { targetArtifact: options.target }), 'utf8');
  const x5c = options.chain.map((issued) => issued.der.toString('base64'));
  const unprotected = { x5c, 'io.cncf.notary.signingAgent': 'signet-tests/1.0' };
  if (options.manual === true) return signManually(header, payload, unprotected, options.signer.key);
  const crit = Object.fromEntries((header['crit'] as string[]).map((name) => [name, true]));
  const jws = await new FlattenedSign(payload).setProtectedHeader(header as { alg: string }).setUnprotectedHeader(unprotected).sign(options.signer.key.privateKey, { crit });
  return Buffer.from(JSON.stringify({ payload: jws.payload, protected: jws.protected, header: jws.header, signature: jws.signature }), 'utf8');
}

function signManually(header: Record<string, unknown>, payload: Buffer, unprotected: Record<string, unknown>, key: TestKey): Buffer {
  const protectedText = b64url(JSON.stringify(header));
  const payloadText = b64url(payload);
  const input = Buffer.from(`${protectedText}.${payloadText}`, 'ascii');
  const alg = String(header['alg']);
  const hash = `sha${alg.slice(2)}`;
  const signature = alg.startsWith('PS')
    ? nodeSign(hash, input, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 })
    : nodeSign(hash, input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return Buffer.from(JSON.stringify({ payload: payloadText, protected: protectedText, header: unprotected, signature: b64url(signature) }), 'utf8');
}

export function certificateOf(issued: Issued | Buffer): Certificate {
  const parsed = parseCertificate(Buffer.isBuffer(issued) ? issued : issued.der);
  if (!parsed.ok) throw new Error(`test certificate does not parse: ${parsed.error}`);
  return parsed.value;
}

export function trustPolicy(
  roots: readonly (Issued | Buffer)[],
  options: { type?: TrustStoreType; name?: string; identities?: readonly string[]; level?: VerificationLevel } = {},
): NotationTrustPolicy {
  const identities = parseTrustedIdentities(options.identities ?? ['*']);
  if (!identities.ok) throw new Error(`bad test identities: ${JSON.stringify(identities.error)}`);
  return {
    trustStore: { type: options.type ?? 'ca', name: options.name ?? 'test-ca', certificates: roots.map(certificateOf) },
    trustedIdentities: identities.value,
    level: options.level ?? 'strict',
  };
}

/** Re-encodes one base64url member of an envelope after `change` edits its decoded bytes. */
export function editMember(envelope: Buffer, member: 'payload' | 'protected' | 'signature', change: (decoded: Buffer) => Buffer): Buffer {
  const json = JSON.parse(envelope.toString('utf8')) as Record<string, unknown>;
  json[member] = change(Buffer.from(String(json[member]), 'base64url')).toString('base64url');
  return Buffer.from(JSON.stringify(json), 'utf8');
}

export function editJson(envelope: Buffer, change: (json: Record<string, unknown>) => void): Buffer {
  const json = JSON.parse(envelope.toString('utf8')) as Record<string, unknown>;
  change(json);
  return Buffer.from(JSON.stringify(json), 'utf8');
}
