// Tenant policies: what is accepted, how it compiles, and every attempt to loosen or reach beyond the
// namespace refused with a message that names the field, the line and the ConfigMap.
import { readFileSync } from 'node:fs';
import { loadPolicyText } from '../../src/policy/load.js';
import { matchRule } from '../../src/policy/match.js';
import { loadTenantPolicyText, type CompiledTenantPolicy } from '../../src/policy/tenants.js';
import type { PolicyLoadError } from '../../src/policy/types.js';

const RELEASE_PEM = readFileSync('test/fixtures/policies/keys/release.pub', 'utf8');
const SOURCE = 'configmap team-a/trust (policy.yaml)';
const KEYS = `keys:\n  team:\n    publicKey: |\n${RELEASE_PEM.trim().split('\n').map((line) => `      ${line}`).join('\n')}\n`;
const HEADER = `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\n${KEYS}`;
const VERIFY_RULE = '  - name: ours\n    images: ["registry.example.com/team-a/**"]\n    verify: [{type: cosign, keys: [team]}]\n';

function load(text: string, namespace = 'team-a'): ReturnType<typeof loadTenantPolicyText> {
  return loadTenantPolicyText(text, { namespace, baseDir: '/nonexistent', sourceName: SOURCE });
}

function compiled(text: string, namespace = 'team-a'): CompiledTenantPolicy {
  const result = load(text, namespace);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function refused(text: string): PolicyLoadError {
  const result = load(text);
  if (result.ok) throw new Error('the tenant policy loaded, but it should have been refused');
  expect(result.error.code).toBe('POLICY_INVALID');
  return result.error;
}

describe('accepted tenant policies', () => {
  test('verify and deny rules compile to an enforced, fail-closed layer with nothing exempt', () => {
    const text = `${HEADER}metadata: {name: team-a-extra}\nrules:\n${VERIFY_RULE}  - {name: no-latest-hub, images: ["*"], action: deny}\n`;
    const policy = compiled(text);
    expect(policy.tenant).toEqual({ namespace: 'team-a', unmatched: 'ignore' });
    expect(policy.name).toBe('team-a-extra');
    expect(policy.source).toBe(SOURCE);
    expect(policy.rules.map((rule) => [rule.name, rule.action, rule.mode])).toEqual([
      ['ours', 'verify', 'enforce'],
      ['no-latest-hub', 'deny', 'enforce'],
    ]);
    // Unmatched images get no objection from this layer; the cluster decision alone covers them.
    expect(policy.defaults).toEqual({ mode: 'enforce', unmatched: 'allow', failurePolicy: 'closed', pinDigests: false });
    expect(policy.exemptNamespaces).toEqual([]);
    expect(policy.isNamespaceExempt('kube-system')).toBe(false);
    expect(policy.breakGlass).toBeUndefined();
    expect(matchRule(policy, 'registry.example.com/team-a/api')?.name).toBe('ours');
    expect(Object.isFrozen(policy)).toBe(true);
  });

  test('the version differs from the same text as a cluster policy, and between namespaces', () => {
    const text = `${HEADER}rules:\n${VERIFY_RULE}`;
    const asCluster = loadPolicyText(text, { baseDir: '/nonexistent', sourceName: SOURCE });
    if (!asCluster.ok) throw new Error(asCluster.error.message);
    const a = compiled(text, 'team-a');
    const b = compiled(text, 'team-b');
    expect(a.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(new Set([asCluster.value.version, a.version, b.version]).size).toBe(3);
    expect(compiled(text, 'team-a').version).toBe(a.version);
  });

  test('unmatched: deny makes the tenant deny what none of its rules match; enforce and closed may be restated', () => {
    const policy = compiled(`${HEADER}defaults: {unmatched: deny, mode: enforce, failurePolicy: closed}\nrules:\n${VERIFY_RULE}  - {name: strict, images: ["ghcr.io/**"], mode: enforce, verify: [{type: cosign, keys: [team]}]}\n`);
    expect(policy.tenant.unmatched).toBe('deny');
    expect(policy.defaults.unmatched).toBe('deny');
  });
});

describe('refused: every way a tenant could loosen a decision or escape its namespace', () => {
  const cases: readonly { readonly name: string; readonly body: string; readonly line: number; readonly path: string; readonly message: string }[] = [
    {
      name: 'an allow rule',
      body: `rules:\n  - {name: mine, images: ["**"], action: allow}\n`,
      line: 11,
      path: 'rules[0].action',
      message: 'a tenant rule cannot allow images (that would exempt them from the checks); tenant policies only add requirements, so use action verify or deny',
    },
    {
      name: 'exemptions, even an empty list',
      body: `exemptions: {namespaces: []}\nrules:\n${VERIFY_RULE}`,
      line: 10,
      path: 'exemptions',
      message: 'a tenant policy cannot exempt namespaces; exemptions are set in the cluster policy only. Remove exemptions',
    },
    {
      name: 'break-glass',
      body: `breakGlass: {annotation: team.image-policy.k8s.io/break-glass}\nrules:\n${VERIFY_RULE}`,
      line: 10,
      path: 'breakGlass',
      message: 'a tenant policy cannot configure break-glass; it is set in the cluster policy only. Remove breakGlass',
    },
    {
      name: 'failurePolicy open',
      body: `defaults: {failurePolicy: open}\nrules:\n${VERIFY_RULE}`,
      line: 10,
      path: 'defaults.failurePolicy',
      message: 'tenant requirements always fail closed; remove failurePolicy (or write closed)',
    },
    {
      name: 'unmatched allow',
      body: `defaults:\n  unmatched: allow\nrules:\n${VERIFY_RULE}`,
      line: 11,
      path: 'defaults.unmatched',
      message:
        'a tenant policy cannot allow images, only add requirements; images none of its rules match already get no extra requirement from it. Remove unmatched, or write deny to also deny those images in this namespace',
    },
    {
      name: 'warn as the default mode',
      body: `defaults: {mode: warn}\nrules:\n${VERIFY_RULE}`,
      line: 10,
      path: 'defaults.mode',
      message: 'mode warn would let images that fail this rule in; tenant rules are always enforced, so remove mode (or write enforce)',
    },
    {
      name: 'audit on a rule',
      body: `rules:\n  - {name: soft, images: ["**"], mode: audit, verify: [{type: cosign, keys: [team]}]}\n`,
      line: 11,
      path: 'rules[0].mode',
      message: 'mode audit would let images that fail this rule in; tenant rules are always enforced, so remove mode (or write enforce)',
    },
    {
      name: 'trusting its keys for other namespaces',
      body: `rules:\n  - name: reach\n    images: ["**"]\n    namespaces: {names: [prod]}\n    verify: [{type: cosign, keys: [team]}]\n`,
      line: 13,
      path: 'rules[0].namespaces',
      message: 'a tenant policy applies only to objects in its own namespace ("team-a"); remove namespaces',
    },
    {
      name: 'turning digest pinning off',
      body: `defaults: {pinDigests: false}\nrules:\n  - {name: ours, images: ["**"], pinDigest: false, verify: [{type: cosign, keys: [team]}]}\n`,
      line: 10,
      path: 'defaults.pinDigests',
      message: 'digest pinning is decided by the cluster policy; remove pinDigests',
    },
  ];

  test.each(cases)('$name', ({ body, line, path, message }) => {
    const error = refused(`${HEADER}${body}`);
    const found = error.problems.find((problem) => problem.path === path);
    expect(found).toMatchObject({ line, message });
    expect(error.message).toContain(`policy ${SOURCE} is invalid`);
    expect(error.message).toContain(`  ${SOURCE}:${line}:`);
    expect(error.message).toContain(`${path}: ${message}`);
  });

  test('restrictions and ordinary mistakes are reported together, in line order', () => {
    const error = refused(`${HEADER}defaults: {failurePolicy: open}\nrules:\n  - {name: a, images: ["**"], action: allow}\n  - {name: b, images: ["**"], verify: [{type: cosign, keys: [nobody]}]}\n`);
    expect(error.problems.map((problem) => problem.path)).toEqual(['defaults.failurePolicy', 'rules[0].action', 'rules[1].verify[0].keys[0]']);
    expect(error.message).toMatch(/^policy configmap team-a\/trust \(policy\.yaml\) is invalid \(3 problems\):/);
    expect(error.message).toContain('unknown key "nobody"');
  });

  test('a pinDigest on a rule is refused too', () => {
    const error = refused(`${HEADER}rules:\n  - {name: ours, images: ["**"], pinDigest: true, verify: [{type: cosign, keys: [team]}]}\n`);
    expect(error.problems).toEqual([expect.objectContaining({ path: 'rules[0].pinDigest', message: 'digest pinning is decided by the cluster policy; remove pinDigest' })]);
  });

  test('a dct verifier is refused: it would make Signet contact a server of the tenant\'s choosing', () => {
    const error = refused(`${HEADER}rules:\n  - name: ours\n    images: ["**"]\n    verify:\n      - type: dct\n        server: http://169.254.169.254\n        insecureHttp: true\n        rootKeys: [team]\n`);
    const found = error.problems.find((problem) => problem.path === 'rules[0].verify[0].type');
    expect(found).toMatchObject({
      line: 14,
      message: "a tenant policy cannot use dct: it names a notary server, which Signet would contact on the tenant's word; use cosign, notation or keyless, or ask the cluster administrators for a dct rule",
    });
  });

  test('YAML that does not parse is reported as for any policy', () => {
    const error = refused('rules: [\n');
    expect(error.message).toContain('YAML:');
  });
});

// Written against surviving mutants (docs/mutation-testing.md): problems on one line are ordered by
// column, whichever check found them first.
describe('ordering of tenant problems', () => {
  test('two refusals on one line are listed left to right', () => {
    for (const [rule, first, second] of [
      ['{name: a, images: ["**"], action: allow, mode: warn}', 'rules[0].action', 'rules[0].mode'],
      ['{name: a, images: ["**"], mode: warn, action: allow}', 'rules[0].mode', 'rules[0].action'],
    ] as const) {
      const error = refused(`${HEADER}rules:\n  - ${rule}\n`);
      expect(error.problems.map((problem) => problem.path)).toEqual([first, second]);
      expect(error.problems.map((problem) => problem.line)).toEqual([11, 11]);
      const [a, b] = error.problems;
      expect(a!.column!).toBeLessThan(b!.column!);
      // One line per problem after the heading, each with line and column.
      const lines = error.message.split('\n');
      expect(lines[0]).toBe(`policy ${SOURCE} is invalid (2 problems):`);
      expect(lines[1]).toBe(`  ${SOURCE}:11:${a!.column}: ${first}: ${a!.message}`);
      expect(lines[2]).toBe(`  ${SOURCE}:11:${b!.column}: ${second}: ${b!.message}`);
      expect(a!.column).toBeGreaterThan(1);
    }
  });

  test('a single refusal is "1 problem"', () => {
    const error = refused(`${HEADER}rules:\n  - {name: a, images: ["**"], action: allow}\n`);
    expect(error.message.split('\n')[0]).toBe(`policy ${SOURCE} is invalid (1 problem):`);
  });
});
