// The notation-go samples (test/fixtures/conformance/notation-go, see PROVENANCE.md) through the pure
// verifier, each with the result PROVENANCE.md documents, plus tampered copies of the valid sample.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import { parseTrustStorePem, type NotationTrustPolicy, type TrustStoreType, type VerificationLevel } from '../../../src/signatures/notation/trust.js';
import { parseTrustedIdentities } from '../../../src/signatures/notation/identity.js';
import { verifyNotationSignatures, type NotationTarget } from '../../../src/signatures/notation/verify.js';
import { editJson, editMember } from './pki.js';

const DIR = join(import.meta.dirname, '../../fixtures/conformance/notation-go');
const sample = (name: string): Buffer => readFileSync(join(DIR, name));
const NOW = new Date('2025-06-01T00:00:00Z');

/** The descriptor PROVENANCE.md documents for every ca_* and sa_* sample. */
const TARGET: NotationTarget = {
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e' as Digest,
  size: 528,
};

function store(file: string): ReturnType<typeof parseTrustStorePem> {
  return parseTrustStorePem(readFileSync(join(DIR, 'truststore', file), 'utf8'));
}

function policy(options: { file?: string; type?: TrustStoreType; level?: VerificationLevel; identities?: string[]; name?: string } = {}): NotationTrustPolicy {
  const certificates = store(options.file ?? 'NotationTestRoot.pem');
  if (!certificates.ok) throw new Error(certificates.error);
  const identities = parseTrustedIdentities(options.identities ?? ['*']);
  if (!identities.ok) throw new Error(JSON.stringify(identities.error));
  return {
    trustStore: { type: options.type ?? 'ca', name: options.name ?? 'notation-test', certificates: certificates.value },
    trustedIdentities: identities.value,
    level: options.level ?? 'strict',
  };
}

async function verifyOne(bytes: Buffer, trust: NotationTrustPolicy, target: NotationTarget = TARGET, now = NOW): Promise<SignatureCheck> {
  const [check] = await verifyNotationSignatures({ target, envelopes: [{ mediaType: 'application/jose+json', bytes, source: 'signature sample' }], policy: trust, now });
  if (check === undefined) throw new Error('no check returned');
  return check;
}

