// The ImagePolicyWebhook decision (one verdict for all containers of a pod), fed verdicts directly:
// break-glass, exempt namespaces, modes, the denial a user reads and the audit annotations.
import { reviewImages } from '../../src/pipeline/image-review.js';
import { MAX_DISTINCT_IMAGES, type ImageVerifier } from '../../src/pipeline/review.js';
import { loadPolicyText } from '../../src/policy/index.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import type { NamespaceScope } from '../../src/policy/scope.js';
import type { Digest } from '../../src/reference/types.js';
import type { ImageReviewRequest } from '../../src/admission/types.js';
import type { DenyCode, ImageVerdict } from '../../src/decide/types.js';

const DIGEST = ('sha256:' + 'c'.repeat(64)) as Digest;
const BREAK_GLASS = 'signet.image-policy.k8s.io/break-glass';

const POLICY_TEXT = `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: pods}
exemptions:
  namespaces: [kube-system, "sandbox-*"]
defaults:
  mode: enforce
  failurePolicy: open
rules:
  - {name: strict, images: ["r.example/strict/**"], action: deny, mode: enforce}
  - {name: soft, images: ["r.example/soft/**"], action: deny, mode: warn}
  - {name: quiet, images: ["r.example/quiet/**"], action: deny, mode: audit}
`;

function compile(text: string): CompiledPolicy {
  const loaded = loadPolicyText(text, { baseDir: '/', sourceName: 'test' });
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}

const policy = compile(POLICY_TEXT);
const withBreakGlass = compile(`${POLICY_TEXT}breakGlass:\n  annotation: ${BREAK_GLASS}\n`);
const closed = compile(POLICY_TEXT.replace('failurePolicy: open', 'failurePolicy: closed'));

/** A review in `namespace` (`null`: a review that names no namespace). */
function request(containers: readonly string[], namespace: string | null = 'default', annotations: Record<string, string> = {}): ImageReviewRequest {
  return { containers, namespace: namespace ?? undefined, annotations };
}

function allowed(image: string, fields: Partial<Extract<ImageVerdict, { outcome: 'allowed' }>> = {}): ImageVerdict {
  return { outcome: 'allowed', image, digest: DIGEST, rule: 'strict', basis: 'verified', satisfiedBy: [{ system: 'cosign', signers: ['release'] }], ...fields };
}

function denied(image: string, code: DenyCode, fields: Partial<Extract<ImageVerdict, { outcome: 'denied' }>> = {}): ImageVerdict {
  return { outcome: 'denied', image, digest: DIGEST, rule: 'strict', code, reason: `reason for ${image}`, fix: `fix for ${image}`, checks: [], ...fields };
}

/** A verifier answering from a table, recording every call and the scope it was given. */
function verifier(table: Record<string, ImageVerdict>): ImageVerifier & { calls: string[]; scopes: NamespaceScope[] } {
  const calls: string[] = [];
  const scopes: NamespaceScope[] = [];
  const fn = (async (image: string, scope: NamespaceScope, _signal: AbortSignal) => {
    calls.push(image);
    scopes.push(scope);
    const verdict = table[image];
    if (!verdict) throw new Error(`unexpected image ${image}`);
    return verdict;
  }) as ImageVerifier & { calls: string[]; scopes: NamespaceScope[] };
  fn.calls = calls;
  fn.scopes = scopes;
  return fn;
}

