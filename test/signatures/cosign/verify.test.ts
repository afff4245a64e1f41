// verifyCosignSignatures with keys generated here: every algorithm, and every way a layer can fail.
import { constants, createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Digest } from '../../../src/reference/types.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import type { TrustedKey } from '../../../src/keys/types.js';
import { buildPayload } from '../../../src/signatures/cosign/payload.js';
import { signPayload } from '../../../src/signatures/cosign/private-key.js';
import { SIMPLE_SIGNING_MEDIA_TYPE, verifyCosignSignatures } from '../../../src/signatures/cosign/verify.js';
import type { CosignSignatureLayer, CosignVerifyInput } from '../../../src/signatures/cosign/verify.js';

interface TestKey {
  privateKey: KeyObject;
  trusted: TrustedKey;
}

function trustedKey(name: string, publicKey: KeyObject): TrustedKey {
  const parsed = parsePublicKey(name, publicKey.export({ type: 'spki', format: 'pem' }).toString());
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

function ecKey(name: string, namedCurve: string): TestKey {
  const pair = generateKeyPairSync('ec', { namedCurve });
  return { privateKey: pair.privateKey, trusted: trustedKey(name, pair.publicKey) };
}

const p256 = ecKey('release', 'P-256');
const backup = ecKey('backup', 'P-256');
const p384 = ecKey('p384', 'P-384');
const p521 = ecKey('p521', 'P-521');
const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa: TestKey = { privateKey: rsaPair.privateKey, trusted: trustedKey('rsa', rsaPair.publicKey) };
const edPair = generateKeyPairSync('ed25519');
const ed25519: TestKey = { privateKey: edPair.privateKey, trusted: trustedKey('ed25519', edPair.publicKey) };

function digestOf(text: string): Digest {
  return `sha256:${createHash('sha256').update(text).digest('hex')}` as Digest;
}

const IMAGE = digestOf('the image manifest');
const OTHER_IMAGE = digestOf('another image manifest');

/** A layer exactly as a registry would serve it for `payload` signed with `signatureBase64`. */
function layerFor(payload: Buffer, signatureBase64: string, annotations: Record<string, string> = {}): CosignSignatureLayer {
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: `sha256:${createHash('sha256').update(payload).digest('hex')}` as Digest,
    size: payload.length,
    annotations: { 'dev.cosignproject.cosign/signature': signatureBase64, ...annotations },
    payload,
  };
}

function signedLayer(
  key: TestKey,
  options: { digest?: Digest; dockerReference?: string; annotations?: Record<string, string> } = {},
): CosignSignatureLayer {
  const payload = buildPayload({
    dockerReference: options.dockerReference ?? 'registry.example.com/team/app',
    digest: options.digest ?? IMAGE,
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
  });
  return layerFor(payload, signPayload(key.privateKey, payload));
}

function rawSignedLayer(key: TestKey, json: string): CosignSignatureLayer {
  const payload = Buffer.from(json, 'utf8');
  return layerFor(payload, signPayload(key.privateKey, payload));
}

function verifyOne(layer: CosignSignatureLayer, options: Partial<CosignVerifyInput> = {}) {
  const checks = verifyCosignSignatures({ imageDigest: IMAGE, layers: [layer], keys: [p256.trusted], ...options });
  expect(checks).toHaveLength(1);
  return checks[0];
}

const VALID_JSON = (digest: string) =>
  `{"critical":{"identity":{"docker-reference":"registry.example.com/team/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`;

