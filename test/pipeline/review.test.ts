// The decision step of an admission review, fed verdicts directly (the verifier is a parameter).
import { describeObject, reviewAdmission, timedOut, EXPIRY_WARNING_MS, MAX_DISTINCT_IMAGES, type ImageVerifier, type ReviewSettings } from '../../src/pipeline/review.js';
import { modeFor, modeOf } from '../../src/decide/modes.js';
import { isOutage } from '../../src/decide/codes.js';
import { objectFixFor } from '../../src/decide/explain.js';
import { parseAdmissionReview } from '../../src/admission/parse.js';
import { loadPolicyText } from '../../src/policy/index.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import type { NamespaceScope } from '../../src/policy/scope.js';
import type { Digest } from '../../src/reference/types.js';
import type { AdmissionRequest } from '../../src/admission/types.js';
import type { DenyCode, ImageVerdict } from '../../src/decide/types.js';
import { admissionReview, workload, type ReviewInput } from '../support/admission.js';

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

// ---------------------------------------------------------------------------------------------
// The whole decision: which objects are looked at, modes, fail-open, tenants, pins and messages.

const DIGEST = ('sha256:' + 'b'.repeat(64)) as Digest;
const SCOPE: NamespaceScope = { namespace: 'default', labels: {} };

const POLICY_TEXT = `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: cluster}
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

const cluster = compile(POLICY_TEXT);
const closed = compile(POLICY_TEXT.replace('failurePolicy: open', 'failurePolicy: closed'));
const warnByDefault = compile(POLICY_TEXT.replace('mode: enforce', 'mode: warn'));

function parsed(input: ReviewInput): AdmissionRequest {
  const result = parseAdmissionReview(admissionReview(input));
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function pod(images: readonly string[], extra: Partial<ReviewInput> = {}, namespace = 'default'): AdmissionRequest {
  return parsed({ kind: 'Pod', namespace, object: workload('Pod', 'web', namespace, { containers: images.map((image, i) => ({ name: `c${i}`, image })) }), ...extra });
}

function allowed(image: string, fields: Partial<Extract<ImageVerdict, { outcome: 'allowed' }>> = {}): ImageVerdict {
  return { outcome: 'allowed', image, digest: DIGEST, rule: 'strict', basis: 'verified', satisfiedBy: [{ system: 'cosign', signers: ['release'] }], ...fields };
}

function denied(image: string, code: DenyCode, fields: Partial<Extract<ImageVerdict, { outcome: 'denied' }>> = {}): ImageVerdict {
  return { outcome: 'denied', image, digest: DIGEST, rule: 'strict', code, reason: `reason for ${image}`, fix: `fix for ${image}`, checks: [], ...fields };
}

/** A verifier answering from a table, recording every call. */
function verifier(table: Record<string, ImageVerdict>): ImageVerifier & { calls: string[]; credentials: unknown[] } {
  const calls: string[] = [];
  const credentials: unknown[] = [];
  const fn = (async (image: string, _scope: NamespaceScope, _signal: AbortSignal, creds?: unknown) => {
    calls.push(image);
    credentials.push(creds);
    const verdict = table[image];
    if (!verdict) throw new Error(`unexpected image ${image}`);
    return verdict;
  }) as ImageVerifier & { calls: string[]; credentials: unknown[] };
  fn.calls = calls;
  fn.credentials = credentials;
  return fn;
}

const SETTINGS: ReviewSettings = { budgetMs: 2000 };

describe('what is reviewed at all', () => {
  const never = verifier({});

  test('DELETE and CONNECT are skipped, with the operation as the reason and no warnings', async () => {
    for (const operation of ['DELETE', 'CONNECT'] as const) {
      const decision = await reviewAdmission(pod(['r.example/strict/a:1'], { operation }), cluster, never, SETTINGS, SCOPE);
      expect(decision).toMatchObject({ outcome: 'skipped', reason: `operation ${operation}`, object: 'Pod default/web', verdicts: [], tolerated: [], pins: [] });
      expect(decision.response).toEqual({ uid: expect.any(String), allowed: true });
    }
    expect(never.calls).toEqual([]);
  });

  test('kinds without a pod template are skipped', async () => {
    const decision = await reviewAdmission(parsed({ kind: 'ConfigMap', object: { metadata: { name: 'cm' } } }), cluster, never, SETTINGS, SCOPE);
    expect(decision).toMatchObject({ outcome: 'skipped', reason: 'kind ConfigMap not checked' });
    expect(decision.response.allowed).toBe(true);
  });

  test('Pod subresources are skipped except ephemeralcontainers; other kinds are checked whatever the subresource', async () => {
    const status = await reviewAdmission(pod(['r.example/strict/a:1'], { subResource: 'status', operation: 'UPDATE' }), cluster, never, SETTINGS, SCOPE);
    expect(status).toMatchObject({ outcome: 'skipped', reason: 'subresource status not checked', object: 'Pod/status default/web' });

    const image = 'r.example/strict/debug:1';
    const object = workload('Pod', 'web', 'default', { containers: [{ name: 'app', image: 'r.example/ok:1' }], ephemeralContainers: [{ name: 'debug', image }] });
    const oldObject = workload('Pod', 'web', 'default', { containers: [{ name: 'app', image: 'r.example/ok:1' }] });
    const v = verifier({ [image]: denied(image, 'DENIED_BY_RULE') });
    const ephemeral = await reviewAdmission(parsed({ kind: 'Pod', subResource: 'ephemeralcontainers', operation: 'UPDATE', object, oldObject }), cluster, v, SETTINGS, SCOPE);
    expect(ephemeral.outcome).toBe('denied');
    expect(v.calls).toEqual([image]);

    const deployment = workload('Deployment', 'web', 'default', { containers: [{ name: 'app', image }] });
    const w = verifier({ [image]: denied(image, 'DENIED_BY_RULE') });
    const scaled = await reviewAdmission(parsed({ kind: 'Deployment', subResource: 'status', object: deployment }), cluster, w, SETTINGS, SCOPE);
    expect(scaled.outcome).toBe('denied');
  });

  test('exempt namespaces (by pattern) and the webhook\'s own namespace are exempt, with a warning saying so', async () => {
    for (const namespace of ['kube-system', 'sandbox-7', 'signet']) {
      const decision = await reviewAdmission(pod(['r.example/strict/a:1'], {}, namespace), cluster, never, { ...SETTINGS, ownNamespace: 'signet' }, { namespace, labels: {} });
      expect(decision).toMatchObject({ outcome: 'exempt', reason: 'namespace exempt' });
      expect(decision.response).toEqual({ uid: expect.any(String), allowed: true, warnings: [`signet: namespace ${namespace} is exempt from image signature checks`] });
    }
    expect(never.calls).toEqual([]);
    // Another namespace is checked, also when the webhook's own namespace is not configured.
    const v = verifier({ 'r.example/strict/a:1': denied('r.example/strict/a:1', 'DENIED_BY_RULE') });
    expect((await reviewAdmission(pod(['r.example/strict/a:1'], {}, 'team'), cluster, v, SETTINGS, { namespace: 'team', labels: {} })).outcome).toBe('denied');
  });

  test('an object whose images cannot be read is denied as MALFORMED_OBJECT', async () => {
    const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: 'nginx' } };
    const decision = await reviewAdmission(parsed({ kind: 'Pod', object }), cluster, never, SETTINGS, SCOPE);
    expect(decision).toMatchObject({ outcome: 'denied', reason: 'MALFORMED_OBJECT', verdicts: [], tolerated: [], pins: [] });
    expect(decision.response).toEqual({
      uid: expect.any(String),
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: `Pod default/web: cannot read container images: spec.containers is not a list. Fix: ${objectFixFor('MALFORMED_OBJECT')}`, metadata: {} },
    });
  });

  test('an object naming more distinct images than Signet checks is denied before any is verified; repeats of one image do not count', async () => {
    const containers = (images: string[]) => images.map((image, i) => ({ name: `c${i}`, image }));
    const many = Array.from({ length: MAX_DISTINCT_IMAGES + 1 }, (_, i) => `r.example/strict/a${i}:1`);
    const object = workload('Pod', 'web', 'default', { containers: containers(many) });
    const decision = await reviewAdmission(parsed({ kind: 'Pod', object }), cluster, never, SETTINGS, SCOPE);
    expect(decision).toMatchObject({ outcome: 'denied', reason: 'MALFORMED_OBJECT' });
    expect(decision.response.status?.message).toBe(`Pod default/web: names ${MAX_DISTINCT_IMAGES + 1} distinct container images; Signet checks at most ${MAX_DISTINCT_IMAGES} per object. Fix: ${objectFixFor('MALFORMED_OBJECT')}`);
    expect(never.calls).toEqual([]);
    const repeated = workload('Pod', 'web', 'default', { containers: containers(Array.from({ length: 1000 }, () => 'r.example/strict/a:1')) });
    const v = verifier({ 'r.example/strict/a:1': allowed('r.example/strict/a:1') });
    expect((await reviewAdmission(parsed({ kind: 'Pod', object: repeated }), cluster, v, SETTINGS, SCOPE)).outcome).toBe('allowed');
    expect(v.calls).toEqual(['r.example/strict/a:1']);
  });

  test('on UPDATE only changed images are verified; no change at all is skipped', async () => {
    const before = workload('Deployment', 'web', 'default', { containers: [{ name: 'a', image: 'r.example/strict/a:1' }, { name: 'b', image: 'r.example/strict/b:1' }] });
    const same = await reviewAdmission(parsed({ kind: 'Deployment', operation: 'UPDATE', object: before, oldObject: before }), cluster, never, SETTINGS, SCOPE);
    expect(same).toMatchObject({ outcome: 'skipped', reason: 'no new images' });

    const after = workload('Deployment', 'web', 'default', { containers: [{ name: 'a', image: 'r.example/strict/a:1' }, { name: 'b', image: 'r.example/strict/b:2' }] });
    const v = verifier({ 'r.example/strict/b:2': allowed('r.example/strict/b:2') });
    const changed = await reviewAdmission(parsed({ kind: 'Deployment', operation: 'UPDATE', object: after, oldObject: before }), cluster, v, SETTINGS, SCOPE);
    expect(changed.outcome).toBe('allowed');
    expect(v.calls).toEqual(['r.example/strict/b:2']);

    // A CREATE carrying an oldObject still verifies every image.
    const w = verifier({ 'r.example/strict/a:1': allowed('r.example/strict/a:1'), 'r.example/strict/b:2': allowed('r.example/strict/b:2') });
    await reviewAdmission(parsed({ kind: 'Deployment', operation: 'CREATE', object: after, oldObject: before }), cluster, w, SETTINGS, SCOPE);
    expect(w.calls.sort()).toEqual(['r.example/strict/a:1', 'r.example/strict/b:2']);

    // An unreadable old object: everything is verified.
    const x = verifier({ 'r.example/strict/a:1': allowed('r.example/strict/a:1'), 'r.example/strict/b:2': allowed('r.example/strict/b:2') });
    const badOld = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: 7 } } } };
    await reviewAdmission(parsed({ kind: 'Deployment', operation: 'UPDATE', object: after, oldObject: badOld }), cluster, x, SETTINGS, SCOPE);
    expect(x.calls.sort()).toEqual(['r.example/strict/a:1', 'r.example/strict/b:2']);
  });

  test('a pod without containers is skipped', async () => {
    const decision = await reviewAdmission(pod([]), cluster, never, SETTINGS, SCOPE);
    expect(decision).toMatchObject({ outcome: 'skipped', reason: 'no new images' });
  });
});

describe('verification', () => {
  test('each distinct image is verified once; containers sharing it share the verdict', async () => {
    const image = 'r.example/strict/a:1';
    const v = verifier({ [image]: allowed(image) });
    const decision = await reviewAdmission(pod([image, image, image]), cluster, v, SETTINGS, SCOPE);
    expect(v.calls).toEqual([image]);
    expect(decision.verdicts.map((cv) => [cv.container.container, cv.verdict.outcome])).toEqual([
      ['c0', 'allowed'],
      ['c1', 'allowed'],
      ['c2', 'allowed'],
    ]);
  });

  test('the warm path answers from caches without calling the verifier, only when every image is cached', async () => {
    const a = 'r.example/strict/a:1';
    const b = 'r.example/strict/b:1';
    const cache = new Map<string, ImageVerdict>([[a, allowed(a)]]);
    const seen: [string, NamespaceScope][] = [];
    const cached = (image: string, scope: NamespaceScope) => {
      seen.push([image, scope]);
      return cache.get(image);
    };
    const v = verifier({ [a]: allowed(a), [b]: allowed(b) });
    const warm = await reviewAdmission(pod([a]), cluster, v, { ...SETTINGS, cached }, SCOPE);
    expect(warm.outcome).toBe('allowed');
    expect(v.calls).toEqual([]);
    expect(seen).toEqual([[a, SCOPE]]);

    // b is not cached: the full path verifies both.
    const cold = await reviewAdmission(pod([a, b]), cluster, v, { ...SETTINGS, cached }, SCOPE);
    expect(cold.outcome).toBe('allowed');
    expect(v.calls.sort()).toEqual([a, b]);
    // The warm path stops at the first image it cannot answer.
    seen.length = 0;
    await reviewAdmission(pod([b, a]), cluster, v, { ...SETTINGS, cached }, SCOPE);
    expect(seen.map(([image]) => image)).toEqual([b]);
  });

  test('a cached denial is decided like a fresh one', async () => {
    const a = 'r.example/strict/a:1';
    const decision = await reviewAdmission(pod([a]), cluster, verifier({}), { ...SETTINGS, cached: () => denied(a, 'DENIED_BY_RULE') }, SCOPE);
    expect(decision).toMatchObject({ outcome: 'denied', reason: 'DENIED_BY_RULE' });
  });

  test('the pod\'s pull credentials are looked up for the namespace and passed to the verifier', async () => {
    const image = 'r.example/strict/a:1';
    const creds = new Map([['r.example', { username: 'u', password: 'p' }]]);
    const lookups: [string, Record<string, unknown>][] = [];
    const v = verifier({ [image]: allowed(image) });
    const settings: ReviewSettings = {
      ...SETTINGS,
      credentialsFor: async (namespace, spec) => {
        lookups.push([namespace, spec]);
        return creds;
      },
    };
    await reviewAdmission(pod([image]), cluster, v, settings, SCOPE);
    expect(lookups).toHaveLength(1);
    expect(lookups[0]![0]).toBe('default');
    expect(lookups[0]![1]['containers']).toEqual([expect.objectContaining({ name: 'c0', image })]);
    expect(v.credentials).toEqual([creds]);

    // No lookup without the setting, and a failed lookup means no extra credentials, not a failure.
    const w = verifier({ [image]: allowed(image) });
    await reviewAdmission(pod([image]), cluster, w, SETTINGS, SCOPE);
    expect(w.credentials).toEqual([undefined]);
    const x = verifier({ [image]: allowed(image) });
    const failing = await reviewAdmission(pod([image]), cluster, x, { ...SETTINGS, credentialsFor: () => Promise.reject(new Error('api down')) }, SCOPE);
    expect(failing.outcome).toBe('allowed');
    expect(x.credentials).toEqual([new Map()]);
  });

  test('a credential lookup that does not answer in time is given up, and the review goes on', async () => {
    const image = 'r.example/strict/a:1';
    const x = verifier({ [image]: allowed(image) });
    const slow = await reviewAdmission(pod([image]), cluster, x, { budgetMs: 100, credentialsFor: () => new Promise(() => undefined) }, SCOPE);
    // The budget is spent by the lookup: the verification times out.
    expect(slow).toMatchObject({ outcome: 'allowed', reason: 'tolerated TIMEOUT' });
    expect(x.credentials).toEqual([new Map()]);
  });

  test('a verification that outlasts the budget becomes a TIMEOUT denial naming the budget', async () => {
    const image = 'r.example/strict/a:1';
    const hang: ImageVerifier = () => new Promise(() => undefined);
    const decision = await reviewAdmission(pod([image]), closed, hang, { budgetMs: 50 }, SCOPE);
    expect(decision.outcome).toBe('denied');
    expect(decision.reason).toBe('TIMEOUT');
    expect(decision.verdicts[0]!.verdict).toEqual(timedOut(image, 50));
    expect(decision.response.status?.message).toContain("TIMEOUT: verification timed out: no answer within the review's 50 ms budget");
  });

  test('a verifier that throws fails the review (no silent allow)', async () => {
    const image = 'r.example/strict/a:1';
    const boom: ImageVerifier = () => Promise.reject(new Error('bug'));
    await expect(reviewAdmission(pod([image]), cluster, boom, SETTINGS, SCOPE)).rejects.toThrow('bug');
  });
});

describe('the decision', () => {
  test('all verified: allowed, reason verified, pins for every verified image with a digest', async () => {
    const a = 'r.example/strict/a:1';
    const b = 'r.example/strict/b:1';
    const decision = await reviewAdmission(pod([a, b]), cluster, verifier({ [a]: allowed(a), [b]: allowed(b, { digest: undefined }) }), SETTINGS, SCOPE);
    expect(decision).toMatchObject({ outcome: 'allowed', reason: 'verified', tolerated: [] });
    expect(decision.response).toEqual({ uid: expect.any(String), allowed: true });
    expect(decision.pins).toEqual([{ container: expect.objectContaining({ container: 'c0', image: a }), digest: DIGEST }]);
  });

  test('allowed without verification: a warning per image saying why, no pins, and the reason says so', async () => {
    const a = 'r.example/x/a:1';
    const b = 'r.example/x/b:1';
    const decision = await reviewAdmission(
      pod([a, b]),
      cluster,
      verifier({ [a]: allowed(a, { basis: 'exempt', rule: 'system' }), [b]: allowed(b, { basis: 'default-allow', rule: undefined }) }),
      SETTINGS,
      SCOPE,
    );
    expect(decision).toMatchObject({ outcome: 'allowed', reason: 'not verified (exempt or unmatched-allow)', pins: [] });
    expect(decision.response.warnings).toEqual([
      `signet: c0 (${a}) allowed without verification (exempt by rule system)`,
      `signet: c1 (${b}) allowed without verification (no rule matched)`,
    ]);
    // One verified and one exempt image: not "verified".
    const mixed = await reviewAdmission(pod([a, 'r.example/strict/c:1']), cluster, verifier({ [a]: allowed(a, { basis: 'exempt', rule: 'system' }), 'r.example/strict/c:1': allowed('r.example/strict/c:1') }), SETTINGS, SCOPE);
    expect(mixed.reason).toBe('not verified (exempt or unmatched-allow)');
    expect(mixed.pins).toHaveLength(1);
  });

  test('expiry warnings: inside the window warns, outside does not, the boundary is a week', async () => {
    const a = 'r.example/strict/a:1';
    const justInside = new Date(Date.now() + EXPIRY_WARNING_MS - 60_000).toISOString();
    const justOutside = new Date(Date.now() + EXPIRY_WARNING_MS + 60_000).toISOString();
    expect(EXPIRY_WARNING_MS).toBe(7 * 24 * 60 * 60 * 1000);
    const inside = await reviewAdmission(pod([a]), cluster, verifier({ [a]: allowed(a, { validUntil: justInside }) }), SETTINGS, SCOPE);
    expect(inside.response.warnings).toEqual([`signet: c0 (${a}) signature material expires at ${justInside}; re-sign soon`]);
    const outside = await reviewAdmission(pod([a]), cluster, verifier({ [a]: allowed(a, { validUntil: justOutside }) }), SETTINGS, SCOPE);
    expect(outside.response.warnings).toBeUndefined();
  });

  test('enforced denial: 403 Forbidden with every failing container, the first code as the reason', async () => {
    const a = 'r.example/strict/a:1';
    const b = 'r.example/strict/b:1';
    const c = 'r.example/strict/c:1';
    const decision = await reviewAdmission(
      pod([a, b, c]),
      closed,
      verifier({ [a]: allowed(a), [b]: denied(b, 'UNSIGNED'), [c]: denied(c, 'UNTRUSTED_SIGNER') }),
      SETTINGS,
      SCOPE,
    );
    expect(decision).toMatchObject({ outcome: 'denied', reason: 'UNSIGNED', tolerated: [] });
    expect(decision.response.allowed).toBe(false);
    expect(decision.response.warnings).toBeUndefined();
    expect(decision.response.status).toEqual({
      code: 403,
      reason: 'Forbidden',
      metadata: {},
      message: [
        'Pod default/web: 2 of 3 container images denied by signet policy "cluster":',
        `- container "c1" (${b} -> ${DIGEST}): UNSIGNED: reason for ${b} [rule strict]. Fix: fix for ${b}`,
        `- container "c2" (${c} -> ${DIGEST}): UNTRUSTED_SIGNER: reason for ${c} [rule strict]. Fix: fix for ${c}`,
      ].join('\n'),
    });
    // The verified image is still pinned (the mutating endpoint never runs for a denial, but the list is exact).
    expect(decision.pins).toEqual([{ container: expect.objectContaining({ container: 'c0' }), digest: DIGEST }]);
    expect(decision.verdicts).toHaveLength(3);
  });

  test('warn mode: let through with a warning; audit mode: let through silently; both listed as tolerated', async () => {
    const soft = 'r.example/soft/a:1';
    const quiet = 'r.example/quiet/a:1';
    const decision = await reviewAdmission(
      pod([soft, quiet]),
      cluster,
      verifier({ [soft]: denied(soft, 'DENIED_BY_RULE', { rule: 'soft' }), [quiet]: denied(quiet, 'DENIED_BY_RULE', { rule: 'quiet' }) }),
      SETTINGS,
      SCOPE,
    );
    expect(decision).toMatchObject({ outcome: 'allowed', reason: 'tolerated DENIED_BY_RULE' });
    expect(decision.tolerated.map((cv) => cv.verdict.image)).toEqual([soft, quiet]);
    expect(decision.response).toEqual({
      uid: expect.any(String),
      allowed: true,
      warnings: [`signet warn: c0 (${soft}) would be denied: DENIED_BY_RULE: reason for ${soft}`],
    });
  });

  test('a denial under a rule that is not in the policy (or none) takes the default mode', async () => {
    const a = 'r.example/other/a:1';
    const byDefault = await reviewAdmission(pod([a]), warnByDefault, verifier({ [a]: denied(a, 'NO_MATCHING_RULE', { rule: undefined }) }), SETTINGS, SCOPE);
    expect(byDefault).toMatchObject({ outcome: 'allowed', reason: 'tolerated NO_MATCHING_RULE' });
    const unknownRule = await reviewAdmission(pod([a]), warnByDefault, verifier({ [a]: denied(a, 'UNSIGNED', { rule: 'gone' }) }), SETTINGS, SCOPE);
    expect(unknownRule.outcome).toBe('allowed');
    // The strict rule keeps its own enforce mode under a warn default.
    const strict = await reviewAdmission(pod([a]), warnByDefault, verifier({ [a]: denied(a, 'UNSIGNED', { rule: 'strict' }) }), SETTINGS, SCOPE);
    expect(strict.outcome).toBe('denied');
  });

  test('fail-open lets infrastructure failures through with a warning, never a verdict on the merits', async () => {
    for (const code of ['TIMEOUT', 'REGISTRY_UNREACHABLE', 'REGISTRY_ERROR'] as const) {
      const a = 'r.example/strict/a:1';
      const open = await reviewAdmission(pod([a]), cluster, verifier({ [a]: denied(a, code) }), SETTINGS, SCOPE);
      expect(open).toMatchObject({ outcome: 'allowed', reason: `tolerated ${code}` });
      expect(open.response.warnings).toEqual([`signet fail-open: c0 (${a}) would be denied: ${code}: reason for ${a}`]);
      const shut = await reviewAdmission(pod([a]), closed, verifier({ [a]: denied(a, code) }), SETTINGS, SCOPE);
      expect(shut).toMatchObject({ outcome: 'denied', reason: code });
    }
    for (const code of ['UNSIGNED', 'REGISTRY_UNAUTHORIZED', 'NOT_FOUND', 'BAD_SIGNATURE'] as const) {
      const a = 'r.example/strict/a:1';
      const merits = await reviewAdmission(pod([a]), cluster, verifier({ [a]: denied(a, code) }), SETTINGS, SCOPE);
      expect(merits).toMatchObject({ outcome: 'denied', reason: code });
    }
  });

  test('a tenant denial is enforced whatever the mode or failure policy, and its reason is its code', async () => {
    const soft = 'r.example/soft/a:1';
    const warned = await reviewAdmission(pod([soft]), cluster, verifier({ [soft]: denied(soft, 'UNSIGNED', { rule: 'soft', tenant: 'default' }) }), SETTINGS, SCOPE);
    expect(warned).toMatchObject({ outcome: 'denied', reason: 'UNSIGNED' });
    expect(warned.response.status?.message).toContain("[rule soft of namespace default's own policy]");
    const infra = await reviewAdmission(pod([soft]), cluster, verifier({ [soft]: denied(soft, 'TIMEOUT', { rule: 'soft', tenant: 'default' }) }), SETTINGS, SCOPE);
    expect(infra).toMatchObject({ outcome: 'denied', reason: 'TIMEOUT' });
    const strictInfra = await reviewAdmission(pod(['r.example/strict/a:1']), cluster, verifier({ 'r.example/strict/a:1': denied('r.example/strict/a:1', 'REGISTRY_ERROR', { tenant: 'default' }) }), SETTINGS, SCOPE);
    expect(strictInfra).toMatchObject({ outcome: 'denied', reason: 'REGISTRY_ERROR' });
  });

  test('enforced and tolerated together: denied, and the warnings of the tolerated ones ride along', async () => {
    const strict = 'r.example/strict/a:1';
    const soft = 'r.example/soft/a:1';
    const decision = await reviewAdmission(
      pod([soft, strict]),
      cluster,
      verifier({ [soft]: denied(soft, 'UNSIGNED', { rule: 'soft' }), [strict]: denied(strict, 'BAD_SIGNATURE') }),
      SETTINGS,
      SCOPE,
    );
    expect(decision).toMatchObject({ outcome: 'denied', reason: 'BAD_SIGNATURE' });
    expect(decision.tolerated.map((cv) => cv.verdict.image)).toEqual([soft]);
    expect(decision.response.warnings).toEqual([`signet warn: c0 (${soft}) would be denied: UNSIGNED: reason for ${soft}`]);
    expect(decision.response.status?.message.split('\n')[0]).toBe('Pod default/web: 1 of 2 container images denied by signet policy "cluster":');
  });

  test('warnings are capped at 20 and clipped to 120 printable characters', async () => {
    const images = Array.from({ length: 25 }, (_, i) => `r.example/soft/app-${i}:1`);
    const table = Object.fromEntries(images.map((image) => [image, denied(image, 'UNSIGNED', { rule: 'soft', reason: `line one\nline two ${'x'.repeat(200)}` })]));
    const decision = await reviewAdmission(pod(images), cluster, verifier(table), SETTINGS, SCOPE);
    expect(decision.outcome).toBe('allowed');
    expect(decision.tolerated).toHaveLength(25);
    expect(decision.response.warnings).toHaveLength(20);
    for (const warning of decision.response.warnings ?? []) {
      expect(warning.length).toBeLessThanOrEqual(120);
      expect(warning).toMatch(/^signet warn: c\d+ \(r\.example\/soft\/app-\d+:1\) would be denied: UNSIGNED: line one line two x+\.\.\.$/);
    }
  });
});

describe('helpers', () => {
  test('modeOf and modeFor: the rule\'s mode, the default for an unknown or missing rule, enforce for a tenant denial', () => {
    expect(modeFor(cluster, 'soft')).toBe('warn');
    expect(modeFor(cluster, 'quiet')).toBe('audit');
    expect(modeFor(cluster, 'strict')).toBe('enforce');
    expect(modeFor(warnByDefault, 'strict')).toBe('enforce');
    expect(modeFor(warnByDefault, undefined)).toBe('warn');
    expect(modeFor(warnByDefault, 'nope')).toBe('warn');
    const soft = denied('i', 'UNSIGNED', { rule: 'soft' });
    expect(modeOf(cluster, soft)).toBe('warn');
    expect(modeOf(cluster, { ...soft, tenant: 'team' } as ImageVerdict)).toBe('enforce');
    expect(modeOf(cluster, allowed('i', { rule: 'soft' }))).toBe('warn');
  });

  test('only registry trouble and timeouts are infrastructure failures', () => {
    expect((['TIMEOUT', 'REGISTRY_UNREACHABLE', 'REGISTRY_ERROR'] as const).map(isOutage)).toEqual([true, true, true]);
    expect((['REGISTRY_UNAUTHORIZED', 'NOT_FOUND', 'UNSIGNED', 'BAD_SIGNATURE'] as const).map(isOutage)).toEqual([false, false, false, false]);
  });

  test('timedOut: a TIMEOUT denial with no digest, rule or checks, and a fix', () => {
    expect(timedOut('r.example/a:1', 1500)).toEqual({
      outcome: 'denied',
      image: 'r.example/a:1',
      digest: undefined,
      rule: undefined,
      code: 'TIMEOUT',
      reason: "verification timed out: no answer within the review's 1500 ms budget",
      fix: 'retry; if it keeps timing out, check the latency of r.example from the webhook',
      checks: [],
    });
  });

  test('describeObject: kind, subresource, namespace and the best name available', () => {
    const base = pod(['r.example/a:1']);
    expect(describeObject(base)).toBe('Pod default/web');
    expect(describeObject({ ...base, subResource: 'ephemeralcontainers' })).toBe('Pod/ephemeralcontainers default/web');
    expect(describeObject({ ...base, namespace: undefined })).toBe('Pod web');
    expect(describeObject({ ...base, name: undefined })).toBe('Pod default/web');
    expect(describeObject({ ...base, name: undefined, object: { metadata: { generateName: 'web-' } } })).toBe('Pod default/web-*');
    expect(describeObject({ ...base, name: undefined, object: { metadata: { name: 7, generateName: 8 } } })).toBe('Pod default/(unnamed)');
    expect(describeObject({ ...base, name: undefined, object: { metadata: null } })).toBe('Pod default/(unnamed)');
    expect(describeObject({ ...base, name: undefined, object: { metadata: 'web' } })).toBe('Pod default/(unnamed)');
    expect(describeObject({ ...base, name: undefined, object: undefined })).toBe('Pod default/(unnamed)');
  });
});