describe('notation-go conformance samples', () => {
  test('both trust-store files parse as self-signed roots', () => {
    expect(store('NotationTestRoot.pem')).toMatchObject({ ok: true, value: [{ displayName: 'CN=Notation Test Root' }] });
    expect(store('wabbit-networks.io.crt')).toMatchObject({ ok: true, value: [{ displayName: 'CN=wabbit-networks.io' }] });
  });

  test('ca_valid: valid, signed by the trust store, valid until the signature expiry', async () => {
    expect(await verifyOne(sample('ca_valid_sig_env.json'), policy())).toEqual({
      status: 'valid',
      system: 'notation',
      signer: 'notation-test (CN=Notation Test Root)',
      digest: TARGET.digest,
      annotations: {},
      validUntil: '2120-11-09T07:00:00.000Z',
    });
  });

  test('ca_invalid: the signature does not verify', async () => {
    const check = await verifyOne(sample('ca_invalid_sig_env.json'), policy());
    expect(check).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
    expect(check).toHaveProperty('detail', expect.stringContaining('does not verify with the key of its signing certificate CN=Notation Test Root'));
    expect(check).not.toHaveProperty('signer');
  });

  test('ca_expired: expired under strict, with the trusted signer named; admitted under permissive and audit', async () => {
    const strict = await verifyOne(sample('ca_expired_sig_env.json'), policy());
    expect(strict).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'BAD_SIGNATURE',
      detail: 'Notation signature sample: signature expired at 2022-07-29T23:59:00.000Z; sign the image again',
      signer: 'notation-test (CN=Notation Test Root)',
    });
    for (const level of ['permissive', 'audit'] as const) {
      const check = await verifyOne(sample('ca_expired_sig_env.json'), policy({ level }));
      expect(check).toMatchObject({ status: 'valid', signer: 'notation-test (CN=Notation Test Root)' });
      // Expiry is not enforced at these levels, so it does not limit how long the result holds.
      expect(check).not.toHaveProperty('validUntil');
    }
  });

  test('sa_valid: valid with a signingAuthority store; validity is judged at the authentic signing time', async () => {
    const check = await verifyOne(sample('sa_valid_sig_env.json'), policy({ type: 'signingAuthority', name: 'acme-sa' }));
    expect(check).toEqual({
      status: 'valid',
      system: 'notation',
      signer: 'acme-sa (CN=Notation Test Root)',
      digest: TARGET.digest,
      annotations: {},
      validUntil: '2120-11-09T07:00:00.000Z',
    });
    // Long after the certificates expire (2122) the signing authority's word still holds, until the signature expiry.
    const later = await verifyOne(sample('sa_valid_sig_env.json'), policy({ type: 'signingAuthority' }), TARGET, new Date('2120-01-01T00:00:00Z'));
    expect(later).toMatchObject({ status: 'valid' });
  });

  test('sa_valid with a ca store: the store type must match the signing scheme', async () => {
    const check = await verifyOne(sample('sa_valid_sig_env.json'), policy({ type: 'ca' }));
    expect(check).toMatchObject({
      status: 'invalid',
      reason: 'UNTRUSTED_SIGNER',
      detail: 'Notation signature sample: signed with the notary.x509.signingAuthority scheme, which needs a trust store of type signingAuthority, but notation-test is of type ca',
    });
  });

  test('ca_valid with a signingAuthority store is refused the same way', async () => {
    const check = await verifyOne(sample('ca_valid_sig_env.json'), policy({ type: 'signingAuthority' }));
    expect(check).toMatchObject({ status: 'invalid', reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('needs a trust store of type ca') });
  });

  test('sa_invalid: the signature does not verify', async () => {
    expect(await verifyOne(sample('sa_invalid_sig_env.json'), policy({ type: 'signingAuthority' }))).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
  });

  test('sa_expired: expired under strict', async () => {
    const check = await verifyOne(sample('sa_expired_sig_env.json'), policy({ type: 'signingAuthority' }));
    expect(check).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE', detail: expect.stringContaining('signature expired at 2022-07-29T23:59:00.000Z') });
  });

  test.each([
    ['ca_valid_sig_env.json', 'ca', 'UNTRUSTED_SIGNER'],
    ['ca_expired_sig_env.json', 'ca', 'UNTRUSTED_SIGNER'],
    ['sa_valid_sig_env.json', 'signingAuthority', 'UNTRUSTED_SIGNER'],
    ['sa_expired_sig_env.json', 'signingAuthority', 'UNTRUSTED_SIGNER'],
    // Integrity is checked before authenticity, so a broken signature stays a broken signature.
    ['ca_invalid_sig_env.json', 'ca', 'BAD_SIGNATURE'],
    ['sa_invalid_sig_env.json', 'signingAuthority', 'BAD_SIGNATURE'],
  ] as const)('%s with only wabbit-networks.io.crt trusted: %s store → %s', async (file, type, reason) => {
    const check = await verifyOne(sample(file), policy({ file: 'wabbit-networks.io.crt', type, name: 'wabbit' }));
    expect(check).toMatchObject({ status: 'invalid', reason });
    if (reason === 'UNTRUSTED_SIGNER') {
      expect(check).toHaveProperty('detail', 'Notation signature sample: signed by CN=Notation Test Root, whose chain ends at CN=Notation Test Root, which is not a certificate of the trust store wabbit');
    }
  });

  test('jwsWithTimestamp: verifies but its self-signed leaf is not in this trust store', async () => {
    const target: NotationTarget = {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      digest: 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda' as Digest,
      size: 528,
    };
    const check = await verifyOne(sample('jwsWithTimestamp.sig.json'), policy(), target);
    expect(check).toMatchObject({ status: 'invalid', reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('signed by CN=alpine') });

    // Trusting that self-signed certificate itself makes the one-certificate chain valid (without a tsa
    // trust store the RFC 3161 countersignature is not used; the certificate is valid now, which is what
    // strict then needs). timestamp-conformance.test.ts judges it with the TSA trust store.
    const envelope = JSON.parse(sample('jwsWithTimestamp.sig.json').toString('utf8')) as { header: { x5c: string[] } };
    const alpine = new X509Certificate(Buffer.from(envelope.header.x5c[0]!, 'base64'));
    const certificates = parseTrustStorePem(alpine.toString());
    if (!certificates.ok) throw new Error(certificates.error);
    const trusted = { ...policy(), trustStore: { type: 'ca' as const, name: 'alpine', certificates: certificates.value } };
    expect(await verifyOne(sample('jwsWithTimestamp.sig.json'), trusted, target)).toMatchObject({
      status: 'valid',
      signer: 'alpine (CN=alpine)',
      validUntil: '2033-05-10T04:55:12.000Z',
    });
  });
});