describe('algorithms', () => {
  test.each([
    ['ECDSA P-256 (SHA-256)', p256],
    ['ECDSA P-384 (SHA-384)', p384],
    ['ECDSA P-521 (SHA-512)', p521],
    ['RSA PKCS#1 v1.5 SHA-256', rsa],
    ['Ed25519 (pure)', ed25519],
  ])('%s signature is valid with its key', (_label, key) => {
    expect(verifyOne(signedLayer(key), { keys: [key.trusted] })).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: key.trusted.name,
      digest: IMAGE,
      annotations: {},
    });
  });

  test('RSA PSS SHA-256 signatures verify, whatever salt length the signer chose', () => {
    const payload = buildPayload({ dockerReference: 'registry.example.com/team/app', digest: IMAGE });
    for (const saltLength of [32, constants.RSA_PSS_SALTLEN_MAX_SIGN, 0]) {
      const signature = cryptoSign('sha256', payload, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      expect(verifyOne(layerFor(payload, signature.toString('base64')), { keys: [rsa.trusted] })).toMatchObject({ status: 'valid', signer: 'rsa' });
    }
  });

  test('RSA with SHA-1 is not accepted', () => {
    const payload = buildPayload({ dockerReference: 'registry.example.com/team/app', digest: IMAGE });
    const signature = cryptoSign('sha1', payload, rsa.privateKey);
    expect(verifyOne(layerFor(payload, signature.toString('base64')), { keys: [rsa.trusted] })).toMatchObject({ reason: 'UNTRUSTED_SIGNER' });
  });

  test('P-384 signed with SHA-256, as containers/image (skopeo) does, is valid', () => {
    const payload = buildPayload({ dockerReference: 'registry.example.com/team/app', digest: IMAGE });
    const signature = cryptoSign('sha256', payload, { key: p384.privateKey, dsaEncoding: 'der' });
    expect(verifyOne(layerFor(payload, signature.toString('base64')), { keys: [p384.trusted] })).toMatchObject({ status: 'valid' });
  });

  test('ECDSA in raw r||s (JOSE/Notary v1) encoding is not the cosign format and does not verify', () => {
    const payload = buildPayload({ dockerReference: 'registry.example.com/team/app', digest: IMAGE });
    const signature = cryptoSign('sha256', payload, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    // 64 bytes could be an Ed25519 signature, so this is "not by a trusted key", not garbage.
    expect(verifyOne(layerFor(payload, signature.toString('base64')))).toMatchObject({ reason: 'UNTRUSTED_SIGNER' });
  });

  test('Ed25519ph is not available in Node 24 crypto, so current cosign Ed25519 keys (which default to ph) cannot be supported yet', () => {
    // Canary: when Node accepts a digest for Ed25519, add Ed25519ph to key-crypto.ts.
    expect(() => cryptoSign('sha512', Buffer.from('x'), ed25519.privateKey)).toThrow();
  });

  test('the first trusted key that verifies is the signer; other keys are not reported', () => {
    expect(verifyOne(signedLayer(backup), { keys: [p256.trusted, rsa.trusted, backup.trusted] })).toMatchObject({ status: 'valid', signer: 'backup' });
  });
});

describe('layer integrity', () => {
  test('empty layer list gives no checks', () => {
    expect(verifyCosignSignatures({ imageDigest: IMAGE, layers: [], keys: [p256.trusted] })).toEqual([]);
  });

  test('one tampered payload byte -> PAYLOAD_MISMATCH', () => {
    const layer = signedLayer(p256);
    const payload = Buffer.from(layer.payload);
    payload[10] = (payload[10] as number) ^ 0x20;
    const check = verifyOne({ ...layer, payload });
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'PAYLOAD_MISMATCH',
      detail: `signature layer 1 payload is ${payload.length} bytes with digest sha256:${createHash('sha256').update(payload).digest('hex')}, but the manifest lists ${layer.size} bytes with digest ${layer.digest}`,
    });
  });

  test('a size that disagrees with the blob -> PAYLOAD_MISMATCH', () => {
    const layer = signedLayer(p256);
    expect(verifyOne({ ...layer, size: layer.size + 1 })).toMatchObject({ reason: 'PAYLOAD_MISMATCH' });
  });

  test('a tampered payload with a matching descriptor (attacker rewrote the manifest) fails the signature', () => {
    const original = signedLayer(p256);
    const forged = Buffer.from(original.payload.toString('utf8').replace(IMAGE, OTHER_IMAGE));
    const layer = layerFor(forged, original.annotations['dev.cosignproject.cosign/signature'] as string);
    expect(verifyOne(layer, { imageDigest: OTHER_IMAGE })).toMatchObject({ status: 'invalid', reason: 'UNTRUSTED_SIGNER' });
  });

  test('a media type other than simple-signing -> WRONG_TYPE even when the signature is good', () => {
    const layer = { ...signedLayer(p256), mediaType: 'application/vnd.dsse.envelope.v1+json' };
    expect(verifyOne(layer)).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'WRONG_TYPE',
      detail: 'signature layer 1 has media type "application/vnd.dsse.envelope.v1+json", not a cosign simple-signing payload',
    });
  });

  test('a layer digest with an unsupported algorithm -> MALFORMED', () => {
    const layer = { ...signedLayer(p256), digest: `md5:${'a'.repeat(32)}` as Digest };
    expect(verifyOne(layer)).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      detail: `signature layer 1 has an unsupported digest "md5:${'a'.repeat(32)}"`,
    });
  });

  test('a huge hostile media type is quoted and shortened in the detail', () => {
    const layer = { ...signedLayer(p256), mediaType: `x\n${'y'.repeat(5000)}` };
    const check = verifyOne(layer);
    expect(check).toMatchObject({ reason: 'WRONG_TYPE' });
    if (check?.status !== 'invalid') return;
    expect(check.detail).toMatch(/^signature layer 1 has media type "x\\ny{198}…", not a cosign simple-signing payload$/);
  });

  test('checks are reported per layer, in order, with the layer position in layer-level details', () => {
    const good = signedLayer(p256);
    const bad = { ...signedLayer(p256), mediaType: 'text/plain' };
    const checks = verifyCosignSignatures({ imageDigest: IMAGE, layers: [good, bad], keys: [p256.trusted] });
    expect(checks[0]).toMatchObject({ status: 'valid' });
    expect(checks[1]).toMatchObject({ reason: 'WRONG_TYPE', detail: expect.stringContaining('signature layer 2') });
  });
});

