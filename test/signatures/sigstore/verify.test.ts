// verifySigstoreSignatures against a private Sigstore made in the test (CA, Fulcio-style leaves, a
// Rekor key): each rule of keyless, PKI and key-based bundle verification, one changed field at a time.
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import type { Digest } from '../../../src/reference/types.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import type { TrustedKey } from '../../../src/keys/types.js';
import { buildPayload } from '../../../src/signatures/cosign/payload.js';
import type { CosignSignatureLayer } from '../../../src/signatures/cosign/verify.js';
import { compileIdentityRule } from '../../../src/signatures/sigstore/identity.js';
import type { IdentityRuleDocument } from '../../../src/signatures/sigstore/identity.js';
import { parseTrustedRootJson, trustRootFromPem } from '../../../src/signatures/sigstore/trust-root.js';
import type { SigstoreTrustRoot } from '../../../src/signatures/sigstore/trust-root.js';
import { verifySigstoreSignatures } from '../../../src/signatures/sigstore/verify.js';
import type { KeyTrust, KeylessTrust, SigstoreVerifyInput } from '../../../src/signatures/sigstore/verify.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import { cosignStatement, dsseBundle, keylessLayerAnnotations, makeCa, makeLeaf, makeRekor, trustedRootJson } from './fake-sigstore.js';
import type { FakeCertificate, FakeRekor } from './fake-sigstore.js';

const ACTIONS = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0';
const IMAGE = `sha256:${'a1'.repeat(32)}` as Digest;
const OTHER_IMAGE = `sha256:${'b2'.repeat(32)}` as Digest;
const NOW = new Date();
const nowSeconds = Math.floor(NOW.getTime() / 1000);

