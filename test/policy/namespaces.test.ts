// Namespace patterns, Kubernetes label and annotation syntax, and label selector semantics, as tables.
import {
  checkBreakGlassAnnotation,
  checkLabelValue,
  checkQualifiedName,
  compileNamespacePattern,
  matchesEveryNamespace,
  namesMatch,
  selectorMatches,
} from '../../src/policy/namespaces.js';
import type { NamespacePattern } from '../../src/policy/namespaces.js';
import type { CompiledLabelSelector } from '../../src/policy/types.js';

function pattern(source: string): NamespacePattern {
  const compiled = compileNamespacePattern(source);
  if (!compiled.ok) throw new Error(`${source}: ${compiled.error}`);
  return compiled.value;
}

describe('namespace patterns', () => {
  test.each([
    ['kube-system', 'kube-system', true],
    ['kube-system', 'kube-system2', false],
    ['kube-system', 'xkube-system', false],
    ['team-sandbox-*', 'team-sandbox-1', true],
    ['team-sandbox-*', 'team-sandbox-', true],
    ['team-sandbox-*', 'team-sandbox', false],
    ['*-sandbox', 'a-sandbox', true],
    ['*-sandbox', 'a-sandbox-b', false],
    ['prod-*-eu', 'prod-api-eu', true],
    ['prod-*-eu', 'prod-a-b-eu', true],
    ['prod-*-eu', 'prod-eu', false],
    ['*', 'anything', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'acb', false],
    ['0', '0', true],
  ])('%s vs %s → %s', (source, namespace, expected) => {
    expect(pattern(source).test(namespace)).toBe(expected);
  });

  test.each([
    ['', 'namespace pattern is empty'],
    ['Prod', 'namespace names are lower case; "Prod" is not'],
    ['team_a', 'character "_" is not allowed; namespace names use a-z, 0-9 and "-", and patterns add "*"'],
    ['team.a', 'character "." is not allowed; namespace names use a-z, 0-9 and "-", and patterns add "*"'],
    ['team/a', 'character "/" is not allowed; namespace names use a-z, 0-9 and "-", and patterns add "*"'],
    ['prod?', 'character "?" is not allowed; namespace names use a-z, 0-9 and "-", and patterns add "*"'],
    ['-prod', '"-prod" cannot be a namespace name: it must start and end with a letter, a digit or "*"'],
    ['prod-', '"prod-" cannot be a namespace name: it must start and end with a letter, a digit or "*"'],
    ['prod-**', '"**" is not needed here: a namespace name has no "/" segments, so "*" already matches any run of characters'],
    ['a'.repeat(64), `"${'a'.repeat(64)}" is longer than 63 characters, the limit for namespace names`],
  ])('%j is rejected', (source, message) => {
    expect(compileNamespacePattern(source)).toEqual({ ok: false, error: message });
  });

  test('an adversarial pattern against the longest name answers at once', () => {
    // As the RegExp `^.*a.*a….*b$` this backtracks through about C(63, 30) ≈ 10^17 splits.
    const evil = pattern(`${'*a'.repeat(30)}*b`);
    const started = performance.now();
    expect(evil.test('a'.repeat(63))).toBe(false);
    expect(evil.test(`${'a'.repeat(62)}b`)).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });

  test('the longest valid name (63 characters) is accepted', () => {
    expect(pattern('a'.repeat(63)).test('a'.repeat(63))).toBe(true);
  });

  test('regular-expression characters cannot sneak in: only "*" is special', () => {
    expect(compileNamespacePattern('a.*').ok).toBe(false);
    expect(compileNamespacePattern('(a|b)').ok).toBe(false);
  });

  test.each([
    ['*', true],
    ['***', true],
    ['*-*', false],
    ['a*', false],
    ['', false],
  ])('matchesEveryNamespace(%j) → %s', (source, expected) => {
    expect(matchesEveryNamespace(source)).toBe(expected);
  });

  test('names: any pattern may match; an unknown or empty namespace is unknown, not a miss', () => {
    const patterns = [pattern('prod'), pattern('prod-*')];
    expect(namesMatch(patterns, 'prod')).toBe('yes');
    expect(namesMatch(patterns, 'prod-eu')).toBe('yes');
    expect(namesMatch(patterns, 'dev')).toBe('no');
    expect(namesMatch(patterns, undefined)).toBe('unknown');
    expect(namesMatch(patterns, '')).toBe('unknown');
  });
});

describe('label keys and values (Kubernetes syntax)', () => {
  test.each([
    'tier',
    'a',
    'app.kubernetes.io/name',
    'kubernetes.io/metadata.name',
    'example.com/Owner_Team.x',
    'a1-b_c.d',
    `${'a'.repeat(63)}`,
    `${'p'.repeat(253)}/name`,
  ])('label key %j is valid', (key) => {
    expect(checkQualifiedName(key, 'label key')).toBeUndefined();
  });

  test.each([
    ['', 'label key is empty'],
    ['a/b/c', 'label key "a/b/c" has more than one "/"; write [prefix/]name'],
    ['/name', 'label key "/name" has an empty prefix before "/"'],
    ['example.com/', 'label key "example.com/" has an empty name after "/"'],
    [
      'Example.com/name',
      'prefix "Example.com" of label key "Example.com/name" must be a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit, at most 253 characters',
    ],
    [
      'example..com/name',
      'prefix "example..com" of label key "example..com/name" must be a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit, at most 253 characters',
    ],
    [
      `${'p'.repeat(254)}/name`,
      `prefix "${'p'.repeat(200)}…" of label key "${'p'.repeat(200)}…" must be a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit, at most 253 characters`,
    ],
    ['-tier', 'label key "-tier" must be at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit'],
    ['tier_', 'label key "tier_" must be at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit'],
    ['my tier', 'label key "my tier" must be at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit'],
    [
      `example.com/${'n'.repeat(64)}`,
      `name "${'n'.repeat(64)}" of label key "example.com/${'n'.repeat(64)}" must be at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
    ],
  ])('label key %j is rejected', (key, message) => {
    expect(checkQualifiedName(key, 'label key')).toBe(message);
  });

  test.each(['', 'prod', 'v1.2.3', 'a_b-c', 'TRUE', 'x'.repeat(63)])('label value %j is valid', (value) => {
    expect(checkLabelValue(value)).toBeUndefined();
  });

  test.each(['-prod', 'prod.', 'not ok', 'ü', 'x'.repeat(64)])('label value %j is rejected', (value) => {
    expect(checkLabelValue(value)).toBe(
      `label value ${JSON.stringify(value)} must be empty or at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
    );
  });
});

