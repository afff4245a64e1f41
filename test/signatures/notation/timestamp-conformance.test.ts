// notation-go's timestamp samples (test/fixtures/notation-timestamp, see PROVENANCE.md) and
// jwsWithTimestamp (test/fixtures/conformance/notation-go) through the pure verifier, with
// notation-go's test TSA trust store (GlobalSign Root R6) and verifyTimestamp always. Upstream's
// results are for the authentic-timestamp step, so each envelope's own root is its ca trust store.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import { verifyNotationSignatures, type NotationTarget } from '../../../src/signatures/notation/verify.js';
import type { NotationTrustPolicy } from '../../../src/signatures/notation/trust.js';
import { certificateOf, trustPolicy } from './pki.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures');
const envelope = (file: string): Buffer => readFileSync(join(FIXTURES, file));
const GLOBALSIGN_R6 = certificateOf(readFileSync(join(FIXTURES, 'notation-timestamp/globalsignRoot.cer')));

interface Parsed {
  readonly target: NotationTarget;
  readonly root: Buffer;
}

function parse(bytes: Buffer): Parsed {
  const json = JSON.parse(bytes.toString('utf8')) as { payload: string; header: { x5c: string[] } };
  const { targetArtifact } = JSON.parse(Buffer.from(json.payload, 'base64url').toString('utf8')) as { targetArtifact: { mediaType: string; digest: string; size: number } };
  return {
    target: { mediaType: targetArtifact.mediaType, digest: targetArtifact.digest as Digest, size: targetArtifact.size },
    root: Buffer.from(json.header.x5c[json.header.x5c.length - 1]!, 'base64'),
  };
}

function policyFor(bytes: Buffer, tsa = true): NotationTrustPolicy {
  const base = trustPolicy([parse(bytes).root], { name: 'valid-trust-store' });
  // The GlobalSign TSA chain names OCSP and CRL URLs on the public internet; these tests are offline,
  // so the TSA chain's revocation check is turned off (as PROVENANCE.md says), except where it is the point.
  return tsa ? { ...base, tsaTrustStore: { name: 'test-timestamp', certificates: [GLOBALSIGN_R6] }, verifyTimestamp: 'always', revocation: 'skip' } : { ...base, revocation: 'skip' };
}

async function verify(bytes: Buffer, policy: NotationTrustPolicy, now: Date): Promise<SignatureCheck> {
  const [check] = await verifyNotationSignatures({ target: parse(bytes).target, envelopes: [{ mediaType: 'application/jose+json', bytes, source: 'signature sample' }], policy, now });
  return check!;
}

describe('notation-go timestamp samples (GlobalSign TSA, verifyTimestamp always)', () => {
  test('the ca trust store of jwsWithTimestamp is TestTimestamp.crt, as upstream has it', () => {
    const alpine = new X509Certificate(readFileSync(join(FIXTURES, 'notation-timestamp/TestTimestamp.crt')));
    expect(parse(envelope('conformance/notation-go/jwsWithTimestamp.sig.json')).root.equals(alpine.raw)).toBe(true);
  });

  test('jwsWithTimestamp: valid, now and after its leaf expires (2034); no certificate limit on the verdict', async () => {
    const bytes = envelope('conformance/notation-go/jwsWithTimestamp.sig.json');
    for (const now of [new Date('2025-06-01T00:00:00Z'), new Date('2034-01-01T00:00:00Z')]) {
      const check = await verify(bytes, policyFor(bytes), now);
      expect(check).toMatchObject({ status: 'valid', signer: 'valid-trust-store (CN=alpine)' });
      expect(check).not.toHaveProperty('validUntil');
    }
  });

  test('jwsExpiredWithTimestamp: valid, its leaf expired on 2024-06-18 but the timestamp is inside its ten minutes', async () => {
    const bytes = envelope('notation-timestamp/jwsExpiredWithTimestamp.sig');
    expect(await verify(bytes, policyFor(bytes), new Date('2025-06-01T00:00:00Z'))).toMatchObject({ status: 'valid', signer: 'valid-trust-store (CN=testTSA)' });
    // Without the tsa trust store the timestamp is not used, and the expired leaf is refused.
    expect(await verify(bytes, policyFor(bytes, false), new Date('2025-06-01T00:00:00Z'))).toMatchObject({
      status: 'invalid',
      reason: 'BAD_SIGNATURE',
      detail: expect.stringMatching(/^Notation signature sample: certificate CN=testTSA expired at 2024-06-18T07:30:31\.000Z, before now \(2025-06-01T00:00:00\.000Z\); its RFC 3161 timestamp is not used because the policy names no tsaTrustStore$/),
    });
  });

  test('with revocation enforced and no way to reach GlobalSign, the timestamp does not count: REVOCATION_UNKNOWN for the TSA chain', async () => {
    const bytes = envelope('notation-timestamp/jwsExpiredWithTimestamp.sig');
    const check = await verify(bytes, { ...policyFor(bytes), revocation: 'enforce' }, new Date('2025-06-01T00:00:00Z'));
    expect(check).toMatchObject({
      status: 'invalid',
      reason: 'REVOCATION_UNKNOWN',
      detail: expect.stringMatching(/^Notation signature sample: the timestamping authority's revocation status is unknown: certificate CN=Globalsign TSA for Advanced - G4 - 202311: OCSP responder http:\/\/\S+ could not be asked: revocation checking is not available to this caller/),
    });
  });

  test('withoutTimestamp: TIMESTAMP_INVALID, no countersignature', async () => {
    const bytes = envelope('notation-timestamp/withoutTimestamp.sig');
    expect(await verify(bytes, policyFor(bytes), new Date('2025-06-01T00:00:00Z'))).toMatchObject({
      status: 'invalid',
      reason: 'TIMESTAMP_INVALID',
      detail: 'Notation signature sample: the policy requires an RFC 3161 timestamp from the tsa trust store test-timestamp (verifyTimestamp: always), but the signature carries none',
    });
  });

  test('timestampBeforeNotBefore: TIMESTAMP_INVALID, the timestamp is before the leaf is valid', async () => {
    const bytes = envelope('notation-timestamp/timestampBeforeNotBefore.sig');
    const check = await verify(bytes, policyFor(bytes), new Date('2099-06-01T00:00:00Z'));
    expect(check).toMatchObject({ status: 'invalid', reason: 'TIMESTAMP_INVALID', detail: expect.stringMatching(/^Notation signature sample: the RFC 3161 timestamp 2024-\S+ \(±1000 ms\) may be before certificate CN=\S+ is valid \(from 2099-/) });
  });

  test('a TSA root that is not GlobalSign R6: the same timestamps are untrusted', async () => {
    const bytes = envelope('conformance/notation-go/jwsWithTimestamp.sig.json');
    const policy = { ...policyFor(bytes), tsaTrustStore: { name: 'other', certificates: [certificateOf(parse(bytes).root)] } };
    expect(await verify(bytes, policy, new Date('2025-06-01T00:00:00Z'))).toMatchObject({
      reason: 'TIMESTAMP_INVALID',
      detail: expect.stringMatching(/^Notation signature sample: the RFC 3161 timestamp is signed by CN=Globalsign TSA for Advanced - G4 - 202311, whose chain ends at CN=\S.*, which is not in the tsa trust store other$/),
    });
  });
});
