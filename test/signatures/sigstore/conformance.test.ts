// Real keyless, PKI and bundle signatures (cosign and containers/image fixtures, see the PROVENANCE.md
// files next to them) through verifySigstoreSignatures, each with the result documented upstream,
// and tampered copies of them.
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Digest } from '../../../src/reference/types.js';
import type { CosignSignatureLayer } from '../../../src/signatures/cosign/verify.js';
import { compileIdentityRule } from '../../../src/signatures/sigstore/identity.js';
import type { IdentityRule, IdentityRuleDocument } from '../../../src/signatures/sigstore/identity.js';
import { parseTrustedRootJson, trustRootFromPem } from '../../../src/signatures/sigstore/trust-root.js';
import type { SigstoreTrustRoot } from '../../../src/signatures/sigstore/trust-root.js';
import { verifySigstoreSignatures } from '../../../src/signatures/sigstore/verify.js';
import type { KeylessTrust, SigstoreVerifyInput } from '../../../src/signatures/sigstore/verify.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';

const CONTAINERS = new URL('../../fixtures/conformance/containers-image-cosign/', import.meta.url);
const BUNDLES = new URL('../../fixtures/conformance/cosign-sigstore-bundle/', import.meta.url);
const text = (base: URL, path: string): string => readFileSync(new URL(path, base), 'utf8');
const bytes = (base: URL, path: string): Buffer => readFileSync(new URL(path, base));
const sha256 = (data: Buffer): Digest => `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;

function layer(dir: string): CosignSignatureLayer {
  const stored = JSON.parse(text(CONTAINERS, `${dir}/signature-1.json`)) as { mimeType: string; annotations: Record<string, string> };
  const payload = bytes(CONTAINERS, `${dir}/signature-1.payload.bin`);
  return { mediaType: stored.mimeType, digest: sha256(payload), size: payload.length, annotations: stored.annotations, payload };
}

function withAnnotations(original: CosignSignatureLayer, change: (annotations: Record<string, string>) => void): CosignSignatureLayer {
  const annotations = { ...original.annotations };
  change(annotations);
  return { ...original, annotations };
}

function must<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(`fixture setup failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

function identities(...documents: IdentityRuleDocument[]): IdentityRule[] {
  return documents.map((document) => must(compileIdentityRule(document)));
}

const GITHUB = 'https://github.com/login/oauth';
const fulcioPem = must(trustRootFromPem({ certificates: text(CONTAINERS, 'keys/fulcio_v1.crt.pem'), rekorKeys: text(CONTAINERS, 'keys/rekor.pub') }));
const publicGood = must(parseTrustedRootJson(text(BUNDLES, 'trusted_root_pgi.json')));
const pkiRoot = must(trustRootFromPem({ certificates: text(CONTAINERS, 'keys/pki_root_crts.pem') }));

const KEYLESS_DIR = 'dir-img-cosign-fulcio-rekor-valid';
const keylessDigest = sha256(bytes(CONTAINERS, `${KEYLESS_DIR}/manifest.json`));
const NOW = new Date();

function keyless(trustRoot: SigstoreTrustRoot, rules: IdentityRule[], requireRekor = true): KeylessTrust {
  return { kind: 'keyless', trustRoot, identities: rules, requireRekor };
}

function checkLayer(target: CosignSignatureLayer, trust: KeylessTrust, imageDigest: Digest = keylessDigest, now = NOW): SignatureCheck {
  const checks = verifySigstoreSignatures({ imageDigest, trust, layers: [target], bundles: [], now });
  expect(checks).toHaveLength(1);
  return checks[0] as SignatureCheck;
}