describe('break-glass annotation', () => {
  test.each(['signet.image-policy.k8s.io/break-glass', 'mycluster.image-policy.k8s.io/ticket-1234', 'a.b.image-policy.k8s.io/X_1'])('%j is accepted', (key) => {
    expect(checkBreakGlassAnnotation(key)).toBeUndefined();
  });

  const NEVER_FORWARDED =
    'would never reach Signet: the API server forwards only pod annotations matching *.image-policy.k8s.io/*; use a name such as "signet.image-policy.k8s.io/break-glass"';
  test.each([
    ['break-glass', `"break-glass" ${NEVER_FORWARDED}`],
    ['example.com/break-glass', `"example.com/break-glass" ${NEVER_FORWARDED}`],
    // No label before the suffix: the plugin looks for ".image-policy.k8s.io/", with the dot.
    ['image-policy.k8s.io/break-glass', `"image-policy.k8s.io/break-glass" ${NEVER_FORWARDED}`],
    ['signet.image-policy.k8s.io.evil.com/x', `"signet.image-policy.k8s.io.evil.com/x" ${NEVER_FORWARDED}`],
    ['', 'annotation is empty'],
    ['signet.image-policy.k8s.io/', 'annotation "signet.image-policy.k8s.io/" has an empty name after "/"'],
    ['Signet.image-policy.k8s.io/x', 'prefix "Signet.image-policy.k8s.io" of annotation "Signet.image-policy.k8s.io/x" must be a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit, at most 253 characters'],
    [
      'alpha.image-policy.k8s.io/failed-open',
      '"alpha.image-policy.k8s.io/failed-open" is set by the API server on pods it admitted because the backend failed; choose a name of your own, such as "signet.image-policy.k8s.io/break-glass"',
    ],
  ])('%j is rejected', (key, message) => {
    expect(checkBreakGlassAnnotation(key)).toBe(message);
  });
});

describe('label selectors (Kubernetes LabelSelector semantics)', () => {
  const selector = (partial: Partial<CompiledLabelSelector>): CompiledLabelSelector => ({ matchLabels: {}, matchExpressions: [], ...partial });
  const PROD = selector({ matchLabels: { tier: 'prod' } });
  const IN = selector({ matchExpressions: [{ key: 'region', operator: 'In', values: ['eu', 'us'] }] });
  const NOT_IN = selector({ matchExpressions: [{ key: 'region', operator: 'NotIn', values: ['cn'] }] });
  const EXISTS = selector({ matchExpressions: [{ key: 'team', operator: 'Exists' }] });
  const NOT_EXISTS = selector({ matchExpressions: [{ key: 'quarantine', operator: 'DoesNotExist' }] });
  const EMPTY_VALUE = selector({ matchLabels: { flag: '' } });
  const ALL = selector({
    matchLabels: { tier: 'prod' },
    matchExpressions: [
      { key: 'region', operator: 'In', values: ['eu'] },
      { key: 'quarantine', operator: 'DoesNotExist' },
    ],
  });

  test.each([
    ['matchLabels equal', PROD, { tier: 'prod' }, 'yes'],
    ['matchLabels other value', PROD, { tier: 'dev' }, 'no'],
    ['matchLabels missing label', PROD, {}, 'no'],
    ['matchLabels is case-sensitive', PROD, { tier: 'Prod' }, 'no'],
    ['In, value listed', IN, { region: 'us' }, 'yes'],
    ['In, value not listed', IN, { region: 'ap' }, 'no'],
    ['In, label absent', IN, {}, 'no'],
    ['NotIn, value not listed', NOT_IN, { region: 'eu' }, 'yes'],
    ['NotIn, value listed', NOT_IN, { region: 'cn' }, 'no'],
    ['NotIn, label absent', NOT_IN, {}, 'yes'],
    ['Exists, present', EXISTS, { team: '' }, 'yes'],
    ['Exists, absent', EXISTS, { teams: 'x' }, 'no'],
    ['DoesNotExist, absent', NOT_EXISTS, { tier: 'prod' }, 'yes'],
    ['DoesNotExist, present with empty value', NOT_EXISTS, { quarantine: '' }, 'no'],
    ['an empty value must be present and empty', EMPTY_VALUE, { flag: '' }, 'yes'],
    ['an empty value is not the same as absent', EMPTY_VALUE, {}, 'no'],
    ['every requirement must hold', ALL, { tier: 'prod', region: 'eu' }, 'yes'],
    ['one failing requirement fails the selector', ALL, { tier: 'prod', region: 'eu', quarantine: 'yes' }, 'no'],
    ['unknown labels are unknown, for every selector', NOT_IN, undefined, 'unknown'],
    ['unknown labels are unknown, even for DoesNotExist', NOT_EXISTS, undefined, 'unknown'],
  ] as const)('%s', (_label, compiled, labels, expected) => {
    expect(selectorMatches(compiled, labels)).toBe(expected);
  });
});
