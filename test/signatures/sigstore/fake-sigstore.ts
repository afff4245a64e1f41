// A private Sigstore for tests: CA certificates and Fulcio-style leaves (made with @peculiar/x509),
// a Rekor log key that signs entries (SETs over the RFC 8785 form of the entry, as Rekor does), and
// builders for what cosign publishes: `.sig` layer annotations and Sigstore bundles (DSSE in-toto
// statements). Everything is generated fresh, so tests can vary one field at a time.
import 'reflect-metadata';
import { KeyObject, createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, webcrypto } from 'node:crypto';
import type { KeyObject as KeyObjectType } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
export const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
export const FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const HOUR = 3600_000;

export interface FakeCertificate {
  readonly pem: string;
  readonly der: Buffer;
  readonly keys: CryptoKeyPair;
  /** The private key as a node KeyObject, for signing payloads. */
  readonly privateKey: KeyObjectType;
}

export interface CertificateOptions {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Default true for CAs. */
  readonly ca?: boolean;
  readonly pathLength?: number;
  /** KeyUsageFlags bits; default keyCertSign|cRLSign for CAs, digitalSignature for leaves; null: no extension. */
  readonly keyUsage?: number | null;
  /** EKU OIDs; undefined: none for CAs, codeSigning for leaves; null: no extension. */
  readonly extendedKeyUsages?: readonly string[] | null;
  readonly extensions?: readonly x509.Extension[];
  /** Reuse a key pair (default: a fresh one). */
  readonly keys?: CryptoKeyPair;
}

export interface LeafOptions extends CertificateOptions {
  readonly email?: string;
  readonly uri?: string;
  readonly dns?: string;
  /** Recorded as Fulcio's v2 issuer extension (DER UTF8String). */
  readonly oidcIssuer?: string;
  /** Recorded as the deprecated v1 issuer extension (raw bytes). */
  readonly oidcIssuerV1?: string;
  readonly subject?: string;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function finish(certificate: x509.X509Certificate, keys: CryptoKeyPair): Promise<FakeCertificate> {
  const der = Buffer.from(certificate.rawData);
  // @peculiar/x509 ends its PEM without a newline; cosign's PEM (Go) ends with one, and chains are concatenations.
  return { pem: `${certificate.toString('pem').trimEnd()}\n`, der, keys, privateKey: KeyObject.from(keys.privateKey) };
}

function caExtensions(options: CertificateOptions): x509.Extension[] {
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(options.ca ?? true, options.pathLength, true)];
  const usage = options.keyUsage === undefined ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : options.keyUsage;
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  if (options.extendedKeyUsages) extensions.push(new x509.ExtendedKeyUsageExtension([...options.extendedKeyUsages]));
  return [...extensions, ...(options.extensions ?? [])];
}

/** A self-signed root, or an intermediate when `issuer` is given. */
export async function makeCa(name: string, issuer?: FakeCertificate, options: CertificateOptions = {}): Promise<FakeCertificate> {
  const keys = options.keys ?? (await keyPair());
  const notBefore = options.notBefore ?? new Date(Date.now() - 24 * HOUR);
  const notAfter = options.notAfter ?? new Date(Date.now() + 365 * 24 * HOUR);
  const extensions = caExtensions(options);
  if (issuer === undefined) {
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({ name, keys, notBefore, notAfter, extensions, signingAlgorithm: SIGNING });
    return finish(certificate, keys);
  }
  const certificate = await x509.X509CertificateGenerator.create({
    subject: name,
    issuer: new x509.X509Certificate(issuer.der).subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore,
    notAfter,
    extensions,
    signingAlgorithm: SIGNING,
  });
  return finish(certificate, keys);
}

/** DER UTF8String, what Fulcio writes into the v2 issuer extension. */
function utf8String(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 127) throw new Error('keep test issuers short');
  return Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]);
}