describe('tampered copies of ca_valid', () => {
  const valid = (): Buffer => sample('ca_valid_sig_env.json');

  test('one byte of the payload changed (the digest it names): bad signature', async () => {
    const tampered = editMember(valid(), 'payload', (bytes) => Buffer.from(bytes.toString('utf8').replace('60043cf4', '60043cf5'), 'utf8'));
    expect(await verifyOne(tampered, policy())).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE', detail: expect.stringContaining('the envelope was altered') });
  });

  test('one byte of the protected header changed (the expiry year): bad signature', async () => {
    const tampered = editMember(valid(), 'protected', (bytes) => Buffer.from(bytes.toString('utf8').replace('2120-11-09', '2920-11-09'), 'utf8'));
    expect(await verifyOne(tampered, policy())).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
  });

  test('one byte of the signature changed: bad signature', async () => {
    const tampered = editMember(valid(), 'signature', (bytes) => {
      const copy = Buffer.from(bytes);
      copy[100] = copy[100]! ^ 0x01;
      return copy;
    });
    expect(await verifyOne(tampered, policy())).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
  });

  test.each([
    ['size', { ...TARGET, size: 529 }, 'is for sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e of 528 bytes, but the registry serves it as 529 bytes'],
    [
      'media type',
      { ...TARGET, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
      'as "application/vnd.docker.distribution.manifest.v2+json", but the registry serves it as "application/vnd.oci.image.manifest.v1+json"',
    ],
    [
      'digest',
      { ...TARGET, digest: `sha256:${'1'.repeat(64)}` as Digest },
      `is for sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e but the image is sha256:${'1'.repeat(64)}`,
    ],
  ])('a different admitted %s: digest mismatch, from the trusted signer', async (_what, target, detail) => {
    const check = await verifyOne(valid(), policy(), target);
    expect(check).toMatchObject({ status: 'invalid', reason: 'DIGEST_MISMATCH', signer: 'notation-test (CN=Notation Test Root)' });
    expect(check).toHaveProperty('detail', expect.stringContaining(detail));
  });

  test('the root removed from x5c: the chain is incomplete', async () => {
    const tampered = editJson(valid(), (json) => {
      const header = json['header'] as { x5c: string[] };
      header.x5c = header.x5c.slice(0, 1);
    });
    const check = await verifyOne(tampered, policy());
    expect(check).toMatchObject({ status: 'invalid', reason: 'UNTRUSTED_SIGNER' });
    expect(check).toHaveProperty('detail', expect.stringContaining('the certificate chain is incomplete: it ends with CN=Notation Test Root'));
  });

  test('the chain reversed: refused (a CA cannot be the signing certificate)', async () => {
    const tampered = editJson(valid(), (json) => {
      const header = json['header'] as { x5c: string[] };
      header.x5c = [...header.x5c].reverse();
    });
    // The root's key is not the one that signed, so integrity fails first.
    expect(await verifyOne(tampered, policy())).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
  });

  test('trusted identities: matching subset admitted, another organisation refused', async () => {
    expect(await verifyOne(valid(), policy({ identities: ['x509.subject: C=US, ST=WA, O=Notary'] }))).toMatchObject({ status: 'valid' });
    expect(await verifyOne(valid(), policy({ identities: ['x509.subject: C=US, ST=WA, L=Seattle, O=Notary, CN=Notation Test Root'] }))).toMatchObject({ status: 'valid' });
    const check = await verifyOne(valid(), policy({ identities: ['x509.subject: C=US, ST=WA, O=wabbit-networks.io'] }));
    expect(check).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'UNTRUSTED_SIGNER',
      detail:
        'Notation signature sample: signed by "C=US, ST=WA, L=Seattle, O=Notary, CN=Notation Test Root", which matches none of the trusted identities ("C=US, ST=WA, O=wabbit-networks.io")',
    });
  });

  test('an extra top-level member or a header both protected and unprotected is malformed', async () => {
    const extra = editJson(valid(), (json) => {
      json['signatures'] = [];
    });
    expect(await verifyOne(extra, policy())).toMatchObject({ status: 'invalid', reason: 'MALFORMED', detail: expect.stringContaining('"signatures"') });
    const shadow = editJson(valid(), (json) => {
      (json['header'] as Record<string, unknown>)['cty'] = 'text/plain';
    });
    expect(await verifyOne(shadow, policy())).toMatchObject({ status: 'invalid', reason: 'MALFORMED', detail: expect.stringContaining('both protected and unprotected') });
  });
});
