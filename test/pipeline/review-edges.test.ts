// Edges of the admission review. Two need the clock: the review's deadline ends with the review
// (work it started or shares is not aborted later), and the expiry warning's boundary is exactly a week.
import { jest } from '@jest/globals';
import { EXPIRY_WARNING_MS, reviewAdmission, timedOut, type ImageVerifier } from '../../src/pipeline/review.js';
import { parseAdmissionReview } from '../../src/admission/parse.js';
import { loadPolicyText } from '../../src/policy/index.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import type { AdmissionRequest } from '../../src/admission/types.js';
import type { Digest } from '../../src/reference/types.js';
import type { ImageVerdict } from '../../src/decide/types.js';
import { admissionReview, workload } from '../support/admission.js';

const SCOPE = { namespace: 'default', labels: {} };
const IMAGE = 'r.example/app:1';

function compiled(): CompiledPolicy {
  const loaded = loadPolicyText('apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: all\n    images: ["**"]\n    action: allow\n', { baseDir: '/', sourceName: 'test' });
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}

function pod(): AdmissionRequest {
  const parsed = parseAdmissionReview(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'app', image: IMAGE }] }) }));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function allowedUntil(validUntil: string): ImageVerdict {
  return { outcome: 'allowed', image: IMAGE, digest: ('sha256:' + 'a'.repeat(64)) as Digest, rule: 'all', basis: 'verified', satisfiedBy: [{ system: 'cosign', signers: ['release'] }], validUntil };
}

test('the review budget ends with the review: the signal a verification was given is not aborted after the answer', async () => {
  const signals: AbortSignal[] = [];
  const verify: ImageVerifier = async (image, _scope, signal) => {
    signals.push(signal);
    return { ...allowedUntil(new Date(Date.now() + 365 * 86_400_000).toISOString()), image };
  };
  const decision = await reviewAdmission(pod(), compiled(), verify, { budgetMs: 30 }, SCOPE);
  expect(decision.outcome).toBe('allowed');
  // Coalesced work may still serve other reviews: a late abort from this one would fail them.
  await new Promise((resolve) => setTimeout(resolve, 80));
  expect(signals).toHaveLength(1);
  expect(signals[0]!.aborted).toBe(false);
});

describe('the expiry warning boundary, on a fixed clock', () => {
  const now = Date.parse('2026-12-08T12:00:00.000Z');
  beforeEach(() => {
    jest.useFakeTimers({ now, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test('material valid for exactly a week more is not warned about; a millisecond less is', async () => {
    const never: ImageVerifier = async () => {
      throw new Error('the warm path should answer');
    };
    const review = async (validUntil: string): Promise<readonly string[] | undefined> => {
      const decision = await reviewAdmission(pod(), compiled(), never, { budgetMs: 1000, cached: () => allowedUntil(validUntil) }, SCOPE);
      return decision.response.warnings;
    };
    const week = new Date(now + EXPIRY_WARNING_MS).toISOString();
    expect(await review(week)).toBeUndefined();
    const almost = new Date(now + EXPIRY_WARNING_MS - 1).toISOString();
    expect(await review(almost)).toEqual([`signet: app (${IMAGE}) signature material expires at ${almost}; re-sign soon`]);
  });
});

test('a timeout for an image whose reference cannot be read names no registry in its fix', () => {
  const verdict = timedOut('Not A Reference', 40);
  expect(verdict.outcome === 'denied' && verdict.fix).toBe('retry; if it keeps timing out, check the latency of the registry from the webhook');
});