describe('dir-img-cosign-fulcio-rekor-valid (cosign keyless, public-good Fulcio and Rekor)', () => {
  const mitr = identities({ issuer: GITHUB, subject: 'mitr@redhat.com' });

  test('VALID with the right identity, trusting fulcio_v1.crt.pem and rekor.pub; the expired certificate is judged at integratedTime', () => {
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, mitr))).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: 'https://github.com/login/oauth mitr@redhat.com',
      digest: 'sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a',
      annotations: {},
    });
  });

  test('VALID with the public-good trusted_root.json too (its CT log key also verifies the embedded SCT)', () => {
    expect(publicGood.ctlogs.length).toBeGreaterThan(0);
    expect(checkLayer(layer(KEYLESS_DIR), keyless(publicGood, mitr))).toMatchObject({ status: 'valid', signer: `${GITHUB} mitr@redhat.com` });
  });

  test('an anchored subjectRegExp matches; a pattern matching only part of the name does not', () => {
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, identities({ issuer: GITHUB, subjectRegExp: '.*@redhat\\.com' })))).toMatchObject({
      status: 'valid',
      signer: `${GITHUB} mitr@redhat.com`,
    });
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, identities({ issuer: GITHUB, subjectRegExp: 'mitr@redhat' })))).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
    });
  });

  test('wrong subject: UNTRUSTED_SIGNER listing the certificate identity and the trusted ones', () => {
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, identities({ issuer: GITHUB, subject: 'alice@example.com' })))).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'UNTRUSTED_SIGNER',
      detail:
        'signature layer 1: signing certificate identity "mitr@redhat.com" (OIDC issuer "https://github.com/login/oauth") matches none of the policy\'s identities: issuer "https://github.com/login/oauth" with subject "alice@example.com"',
    });
  });

  test('right subject, wrong issuer: UNTRUSTED_SIGNER saying which issuer was expected', () => {
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, identities({ issuer: 'https://accounts.google.com', subject: 'mitr@redhat.com' })))).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'UNTRUSTED_SIGNER',
      detail:
        'signature layer 1: signing certificate for "mitr@redhat.com" was issued through OIDC issuer "https://github.com/login/oauth", but the policy trusts that subject only through "https://accounts.google.com"',
    });
  });

  test('an identity without issuer never matches a Fulcio certificate (it records one)', () => {
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, identities({ subject: 'mitr@redhat.com' })))).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('but the policy trusts that subject only through no OIDC issuer'),
    });
  });

  test('tampered SignedEntryTimestamp: BAD_SIGNATURE from the Rekor key', () => {
    const tampered = withAnnotations(layer(KEYLESS_DIR), (annotations) => {
      const bundle = JSON.parse(annotations['dev.sigstore.cosign/bundle'] as string) as { SignedEntryTimestamp: string };
      const set = Buffer.from(bundle.SignedEntryTimestamp, 'base64');
      set[set.length - 5] = (set[set.length - 5] as number) ^ 0x01;
      bundle.SignedEntryTimestamp = set.toString('base64');
      annotations['dev.sigstore.cosign/bundle'] = JSON.stringify(bundle);
    });
    expect(checkLayer(tampered, keyless(fulcioPem, mitr))).toMatchObject({
      status: 'invalid',
      reason: 'BAD_SIGNATURE',
      detail: expect.stringMatching(/^signature layer 1: transparency-log signed entry timestamp does not verify with the trusted Rekor key/),
    });
  });

  test('a moved integratedTime (to make the expired certificate look current) breaks the SET: BAD_SIGNATURE', () => {
    const moved = withAnnotations(layer(KEYLESS_DIR), (annotations) => {
      const bundle = JSON.parse(annotations['dev.sigstore.cosign/bundle'] as string) as { Payload: { integratedTime: number } };
      bundle.Payload.integratedTime = Math.floor(NOW.getTime() / 1000);
      annotations['dev.sigstore.cosign/bundle'] = JSON.stringify(bundle);
    });
    expect(checkLayer(moved, keyless(fulcioPem, mitr))).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
  });

  test('a logged entry for other content: PAYLOAD_MISMATCH (payload changed and re-described, signature and SET kept)', () => {
    const original = layer(KEYLESS_DIR);
    const payload = Buffer.from(original.payload.toString('utf8').replace('"optional":null', '"optional":{}'));
    const swapped = { ...original, payload, digest: sha256(payload), size: payload.length };
    expect(checkLayer(swapped, keyless(fulcioPem, mitr))).toMatchObject({
      status: 'invalid',
      reason: 'PAYLOAD_MISMATCH',
      detail: expect.stringContaining('transparency-log entry records another signature or content'),
    });
  });

  test('certificate chain to an unknown root (trusting only the PKI root): UNTRUSTED_SIGNER naming the issuer', () => {
    const otherCa = must(trustRootFromPem({ certificates: text(CONTAINERS, 'keys/pki_root_crts.pem'), rekorKeys: text(CONTAINERS, 'keys/rekor.pub') }));
    expect(checkLayer(layer(KEYLESS_DIR), keyless(otherCa, mitr))).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'UNTRUSTED_SIGNER',
      detail:
        'signature layer 1: certificate not trusted at the logged signing time: the chain stops at "CN=sigstore, O=sigstore.dev", issued by "CN=sigstore, O=sigstore.dev", which is not a CA in the trust root (CN=Linuxera Root Certificate Authority, OU=Security, O=IT, L=Valencia, C=ES)',
    });
  });

  test('a Rekor log the trust root does not list: UNTRUSTED_SIGNER naming the log', () => {
    const otherLog = must(trustRootFromPem({ certificates: text(CONTAINERS, 'keys/fulcio_v1.crt.pem'), rekorKeys: text(CONTAINERS, 'keys/cosign.pub') }));
    expect(checkLayer(layer(KEYLESS_DIR), keyless(otherLog, mitr))).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('transparency-log entry is from log c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d, which the trust root does not list'),
    });
  });

  test('no Rekor bundle annotation while requireRekor: MISSING_ANNOTATION', () => {
    const unlogged = withAnnotations(layer(KEYLESS_DIR), (annotations) => delete annotations['dev.sigstore.cosign/bundle']);
    expect(checkLayer(unlogged, keyless(fulcioPem, mitr))).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MISSING_ANNOTATION',
      detail: 'signature layer 1 has no transparency-log entry (dev.sigstore.cosign/bundle annotation), but the policy requires one (requireRekor)',
    });
  });

  test('without Rekor the ten-minute Fulcio certificate is judged now, and has expired', () => {
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, mitr, false))).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('is valid from 2023-01-20T20:51:31.000Z to 2023-01-20T21:01:31.000Z, so it was not valid at'),
    });
  });

  test('signature for another image: DIGEST_MISMATCH naming the signer', () => {
    const other = `sha256:${'ab'.repeat(32)}` as Digest;
    expect(checkLayer(layer(KEYLESS_DIR), keyless(fulcioPem, mitr), other)).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'DIGEST_MISMATCH',
      signer: `${GITHUB} mitr@redhat.com`,
      detail: `signature is for ${keylessDigest} but the image is ${other}`,
    });
  });

  test('key-based layers (no certificate) are not keyless signatures: UNTRUSTED_SIGNER saying so', () => {
    for (const dir of ['dir-img-cosign-valid', 'dir-img-cosign-key-rekor-valid']) {
      expect(checkLayer(layer(dir), keyless(fulcioPem, mitr))).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'UNTRUSTED_SIGNER',
        detail:
          'signature layer 1 is signed with a key, not a certificate (no dev.sigstore.cosign/certificate annotation); keyless trust accepts only certificates from its trust root',
      });
    }
  });
});