describe('signature annotation', () => {
  test('missing -> MALFORMED', () => {
    const layer = signedLayer(p256);
    expect(verifyOne({ ...layer, annotations: {} })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      detail: 'signature layer 1 has no dev.cosignproject.cosign/signature annotation',
    });
  });

  test.each([['not base64 at all!'], ['MEUCIQ'], ['MEUC IQ=='], ['']])('garbage base64 %j -> MALFORMED', (text) => {
    const layer = signedLayer(p256);
    expect(verifyOne({ ...layer, annotations: { 'dev.cosignproject.cosign/signature': text } })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      detail: 'signature layer 1 dev.cosignproject.cosign/signature annotation is not standard base64',
    });
  });

  test('a signature far larger than any real one -> MALFORMED', () => {
    const layer = signedLayer(p256);
    const huge = Buffer.alloc(9000, 1).toString('base64');
    expect(verifyOne({ ...layer, annotations: { 'dev.cosignproject.cosign/signature': huge } })).toMatchObject({
      reason: 'MALFORMED',
      detail: 'signature layer 1 signature is 9000 bytes, too large to be a signature',
    });
  });

  test('base64 that is not a signature of any supported shape -> BAD_SIGNATURE', () => {
    const layer = signedLayer(p256);
    const check = verifyOne({ ...layer, annotations: { 'dev.cosignproject.cosign/signature': Buffer.from('hello world').toString('base64') } }, {
      keys: [p256.trusted, backup.trusted],
    });
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'BAD_SIGNATURE',
      detail: 'signature is not a well-formed ECDSA (DER), RSA or Ed25519 signature (tried: release, backup)',
    });
  });

  test('a tampered signature under the right key -> UNTRUSTED_SIGNER naming the keys tried', () => {
    const layer = signedLayer(p256);
    const signature = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] as string, 'base64');
    signature[signature.length - 3] = (signature[signature.length - 3] as number) ^ 0x01;
    const check = verifyOne(
      { ...layer, annotations: { 'dev.cosignproject.cosign/signature': signature.toString('base64') } },
      { keys: [p256.trusted, backup.trusted] },
    );
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'UNTRUSTED_SIGNER',
      detail: 'signed, but not by a trusted key (tried: release, backup); made with another key, or altered after signing',
    });
  });

  test('a signature copied from a payload for another digest does not verify this payload', () => {
    const victim = signedLayer(p256, { digest: IMAGE });
    const donor = signedLayer(p256, { digest: OTHER_IMAGE });
    const check = verifyOne({ ...victim, annotations: donor.annotations });
    expect(check).toMatchObject({ status: 'invalid', reason: 'UNTRUSTED_SIGNER' });
  });

  test("a whole signature layer copied from another image -> DIGEST_MISMATCH naming both digests", () => {
    const check = verifyOne(signedLayer(p256, { digest: OTHER_IMAGE }));
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'DIGEST_MISMATCH',
      signer: 'release',
      detail: `signature is for ${OTHER_IMAGE} but the image is ${IMAGE}`,
    });
  });

  test('signed by an untrusted key -> UNTRUSTED_SIGNER', () => {
    expect(verifyOne(signedLayer(backup))).toMatchObject({ reason: 'UNTRUSTED_SIGNER', detail: 'signed, but not by a trusted key (tried: release); made with another key, or altered after signing' });
  });

  test('no trusted keys at all -> UNTRUSTED_SIGNER that says so', () => {
    expect(verifyOne(signedLayer(p256), { keys: [] })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: 'signed, but not by a trusted key (tried: none; no trusted keys were given); made with another key, or altered after signing',
    });
  });

  test('a certificate annotation does not stop a trusted key from verifying the signature', () => {
    const layer = signedLayer(p256);
    const withCert = { ...layer, annotations: { ...layer.annotations, 'dev.sigstore.cosign/certificate': '-----BEGIN CERTIFICATE-----\n…' } };
    expect(verifyOne(withCert)).toMatchObject({ status: 'valid', signer: 'release' });
  });
});