describe('break-glass', () => {
  const unsigned = verifier({ 'r.example/strict/a:1': denied('r.example/strict/a:1', 'UNSIGNED') });

  test('honoured when the policy names the annotation: allowed without verification, the value recorded for audit', async () => {
    const decision = await reviewImages(request(['r.example/strict/a:1'], 'default', { [BREAK_GLASS]: 'INC-42' }), withBreakGlass, unsigned, 1000);
    expect(decision).toEqual({
      status: { allowed: true, reason: `break-glass annotation ${BREAK_GLASS} present`, auditAnnotations: { 'signet-break-glass': 'INC-42' } },
      outcome: 'break-glass',
      reason: 'break-glass',
      verdicts: [],
    });
    expect(unsigned.calls).toEqual([]);
  });

  test('an empty value still breaks the glass; the recorded value is one printable line of at most 256 characters', async () => {
    const empty = await reviewImages(request(['r.example/strict/a:1'], 'default', { [BREAK_GLASS]: '' }), withBreakGlass, unsigned, 1000);
    expect(empty.outcome).toBe('break-glass');
    expect(empty.status.auditAnnotations).toEqual({ 'signet-break-glass': '' });
    const long = await reviewImages(request(['r.example/strict/a:1'], 'default', { [BREAK_GLASS]: `line one\nline two ${'x'.repeat(400)}` }), withBreakGlass, unsigned, 1000);
    const recorded = long.status.auditAnnotations?.['signet-break-glass'] ?? '';
    expect(recorded).toBe(`line one line two ${'x'.repeat(256 - 3 - 'line one line two '.length)}...`);
    expect(recorded).toHaveLength(256);
  });

  test('ignored when the policy does not name it, or when the pod does not carry it', async () => {
    const ignored = await reviewImages(request(['r.example/strict/a:1'], 'default', { [BREAK_GLASS]: 'INC-42' }), policy, unsigned, 1000);
    expect(ignored.outcome).toBe('denied');
    const absent = await reviewImages(request(['r.example/strict/a:1'], 'default', { 'other.image-policy.k8s.io/x': 'y' }), withBreakGlass, unsigned, 1000);
    expect(absent.outcome).toBe('denied');
    expect(absent.status.auditAnnotations).not.toHaveProperty('signet-break-glass');
  });
});

describe('exempt namespaces', () => {
  test('an exempt namespace (by name or pattern) is allowed without verification, and audited', async () => {
    const never = verifier({});
    for (const namespace of ['kube-system', 'sandbox-7']) {
      const decision = await reviewImages(request(['r.example/strict/a:1'], namespace), policy, never, 1000);
      expect(decision).toEqual({
        status: { allowed: true, reason: `namespace ${namespace} is exempt`, auditAnnotations: { 'signet-exempt-namespace': namespace } },
        outcome: 'exempt',
        reason: 'namespace exempt',
        verdicts: [],
      });
    }
    expect(never.calls).toEqual([]);
  });

  test('other namespaces, and a review without a namespace, are verified', async () => {
    const table = { 'r.example/strict/a:1': allowed('r.example/strict/a:1') };
    for (const namespace of ['default', null]) {
      const v = verifier(table);
      const decision = await reviewImages(request(['r.example/strict/a:1'], namespace), policy, v, 1000);
      expect(decision.outcome).toBe('allowed');
      expect(v.calls).toEqual(['r.example/strict/a:1']);
      expect(v.scopes).toEqual([{ namespace: namespace ?? undefined, labels: undefined }]);
    }
  });
});