describe('dir-img-cosign-pki-valid (RSA certificate from a private CA, no Rekor)', () => {
  const PKI_DIR = 'dir-img-cosign-pki-valid';
  const pkiDigest = sha256(bytes(CONTAINERS, `${PKI_DIR}/manifest.json`));
  const qiwan = identities({ subject: 'qiwan@redhat.com' });

  test('VALID with the PKI root; validUntil is the earliest expiry on the path (computed here with node:crypto)', () => {
    const leafPem = layer(PKI_DIR).annotations['dev.sigstore.cosign/certificate'] as string;
    const chainPem = layer(PKI_DIR).annotations['dev.sigstore.cosign/chain'] as string;
    const expiries = [leafPem, ...chainPem.split(/(?=-----BEGIN CERTIFICATE-----)/)].map((pem) => new X509Certificate(pem).validToDate.getTime());
    expect(checkLayer(layer(PKI_DIR), keyless(pkiRoot, qiwan, false), pkiDigest)).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: 'qiwan@redhat.com',
      digest: pkiDigest,
      annotations: {},
      validUntil: new Date(Math.min(...expiries)).toISOString(),
    });
  });

  test('the DNS alternative name identifies the signer as well', () => {
    expect(checkLayer(layer(PKI_DIR), keyless(pkiRoot, identities({ subject: 'myhost.example.com' }), false), pkiDigest)).toMatchObject({
      status: 'valid',
      signer: 'myhost.example.com',
    });
  });

  test('trusting the Fulcio root instead: UNTRUSTED_SIGNER', () => {
    expect(checkLayer(layer(PKI_DIR), keyless(fulcioPem, qiwan, false), pkiDigest)).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('which is not a CA in the trust root (CN=sigstore, O=sigstore.dev)'),
    });
  });

  test('an identity with an OIDC issuer does not match a certificate that records none', () => {
    expect(checkLayer(layer(PKI_DIR), keyless(pkiRoot, identities({ issuer: GITHUB, subject: 'qiwan@redhat.com' }), false), pkiDigest)).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('was issued through no OIDC issuer, but the policy trusts that subject only through "https://github.com/login/oauth"'),
    });
  });

  test('judged at the current time: before the leaf was issued it is not valid', () => {
    expect(checkLayer(layer(PKI_DIR), keyless(pkiRoot, qiwan, false), pkiDigest, new Date('2024-01-01T00:00:00Z'))).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('so it was not valid at 2024-01-01T00:00:00.000Z'),
    });
  });

  test('a flipped signature bit: BAD_SIGNATURE', () => {
    const broken = withAnnotations(layer(PKI_DIR), (annotations) => {
      const signature = Buffer.from(annotations['dev.cosignproject.cosign/signature'] as string, 'base64');
      signature[10] = (signature[10] as number) ^ 0x01;
      annotations['dev.cosignproject.cosign/signature'] = signature.toString('base64');
    });
    expect(checkLayer(broken, keyless(pkiRoot, qiwan, false), pkiDigest)).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'BAD_SIGNATURE',
      detail: "signature layer 1: signature does not verify with the signing certificate's key",
    });
  });

  test('with requireRekor the PKI signature (never logged) is refused: MISSING_ANNOTATION', () => {
    const logged = must(trustRootFromPem({ certificates: text(CONTAINERS, 'keys/pki_root_crts.pem'), rekorKeys: text(CONTAINERS, 'keys/rekor.pub') }));
    expect(checkLayer(layer(PKI_DIR), keyless(logged, qiwan, true), pkiDigest)).toMatchObject({ status: 'invalid', reason: 'MISSING_ANNOTATION' });
  });
});