describe('payload claims (checked only after the signature verifies)', () => {
  test('a signed payload with duplicate keys -> MALFORMED, with the signer named', () => {
    const json = `{"critical":{"identity":{"docker-reference":"r.example/a"},"image":{"docker-manifest-digest":"${OTHER_IMAGE}","docker-manifest-digest":"${IMAGE}"},"type":"cosign container image signature"},"optional":null}`;
    expect(verifyOne(rawSignedLayer(p256, json))).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      signer: 'release',
      detail: expect.stringContaining('duplicate member name "docker-manifest-digest"'),
    });
  });

  test('names that differ only in case are accepted (cosign compatibility)', () => {
    const json = `{"Critical":{"Identity":{"docker-reference":"r.example/a"},"Image":{"Docker-manifest-digest":"${IMAGE}"},"Type":"cosign container image signature"},"Optional":{"env":"prod"}}`;
    expect(verifyOne(rawSignedLayer(p256, json))).toMatchObject({ status: 'valid', annotations: { env: 'prod' } });
  });

  test('two names that fold to the same field -> MALFORMED (Go would silently keep the last one)', () => {
    const json = `{"critical":{"identity":{"docker-reference":"r.example/a"},"image":{"docker-manifest-digest":"${IMAGE}","Docker-Manifest-Digest":"${OTHER_IMAGE}"},"type":"cosign container image signature"},"optional":null}`;
    expect(verifyOne(rawSignedLayer(p256, json))).toMatchObject({
      reason: 'MALFORMED',
      detail: 'signed payload has two members that both mean "docker-manifest-digest" in critical.image',
    });
  });

  test('wrong critical.type -> WRONG_TYPE', () => {
    const json = VALID_JSON(IMAGE).replace('cosign container image signature', 'atomic container signature');
    expect(verifyOne(rawSignedLayer(p256, json))).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'WRONG_TYPE',
      signer: 'release',
      detail: 'signed payload has type "atomic container signature", not "cosign container image signature"',
    });
  });

  test('a signed payload that is not JSON -> MALFORMED', () => {
    expect(verifyOne(rawSignedLayer(p256, 'just text'))).toMatchObject({ reason: 'MALFORMED', signer: 'release' });
  });

  test('an invalid digest claim -> MALFORMED', () => {
    expect(verifyOne(rawSignedLayer(p256, VALID_JSON('sha256:ABC')))).toMatchObject({
      reason: 'MALFORMED',
      detail: 'signed payload names "sha256:ABC" as the image digest, which is not a valid digest',
    });
  });
});

