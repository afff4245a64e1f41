// Which rules apply where: namespace restrictions against what the caller knows about the scope, with
// the fail-closed reading for what it does not know (docs/policy.md, "Namespaces, modes and exemptions").
import { loadPolicyText } from '../../src/policy/load.js';
import { matchRule } from '../../src/policy/match.js';
import type { NamespaceScope } from '../../src/policy/scope.js';
import { UNKNOWN_SCOPE } from '../../src/policy/scope.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { readKeyFileFromDisk } from '../../src/trust/policy-file.js';

const HEADER = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\n';
const RELEASE_KEY = 'keys:\n  release: {file: keys/release.pub}\n';

function policyFrom(text: string): CompiledPolicy {
  const result = loadPolicyText(text, { baseDir: 'test/fixtures/policies', sourceName: 'inline.yaml', readKeyFile: readKeyFileFromDisk });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const RESTRICTIONS = {
  none: '',
  names: 'namespaces: {names: [prod, "prod-*"]}',
  selector: 'namespaces: {selector: {matchLabels: {tier: prod}}}',
  both: 'namespaces: {names: ["prod-*"], selector: {matchLabels: {tier: prod}}}',
} as const;
type Restriction = keyof typeof RESTRICTIONS;

// Rules that can deny (and so apply on a guess) and rules that can only admit (and so never do).
const CAN_DENY = ['action: deny', 'verify: [{type: cosign, keys: [release]}]'];
const ONLY_ADMITS = ['action: allow', 'mode: warn\n    verify: [{type: cosign, keys: [release]}]', 'mode: audit\n    verify: [{type: cosign, keys: [release]}]'];

function ruleWith(restriction: Restriction, body: string): CompiledPolicy {
  const namespaces = RESTRICTIONS[restriction];
  return policyFrom(`${HEADER}${RELEASE_KEY}rules:\n  - name: r\n    images: ["**"]\n${namespaces === '' ? '' : `    ${namespaces}\n`}    ${body}\n`);
}

const scope = (namespace: string | undefined, labels: Record<string, string> | undefined): NamespaceScope => ({ namespace, labels });

// [restriction, namespace, labels, applies for a rule that can deny, applies for a rule that only admits]
// `undefined` stands for "not known". docs/policy.md gives the same rules as a table in words.
const TABLE: readonly [Restriction, string | undefined, Record<string, string> | undefined, boolean, boolean][] = [
  ['none', 'prod-eu', { tier: 'prod' }, true, true],
  ['none', 'dev', {}, true, true],
  ['none', undefined, undefined, true, true],
  ['names', 'prod', undefined, true, true],
  ['names', 'prod-eu', { tier: 'dev' }, true, true],
  ['names', 'dev', { tier: 'prod' }, false, false],
  ['names', 'production', undefined, false, false],
  ['names', undefined, { tier: 'prod' }, true, false],
  ['names', undefined, undefined, true, false],
  // "" is how Kubernetes writes "no namespace" (cluster-scoped objects).
  ['names', '', undefined, true, false],
  ['selector', 'dev', { tier: 'prod' }, true, true],
  ['selector', 'prod-eu', { tier: 'dev' }, false, false],
  ['selector', 'prod-eu', {}, false, false],
  ['selector', undefined, { tier: 'prod' }, true, true],
  ['selector', 'prod-eu', undefined, true, false],
  ['selector', undefined, undefined, true, false],
  ['both', 'prod-eu', { tier: 'prod' }, true, true],
  ['both', 'prod-eu', { tier: 'dev' }, false, false],
  ['both', 'dev', { tier: 'prod' }, false, false],
  // One part known not to hold settles it, whatever the other would say.
  ['both', 'dev', undefined, false, false],
  ['both', undefined, { tier: 'dev' }, false, false],
  ['both', 'prod-eu', undefined, true, false],
  ['both', undefined, { tier: 'prod' }, true, false],
  ['both', undefined, undefined, true, false],
];

describe('CompiledRule.appliesTo', () => {
  test.each(TABLE)('%s, namespace %s, labels %j: can deny → %s, only admits → %s', (restriction, namespace, labels, canDeny, onlyAdmits) => {
    const where = scope(namespace, labels);
    for (const body of CAN_DENY) {
      expect([body, ruleWith(restriction, body).rules[0]?.appliesTo(where)]).toEqual([body, canDeny]);
    }
    for (const body of ONLY_ADMITS) {
      expect([body, ruleWith(restriction, body).rules[0]?.appliesTo(where)]).toEqual([body, onlyAdmits]);
    }
  });

  test('a rule that inherits warn from defaults.mode counts as one that only admits', () => {
    const policy = policyFrom(`${HEADER}${RELEASE_KEY}defaults: {mode: warn}\nrules:
  - name: inherits
    images: ["**"]
    ${RESTRICTIONS.selector}
    verify: [{type: cosign, keys: [release]}]
  - name: overrides
    images: ["**"]
    ${RESTRICTIONS.selector}
    mode: enforce
    verify: [{type: cosign, keys: [release]}]
`);
    expect(policy.rules.map((rule) => [rule.name, rule.mode, rule.appliesTo(scope('prod', undefined))])).toEqual([
      ['inherits', 'warn', false],
      ['overrides', 'enforce', true],
    ]);
  });

  test('labels are looked up as own properties only', () => {
    const policy = policyFrom(`${HEADER}rules:
  - name: r
    images: ["**"]
    namespaces: {selector: {matchExpressions: [{key: constructor, operator: Exists}]}}
    action: allow
`);
    expect(policy.rules[0]?.appliesTo(scope('dev', {}))).toBe(false);
    expect(policy.rules[0]?.appliesTo(scope('dev', { constructor: 'x' }))).toBe(true);
  });
});

describe('matchRule with a scope', () => {
  const policy = policyFrom(`${HEADER}${RELEASE_KEY}rules:
  - name: prod
    images: ["registry.example.com/**"]
    namespaces: {names: ["prod-*"], selector: {matchLabels: {tier: prod}}}
    verify: [{type: cosign, keys: [release]}]
  - name: previews
    images: ["registry.example.com/**"]
    namespaces: {selector: {matchExpressions: [{key: tier, operator: In, values: [preview]}]}}
    mode: warn
    verify: [{type: cosign, keys: [release]}]
  - name: ops-tools
    images: ["registry.example.com/tools/**"]
    namespaces: {names: [ops]}
    action: allow
  - name: legacy
    images: ["registry.example.com/legacy/**"]
    namespaces: {names: [legacy]}
    action: deny
  - name: internal
    images: ["registry.example.com/**"]
    verify: [{type: cosign, keys: [release]}]
`);
  const APP = 'registry.example.com/api';
  const TOOL = 'registry.example.com/tools/kubectl';
  const OLD = 'registry.example.com/legacy/app';

  test.each([
    [APP, scope('prod-eu', { tier: 'prod' }), 'prod'],
    [APP, scope('prod-eu', { tier: 'preview' }), 'previews'],
    [APP, scope('staging', { tier: 'preview' }), 'previews'],
    [APP, scope('staging', {}), 'internal'],
    // Unknown labels: prod can deny and its names match, so it applies; previews only admits, so it
    // is skipped and the broad rule after it decides.
    [APP, scope('prod-eu', undefined), 'prod'],
    [APP, scope('staging', undefined), 'internal'],
    [TOOL, scope('ops', {}), 'ops-tools'],
    [TOOL, scope('ops', undefined), 'ops-tools'],
    [TOOL, scope('dev', {}), 'internal'],
    // An exemption never applies on a guess.
    [TOOL, scope(undefined, undefined), 'prod'],
    [OLD, scope('legacy', {}), 'legacy'],
    [OLD, scope('dev', {}), 'internal'],
    // A deny rule restricted to a namespace applies when the namespace is unknown.
    [OLD, scope(undefined, { tier: 'dev' }), 'legacy'],
    ['ghcr.io/other/app', scope('prod-eu', { tier: 'prod' }), undefined],
  ])('%s in %j → %s', (name, where, expected) => {
    expect(matchRule(policy, name, where)?.name).toBe(expected);
  });

  test('without a scope nothing is known, the same as UNKNOWN_SCOPE', () => {
    for (const name of [APP, TOOL, OLD, 'ghcr.io/other/app']) {
      expect([name, matchRule(policy, name)?.name]).toEqual([name, matchRule(policy, name, UNKNOWN_SCOPE)?.name]);
    }
    expect(matchRule(policy, TOOL)?.name).toBe('prod');
    expect(UNKNOWN_SCOPE).toEqual({ namespace: undefined, labels: undefined });
    expect(Object.isFrozen(UNKNOWN_SCOPE)).toBe(true);
  });

  test('rules without namespaces behave exactly as before, whatever the scope', () => {
    const plain = policyFrom(`${HEADER}rules:\n  - {name: a, images: [ghcr.io/a/*], action: allow}\n  - {name: b, images: ["**"], action: deny}\n`);
    for (const where of [UNKNOWN_SCOPE, scope('x', undefined), scope(undefined, {}), scope('kube-system', { a: 'b' })]) {
      expect([matchRule(plain, 'ghcr.io/a/b', where)?.name, matchRule(plain, 'quay.io/c/d', where)?.name]).toEqual(['a', 'b']);
    }
  });
});