describe('verification and the decision', () => {
  test('all verified: allowed, reason verified, one audit annotation per container with its digest', async () => {
    const v = verifier({ 'r.example/strict/a:1': allowed('r.example/strict/a:1'), 'r.example/strict/b:1': allowed('r.example/strict/b:1', { digest: undefined }) });
    const decision = await reviewImages(request(['r.example/strict/a:1', 'r.example/strict/b:1', 'r.example/strict/a:1']), policy, v, 1000);
    expect(decision.status).toEqual({
      allowed: true,
      auditAnnotations: {
        'signet-image-0': `r.example/strict/a:1: allowed ${DIGEST}`,
        'signet-image-1': 'r.example/strict/b:1: allowed',
        'signet-image-2': `r.example/strict/a:1: allowed ${DIGEST}`,
      },
    });
    expect(decision.outcome).toBe('allowed');
    expect(decision.reason).toBe('verified');
    // Each distinct image is verified once; containers sharing it share the verdict.
    expect(v.calls).toEqual(['r.example/strict/a:1', 'r.example/strict/b:1']);
    expect(decision.verdicts).toEqual([
      { container: { container: '#0', kind: 'container', image: 'r.example/strict/a:1', path: 'spec.containers[0].image', pointer: '/spec/containers/0/image' }, verdict: allowed('r.example/strict/a:1') },
      { container: { container: '#1', kind: 'container', image: 'r.example/strict/b:1', path: 'spec.containers[1].image', pointer: '/spec/containers/1/image' }, verdict: allowed('r.example/strict/b:1', { digest: undefined }) },
      { container: { container: '#2', kind: 'container', image: 'r.example/strict/a:1', path: 'spec.containers[2].image', pointer: '/spec/containers/2/image' }, verdict: allowed('r.example/strict/a:1') },
    ]);
  });

  test('an enforced denial: not allowed, the message lists every enforced container with reason and fix, the first code is the reason', async () => {
    const v = verifier({
      'r.example/strict/a:1': allowed('r.example/strict/a:1'),
      'r.example/strict/b:1': denied('r.example/strict/b:1', 'UNSIGNED'),
      'r.example/strict/c:1': denied('r.example/strict/c:1', 'THRESHOLD_NOT_MET', { digest: undefined }),
    });
    const decision = await reviewImages(request(['r.example/strict/a:1', 'r.example/strict/b:1', 'r.example/strict/c:1'], 'team-a'), policy, v, 1000);
    expect(decision.status).toEqual({
      allowed: false,
      reason: [
        'pod in namespace team-a: 2 of 3 container images denied by signet policy "pods":',
        `- container "#1" (r.example/strict/b:1 -> ${DIGEST}): UNSIGNED: reason for r.example/strict/b:1 [rule strict]. Fix: fix for r.example/strict/b:1`,
        '- container "#2" (r.example/strict/c:1): THRESHOLD_NOT_MET: reason for r.example/strict/c:1 [rule strict]. Fix: fix for r.example/strict/c:1',
      ].join('\n'),
      auditAnnotations: {
        'signet-image-0': `r.example/strict/a:1: allowed ${DIGEST}`,
        'signet-image-1': 'r.example/strict/b:1: UNSIGNED',
        'signet-image-2': 'r.example/strict/c:1: THRESHOLD_NOT_MET',
      },
    });
    expect(decision.outcome).toBe('denied');
    expect(decision.reason).toBe('UNSIGNED');
    expect(decision.verdicts.map((cv) => cv.verdict.outcome)).toEqual(['allowed', 'denied', 'denied']);
  });

  test('a pod naming more distinct images than Signet checks is denied before any is verified', async () => {
    const never = verifier({});
    const images = Array.from({ length: MAX_DISTINCT_IMAGES + 1 }, (_, i) => `r.example/strict/a${i}:1`);
    const decision = await reviewImages(request(images, 'team'), policy, never, 1000);
    expect(decision).toEqual({
      status: { allowed: false, reason: `pod in namespace team names ${MAX_DISTINCT_IMAGES + 1} distinct container images; Signet checks at most ${MAX_DISTINCT_IMAGES} per pod` },
      outcome: 'denied',
      reason: 'MALFORMED_OBJECT',
      verdicts: [],
    });
    expect(never.calls).toEqual([]);
  });

  test('a review without a namespace names "(none)" in the denial', async () => {
    const v = verifier({ 'r.example/strict/b:1': denied('r.example/strict/b:1', 'UNSIGNED') });
    const decision = await reviewImages(request(['r.example/strict/b:1'], null), policy, v, 1000);
    expect(decision.status.allowed).toBe(false);
    expect(decision.status.reason?.split('\n')[0]).toBe('pod in namespace (none): 1 of 1 container image denied by signet policy "pods":');
  });

  test('warn and audit modes let a denial through (with its code in the audit annotations); an enforced one among them still denies', async () => {
    const v = verifier({
      'r.example/soft/a:1': denied('r.example/soft/a:1', 'UNSIGNED', { rule: 'soft' }),
      'r.example/quiet/a:1': denied('r.example/quiet/a:1', 'DENIED_BY_RULE', { rule: 'quiet' }),
      'r.example/strict/a:1': denied('r.example/strict/a:1', 'DENIED_BY_RULE'),
    });
    const tolerated = await reviewImages(request(['r.example/soft/a:1', 'r.example/quiet/a:1']), policy, v, 1000);
    expect(tolerated).toMatchObject({
      status: { allowed: true, auditAnnotations: { 'signet-image-0': 'r.example/soft/a:1: UNSIGNED', 'signet-image-1': 'r.example/quiet/a:1: DENIED_BY_RULE' } },
      outcome: 'allowed',
      reason: 'verified',
    });
    expect(tolerated.status.reason).toBeUndefined();
    const mixed = await reviewImages(request(['r.example/soft/a:1', 'r.example/strict/a:1']), policy, v, 1000);
    expect(mixed.outcome).toBe('denied');
    expect(mixed.reason).toBe('DENIED_BY_RULE');
    expect(mixed.status.reason?.split('\n')).toEqual([
      'pod in namespace default: 1 of 2 container images denied by signet policy "pods":',
      `- container "#1" (r.example/strict/a:1 -> ${DIGEST}): DENIED_BY_RULE: reason for r.example/strict/a:1 [rule strict]. Fix: fix for r.example/strict/a:1`,
    ]);
  });

  test('fail-open lets an infrastructure failure through; failurePolicy closed denies it', async () => {
    const table = { 'r.example/strict/a:1': denied('r.example/strict/a:1', 'REGISTRY_UNREACHABLE') };
    const open = await reviewImages(request(['r.example/strict/a:1']), policy, verifier(table), 1000);
    expect(open.status).toEqual({ allowed: true, auditAnnotations: { 'signet-image-0': 'r.example/strict/a:1: REGISTRY_UNREACHABLE' } });
    const shut = await reviewImages(request(['r.example/strict/a:1']), closed, verifier(table), 1000);
    expect(shut.outcome).toBe('denied');
    expect(shut.reason).toBe('REGISTRY_UNREACHABLE');
  });

  test('a tenant denial is enforced whatever the mode or failure policy', async () => {
    const v = verifier({ 'r.example/soft/a:1': denied('r.example/soft/a:1', 'REGISTRY_UNREACHABLE', { rule: 'soft', tenant: 'team-a' }) });
    const decision = await reviewImages(request(['r.example/soft/a:1'], 'team-a'), policy, v, 1000);
    expect(decision.outcome).toBe('denied');
    expect(decision.reason).toBe('REGISTRY_UNREACHABLE');
    expect(decision.status.reason).toContain("[rule soft of namespace team-a's own policy]");
  });

  test('a verification that outlasts the budget becomes a TIMEOUT denial naming the budget; the verifier is told to stop', async () => {
    let aborted = false;
    const slow: ImageVerifier = (_image, _scope, signal) =>
      new Promise<ImageVerdict>(() => {
        signal.addEventListener('abort', () => (aborted = true), { once: true });
      });
    const decision = await reviewImages(request(['r.example/strict/a:1'], 'default'), closed, slow, 50);
    expect(decision.outcome).toBe('denied');
    expect(decision.reason).toBe('TIMEOUT');
    expect(decision.status.reason).toContain("TIMEOUT: verification timed out: no answer within the review's 50 ms budget");
    expect(decision.status.auditAnnotations).toEqual({ 'signet-image-0': 'r.example/strict/a:1: TIMEOUT' });
    expect(aborted).toBe(true);
  });

  test('the review budget ends with the review: the signal a verification was given is not aborted after the answer', async () => {
    const signals: AbortSignal[] = [];
    const verify: ImageVerifier = async (image, _scope, signal) => {
      signals.push(signal);
      return allowed(image);
    };
    expect((await reviewImages(request(['r.example/strict/a:1']), policy, verify, 30)).outcome).toBe('allowed');
    // Coalesced work may still serve other reviews: a late abort from this one would fail them.
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(signals.map((signal) => signal.aborted)).toEqual([false]);
  });

  test('a verifier that throws fails the review (no silent allow)', async () => {
    await expect(reviewImages(request(['r.example/strict/unknown:1']), policy, verifier({}), 1000)).rejects.toThrow('unexpected image r.example/strict/unknown:1');
  });
});
