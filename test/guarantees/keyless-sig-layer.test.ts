// The keyless verifier believes a `.sig` layer's payload only when the payload is the blob its
// descriptor names: its own guarantee, whatever the registry client checked before. Real bytes: a
// simple-signing payload signed with a Fulcio-style certificate chaining to the trusted root, logged in
// the trusted Rekor (test/signatures/sigstore/fake-sigstore.ts), then described by a descriptor whose
// digest (or size) is that of other content.
import { createHash } from 'node:crypto';
import type { Digest } from '../../src/reference/types.js';
import { buildPayload } from '../../src/signatures/cosign/payload.js';
import type { CosignSignatureLayer } from '../../src/signatures/cosign/verify.js';
import { compileIdentityRule } from '../../src/signatures/sigstore/identity.js';
import { trustRootFromPem } from '../../src/signatures/sigstore/trust-root.js';
import { verifySigstoreSignatures, type KeylessTrust } from '../../src/signatures/sigstore/verify.js';
import { keylessLayerAnnotations, makeCa, makeLeaf, makeRekor, type FakeCertificate, type FakeRekor } from '../signatures/sigstore/fake-sigstore.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0';
const IMAGE = `sha256:${'5e'.repeat(32)}` as Digest;
const OTHER_IMAGE = `sha256:${'a7'.repeat(32)}` as Digest;
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';

const sha256 = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

function must<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(`test setup failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

describe('keyless `.sig` layer: the payload must be the blob the layer descriptor names', () => {
  let intermediate: FakeCertificate;
  let leaf: FakeCertificate;
  let rekor: FakeRekor;
  let trust: KeylessTrust;
  const payload = buildPayload({ dockerReference: 'registry.example/acme/app', digest: IMAGE });
  /** Another real payload of the same length: a descriptor of it differs from `payload`'s in digest only. */
  const otherPayload = buildPayload({ dockerReference: 'registry.example/acme/app', digest: OTHER_IMAGE });

  beforeAll(async () => {
    const root = await makeCa('O=signet, CN=guarantees fulcio root');
    intermediate = await makeCa('O=signet, CN=guarantees fulcio intermediate', root, { pathLength: 0 });
    leaf = await makeLeaf(intermediate, { uri: SUBJECT, oidcIssuer: ISSUER });
    rekor = makeRekor();
    trust = {
      kind: 'keyless',
      trustRoot: must(trustRootFromPem({ certificates: root.pem, rekorKeys: rekor.publicKeyPem })),
      identities: [must(compileIdentityRule({ issuer: ISSUER, subject: SUBJECT }))],
      requireRekor: true,
    };
  });

  const layer = (descriptor: { digest: Digest; size: number }): CosignSignatureLayer => ({
    mediaType: SIMPLE_SIGNING,
    ...descriptor,
    annotations: keylessLayerAnnotations({ payload, leaf, chain: [intermediate], rekor }),
    payload,
  });
  const check = (l: CosignSignatureLayer) => verifySigstoreSignatures({ imageDigest: IMAGE, trust, layers: [l], bundles: [], now: new Date() });

  test('the control: the honest descriptor verifies, signed by the workflow identity', () => {
    expect(otherPayload.length).toBe(payload.length);
    expect(check(layer({ digest: sha256(payload), size: payload.length }))).toEqual([
      { status: 'valid', system: 'cosign', signer: `${ISSUER} ${SUBJECT}`, digest: IMAGE, annotations: {} },
    ]);
  });

  test("a descriptor with another blob's digest (same size): PAYLOAD_MISMATCH, though signature and log entry are good", () => {
    const wrong = sha256(otherPayload);
    expect(check(layer({ digest: wrong, size: payload.length }))).toEqual([
      {
        status: 'invalid',
        system: 'cosign',
        reason: 'PAYLOAD_MISMATCH',
        detail: `signature layer 1 payload does not match its descriptor (${payload.length} bytes, ${wrong})`,
      },
    ]);
  });

  test('a descriptor with the right digest but another size: PAYLOAD_MISMATCH', () => {
    const digest = sha256(payload);
    expect(check(layer({ digest, size: payload.length + 1 }))).toEqual([
      expect.objectContaining({ status: 'invalid', reason: 'PAYLOAD_MISMATCH', detail: `signature layer 1 payload does not match its descriptor (${payload.length + 1} bytes, ${digest})` }),
    ]);
  });

  test('a sha512 descriptor is checked with sha512: the honest one verifies, another blob does not', () => {
    const sha512 = (bytes: Buffer) => `sha512:${createHash('sha512').update(bytes).digest('hex')}` as Digest;
    expect(check(layer({ digest: sha512(payload), size: payload.length }))).toEqual([expect.objectContaining({ status: 'valid' })]);
    expect(check(layer({ digest: sha512(otherPayload), size: payload.length }))).toEqual([expect.objectContaining({ status: 'invalid', reason: 'PAYLOAD_MISMATCH' })]);
  });
});