function must<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(`test setup failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

const rules = (...documents: IdentityRuleDocument[]) => documents.map((document) => must(compileIdentityRule(document)));
const sha256 = (data: Buffer): Digest => `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;

let root: FakeCertificate;
let intermediate: FakeCertificate;
let leaf: FakeCertificate;
let rekor: FakeRekor;
let trustRoot: SigstoreTrustRoot;

beforeAll(async () => {
  root = await makeCa('O=signet, CN=test fulcio root');
  intermediate = await makeCa('O=signet, CN=test fulcio intermediate', root, { pathLength: 0, extendedKeyUsages: ['1.3.6.1.5.5.7.3.3'] });
  leaf = await makeLeaf(intermediate, { uri: WORKFLOW, oidcIssuer: ACTIONS });
  rekor = makeRekor();
  trustRoot = must(trustRootFromPem({ certificates: root.pem, rekorKeys: rekor.publicKeyPem }));
});

function keyless(overrides: Partial<KeylessTrust> = {}): KeylessTrust {
  return { kind: 'keyless', trustRoot, identities: rules({ issuer: ACTIONS, subjectRegExp: 'https://github\\.com/acme/app/.*' }), requireRekor: true, ...overrides };
}

function sigLayer(annotations: Record<string, string>, payload: Buffer): CosignSignatureLayer {
  return { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256(payload), size: payload.length, annotations, payload };
}

function only(input: Partial<SigstoreVerifyInput> & Pick<SigstoreVerifyInput, 'trust'>): SignatureCheck {
  const checks = verifySigstoreSignatures({ imageDigest: IMAGE, layers: [], bundles: [], now: NOW, ...input });
  expect(checks).toHaveLength(1);
  return checks[0] as SignatureCheck;
}

describe('keyless `.sig` layers', () => {
  const payload = buildPayload({ dockerReference: 'registry.example/acme/app', digest: IMAGE, annotations: { run: '42' } });

  test('valid: leaf + chain annotation to the trusted root, logged in the trusted Rekor; signer is issuer and URI', () => {
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf, chain: [intermediate, root], rekor }), payload);
    expect(only({ trust: keyless(), layers: [layer] })).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: `${ACTIONS} ${WORKFLOW}`,
      digest: IMAGE,
      annotations: { run: '42' },
    });
  });

  test('the v2 issuer extension wins over the deprecated v1 one', async () => {
    const both = await makeLeaf(intermediate, { email: 'dev@example.com', oidcIssuer: 'https://accounts.google.com', oidcIssuerV1: 'https://evil.example' });
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf: both, chain: [intermediate], rekor }), payload);
    expect(only({ trust: keyless({ identities: rules({ issuer: 'https://accounts.google.com', subject: 'dev@example.com' }) }), layers: [layer] })).toMatchObject({
      status: 'valid',
      signer: 'https://accounts.google.com dev@example.com',
    });
  });

  test('a leaf with only the v1 issuer extension (older Fulcio) is read from its raw bytes', async () => {
    const old = await makeLeaf(intermediate, { email: 'dev@example.com', oidcIssuerV1: 'https://github.com/login/oauth' });
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf: old, chain: [intermediate], rekor }), payload);
    expect(only({ trust: keyless({ identities: rules({ issuer: 'https://github.com/login/oauth', subject: 'dev@example.com' }) }), layers: [layer] })).toMatchObject({
      status: 'valid',
    });
  });

  test('logged three hours ago, outside the leaf certificate validity: UNTRUSTED_SIGNER at the logged time', () => {
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf, chain: [intermediate], rekor, integratedTime: nowSeconds - 3 * 3600 }), payload);
    expect(only({ trust: keyless(), layers: [layer] })).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringMatching(/^signature layer 1: certificate not trusted at the logged signing time: the signing certificate ".*" is valid from .* so it was not valid at /),
    });
  });

  test('without the chain annotation the intermediate is unknown; trusting it in the PEM material fixes that', () => {
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf, chain: [], rekor }), payload);
    expect(only({ trust: keyless(), layers: [layer] })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining(`was issued by "CN=test fulcio intermediate, O=signet", which is not a CA in the trust root`),
    });
    const withIntermediate = must(trustRootFromPem({ certificates: intermediate.pem + root.pem, rekorKeys: rekor.publicKeyPem }));
    expect(only({ trust: keyless({ trustRoot: withIntermediate }), layers: [layer] })).toMatchObject({ status: 'valid' });
  });

  test("an attacker's own root in the chain annotation is never a trust anchor", async () => {
    const fakeRoot = await makeCa('O=signet, CN=test fulcio root');
    const fakeIntermediate = await makeCa('O=signet, CN=test fulcio intermediate', fakeRoot);
    const forged = await makeLeaf(fakeIntermediate, { uri: WORKFLOW, oidcIssuer: ACTIONS });
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf: forged, chain: [fakeIntermediate, fakeRoot], rekor }), payload);
    expect(only({ trust: keyless(), layers: [layer] })).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining(`the certificate "CN=test fulcio intermediate, O=signet" names "CN=test fulcio root, O=signet" as its issuer, but that CA's key did not sign it`),
    });
  });

  test('a SET made by another log key: UNTRUSTED_SIGNER naming the unknown log', () => {
    const stranger = makeRekor();
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf, chain: [intermediate], rekor: stranger }), payload);
    expect(only({ trust: keyless(), layers: [layer] })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining(`transparency-log entry is from log ${stranger.logID}, which the trust root does not list (trusted logs: Rekor key 1 (${rekor.logID}))`),
    });
  });

  test('a log entry recording another certificate (same key, other identity): PAYLOAD_MISMATCH', async () => {
    const twin = await makeLeaf(intermediate, { uri: 'https://github.com/acme/other/.github/workflows/x.yml@refs/heads/main', oidcIssuer: ACTIONS, keys: leaf.keys });
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf, chain: [intermediate], rekor, loggedCertificate: twin }), payload);
    expect(only({ trust: keyless(), layers: [layer] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'PAYLOAD_MISMATCH',
      detail: 'signature layer 1: transparency-log entry was made for another certificate than the one presented with the signature',
    });
  });

  test('a certificate annotation that is not PEM: MALFORMED', () => {
    const annotations = { ...keylessLayerAnnotations({ payload, leaf, chain: [], rekor }), 'dev.sigstore.cosign/certificate': 'not a certificate' };
    expect(only({ trust: keyless(), layers: [sigLayer(annotations, payload)] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      detail: 'signature layer 1 dev.sigstore.cosign/certificate annotation holds no PEM certificate ("-----BEGIN CERTIFICATE-----")',
    });
  });

  test('payload bytes that do not match the layer descriptor: PAYLOAD_MISMATCH before anything else', () => {
    const layer = { ...sigLayer(keylessLayerAnnotations({ payload, leaf, chain: [intermediate], rekor }), payload), size: payload.length + 1 };
    expect(only({ trust: keyless(), layers: [layer] })).toMatchObject({ reason: 'PAYLOAD_MISMATCH' });
  });

  test('a signed payload of another type (an attestation layer): WRONG_TYPE after verification', () => {
    const other = Buffer.from('{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"' + IMAGE + '"},"type":"something else"},"optional":null}');
    const layer = sigLayer(keylessLayerAnnotations({ payload: other, leaf, chain: [intermediate], rekor }), other);
    expect(only({ trust: keyless(), layers: [layer] })).toMatchObject({ reason: 'WRONG_TYPE', signer: `${ACTIONS} ${WORKFLOW}` });
  });

  test('key trust never looks at `.sig` layers (those belong to the cosign verifier)', () => {
    const layer = sigLayer(keylessLayerAnnotations({ payload, leaf, chain: [intermediate], rekor }), payload);
    const key: KeyTrust = { kind: 'key', keys: [], annotations: {}, identity: 'ignore' };
    expect(verifySigstoreSignatures({ imageDigest: IMAGE, trust: key, layers: [layer], bundles: [], now: NOW })).toEqual([]);
  });
});