/** A signing certificate like Fulcio's: empty subject, critical SAN, code-signing EKU, issuer extension. */
export async function makeLeaf(issuer: FakeCertificate, options: LeafOptions = {}): Promise<FakeCertificate> {
  const keys = options.keys ?? (await keyPair());
  const names: x509.JsonGeneralName[] = [];
  if (options.email !== undefined) names.push({ type: 'email', value: options.email });
  if (options.uri !== undefined) names.push({ type: 'url', value: options.uri });
  if (options.dns !== undefined) names.push({ type: 'dns', value: options.dns });
  const extensions: x509.Extension[] = [];
  const usage = options.keyUsage === undefined ? x509.KeyUsageFlags.digitalSignature : options.keyUsage;
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  const purposes = options.extendedKeyUsages === undefined ? [x509.ExtendedKeyUsage.codeSigning] : options.extendedKeyUsages;
  if (purposes !== null) extensions.push(new x509.ExtendedKeyUsageExtension([...purposes]));
  if (options.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(options.ca, options.pathLength, true));
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, true));
  if (options.oidcIssuerV1 !== undefined) extensions.push(new x509.Extension(FULCIO_ISSUER_V1, false, Buffer.from(options.oidcIssuerV1)));
  if (options.oidcIssuer !== undefined) extensions.push(new x509.Extension(FULCIO_ISSUER_V2, false, utf8String(options.oidcIssuer)));
  const certificate = await x509.X509CertificateGenerator.create({
    subject: options.subject ?? '',
    issuer: new x509.X509Certificate(issuer.der).subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore: options.notBefore ?? new Date(Date.now() - HOUR),
    notAfter: options.notAfter ?? new Date(Date.now() + HOUR),
    extensions: [...extensions, ...(options.extensions ?? [])],
    signingAlgorithm: SIGNING,
  });
  return finish(certificate, keys);
}

export interface FakeRekor {
  /** The origin line of its checkpoints; a trust root must list the log under a URL containing it. */
  readonly origin: string;
  readonly publicKeyPem: string;
  readonly privateKey: KeyObjectType;
  /** Hex SHA-256 of the SubjectPublicKeyInfo: how Rekor names its log. */
  readonly logID: string;
}

export function makeRekor(): FakeRekor {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return {
    origin: 'rekor.test',
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey,
    logID: createHash('sha256').update(spki).digest('hex'),
  };
}

export interface LoggedEntry {
  /** Base64 of the entry body, as Rekor returns it. */
  readonly body: string;
  readonly integratedTime: number;
  readonly logIndex: number;
  readonly logID: string;
  /** Base64 DER ECDSA signature over the canonical form of the four fields above. */
  readonly signedEntryTimestamp: string;
}

/** What Rekor would return for `body`: the SET signs {body, integratedTime, logID, logIndex} with sorted keys. */
export function logEntry(rekor: FakeRekor, body: object, integratedTime: number, logIndex = 7): LoggedEntry {
  const encoded = Buffer.from(JSON.stringify(body)).toString('base64');
  // Keys inserted in sorted order and only strings and integers: JSON.stringify gives the RFC 8785 form.
  const canonical = JSON.stringify({ body: encoded, integratedTime, logID: rekor.logID, logIndex });
  const set = cryptoSign('sha256', Buffer.from(canonical), rekor.privateKey).toString('base64');
  return { body: encoded, integratedTime, logIndex, logID: rekor.logID, signedEntryTimestamp: set };
}

export const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Annotations of a cosign `.sig` layer signed keylessly: signature, certificate, chain and Rekor bundle. */
export function keylessLayerAnnotations(input: {
  payload: Buffer;
  leaf: FakeCertificate;
  chain: readonly FakeCertificate[];
  rekor?: FakeRekor;
  integratedTime?: number;
  /** The certificate recorded in the log entry; default the signing one. */
  loggedCertificate?: FakeCertificate;
}): Record<string, string> {
  const signature = cryptoSign('sha256', input.payload, input.leaf.privateKey);
  const annotations: Record<string, string> = {
    'dev.cosignproject.cosign/signature': signature.toString('base64'),
    'dev.sigstore.cosign/certificate': input.leaf.pem,
  };
  if (input.chain.length > 0) annotations['dev.sigstore.cosign/chain'] = input.chain.map((certificate) => certificate.pem).join('');
  if (input.rekor !== undefined) {
    const entry = logEntry(
      input.rekor,
      {
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: sha256Hex(input.payload) } },
          signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from((input.loggedCertificate ?? input.leaf).pem).toString('base64') } },
        },
      },
      input.integratedTime ?? Math.floor(Date.now() / 1000),
    );
    annotations['dev.sigstore.cosign/bundle'] = JSON.stringify({
      SignedEntryTimestamp: entry.signedEntryTimestamp,
      Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logID },
    });
  }
  return annotations;
}

/** The in-toto statement `cosign sign` (v3) signs for an image. */
export function cosignStatement(digest: string, options: { name?: string; predicateType?: string } = {}): Buffer {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: options.name ?? 'registry.example/app', digest: { [algorithm]: hex } }],
      predicateType: options.predicateType ?? 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