describe('required annotations', () => {
  const annotated = signedLayer(p256, { annotations: { env: 'prod', team: 'payments' } });

  test('present and equal -> valid, annotations reported', () => {
    expect(verifyOne(annotated, { requiredAnnotations: { env: 'prod' } })).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: 'release',
      digest: IMAGE,
      annotations: { env: 'prod', team: 'payments' },
    });
  });

  test('absent -> MISSING_ANNOTATION naming key and wanted value', () => {
    expect(verifyOne(annotated, { requiredAnnotations: { env: 'prod', approved: 'yes' } })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MISSING_ANNOTATION',
      signer: 'release',
      detail: 'signature lacks the required annotation approved="yes"',
    });
  });

  test('absent because optional is null -> MISSING_ANNOTATION', () => {
    expect(verifyOne(signedLayer(p256), { requiredAnnotations: { env: 'prod' } })).toMatchObject({
      reason: 'MISSING_ANNOTATION',
      detail: 'signature lacks the required annotation env="prod"',
    });
  });

  test('different -> MISSING_ANNOTATION naming key, found and wanted', () => {
    expect(verifyOne(annotated, { requiredAnnotations: { env: 'staging' } })).toMatchObject({
      reason: 'MISSING_ANNOTATION',
      detail: 'signature annotation env is "prod" but the policy requires "staging"',
    });
  });

  test('a number is not the string the policy wants', () => {
    const json = VALID_JSON(IMAGE).replace('"optional":null', '"optional":{"build":5}');
    expect(verifyOne(rawSignedLayer(p256, json), { requiredAnnotations: { build: '5' } })).toMatchObject({
      reason: 'MISSING_ANNOTATION',
      detail: 'signature annotation build is 5 but the policy requires "5"',
    });
  });

  test('a name inherited from Object.prototype is not an annotation', () => {
    expect(verifyOne(annotated, { requiredAnnotations: { constructor: 'x' } })).toMatchObject({ reason: 'MISSING_ANNOTATION' });
  });
});

describe("identity check 'repository'", () => {
  test.each([
    ['index.docker.io/library/busybox', 'docker.io/library/busybox'],
    ['docker.io/library/busybox:1.36', 'docker.io/library/busybox'],
    ['busybox', 'docker.io/library/busybox'],
    ['registry.example.com/team/app:v1@' + IMAGE, 'registry.example.com/team/app'],
    ['Registry.Example.com/team/app', 'registry.example.com/team/app'],
  ])('signed %s matches image repository %s', (signed, repository) => {
    expect(verifyOne(signedLayer(p256, { dockerReference: signed }), { identityCheck: 'repository', imageRepository: repository })).toMatchObject({
      status: 'valid',
    });
  });

  test.each([
    ['docker.io/library/busybox', 'docker.io/someone/busybox', 'signature is for repository docker.io/library/busybox but the image is from docker.io/someone/busybox'],
    ['registry.example.com/team/app', 'registry.example.com:5000/team/app', 'signature is for repository registry.example.com/team/app but the image is from registry.example.com:5000/team/app'],
    ['', 'registry.example.com/team/app', 'signature names the image "", which is not a valid reference (it is empty)'],
    ['not a reference', 'registry.example.com/team/app', 'signature names the image "not a reference", which is not a valid reference (its repository path "not a reference" is not valid)'],
  ])('signed %j does not match %s', (signed, repository, detail) => {
    expect(verifyOne(signedLayer(p256, { dockerReference: signed }), { identityCheck: 'repository', imageRepository: repository })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'IDENTITY_MISMATCH',
      signer: 'release',
      detail,
    });
  });

  test('requested with an invalid image repository -> IDENTITY_MISMATCH (fail closed)', () => {
    expect(verifyOne(signedLayer(p256), { identityCheck: 'repository', imageRepository: 'Not Valid' })).toMatchObject({
      reason: 'IDENTITY_MISMATCH',
      detail: 'identity check requested, but the image repository "Not Valid" is not valid: its repository path "Not Valid" is not valid',
    });
  });

  test('requested without an image repository -> IDENTITY_MISMATCH (fail closed)', () => {
    expect(verifyOne(signedLayer(p256), { identityCheck: 'repository' })).toMatchObject({
      reason: 'IDENTITY_MISMATCH',
      detail: 'identity check requested, but the image repository was not given',
    });
  });
});