describe('keyless bundles', () => {
  test('valid: DSSE statement for the image, certificate from the trusted CA, dsse entry (promise and proof) in the trusted Rekor', () => {
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: leaf.privateKey, certificate: leaf, rekor });
    const fromJson = must(parseTrustedRootJson(trustedRootJson({ chain: [intermediate, root], rekor })));
    expect(fromJson.logOriginsKnown).toBe(true);
    const withIntermediate = must(trustRootFromPem({ certificates: intermediate.pem + root.pem, rekorKeys: rekor.publicKeyPem }));
    for (const material of [fromJson, withIntermediate]) {
      expect(only({ trust: keyless({ trustRoot: material }), bundles: [{ source: 'referrer sha256:1', bytes: bundle }] })).toEqual({
        status: 'valid',
        system: 'cosign',
        signer: `${ACTIONS} ${WORKFLOW}`,
        digest: IMAGE,
        annotations: {},
      });
    }
  });

  test("a checkpoint signed under another origin name fails the inclusion proof, even with a valid SET", () => {
    const elsewhere = { ...rekor, origin: 'rekor.elsewhere' };
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: leaf.privateKey, certificate: leaf, rekor: elsewhere });
    const fromJson = must(parseTrustedRootJson(trustedRootJson({ chain: [intermediate, root], rekor })));
    expect(only({ trust: keyless({ trustRoot: fromJson }), bundles: [{ source: 'b', bytes: bundle }] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'BAD_SIGNATURE',
      detail: 'bundle b: transparency-log inclusion proof does not verify (invalid checkpoint signature)',
    });
  });

  test("the trusted root's validity window for the CA must include the logged time", () => {
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: leaf.privateKey, certificate: leaf, rekor });
    const retired = must(parseTrustedRootJson(trustedRootJson({ chain: [intermediate, root], rekor, caEnd: new Date(NOW.getTime() - 3600_000) })));
    expect(only({ trust: keyless({ trustRoot: retired }), bundles: [{ source: 'b', bytes: bundle }] })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining("no trusted certificate authority was valid at"),
    });
  });

  test('not logged while requireRekor: MISSING_ANNOTATION', () => {
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: leaf.privateKey, certificate: leaf });
    const withIntermediate = must(trustRootFromPem({ certificates: intermediate.pem + root.pem, rekorKeys: rekor.publicKeyPem }));
    expect(only({ trust: keyless({ trustRoot: withIntermediate }), bundles: [{ source: 'b', bytes: bundle }] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MISSING_ANNOTATION',
      detail: 'bundle b: signature has no transparency-log entry, but the policy requires one (requireRekor)',
    });
  });

  test('PKI mode: no log needed, certificate valid now, validUntil = earliest expiry on the path', () => {
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: leaf.privateKey, certificate: leaf });
    const pki = must(trustRootFromPem({ certificates: intermediate.pem + root.pem }));
    const check = only({ trust: keyless({ trustRoot: pki, requireRekor: false }), bundles: [{ source: 'b', bytes: bundle }] });
    expect(check).toMatchObject({ status: 'valid', signer: `${ACTIONS} ${WORKFLOW}` });
    // The leaf (one hour) expires long before the intermediate and root (a year).
    expect(check).toMatchObject({ validUntil: new X509Certificate(leaf.pem).validToDate.toISOString() });
  });

  test('a statement for another image: DIGEST_MISMATCH naming both digests', () => {
    const bundle = dsseBundle({ statement: cosignStatement(OTHER_IMAGE), signingKey: leaf.privateKey, certificate: leaf });
    const pki = must(trustRootFromPem({ certificates: intermediate.pem + root.pem }));
    expect(only({ trust: keyless({ trustRoot: pki, requireRekor: false }), bundles: [{ source: 'b', bytes: bundle }] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'DIGEST_MISMATCH',
      signer: `${ACTIONS} ${WORKFLOW}`,
      detail: `signature is for ${OTHER_IMAGE} but the image is ${IMAGE}`,
    });
  });

  test('another payload type: WRONG_TYPE', () => {
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: leaf.privateKey, certificate: leaf, payloadType: 'text/plain' });
    expect(only({ trust: keyless(), bundles: [{ source: 'b', bytes: bundle }] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'WRONG_TYPE',
      detail: 'bundle b envelope has payloadType "text/plain", not application/vnd.in-toto+json',
    });
  });

  test('a bundle signed with a key under keyless trust: UNTRUSTED_SIGNER', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: privateKey, publicKeyHint: 'abc' });
    expect(only({ trust: keyless(), bundles: [{ source: 'b', bytes: bundle }] })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: 'bundle b is signed with a key (hint "abc"), not a certificate; keyless trust accepts only certificates from its trust root',
    });
  });

  test('not a bundle at all: MALFORMED naming the mediaType', () => {
    expect(only({ trust: keyless(), bundles: [{ source: 'b', bytes: Buffer.from('{"mediaType":"application/json"}') }] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      detail: 'bundle b has mediaType "application/json", not a Sigstore bundle v0.1 to v0.3',
    });
  });
});

