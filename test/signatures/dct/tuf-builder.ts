// Builds Notary v1 trust data in tests, for the cases no real tool produces on demand (thresholds,
// RSA and Ed25519 keys, wrong key IDs, bad paths, expired roles): keys of every notary key type,
// root certificates naming a GUN, signed files serialised compactly as notary-server serves them,
// and the snapshot/timestamp hash chain over the final bytes. The real notary CLI and server are
// exercised in notary-server.test.ts; the real Docker Hub samples in conformance.test.ts.
import 'reflect-metadata';
import { constants, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { canonicalJson } from '../../../src/signatures/dct/canonical-json.js';
import type { JsonValue } from '../../../src/util/strict-json.js';
import { keyIdOf } from '../../../src/signatures/dct/keys.js';
import type { PinnedRootKey } from '../../../src/signatures/dct/verify.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type Method = 'ecdsa' | 'eddsa' | 'rsapss' | 'rsapkcs1v15';

export interface TestKey {
  readonly keytype: 'ecdsa' | 'ecdsa-x509' | 'rsa' | 'ed25519';
  /** keyval.public as notary writes it. */
  readonly publicB64: string;
  readonly id: string;
  readonly publicKey: KeyObject;
  readonly method: Method;
  sign(message: Buffer, method?: Method): Buffer;
}

function signer(privateKey: KeyObject, defaultMethod: Method): (message: Buffer, method?: Method) => Buffer {
  return (message, method = defaultMethod) => {
    switch (method) {
      case 'ecdsa':
        return cryptoSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      case 'eddsa':
        return cryptoSign(null, message, privateKey);
      case 'rsapss':
        return cryptoSign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      case 'rsapkcs1v15':
        return cryptoSign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    }
  };
}

function testKey(keytype: TestKey['keytype'], publicB64: string, publicKey: KeyObject, privateKey: KeyObject, method: Method): TestKey {
  return { keytype, publicB64, id: keyIdOf(keytype, publicB64), publicKey, method, sign: signer(privateKey, method) };
}

const spkiB64 = (key: KeyObject): string => key.export({ type: 'spki', format: 'der' }).toString('base64');

export function ecdsaKey(curve: 'P-256' | 'P-384' = 'P-256'): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  return testKey('ecdsa', spkiB64(publicKey), publicKey, privateKey, 'ecdsa');
}

export function ed25519Key(): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return testKey('ed25519', raw.toString('base64'), publicKey, privateKey, 'eddsa');
}

export function rsaKey(bits: number, method: 'rsapss' | 'rsapkcs1v15'): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return testKey('rsa', spkiB64(publicKey), publicKey, privateKey, method);
}