/**
 * A Sigstore bundle v0.3 holding a DSSE envelope over `statement`, signed with `signingKey`; verified by
 * a certificate (keyless, optionally logged in `rekor` with a dsse 0.0.1 entry) or by a public-key hint.
 */
export function dsseBundle(input: {
  statement: Buffer;
  signingKey: KeyObjectType;
  certificate?: FakeCertificate;
  publicKeyHint?: string;
  rekor?: FakeRekor;
  integratedTime?: number;
  payloadType?: string;
}): Buffer {
  const payloadType = input.payloadType ?? 'application/vnd.in-toto+json';
  const signature = cryptoSign('sha256', pae(payloadType, input.statement), input.signingKey);
  const envelope = { payload: input.statement.toString('base64'), payloadType, signatures: [{ sig: signature.toString('base64'), keyid: '' }] };
  const tlogEntries: object[] = [];
  if (input.rekor !== undefined) {
    const verifier = input.certificate?.pem ?? createPublicKey(input.signingKey).export({ type: 'spki', format: 'pem' }).toString();
    const entry = logEntry(
      input.rekor,
      {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          envelopeHash: { algorithm: 'sha256', value: sha256Hex(Buffer.from(JSON.stringify(envelope))) },
          payloadHash: { algorithm: 'sha256', value: sha256Hex(input.statement) },
          signatures: [{ signature: signature.toString('base64'), verifier: Buffer.from(verifier).toString('base64') }],
        },
      },
      input.integratedTime ?? Math.floor(Date.now() / 1000),
    );
    tlogEntries.push({
      logIndex: String(entry.logIndex),
      logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
      kindVersion: { kind: 'dsse', version: '0.0.1' },
      integratedTime: String(entry.integratedTime),
      inclusionPromise: { signedEntryTimestamp: entry.signedEntryTimestamp },
      // Bundles v0.3 must carry a proof; a log holding just this entry has it as its whole tree.
      inclusionProof: singleEntryProof(input.rekor, Buffer.from(entry.body, 'base64')),
      canonicalizedBody: entry.body,
    });
  }
  const material =
    input.certificate !== undefined ? { certificate: { rawBytes: input.certificate.der.toString('base64') } } : { publicKey: { hint: input.publicKeyHint ?? '' } };
  return Buffer.from(
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: { ...material, tlogEntries },
      dsseEnvelope: envelope,
    }),
  );
}

/**
 * An RFC 6962 inclusion proof for a tree whose only leaf is `body` (root = leaf hash, no sibling
 * hashes) and a checkpoint signed-note for that tree, as Rekor serves them.
 */
function singleEntryProof(rekor: FakeRekor, body: Buffer): object {
  const rootHash = createHash('sha256').update(Buffer.from([0x00])).update(body).digest();
  const note = `${rekor.origin}\n1\n${rootHash.toString('base64')}\n`;
  const signature = cryptoSign('sha256', Buffer.from(note), rekor.privateKey);
  const keyHint = Buffer.from(rekor.logID, 'hex').subarray(0, 4);
  return {
    logIndex: '0',
    rootHash: rootHash.toString('base64'),
    treeSize: '1',
    hashes: [],
    checkpoint: { envelope: `${note}\n\u2014 ${rekor.origin} ${Buffer.concat([keyHint, signature]).toString('base64')}\n` },
  };
}

/** A TrustedRoot document for the fake Sigstore: one CA chain (leaf-most first) and the Rekor log. */
export function trustedRootJson(input: { chain: readonly FakeCertificate[]; rekor: FakeRekor; caStart?: Date; caEnd?: Date }): string {
  const spki = createPublicKey(input.rekor.publicKeyPem).export({ type: 'spki', format: 'der' });
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: `https://${input.rekor.origin}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2020-01-01T00:00:00Z' } },
        logId: { keyId: Buffer.from(input.rekor.logID, 'hex').toString('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'signet', commonName: 'test fulcio' },
        uri: 'https://fulcio.test',
        certChain: { certificates: input.chain.map((certificate) => ({ rawBytes: certificate.der.toString('base64') })) },
        validFor: { start: (input.caStart ?? new Date('2020-01-01T00:00:00Z')).toISOString(), ...(input.caEnd ? { end: input.caEnd.toISOString() } : {}) },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  });
}