describe('key-based bundles (cosign v3 sign --key)', () => {
  const release = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const releaseKey: TrustedKey = must(parsePublicKey('release', release.publicKey.export({ type: 'spki', format: 'pem' }).toString()));
  const keyTrust = (overrides: Partial<KeyTrust> = {}): KeyTrust => ({ kind: 'key', keys: [releaseKey], annotations: {}, identity: 'ignore', ...overrides });
  const bundleBy = (signingKey = release.privateKey, statement = cosignStatement(IMAGE, { name: 'registry.example/acme/app' })) => ({
    source: 'referrer sha256:k',
    bytes: dsseBundle({ statement, signingKey, publicKeyHint: 'whatever the signer wrote' }),
  });

  test('the bundles built here are genuine: @sigstore/verify accepts one on its own with the release key', () => {
    const bundle = bundleFromJSON(JSON.parse(bundleBy().bytes.toString()));
    const material = toTrustMaterial(
      { mediaType: '', tlogs: [], ctlogs: [], certificateAuthorities: [], timestampAuthorities: [] },
      () => ({ publicKey: release.publicKey, validFor: () => true }),
    );
    expect(() => new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle))).not.toThrow();
  });

  test('valid with the named key; signer is the key name (so it counts with classic signatures by the same key)', () => {
    expect(only({ trust: keyTrust(), bundles: [bundleBy()] })).toEqual({ status: 'valid', system: 'cosign', signer: 'release', digest: IMAGE, annotations: {} });
  });

  test('signed by another key: UNTRUSTED_SIGNER listing the keys tried', () => {
    expect(only({ trust: keyTrust(), bundles: [bundleBy(stranger.privateKey)] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'UNTRUSTED_SIGNER',
      detail: 'bundle referrer sha256:k is signed, but not by a trusted key (tried: release)',
    });
  });

  test("an altered envelope whose key hint names a trusted key: BAD_SIGNATURE naming the key (hint as base64 or hex of the key's SHA-256)", () => {
    const spki = release.publicKey.export({ type: 'spki', format: 'der' });
    const id = createHash('sha256').update(spki).digest();
    for (const hint of [id.toString('base64'), id.toString('hex'), `sha256:${id.toString('hex')}`]) {
      // Signed by another key while naming release's: what an altered signature looks like to a verifier.
      const bytes = dsseBundle({ statement: cosignStatement(IMAGE, { name: 'registry.example/acme/app' }), signingKey: stranger.privateKey, publicKeyHint: hint });
      expect(only({ trust: keyTrust(), bundles: [{ source: 'referrer sha256:k', bytes }] })).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'BAD_SIGNATURE',
        detail: 'bundle referrer sha256:k signature does not verify with trusted key release, the key its hint names: the envelope was most likely altered after signing',
      });
    }
  });

  test('a garbage signature: BAD_SIGNATURE', () => {
    const bundle = JSON.parse(bundleBy().bytes.toString()) as { dsseEnvelope: { signatures: { sig: string }[] } };
    (bundle.dsseEnvelope.signatures[0] as { sig: string }).sig = Buffer.from('garbage').toString('base64');
    expect(only({ trust: keyTrust(), bundles: [{ source: 'g', bytes: Buffer.from(JSON.stringify(bundle)) }] })).toMatchObject({ reason: 'BAD_SIGNATURE' });
  });

  test('a rule that requires annotations cannot be met by bundles: MISSING_ANNOTATION saying why', () => {
    expect(only({ trust: keyTrust({ annotations: { env: 'prod' } }), bundles: [bundleBy()] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MISSING_ANNOTATION',
      signer: 'release',
      detail: 'bundle referrer sha256:k: bundle signatures carry no signed annotations, but the policy requires env="prod"',
    });
  });

  test("identity: 'repository' compares the statement's subject name with the image repository", () => {
    expect(only({ trust: keyTrust({ identity: 'repository' }), imageRepository: 'registry.example/acme/app', bundles: [bundleBy()] })).toMatchObject({ status: 'valid' });
    expect(only({ trust: keyTrust({ identity: 'repository' }), imageRepository: 'registry.example/acme/other', bundles: [bundleBy()] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'IDENTITY_MISMATCH',
      signer: 'release',
      detail: 'bundle referrer sha256:k: signature is for repository "registry.example/acme/app" but the image is from registry.example/acme/other',
    });
  });

  test('a keyless bundle under key trust: UNTRUSTED_SIGNER saying it carries a certificate', () => {
    const bundle = dsseBundle({ statement: cosignStatement(IMAGE), signingKey: leaf.privateKey, certificate: leaf });
    expect(only({ trust: keyTrust(), bundles: [{ source: 'c', bytes: bundle }] })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: 'bundle c is signed with a certificate (keyless), which key-based trust does not check, and not by a trusted key (tried: release)',
    });
  });
});
