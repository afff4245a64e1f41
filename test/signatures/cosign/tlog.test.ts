// The Rekor bundle check with a Rekor key generated here, so every part of the logged entry can be
// varied while the SignedEntryTimestamp still verifies: a valid SET alone must never be enough.
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Digest } from '../../../src/reference/types.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import type { TrustedKey } from '../../../src/keys/types.js';
import { canonicalizeJson } from '../../../src/util/canonical-json.js';
import { buildPayload } from '../../../src/signatures/cosign/payload.js';
import { signPayload } from '../../../src/signatures/cosign/private-key.js';
import { SIMPLE_SIGNING_MEDIA_TYPE, verifyCosignSignatures } from '../../../src/signatures/cosign/verify.js';
import type { CosignSignatureLayer } from '../../../src/signatures/cosign/verify.js';

function pair(name: string): { privateKey: KeyObject; publicPem: string; trusted: TrustedKey } {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const parsed = parsePublicKey(name, publicPem);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { privateKey: keys.privateKey, publicPem, trusted: parsed.value };
}

const signer = pair('release');
const stranger = pair('stranger');
const rekor = pair('rekor');
const otherRekor = pair('other-rekor');

const IMAGE = `sha256:${createHash('sha256').update('manifest').digest('hex')}` as Digest;
const payload = buildPayload({ dockerReference: 'registry.example.com/app', digest: IMAGE });
const signature = signPayload(signer.privateKey, payload);

interface EntryParts {
  kind?: string;
  apiVersion?: string;
  hash?: string;
  signatureContent?: string;
  publicKeyPem?: string;
}

function body(parts: EntryParts = {}): string {
  const entry = {
    apiVersion: parts.apiVersion ?? '0.0.1',
    kind: parts.kind ?? 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: parts.hash ?? createHash('sha256').update(payload).digest('hex') } },
      signature: {
        content: parts.signatureContent ?? signature,
        publicKey: { content: Buffer.from(parts.publicKeyPem ?? signer.publicPem).toString('base64') },
      },
    },
  };
  return Buffer.from(JSON.stringify(entry)).toString('base64');
}

/** A bundle annotation whose SET is made by `log` over the canonical Payload. */
function bundle(parts: EntryParts = {}, log = rekor, rawBody?: string): string {
  const logID = log.trusted.fingerprint.slice('sha256:'.length);
  const Payload = { body: rawBody ?? body(parts), integratedTime: 1700000000, logIndex: 42, logID };
  const canonical = canonicalizeJson(Payload);
  if (!canonical.ok) throw new Error(canonical.error.message);
  const set = cryptoSign('sha256', Buffer.from(canonical.value), log.privateKey).toString('base64');
  return JSON.stringify({ SignedEntryTimestamp: set, Payload });
}

function layer(bundleText: string | undefined): CosignSignatureLayer {
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: `sha256:${createHash('sha256').update(payload).digest('hex')}` as Digest,
    size: payload.length,
    annotations: {
      'dev.cosignproject.cosign/signature': signature,
      ...(bundleText === undefined ? {} : { 'dev.sigstore.cosign/bundle': bundleText }),
    },
    payload,
  };
}

function check(bundleText: string | undefined, options: { requireTlog?: boolean; rekorKeys?: TrustedKey[] } = {}) {
  const checks = verifyCosignSignatures({
    imageDigest: IMAGE,
    layers: [layer(bundleText)],
    keys: [signer.trusted],
    rekorKeys: options.rekorKeys ?? [rekor.trusted],
    requireTlog: options.requireTlog ?? true,
  });
  return checks[0];
}

