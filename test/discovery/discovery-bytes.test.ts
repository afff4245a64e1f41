import { discoveryBytes, type CosignDiscovery } from '../../src/discovery/cosign.js';
import type { Digest } from '../../src/reference/types.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as Digest;

function discovery(annotationChars: number, payloadBytes: number, rejectedDetailChars = 0): CosignDiscovery {
  return {
    tag: 'sha256-abc.sig',
    found: true,
    layers: [
      {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: DIGEST,
        size: payloadBytes,
        annotations: { 'dev.sigstore.cosign/certificate': 'c'.repeat(annotationChars) },
        payload: Buffer.alloc(payloadBytes),
      },
    ],
    rejected: rejectedDetailChars > 0 ? [{ status: 'invalid', system: 'cosign', reason: 'MALFORMED', detail: 'd'.repeat(rejectedDetailChars) }] : [],
  };
}

test('the size of a cached discovery counts its annotations, payloads and rejection details, not just its layer count', () => {
  const small = discoveryBytes(discovery(10, 100));
  expect(small).toBeGreaterThan(100);
  expect(small).toBeLessThan(2_000);
  // A certificate chain or Rekor bundle in the annotations is held in memory as UTF-16.
  expect(discoveryBytes(discovery(1_000_000, 100))).toBeGreaterThanOrEqual(2_000_000);
  expect(discoveryBytes(discovery(10, 500_000))).toBeGreaterThanOrEqual(500_000);
  expect(discoveryBytes(discovery(10, 100, 100_000)) - small).toBeGreaterThanOrEqual(200_000);
});