/** An `ecdsa-x509` root key: a self-signed certificate naming `commonName` (notary: the GUN). */
export async function rootCertificateKey(commonName: string, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<TestKey & { certificatePem: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${commonName}`,
    notBefore: validity.notBefore ?? new Date(Date.now() - 86_400_000),
    notAfter: validity.notAfter ?? new Date(Date.now() + 3650 * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
  });
  const certificatePem = certificate.toString('pem');
  const privateKey = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(certificatePem);
  return { ...testKey('ecdsa-x509', Buffer.from(`${certificatePem}\n`).toString('base64'), publicKey, privateKey, 'ecdsa'), certificatePem };
}

export function pinnedKey(name: string, key: TestKey): PinnedRootKey {
  return { name, key: key.publicKey };
}

export function keyEntry(key: TestKey): JsonValue {
  return { keytype: key.keytype, keyval: { private: null, public: key.publicB64 } };
}

/** A signature to put on a file: by `key` (its own ID unless `keyid` says otherwise), with its method. */
export interface Signing {
  readonly key: TestKey;
  readonly keyid?: string;
  readonly method?: Method;
  /** What the `method` field says, when it should differ from the algorithm used (e.g. upper case). */
  readonly methodLabel?: string;
}

/** `{"signed":…,"signatures":[…]}` serialised compactly, signed over the canonical form of `signed`. */
export function signFile(signed: Record<string, JsonValue>, signings: readonly Signing[]): Buffer {
  const message = canonicalJson(signed);
  if (!message.ok) throw new Error(message.error);
  const signatures = signings.map((s) => ({
    keyid: s.keyid ?? s.key.id,
    method: s.methodLabel ?? s.method ?? s.key.method,
    sig: s.key.sign(message.value, s.method ?? s.key.method).toString('base64'),
  }));
  return Buffer.from(JSON.stringify({ signed, signatures }));
}

export function fileMeta(bytes: Buffer): JsonValue {
  return {
    hashes: { sha256: createHash('sha256').update(bytes).digest('base64'), sha512: createHash('sha512').update(bytes).digest('base64') },
    length: bytes.length,
  };
}

export function targetEntry(digestHex: string, length = 500): JsonValue {
  return { hashes: { sha256: Buffer.from(digestHex, 'hex').toString('base64') }, length };
}

const inYears = (years: number): string => new Date(Date.now() + years * 365 * 86_400_000).toISOString();

export interface DelegationSpec {
  readonly name: string;
  readonly keys: readonly TestKey[];
  readonly threshold?: number;
  /** Default [""] (all paths). Set `pathHashPrefixes` instead to use those. */
  readonly paths?: readonly string[];
  readonly pathHashPrefixes?: readonly string[];
  /** tag → sha256 hex */
  readonly targets: Readonly<Record<string, string>>;
  /** false: declared in targets, but no file and no snapshot entry (a signer that never signed). */
  readonly published?: boolean;
  readonly expires?: string;
  /** Who signs the file; default every key of the role. */
  readonly signings?: readonly Signing[];
}

export interface RepositorySpec {
  readonly gun: string;
  readonly rootKeys: readonly TestKey[];
  readonly targetsKeys: readonly TestKey[];
  readonly snapshotKey: TestKey;
  readonly timestampKey: TestKey;
  readonly thresholds?: { root?: number; targets?: number; snapshot?: number; timestamp?: number };
  /** tag → sha256 hex, signed in the top-level targets role. */
  readonly targets?: Readonly<Record<string, string>>;
  readonly delegations?: readonly DelegationSpec[];
  readonly expires?: { root?: string; targets?: string; snapshot?: string; timestamp?: string };
  /** Who signs each base file; default every key of the role (root: every root key). */
  readonly signings?: { root?: readonly Signing[]; targets?: readonly Signing[]; snapshot?: readonly Signing[]; timestamp?: readonly Signing[] };
  /** Changes to each `signed` object before it is signed (keys, roles, meta …). */
  readonly edit?: { root?: (signed: Record<string, JsonValue>) => void; targets?: (signed: Record<string, JsonValue>) => void; snapshot?: (signed: Record<string, JsonValue>) => void };
  /** Leave root out of the snapshot's meta (older repositories). */
  readonly snapshotWithoutRoot?: boolean;
}

export interface BuiltRepository {
  readonly root: Buffer;
  readonly targets: Buffer;
  readonly snapshot: Buffer;
  readonly timestamp: Buffer;
  readonly delegations: Map<string, Buffer>;
}

export function buildRepository(spec: RepositorySpec): BuiltRepository {
  const everyone = (keys: readonly TestKey[]): Signing[] => keys.map((key) => ({ key }));
  const allRootKeys = [...spec.rootKeys, ...spec.targetsKeys, spec.snapshotKey, spec.timestampKey];
  const rootSigned: Record<string, JsonValue> = {
    _type: 'Root',
    consistent_snapshot: false,
    expires: spec.expires?.root ?? inYears(10),
    keys: Object.fromEntries(allRootKeys.map((key) => [key.id, keyEntry(key)])),
    roles: {
      root: { keyids: spec.rootKeys.map((k) => k.id), threshold: spec.thresholds?.root ?? 1 },
      targets: { keyids: spec.targetsKeys.map((k) => k.id), threshold: spec.thresholds?.targets ?? 1 },
      snapshot: { keyids: [spec.snapshotKey.id], threshold: spec.thresholds?.snapshot ?? 1 },
      timestamp: { keyids: [spec.timestampKey.id], threshold: spec.thresholds?.timestamp ?? 1 },
    },
    version: 1,
  };
  spec.edit?.root?.(rootSigned);
  const root = signFile(rootSigned, spec.signings?.root ?? everyone(spec.rootKeys));

  const delegationSpecs = spec.delegations ?? [];
  const delegationKeys = delegationSpecs.flatMap((d) => d.keys);
  const targetsSigned: Record<string, JsonValue> = {
    _type: 'Targets',
    delegations: {
      keys: Object.fromEntries(delegationKeys.map((key) => [key.id, keyEntry(key)])),
      roles: delegationSpecs.map((d) => ({
        keyids: d.keys.map((k) => k.id),
        name: d.name,
        ...(d.pathHashPrefixes !== undefined ? { path_hash_prefixes: [...d.pathHashPrefixes] } : { paths: [...(d.paths ?? [''])] }),
        threshold: d.threshold ?? 1,
      })),
    },
    expires: spec.expires?.targets ?? inYears(3),
    targets: Object.fromEntries(Object.entries(spec.targets ?? {}).map(([tag, hex]) => [tag, targetEntry(hex)])),
    version: 1,
  };
  spec.edit?.targets?.(targetsSigned);
  const targets = signFile(targetsSigned, spec.signings?.targets ?? everyone(spec.targetsKeys));

  const delegations = new Map<string, Buffer>();
  for (const d of delegationSpecs) {
    if (d.published === false) continue;
    const signed: Record<string, JsonValue> = {
      _type: 'Targets',
      delegations: { keys: {}, roles: [] },
      expires: d.expires ?? inYears(3),
      targets: Object.fromEntries(Object.entries(d.targets).map(([tag, hex]) => [tag, targetEntry(hex)])),
      version: 1,
    };
    delegations.set(d.name, signFile(signed, d.signings ?? everyone(d.keys)));
  }

  const meta: Record<string, JsonValue> = { targets: fileMeta(targets) };
  if (spec.snapshotWithoutRoot !== true) meta['root'] = fileMeta(root);
  for (const [name, bytes] of delegations) meta[name] = fileMeta(bytes);
  const snapshotSigned: Record<string, JsonValue> = { _type: 'Snapshot', expires: spec.expires?.snapshot ?? inYears(3), meta, version: 1 };
  spec.edit?.snapshot?.(snapshotSigned);
  const snapshot = signFile(snapshotSigned, spec.signings?.snapshot ?? [{ key: spec.snapshotKey }]);

  const timestampSigned: Record<string, JsonValue> = {
    _type: 'Timestamp',
    expires: spec.expires?.timestamp ?? new Date(Date.now() + 14 * 86_400_000).toISOString(),
    meta: { snapshot: fileMeta(snapshot) },
    version: 1,
  };
  const timestamp = signFile(timestampSigned, spec.signings?.timestamp ?? [{ key: spec.timestampKey }]);
  return { root, targets, snapshot, timestamp, delegations };
}