describe('transparency-log bundle (requireTlog)', () => {
  test('a matching entry with a valid SET is valid', () => {
    expect(check(bundle())).toMatchObject({ status: 'valid', signer: 'release' });
  });

  test('the Rekor key is chosen by logID among several trusted ones', () => {
    expect(check(bundle({}, otherRekor), { rekorKeys: [rekor.trusted, otherRekor.trusted] })).toMatchObject({ status: 'valid' });
  });

  test('a SET made by an untrusted log -> UNTRUSTED_SIGNER', () => {
    expect(check(bundle({}, otherRekor))).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringMatching(/^transparency-log entry is from Rekor log [0-9a-f]{64}, which is not a trusted Rekor key \(trusted: rekor\)$/),
    });
  });

  test('an entry for other content -> PAYLOAD_MISMATCH naming both hashes', () => {
    const result = check(bundle({ hash: 'ab'.repeat(32) }));
    expect(result).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'PAYLOAD_MISMATCH',
      signer: 'release',
      detail: `transparency-log entry is for content sha256:${'ab'.repeat(32)}, but the signed payload is sha256:${createHash('sha256').update(payload).digest('hex')}`,
    });
  });

  test('an entry recording another signature -> PAYLOAD_MISMATCH', () => {
    const otherSignature = signPayload(signer.privateKey, Buffer.from('something else'));
    expect(check(bundle({ signatureContent: otherSignature }))).toMatchObject({
      reason: 'PAYLOAD_MISMATCH',
      detail: 'transparency-log entry records a different signature than the one on this layer',
    });
  });

  test('an entry logged with another public key -> PAYLOAD_MISMATCH', () => {
    expect(check(bundle({ publicKeyPem: stranger.publicPem }))).toMatchObject({
      reason: 'PAYLOAD_MISMATCH',
      detail: 'transparency-log entry was logged for another key or a certificate, not for trusted key release',
    });
  });

  test('an entry that is not hashedrekord 0.0.1 -> MALFORMED', () => {
    expect(check(bundle({ kind: 'rekord' }))).toMatchObject({
      reason: 'MALFORMED',
      detail: 'transparency-log entry is of kind "rekord" version "0.0.1"; only hashedrekord 0.0.1 is supported',
    });
  });

  test('no bundle annotation -> MISSING_ANNOTATION', () => {
    expect(check(undefined)).toMatchObject({ reason: 'MISSING_ANNOTATION' });
  });

  test.each([
    ['not JSON', 'SignedEntryTimestamp', 'transparency-log bundle is not valid JSON'],
    ['{"Payload":{}}', '', 'transparency-log bundle has no SignedEntryTimestamp string'],
    ['{"SignedEntryTimestamp":"MEUC","Payload":{"body":"e30=","integratedTime":1.5,"logIndex":1,"logID":"' + 'a'.repeat(64) + '"}}', '', 'transparency-log bundle Payload integratedTime and logIndex must be non-negative integers'],
    ['{"SignedEntryTimestamp":"MEUC","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"xyz"}}', '', 'transparency-log bundle Payload logID is not a hex SHA-256'],
    ['{"SignedEntryTimestamp":"x","SignedEntryTimestamp":"y","Payload":{}}', '', 'duplicate member name "SignedEntryTimestamp"'],
  ])('a malformed bundle %j -> MALFORMED', (text, _unused, detail) => {
    expect(check(text)).toMatchObject({ status: 'invalid', reason: 'MALFORMED', detail: expect.stringContaining(detail) });
  });

  test.each([
    ['SET not base64', '{"SignedEntryTimestamp":"***","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"' + 'a'.repeat(64) + '"}}', 'transparency-log bundle SignedEntryTimestamp is not base64'],
    ['no Payload', '{"SignedEntryTimestamp":"MEUC"}', 'transparency-log bundle has no Payload object'],
    ['no body', '{"SignedEntryTimestamp":"MEUC","Payload":{"integratedTime":1,"logIndex":1,"logID":"' + 'a'.repeat(64) + '"}}', 'transparency-log bundle Payload has no body string'],
  ])('%s -> MALFORMED', (_label, text, detail) => {
    expect(check(text)).toMatchObject({ reason: 'MALFORMED', detail });
  });

  // These bodies are signed by the trusted Rekor key, so only the entry checks can catch them.
  const entryJson = (spec: unknown) => Buffer.from(JSON.stringify({ apiVersion: '0.0.1', kind: 'hashedrekord', spec })).toString('base64');
  const payloadHex = createHash('sha256').update(payload).digest('hex');
  test.each([
    ['a body that is not base64', '%%%', 'transparency-log entry body is not base64'],
    ['a body that is not JSON', Buffer.from('nope').toString('base64'), 'transparency-log entry body is not valid JSON'],
    ['a body that is an array', Buffer.from('[]').toString('base64'), 'transparency-log entry body is not a JSON object'],
    ['a body without the signature', entryJson({ data: { hash: { algorithm: 'sha256', value: payloadHex } } }), 'transparency-log entry lacks spec.data.hash.value, spec.signature.content or spec.signature.publicKey.content'],
    [
      'a sha512 hash',
      entryJson({ data: { hash: { algorithm: 'sha512', value: payloadHex } }, signature: { content: signature, publicKey: { content: Buffer.from(signer.publicPem).toString('base64') } } }),
      'transparency-log entry hash algorithm "sha512" is not sha256',
    ],
    [
      'a publicKey that is not PEM',
      entryJson({ data: { hash: { algorithm: 'sha256', value: payloadHex } }, signature: { content: signature, publicKey: { content: Buffer.from('hello').toString('base64') } } }),
      'transparency-log entry publicKey is not a single PEM block',
    ],
  ])('%s -> MALFORMED even under a valid SET', (_label, rawBody, detail) => {
    expect(check(bundle({}, rekor, rawBody))).toMatchObject({ reason: 'MALFORMED', detail: expect.stringContaining(detail) });
  });

  test('a logged certificate instead of the trusted key -> PAYLOAD_MISMATCH', () => {
    const certificate = readFileSync(new URL('../../fixtures/conformance/containers-image-cosign/keys/fulcio_v1.crt.pem', import.meta.url), 'utf8');
    expect(check(bundle({ publicKeyPem: certificate }))).toMatchObject({
      reason: 'PAYLOAD_MISMATCH',
      detail: 'transparency-log entry was logged for another key or a certificate, not for trusted key release',
    });
  });

  test('without requireTlog a broken bundle is not looked at', () => {
    expect(check('not JSON', { requireTlog: false })).toMatchObject({ status: 'valid' });
  });
});