describe('cosign-sigstore-bundle/oci-attestation.sigstore.json (Sigstore bundle v0.3, keyless, public-good)', () => {
  const blob = { source: 'oci-attestation.sigstore.json', bytes: bytes(BUNDLES, 'oci-attestation.sigstore.json') };
  const subjectDigest = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4' as Digest;
  const cody = identities({ issuer: GITHUB, subject: 'cody@soyland.com' });
  const ATTESTATION = 'https://cosign.sigstore.dev/attestation/v1';

  function checkBundle(overrides: Partial<SigstoreVerifyInput> = {}): SignatureCheck {
    const checks = verifySigstoreSignatures({
      imageDigest: subjectDigest,
      trust: keyless(publicGood, cody),
      layers: [],
      bundles: [blob],
      now: NOW,
      ...overrides,
    });
    expect(checks).toHaveLength(1);
    return checks[0] as SignatureCheck;
  }

  test('documented result: VALID with trusted_root_pgi.json, cody@soyland.com via GitHub, digest 732112…, when its predicate type is accepted', () => {
    expect(checkBundle({ predicateTypes: [ATTESTATION] })).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: `${GITHUB} cody@soyland.com`,
      digest: subjectDigest,
      annotations: {},
    });
  });

  test('as an image signature it is an attestation, not a cosign signature: WRONG_TYPE (after the signature verified)', () => {
    expect(checkBundle()).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'WRONG_TYPE',
      signer: `${GITHUB} cody@soyland.com`,
      detail: `bundle oci-attestation.sigstore.json is an attestation with predicateType "${ATTESTATION}", not a cosign signature (https://sigstore.dev/cosign/sign/v1)`,
    });
  });

  test('another identity or issuer: UNTRUSTED_SIGNER', () => {
    expect(checkBundle({ trust: keyless(publicGood, identities({ issuer: GITHUB, subject: 'mitr@redhat.com' })) })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('signing certificate identity "cody@soyland.com"'),
    });
    expect(checkBundle({ trust: keyless(publicGood, identities({ issuer: 'https://token.actions.githubusercontent.com', subject: 'cody@soyland.com' })) })).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
    });
  });

  test('another digest: DIGEST_MISMATCH', () => {
    const other = `sha256:${'cd'.repeat(32)}` as Digest;
    expect(checkBundle({ imageDigest: other, predicateTypes: [ATTESTATION] })).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'DIGEST_MISMATCH',
      signer: `${GITHUB} cody@soyland.com`,
      detail: `signature is for ${subjectDigest} but the image is ${other}`,
    });
  });

  test('the bundle carries only the leaf: PEM trust material without the Fulcio intermediate cannot anchor it', () => {
    expect(checkBundle({ trust: keyless(fulcioPem, cody), predicateTypes: [ATTESTATION] })).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('was issued by "CN=sigstore-intermediate, O=sigstore.dev", which is not a CA in the trust root'),
    });
  });

  test('a changed statement (same signature): the log entry and signature no longer match', () => {
    const bundle = JSON.parse(blob.bytes.toString('utf8')) as { dsseEnvelope: { payload: string } };
    const statement = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replace('732112270d7e', '000000000000');
    bundle.dsseEnvelope.payload = Buffer.from(statement).toString('base64');
    const check = checkBundle({ bundles: [{ source: 'edited', bytes: Buffer.from(JSON.stringify(bundle)) }] });
    expect(check).toMatchObject({ status: 'invalid', reason: 'PAYLOAD_MISMATCH' });
  });

  test('a bundle with a duplicated member name is refused before any verification: MALFORMED', () => {
    const duplicated = Buffer.from(blob.bytes.toString('utf8').replace('{', '{"mediaType":"x",'));
    expect(checkBundle({ bundles: [{ source: 'dup', bytes: duplicated }] })).toMatchObject({
      status: 'invalid',
      reason: 'MALFORMED',
      detail: expect.stringMatching(/^bundle dup is not valid JSON: duplicate/),
    });
  });
});
