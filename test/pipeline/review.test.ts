// The decision step of an admission review, fed verdicts directly (the verifier is a parameter).
import { reviewAdmission, type ImageVerifier } from '../../src/pipeline/review.js';
import { parseAdmissionReview } from '../../src/admission/parse.js';
import { loadPolicyText } from '../../src/policy/index.js';
import type { Digest } from '../../src/reference/types.js';
import { admissionReview, workload } from '../support/admission.js';

const policy = loadPolicyText('apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: all\n    images: ["**"]\n    action: allow\n', { baseDir: '/', sourceName: 'test' });
const request = parseAdmissionReview(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'app', image: 'r.example/app:1' }] }) }));

const allowedUntil = (validUntil: string | undefined): ImageVerifier => async (image) => ({
  outcome: 'allowed',
  image,
  digest: ('sha256:' + 'a'.repeat(64)) as Digest,
  rule: 'all',
  basis: 'verified',
  satisfiedBy: [{ system: 'notation', signers: ['acme'] }],
  ...(validUntil ? { validUntil } : {}),
});

test('an allowed image whose signature material expires within a week carries a warning; later ones do not', async () => {
  if (!policy.ok || !request.ok) throw new Error('fixture');
  const soon = new Date(Date.now() + 2 * 86_400_000).toISOString();
  const later = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const warned = await reviewAdmission(request.value, policy.value, allowedUntil(soon), { budgetMs: 1000 }, { namespace: 'default', labels: undefined });
  expect(warned.response.allowed).toBe(true);
  expect(warned.response.warnings).toEqual([`signet: app (r.example/app:1) signature material expires at ${soon}; re-sign soon`]);
  const quiet = await reviewAdmission(request.value, policy.value, allowedUntil(later), { budgetMs: 1000 }, { namespace: 'default', labels: undefined });
  expect(quiet.response.warnings).toBeUndefined();
  const none = await reviewAdmission(request.value, policy.value, allowedUntil(undefined), { budgetMs: 1000 }, { namespace: 'default', labels: undefined });
  expect(none.response.warnings).toBeUndefined();
});
