// Real signatures made by cosign and skopeo (containers/image fixtures, see the PROVENANCE.md next to
// them) through verifyCosignSignatures, each with the result documented upstream.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Digest } from '../../../src/reference/types.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import type { TrustedKey } from '../../../src/keys/types.js';
import { verifyCosignSignatures } from '../../../src/signatures/cosign/verify.js';
import type { CosignSignatureLayer, CosignVerifyInput } from '../../../src/signatures/cosign/verify.js';

const FIXTURES = new URL('../../fixtures/conformance/containers-image-cosign/', import.meta.url);

function fixture(path: string): Buffer {
  return readFileSync(new URL(path, FIXTURES));
}

function sha256(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

function key(name: string, file: string): TrustedKey {
  const parsed = parsePublicKey(name, fixture(`keys/${file}`).toString('utf8'));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

/** A layer as the registry would serve it: descriptor from signature-N.json, blob = payload.bin. */
function layer(dir: string, signature = 'signature-1'): CosignSignatureLayer {
  const stored = JSON.parse(fixture(`${dir}/${signature}.json`).toString('utf8')) as {
    mimeType: string;
    annotations: Record<string, string>;
  };
  const payload = fixture(`${dir}/${signature}.payload.bin`);
  return { mediaType: stored.mimeType, digest: sha256(payload), size: payload.length, annotations: stored.annotations, payload };
}

function imageDigest(dir: string): Digest {
  return sha256(fixture(`${dir}/manifest.json`));
}

const cosignPub = key('cosign.pub', 'cosign.pub');
const cosign2Pub = key('cosign2.pub', 'cosign2.pub');
const rekorPub = key('rekor', 'rekor.pub');

function verifyOne(input: Omit<CosignVerifyInput, 'layers'> & { layer: CosignSignatureLayer }) {
  const { layer: only, ...rest } = input;
  const checks = verifyCosignSignatures({ ...rest, layers: [only] });
  expect(checks).toHaveLength(1);
  return checks[0];
}

describe('containers/image cosign conformance samples', () => {
  test('the Rekor key fixture is the public-good log (logID from PROVENANCE.md)', () => {
    expect(rekorPub.fingerprint).toBe('sha256:c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d');
  });

  test('dir-img-cosign-valid: valid with cosign.pub', () => {
    expect(verifyOne({ imageDigest: imageDigest('dir-img-cosign-valid'), layer: layer('dir-img-cosign-valid'), keys: [cosignPub] })).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: 'cosign.pub',
      digest: 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00',
      annotations: {},
    });
  });

  test('dir-img-cosign-valid-2 (signature-2): valid with cosign.pub', () => {
    const check = verifyOne({
      imageDigest: imageDigest('dir-img-cosign-valid-2'),
      layer: layer('dir-img-cosign-valid-2', 'signature-2'),
      keys: [cosign2Pub, cosignPub],
    });
    expect(check).toMatchObject({ status: 'valid', signer: 'cosign.pub' });
  });

  test('dir-img-cosign-valid-with-tag (skopeo-made): valid; string optional fields become annotations, the numeric timestamp does not', () => {
    const check = verifyOne({
      imageDigest: imageDigest('dir-img-cosign-valid-with-tag'),
      layer: layer('dir-img-cosign-valid-with-tag'),
      keys: [cosignPub],
    });
    expect(check).toEqual({
      status: 'valid',
      system: 'cosign',
      signer: 'cosign.pub',
      digest: imageDigest('dir-img-cosign-valid-with-tag'),
      annotations: { creator: 'containers/image 5.21.2-dev' },
    });
  });

  test('dir-img-cosign-modified-manifest: signature verifies but is for another digest -> DIGEST_MISMATCH', () => {
    const digest = imageDigest('dir-img-cosign-modified-manifest');
    const check = verifyOne({ imageDigest: digest, layer: layer('dir-img-cosign-modified-manifest'), keys: [cosignPub] });
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'DIGEST_MISMATCH',
      signer: 'cosign.pub',
      detail: `signature is for sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00 but the image is ${digest}`,
    });
  });

  test('dir-img-cosign-other-attachment: text/plain layer is skipped as WRONG_TYPE, never valid', () => {
    const check = verifyOne({
      imageDigest: imageDigest('dir-img-cosign-other-attachment'),
      layer: layer('dir-img-cosign-other-attachment'),
      keys: [cosignPub],
    });
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'WRONG_TYPE',
      detail: 'signature layer 1 has media type "text/plain", not a cosign simple-signing payload',
    });
  });

  test('unknown-cosign-key: UNTRUSTED_SIGNER naming both keys tried', () => {
    const check = verifyOne({
      imageDigest: imageDigest('dir-img-cosign-valid'),
      layer: layer('unknown-cosign-key', 'signature'),
      keys: [cosignPub, cosign2Pub],
    });
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'UNTRUSTED_SIGNER',
      detail: 'signed, but not by a trusted key (tried: cosign.pub, cosign2.pub); made with another key, or altered after signing',
    });
  });

  describe('dir-img-cosign-key-rekor-valid', () => {
    const dir = 'dir-img-cosign-key-rekor-valid';

    test('valid with cosign2.pub (not with cosign.pub)', () => {
      expect(verifyOne({ imageDigest: imageDigest(dir), layer: layer(dir), keys: [cosign2Pub] })).toMatchObject({
        status: 'valid',
        signer: 'cosign2.pub',
      });
      expect(verifyOne({ imageDigest: imageDigest(dir), layer: layer(dir), keys: [cosignPub] })).toMatchObject({
        status: 'invalid',
        reason: 'UNTRUSTED_SIGNER',
      });
    });

    test('its signature altered: BAD_SIGNATURE when the key its Rekor entry names is trusted, UNTRUSTED_SIGNER when it is not', () => {
      const original = layer(dir);
      const signature = Buffer.from(original.annotations['dev.cosignproject.cosign/signature'] as string, 'base64');
      signature[signature.length - 2] = signature[signature.length - 2]! ^ 0x01;
      const altered = { ...original, annotations: { ...original.annotations, 'dev.cosignproject.cosign/signature': signature.toString('base64') } };
      expect(verifyOne({ imageDigest: imageDigest(dir), layer: altered, keys: [cosignPub, cosign2Pub] })).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'BAD_SIGNATURE',
        detail:
          'signature does not verify with trusted key cosign2.pub, the key its transparency-log entry names: the signature or its payload was most likely altered after signing',
      });
      expect(verifyOne({ imageDigest: imageDigest(dir), layer: altered, keys: [cosignPub] })).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'UNTRUSTED_SIGNER',
        detail: 'signed, but not by a trusted key (tried: cosign.pub); made with another key, or altered after signing',
      });
    });

    test('with requireTlog and rekor.pub the SET and the logged entry verify', () => {
      const check = verifyOne({ imageDigest: imageDigest(dir), layer: layer(dir), keys: [cosign2Pub], rekorKeys: [rekorPub], requireTlog: true });
      expect(check).toMatchObject({ status: 'valid', signer: 'cosign2.pub' });
    });

    test('requireTlog without any trusted Rekor key -> UNTRUSTED_SIGNER naming the log', () => {
      const check = verifyOne({ imageDigest: imageDigest(dir), layer: layer(dir), keys: [cosign2Pub], rekorKeys: [cosignPub], requireTlog: true });
      expect(check).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'UNTRUSTED_SIGNER',
        signer: 'cosign2.pub',
        detail:
          'transparency-log entry is from Rekor log c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d, which is not a trusted Rekor key (trusted: cosign.pub)',
      });
    });

    function withBundle(edit: (bundle: { SignedEntryTimestamp: string; Payload: Record<string, unknown> }) => void): CosignSignatureLayer {
      const original = layer(dir);
      const bundle = JSON.parse(original.annotations['dev.sigstore.cosign/bundle'] as string) as {
        SignedEntryTimestamp: string;
        Payload: Record<string, unknown>;
      };
      edit(bundle);
      return { ...original, annotations: { ...original.annotations, 'dev.sigstore.cosign/bundle': JSON.stringify(bundle) } };
    }

    test('a SET with one flipped byte -> BAD_SIGNATURE', () => {
      const tampered = withBundle((bundle) => {
        const set = Buffer.from(bundle.SignedEntryTimestamp, 'base64');
        set[set.length - 5] = (set[set.length - 5] as number) ^ 0x01;
        bundle.SignedEntryTimestamp = set.toString('base64');
      });
      const check = verifyOne({ imageDigest: imageDigest(dir), layer: tampered, keys: [cosign2Pub], rekorKeys: [rekorPub], requireTlog: true });
      expect(check).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'BAD_SIGNATURE',
        signer: 'cosign2.pub',
        detail: 'transparency-log SignedEntryTimestamp does not verify with Rekor key rekor',
      });
    });

    test('a changed integratedTime or body no longer matches the SET -> BAD_SIGNATURE', () => {
      const laterTime = withBundle((bundle) => {
        bundle.Payload['integratedTime'] = (bundle.Payload['integratedTime'] as number) + 1;
      });
      const otherBody = withBundle((bundle) => {
        const body = JSON.parse(Buffer.from(bundle.Payload['body'] as string, 'base64').toString('utf8')) as {
          spec: { data: { hash: { value: string } } };
        };
        body.spec.data.hash.value = '0'.repeat(64);
        bundle.Payload['body'] = Buffer.from(JSON.stringify(body)).toString('base64');
      });
      for (const tampered of [laterTime, otherBody]) {
        const check = verifyOne({ imageDigest: imageDigest(dir), layer: tampered, keys: [cosign2Pub], rekorKeys: [rekorPub], requireTlog: true });
        expect(check).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
      }
    });

    test('the bundle re-serialised with other key order and whitespace still verifies (the SET is over canonical JSON)', () => {
      const reordered = withBundle(() => undefined);
      const bundle = JSON.parse(reordered.annotations['dev.sigstore.cosign/bundle'] as string) as {
        SignedEntryTimestamp: string;
        Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
      };
      const { body, integratedTime, logIndex, logID } = bundle.Payload;
      const text = JSON.stringify({ Payload: { logID, logIndex, integratedTime, body }, SignedEntryTimestamp: bundle.SignedEntryTimestamp }, null, 2);
      const check = verifyOne({
        imageDigest: imageDigest(dir),
        layer: { ...reordered, annotations: { ...reordered.annotations, 'dev.sigstore.cosign/bundle': text } },
        keys: [cosign2Pub],
        rekorKeys: [rekorPub],
        requireTlog: true,
      });
      expect(check).toMatchObject({ status: 'valid' });
    });

    test('requireTlog on a signature without a bundle (dir-img-cosign-valid) -> MISSING_ANNOTATION', () => {
      const check = verifyOne({
        imageDigest: imageDigest('dir-img-cosign-valid'),
        layer: layer('dir-img-cosign-valid'),
        keys: [cosignPub],
        rekorKeys: [rekorPub],
        requireTlog: true,
      });
      expect(check).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'MISSING_ANNOTATION',
        signer: 'cosign.pub',
        detail: 'signature has no transparency-log entry (dev.sigstore.cosign/bundle annotation), but the policy requires one',
      });
    });
  });

  describe("identity check 'repository'", () => {
    const dir = 'dir-img-cosign-valid';

    test('passes for the signed repository 192.168.64.2:5000/cosign-signed-single-sample', () => {
      const check = verifyOne({
        imageDigest: imageDigest(dir),
        layer: layer(dir),
        keys: [cosignPub],
        identityCheck: 'repository',
        imageRepository: '192.168.64.2:5000/cosign-signed-single-sample',
      });
      expect(check).toMatchObject({ status: 'valid' });
    });

    test('fails for another repository with IDENTITY_MISMATCH', () => {
      const check = verifyOne({
        imageDigest: imageDigest(dir),
        layer: layer(dir),
        keys: [cosignPub],
        identityCheck: 'repository',
        imageRepository: '192.168.64.2:5000/someone-else',
      });
      expect(check).toEqual({
        status: 'invalid',
        system: 'cosign',
        reason: 'IDENTITY_MISMATCH',
        signer: 'cosign.pub',
        detail: 'signature is for repository 192.168.64.2:5000/cosign-signed-single-sample but the image is from 192.168.64.2:5000/someone-else',
      });
    });

    test("skopeo's docker-reference with a tag matches its repository (tag ignored)", () => {
      const check = verifyOne({
        imageDigest: imageDigest('dir-img-cosign-valid-with-tag'),
        layer: layer('dir-img-cosign-valid-with-tag'),
        keys: [cosignPub],
        identityCheck: 'repository',
        imageRepository: '192.168.64.2:5000/skopeo-signed',
      });
      expect(check).toMatchObject({ status: 'valid' });
    });

    test("default 'ignore' accepts a signature whose docker-reference names another repository (cosign's behaviour)", () => {
      const check = verifyOne({ imageDigest: imageDigest(dir), layer: layer(dir), keys: [cosignPub], imageRepository: 'docker.io/library/busybox' });
      expect(check).toMatchObject({ status: 'valid' });
    });
  });

  // Keyless (Fulcio + Rekor) and PKI (certificate chain) trust are a later issue; with key-based trust
  // these real signatures must not count.
  test('dir-img-cosign-fulcio-rekor-valid: keyless signature is UNTRUSTED_SIGNER under key-based trust (keyless is a later issue)', () => {
    const dir = 'dir-img-cosign-fulcio-rekor-valid';
    const check = verifyOne({ imageDigest: imageDigest(dir), layer: layer(dir), keys: [cosignPub, cosign2Pub] });
    expect(check).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'UNTRUSTED_SIGNER',
      detail:
        'signed with a certificate (keyless or PKI), which key-based trust does not check, and not by a trusted key (tried: cosign.pub, cosign2.pub)',
    });
  });

  test('dir-img-cosign-pki-valid: RSA certificate signature is UNTRUSTED_SIGNER under key-based trust (PKI is a later issue)', () => {
    const dir = 'dir-img-cosign-pki-valid';
    const check = verifyOne({ imageDigest: imageDigest(dir), layer: layer(dir), keys: [cosignPub] });
    // The signature annotation has line breaks (Go's base64 decoder skips them); it must still decode.
    expect(layer(dir).annotations['dev.cosignproject.cosign/signature']).toContain('\n');
    expect(check).toMatchObject({ status: 'invalid', reason: 'UNTRUSTED_SIGNER' });
  });

  test('all samples as one signature manifest: one check per layer, in order', () => {
    const layers = [layer('dir-img-cosign-other-attachment'), layer('unknown-cosign-key', 'signature'), layer('dir-img-cosign-valid')];
    const checks = verifyCosignSignatures({ imageDigest: imageDigest('dir-img-cosign-valid'), layers, keys: [cosignPub] });
    expect(checks.map((check) => (check.status === 'valid' ? 'valid' : check.reason))).toEqual(['WRONG_TYPE', 'UNTRUSTED_SIGNER', 'valid']);
  });
});
