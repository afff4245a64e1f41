import type { CompiledVerifier } from '../../src/policy/types.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadPolicyText, MAX_KEY_FILE_BYTES } from '../../src/policy/load.js';
import { loadPolicyFile, readKeyFileFromDisk } from '../../src/trust/policy-file.js';
import type { CompiledPolicy, CompiledRule, PolicyLoadError, PolicyProblem } from '../../src/policy/types.js';
import { err, ok } from '../../src/util/result.js';

function cosignOf(verifier: CompiledVerifier | undefined): Extract<CompiledVerifier, { type: 'cosign' }> {
  if (verifier?.type !== 'cosign') throw new Error(`expected a cosign verifier, got ${verifier?.type}`);
  return verifier;
}

const FIXTURES = 'test/fixtures/policies';
const fixturePath = (name: string): string => join(FIXTURES, name);
const RELEASE_PEM = readFileSync(fixturePath('keys/release.pub'), 'utf8');
const BACKUP_PEM = readFileSync(fixturePath('keys/backup.pub'), 'utf8');

async function load(name: string): Promise<CompiledPolicy> {
  const result = await loadPolicyFile(fixturePath(name));
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

async function problemsOf(name: string): Promise<readonly PolicyProblem[]> {
  const result = await loadPolicyFile(fixturePath(name));
  if (result.ok) throw new Error(`${name} loaded, but it is invalid`);
  expect(result.error.code).toBe('POLICY_INVALID');
  return result.error.problems;
}

function textError(text: string, baseDir = tmpdir()): PolicyLoadError {
  const result = loadPolicyText(text, { baseDir, sourceName: 'inline.yaml', readKeyFile: readKeyFileFromDisk });
  if (result.ok) throw new Error('policy loaded, but it is invalid');
  return result.error;
}

const HEADER = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\n';

describe('valid policies compile', () => {
  test('every field of the format (valid-full.yaml)', async () => {
    const policy = await load('valid-full.yaml');
    expect(policy.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(policy.name).toBe('cluster');
    expect(policy.source).toBe(fixturePath('valid-full.yaml'));
    expect(policy.defaults).toEqual({ mode: 'enforce', unmatched: 'deny', failurePolicy: 'closed', pinDigests: true });
    expect([...policy.keys.keys()]).toEqual(['release', 'backup', 'legacy-rsa']);
    expect([...policy.keys.values()].map((key) => [key.name, key.algorithm])).toEqual([
      ['release', 'ecdsa-p256'],
      ['backup', 'ecdsa-p256'],
      ['legacy-rsa', 'rsa'],
    ]);

    const [prod, experimental, system, forbidden] = policy.rules;
    expect(prod).toMatchObject({
      name: 'prod',
      index: 0,
      action: 'verify',
      mode: 'enforce',
      require: 'all',
      patterns: ['registry.example.com/prod/**', 'docker.io/library/nginx'],
      excludes: ['registry.example.com/prod/experimental/**'],
    });
    expect(prod?.verifiers).toHaveLength(1);
    const cosign = cosignOf(prod?.verifiers[0]);
    expect(cosign?.type).toBe('cosign');
    expect(cosign?.keys.map((key) => key.name)).toEqual(['release', 'backup']);
    expect(cosign?.keys[0]).toBe(policy.keys.get('release'));
    expect(cosign?.threshold).toBe(2);
    expect(cosign?.annotations).toEqual({ env: 'prod' });
    expect(cosign?.identity).toBe('repository');

    expect(experimental).toMatchObject({ name: 'experimental', index: 1, action: 'verify', mode: 'warn', require: 'any' });
    expect(experimental?.verifiers.map((verifier) => cosignOf(verifier).keys.map((key) => key.name))).toEqual([['release'], ['legacy-rsa']]);
    expect(system).toMatchObject({ name: 'system', action: 'allow', verifiers: [] });
    expect(forbidden).toMatchObject({ name: 'forbidden', action: 'deny', verifiers: [], patterns: ['docker.io/library/*'] });
  });

  test('defaults are applied where fields are left out (valid-minimal.yaml)', async () => {
    const policy = await load('valid-minimal.yaml');
    expect(policy.name).toBe(fixturePath('valid-minimal.yaml'));
    expect(policy.defaults).toEqual({ mode: 'enforce', unmatched: 'deny', failurePolicy: 'closed', pinDigests: true });
    expect(policy.exemptNamespaces).toEqual(['kube-system']);
    expect(policy.breakGlass).toBeUndefined();
    const [rule] = policy.rules;
    expect(rule).toMatchObject({ name: 'everything', action: 'verify', mode: 'enforce', require: 'all', excludes: [], namespaces: undefined, pinDigest: undefined });
    expect(rule?.verifiers[0]).toMatchObject({ type: 'cosign', threshold: 1, annotations: {}, identity: 'ignore' });
  });

  test('an inline PEM and the same key in a file are the same trusted key', async () => {
    const inline = (await load('valid-full.yaml')).keys.get('release');
    const fromFile = (await load('valid-minimal.yaml')).keys.get('release');
    expect(inline?.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(inline?.fingerprint).toBe(fromFile?.fingerprint);
  });

  test('2-of-3 threshold and policy-wide defaults (valid-threshold.yaml)', async () => {
    const policy = await load('valid-threshold.yaml');
    expect(policy.name).toBe('two-of-three');
    expect(policy.defaults).toEqual({ mode: 'warn', unmatched: 'allow', failurePolicy: 'closed', pinDigests: true });
    const verifier = cosignOf(policy.rules[0]?.verifiers[0]);
    expect(verifier?.keys.map((key) => key.name)).toEqual(['alice', 'bob', 'carol']);
    expect(verifier?.threshold).toBe(2);
    expect(policy.rules[0]?.mode).toBe('warn');
    expect(new Set(verifier?.keys.map((key) => key.fingerprint)).size).toBe(3);
  });

  test('exempt and deny rules with Docker Hub short names (valid-exempt.yaml)', async () => {
    const policy = await load('valid-exempt.yaml');
    expect(policy.rules.map((rule) => [rule.name, rule.action, rule.patterns, rule.excludes])).toEqual([
      ['kube-system-images', 'allow', ['registry.k8s.io/**', 'localhost:5000/**'], []],
      ['banned', 'deny', ['docker.io/library/*'], ['docker.io/library/nginx', 'docker.io/library/busybox']],
      ['rest', 'verify', ['**'], []],
    ]);
  });

  test('exemptions, break-glass, failure policy, pinning and namespaced rules (valid-namespaces.yaml)', async () => {
    const policy = await load('valid-namespaces.yaml');
    expect(policy.defaults).toEqual({ mode: 'enforce', unmatched: 'deny', failurePolicy: 'open', pinDigests: false });
    expect(policy.exemptNamespaces).toEqual(['kube-system', 'team-sandbox-*']);
    expect(policy.breakGlass).toEqual({ annotation: 'signet.image-policy.k8s.io/break-glass' });
    expect(policy.rules.map((rule) => [rule.name, rule.action, rule.mode, rule.pinDigest])).toEqual([
      ['prod', 'verify', 'enforce', true],
      ['previews', 'verify', 'warn', undefined],
      ['ops-tools', 'allow', 'enforce', undefined],
      ['internal', 'verify', 'enforce', undefined],
    ]);
    expect(policy.rules[0]?.namespaces).toEqual({
      names: ['prod', 'prod-*'],
      selector: {
        matchLabels: { tier: 'prod', 'example.com/owner': 'payments' },
        matchExpressions: [
          { key: 'region', operator: 'In', values: ['eu', 'us'] },
          { key: 'legacy', operator: 'NotIn', values: ['true'] },
          { key: 'kubernetes.io/metadata.name', operator: 'Exists' },
          { key: 'quarantine', operator: 'DoesNotExist' },
        ],
      },
    });
    expect(policy.rules[1]?.namespaces).toEqual({ names: undefined, selector: { matchLabels: {}, matchExpressions: [{ key: 'tier', operator: 'In', values: ['preview'] }] } });
    expect(policy.rules[2]?.namespaces).toEqual({ names: ['ops'], selector: undefined });
    expect(policy.rules[3]?.namespaces).toBeUndefined();
  });

  // [case, exemptions as written, exemptNamespaces, which of NAMESPACES are exempt]
  const NAMESPACES = ['kube-system', 'kube-public', 'signet', 'ci-', 'ci-42', 'ci', 'default', 'xci-1'];
  test.each([
    ['no exemptions field', '', ['kube-system'], ['kube-system']],
    ['exemptions without namespaces', 'exemptions: {}\n', ['kube-system'], ['kube-system']],
    ['an explicit empty list', 'exemptions: {namespaces: []}\n', [], []],
    ['a list that leaves kube-system out', 'exemptions: {namespaces: [signet, "ci-*"]}\n', ['signet', 'ci-*'], ['signet', 'ci-', 'ci-42']],
    ['a pattern in the middle', 'exemptions: {namespaces: ["kube-*c"]}\n', ['kube-*c'], ['kube-public']],
  ])('exempt namespaces: %s', (_label, exemptions, listed, exempt) => {
    const result = loadPolicyText(`${HEADER}${exemptions}rules: []\n`, { baseDir: tmpdir(), sourceName: 'inline.yaml' });
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.exemptNamespaces).toEqual(listed);
    expect(NAMESPACES.filter((namespace) => result.value.isNamespaceExempt(namespace))).toEqual(exempt);
  });

  test('each bad exemption is reported once, with the most useful message', () => {
    expect(textError(`${HEADER}exemptions: {namespaces: ["**", "***", "*"]}\nrules: []\n`).problems.map((problem) => [problem.path, problem.message])).toEqual([
      ['exemptions.namespaces[0]', '"**" is not needed here: a namespace name has no "/" segments, so "*" already matches any run of characters'],
      ['exemptions.namespaces[1]', '"**" is not needed here: a namespace name has no "/" segments, so "*" already matches any run of characters'],
      ['exemptions.namespaces[2]', '"*" would exempt every namespace and switch Signet off; to watch without enforcing, set defaults.mode: audit'],
    ]);
  });

  test('the sample policy used by `make run` compiles, with its exemptions and namespaced rule', async () => {
    const result = await loadPolicyFile('examples/policy.yaml');
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.exemptNamespaces.length).toBeGreaterThan(0);
    expect(result.value.rules.some((rule) => rule.namespaces !== undefined)).toBe(true);
  });

  test('the compiled policy is frozen all the way down', async () => {
    const policy = await load('valid-full.yaml');
    const rule = policy.rules[0] as CompiledRule;
    const verifier = cosignOf(rule.verifiers[0]);
    for (const value of [policy, policy.defaults, policy.rules, rule, rule.patterns, rule.excludes, rule.verifiers, verifier, verifier?.keys, verifier?.annotations, policy.keys.get('release'), policy.exemptNamespaces]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    const namespaced = await load('valid-namespaces.yaml');
    const restriction = namespaced.rules[0]?.namespaces;
    const selector = restriction?.selector;
    for (const value of [namespaced.breakGlass, namespaced.exemptNamespaces, restriction, restriction?.names, selector, selector?.matchLabels, selector?.matchExpressions, selector?.matchExpressions[0]]) {
      expect(value).toBeDefined();
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(() => {
      (selector?.matchLabels as Record<string, string>).tier = 'dev';
    }).toThrow(TypeError);
    expect(() => (policy.rules as CompiledRule[]).push(rule)).toThrow(TypeError);
    expect(() => {
      (verifier?.annotations as Record<string, string>).env = 'dev';
    }).toThrow(TypeError);
    // ReadonlyMap is only a type; the object itself must offer no way to change trust.
    expect('set' in policy.keys).toBe(false);
    expect('delete' in policy.keys).toBe(false);
    expect(() => {
      (policy.keys as unknown as { extra: number }).extra = 1;
    }).toThrow(TypeError);
  });
});

describe('invalid policies report every problem with its path, line and column', () => {
  const missingKey = resolve(FIXTURES, 'keys/missing.pub');
  const keysDir = resolve(FIXTURES, 'keys');
  const CASES: readonly [string, PolicyProblem[]][] = [
    ['invalid-unknown-field.yaml', [{ path: 'rules[0].verfy', line: 8, column: 5, message: 'unknown field; did you mean verify?' }]],
    [
      'invalid-yaml-syntax.yaml',
      [
        { path: '', line: 6, column: 3, message: 'YAML: Flow sequence in block collection must be sufficiently indented and end with a ]' },
        { path: '', line: 6, column: 11, message: 'YAML: Nested mappings are not allowed in compact mappings' },
        { path: '', line: 6, column: 11, message: 'YAML: Implicit keys need to be on a single line' },
      ],
    ],
    [
      'invalid-duplicate-yaml-key.yaml',
      [
        { path: 'keys.release', line: 5, column: 3, message: 'YAML: duplicate key; each key may appear only once in a map' },
        { path: 'rules[0].action', line: 10, column: 5, message: 'YAML: duplicate key; each key may appear only once in a map' },
      ],
    ],
    [
      'invalid-key-reference.yaml',
      [
        { path: 'rules[0].verify[0].keys[1]', line: 11, column: 25, message: 'unknown key "bakup"; did you mean backup? (defined keys: release, backup)' },
        { path: 'rules[0].verify[0].keys[2]', line: 11, column: 32, message: 'unknown key "nightly" (defined keys: release, backup)' },
      ],
    ],
    [
      'invalid-threshold.yaml',
      [
        { path: 'rules[0].verify[0].threshold', line: 12, column: 20, message: 'threshold 3 is more than the 2 keys listed; it must be between 1 and 2' },
        { path: 'rules[1].verify[0].threshold', line: 18, column: 20, message: 'must be at least 1; got number 0' },
        { path: 'rules[2].verify[0].threshold', line: 24, column: 20, message: 'must be a whole number; got the string "1"' },
      ],
    ],
    [
      'invalid-duplicate-rule-name.yaml',
      [
        {
          path: 'rules[2].name',
          line: 10,
          column: 11,
          message: 'duplicate rule name "exempt" (also the name of rules[0]); rule names identify rules in decisions and must be unique',
        },
      ],
    ],
    [
      'invalid-globs.yaml',
      [
        { path: 'rules[0].images[0]', line: 6, column: 9, message: 'patterns never contain tags: remove ":latest"' },
        {
          path: 'rules[0].images[1]',
          line: 7,
          column: 9,
          message: 'patterns never contain digests: remove "@sha256:0000"; a pattern matches every digest of the repositories it names',
        },
        { path: 'rules[0].images[2]', line: 8, column: 9, message: '"**" must be a whole path segment (as in "registry.example.com/team/**"), not part of "team**"' },
        {
          path: 'rules[0].images[3]',
          line: 9,
          column: 9,
          message:
            '"registry.example.com" looks like a registry host; to match every image in it write "registry.example.com/**" (for the Docker Hub image write "docker.io/library/registry.example.com")',
        },
        {
          path: 'rules[0].exclude[0]',
          line: 10,
          column: 15,
          message: 'character "(" is not allowed; patterns use repository-name characters (a-z 0-9 . _ -), "/", "*" and "**"',
        },
      ],
    ],
    [
      'invalid-keys.yaml',
      [
        { path: 'keys.inline-garbage.publicKey', line: 5, column: 16, message: 'no PEM block found; expected "-----BEGIN PUBLIC KEY-----"' },
        { path: 'keys.file-garbage.file', line: 7, column: 11, message: 'key file "keys/garbage.pub": no PEM block found; expected "-----BEGIN PUBLIC KEY-----"' },
        { path: 'keys.weak.file', line: 9, column: 11, message: 'key file "keys/weak-rsa-1024.pub": RSA key is 1024 bits; at least 2048 are required' },
        { path: 'keys.missing.file', line: 11, column: 11, message: `cannot read key file ${JSON.stringify(missingKey)}: no such file or directory` },
        { path: 'keys.directory.file', line: 13, column: 11, message: `cannot read key file ${JSON.stringify(keysDir)}: it is a directory, not a file` },
        { path: 'keys.both', line: 15, column: 5, message: 'give exactly one of file (path to a PEM file) or publicKey (inline PEM text)' },
        { path: 'keys.neither', line: 17, column: 12, message: 'give exactly one of file (path to a PEM file) or publicKey (inline PEM text)' },
      ],
    ],
    [
      'invalid-verifier-type.yaml',
      [
        { path: 'rules[0].verify[0].trustedIdentities', line: 9, column: 9, message: 'missing required field' },
        { path: 'rules[0].verify[0].trustStore', line: 10, column: 21, message: 'must be a map (field: value); got the string "ca:acme"' },
        { path: 'rules[0].verify[1].type', line: 11, column: 15, message: 'unknown verifier type "cosine"; supported: cosign, keyless, notation, dct; did you mean cosign?' },
      ],
    ],
    [
      'invalid-namespaces.yaml',
      [
        { path: 'exemptions.namespaces[0]', line: 4, column: 16, message: '"*" would exempt every namespace and switch Signet off; to watch without enforcing, set defaults.mode: audit' },
        { path: 'exemptions.namespaces[1]', line: 4, column: 21, message: 'namespace names are lower case; "Team-A" is not' },
        { path: 'exemptions.namespaces[2]', line: 4, column: 29, message: 'character "_" is not allowed; namespace names use a-z, 0-9 and "-", and patterns add "*"' },
        { path: 'exemptions.namespaces[3]', line: 4, column: 39, message: '"-x" cannot be a namespace name: it must start and end with a letter, a digit or "*"' },
        {
          path: 'exemptions.namespaces[4]',
          line: 4,
          column: 45,
          message: '"**" is not needed here: a namespace name has no "/" segments, so "*" already matches any run of characters',
        },
        { path: 'exemptions.namespaces[6]', line: 4, column: 65, message: 'the string "kube-system" is listed twice' },
        {
          path: 'breakGlass.annotation',
          line: 6,
          column: 15,
          message:
            '"example.com/break-glass" would never reach Signet: the API server forwards only pod annotations matching *.image-policy.k8s.io/*; use a name such as "signet.image-policy.k8s.io/break-glass"',
        },
        { path: 'defaults.failurePolicy', line: 8, column: 18, message: 'must be one of closed, open; got the string "opne"' },
        { path: 'defaults.pinDigests', line: 9, column: 15, message: 'must be true or false; got the string "yes"' },
        {
          path: 'rules[0].pinDigest',
          line: 14,
          column: 5,
          message: 'pinDigest is only used with action verify (only verified images are pinned), and this rule has action deny',
        },
        { path: 'rules[0].namespaces.names', line: 16, column: 14, message: 'must list at least 1 item' },
        {
          path: 'rules[0].namespaces.selector.matchLabels["Tier/x"]',
          line: 18,
          column: 23,
          message:
            'prefix "Tier" of label key "Tier/x" must be a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit, at most 253 characters',
        },
        { path: 'rules[0].namespaces.selector.matchLabels["a/b/c"]', line: 18, column: 39, message: 'label key "a/b/c" has more than one "/"; write [prefix/]name' },
        {
          path: 'rules[0].namespaces.selector.matchLabels.tier',
          line: 18,
          column: 57,
          message: 'label value "not ok" must be empty or at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
        },
        {
          path: 'rules[0].namespaces.selector.matchLabels.enabled',
          line: 18,
          column: 76,
          message: 'must be a string; got boolean true; quote it ("true") if it is meant as text',
        },
        { path: 'rules[0].namespaces.selector.matchExpressions[0].values', line: 20, column: 13, message: 'operator In needs a values list with at least one label value' },
        { path: 'rules[0].namespaces.selector.matchExpressions[1].values', line: 21, column: 50, message: 'operator NotIn needs a values list with at least one label value' },
        {
          path: 'rules[0].namespaces.selector.matchExpressions[2].values',
          line: 22,
          column: 43,
          message: 'values is not used with operator Exists, which looks only at whether the label is there; remove it',
        },
        {
          path: 'rules[0].namespaces.selector.matchExpressions[3].operator',
          line: 23,
          column: 35,
          message: 'must be one of In, NotIn, Exists, DoesNotExist; got the string "in"; did you mean In?',
        },
        { path: 'rules[0].namespaces.selector.matchExpressions[4].key', line: 24, column: 19, message: 'label key is empty' },
        {
          path: 'rules[0].namespaces.selector.matchExpressions[5].values[0]',
          line: 25,
          column: 48,
          message: 'label value "-bad-" must be empty or at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
        },
        { path: 'rules[0].namespaces.selector.matchExpressions[6].key', line: 26, column: 13, message: 'missing required field' },
        { path: 'rules[1].namespaces', line: 30, column: 17, message: 'give names, selector or both; a rule for every namespace has no namespaces field' },
        {
          path: 'rules[2].namespaces.selector',
          line: 35,
          column: 17,
          message: 'the selector has no requirements and would match every namespace; give matchLabels or matchExpressions, or remove selector',
        },
      ],
    ],
    [
      'invalid-values.yaml',
      [
        { path: 'apiVersion', line: 1, column: 13, message: 'must be signet.dev/v1alpha1; got the string "signet.dev/v1"' },
        { path: 'kind', line: 2, column: 7, message: 'must be ImagePolicy; got the string "Policy"' },
        { path: 'defaults.mode', line: 4, column: 9, message: 'must be one of enforce, warn, audit; got the string "enforse"; did you mean enforce?' },
        { path: 'defaults.unmatched', line: 5, column: 14, message: 'must be one of deny, allow; got the string "no"' },
        {
          path: 'rules[0].name',
          line: 7,
          column: 11,
          message: 'invalid name "Prod Images": use letters, digits, ".", "_" and "-", starting with a letter or digit (at most 63 characters)',
        },
        { path: 'rules[0].images', line: 8, column: 13, message: 'must list at least 1 item' },
        { path: 'rules[0].action', line: 9, column: 13, message: 'must be one of verify, allow, deny; got the string "verfiy"; did you mean verify?' },
        { path: 'rules[0].require', line: 10, column: 14, message: 'must be one of all, any; got the string "both"' },
        { path: 'rules[1].require', line: 14, column: 5, message: 'require is only used with action verify, and this rule has action allow' },
        {
          path: 'rules[1].verify',
          line: 15,
          column: 5,
          message: 'verify is only used with action verify, and this rule has action allow; remove verify or change the action',
        },
        { path: 'rules[1].verify[0].keys[0]', line: 17, column: 16, message: 'unknown key "release" (the policy defines no keys)' },
        {
          path: 'rules[1].verify[0].annotations.build',
          line: 18,
          column: 30,
          message: 'must be a string; got number 42; quote it ("42") if it is meant as text',
        },
        { path: 'rules[1].verify[0].annotations[""]', line: 18, column: 34, message: 'invalid name "": annotation names must not be empty' },
        { path: 'rules[1].verify[0].identity', line: 19, column: 19, message: 'must be one of ignore, repository; got the string "repo"' },
      ],
    ],
  ];

  test.each(CASES)('%s', async (name, expected) => {
    expect(await problemsOf(name)).toEqual(expected);
  });

  test('all problems of a policy are reported at once, in line order (invalid-many.yaml)', async () => {
    const problems = await problemsOf('invalid-many.yaml');
    expect(problems.map((problem) => `${problem.line}:${problem.column} ${problem.path}`)).toEqual([
      '7:11 keys.backup.file',
      '9:16 keys.broken.publicKey',
      '11:5 keys.both',
      '14:9 defaults.mode',
      '17:46 rules[0].images[1]',
      '18:5 rules[0].verfy',
      '21:11 rules[1].name',
      '25:25 rules[1].verify[0].keys[1]',
      '26:20 rules[1].verify[0].threshold',
      '27:30 rules[1].verify[0].annotations.build',
      '28:9 rules[1].verify[1].trustStore',
      '28:9 rules[1].verify[1].trustedIdentities',
      '29:9 rules[1].verify[1].keys',
      '33:5 rules[2].verify',
    ]);
  });

  test('the error message lists every problem as source:line:column: path: message', async () => {
    const result = await loadPolicyFile(fixturePath('invalid-key-reference.yaml'));
    expect(result).toEqual(
      err({
        code: 'POLICY_INVALID',
        message: [
          'policy test/fixtures/policies/invalid-key-reference.yaml is invalid (2 problems):',
          '  test/fixtures/policies/invalid-key-reference.yaml:11:25: rules[0].verify[0].keys[1]: unknown key "bakup"; did you mean backup? (defined keys: release, backup)',
          '  test/fixtures/policies/invalid-key-reference.yaml:11:32: rules[0].verify[0].keys[2]: unknown key "nightly" (defined keys: release, backup)',
        ].join('\n'),
        problems: expect.any(Array),
      }),
    );
  });
});

describe('document-level problems', () => {
  test.each([
    ['an empty file', '', [{ path: '', line: 1, column: 1, message: 'the policy is empty' }]],
    ['only comments', '# nothing yet\n', [{ path: '', line: 1, column: 1, message: 'the policy is empty' }]],
    ['a list', '- a\n', [{ path: '', line: 1, column: 1, message: 'must be a map (field: value); got a list' }]],
    [
      'two documents',
      `${HEADER}rules: []\n---\n${HEADER}rules: []\n`,
      [{ path: '', line: 4, column: 1, message: 'YAML: a policy is one YAML document; remove the "---" and everything after it, or split the file' }],
    ],
    ['tabs as indentation', `${HEADER}rules:\n\t- name: a\n`, [{ path: '', line: 4, column: 1, message: 'YAML: Tabs are not allowed as indentation' }]],
    ['an unknown tag', `apiVersion: !custom signet.dev/v1alpha1\nkind: ImagePolicy\nrules: []\n`, [{ path: 'apiVersion', line: 1, column: 13, message: 'YAML: Unresolved tag: !custom' }]],
    ['a list as a key', `${HEADER}rules: []\n? [a, b]\n: c\n`, [{ path: '', line: 4, column: 3, message: 'YAML: keys must be plain strings, not lists or maps' }]],
    [
      'missing fields and a misspelt one',
      'apiVersion: signet.dev/v1alpha1\nrulez: []\n',
      [
        { path: 'kind', line: 1, column: 1, message: 'missing required field' },
        { path: 'rules', line: 1, column: 1, message: 'missing required field' },
        { path: 'rulez', line: 2, column: 1, message: 'unknown field; did you mean rules?' },
      ],
    ],
    [
      'an unknown field with no near match',
      `${HEADER}rules: []\nspec: {}\n`,
      [{ path: 'spec', line: 4, column: 1, message: 'unknown field; allowed fields here: apiVersion, kind, metadata, keys, exemptions, breakGlass, defaults, rules' }],
    ],
    [
      '__proto__ as a field',
      `${HEADER}rules: []\n__proto__: {polluted: true}\n`,
      [{ path: '__proto__', line: 4, column: 1, message: 'unknown field; allowed fields here: apiVersion, kind, metadata, keys, exemptions, breakGlass, defaults, rules' }],
    ],
    [
      'empty values',
      `${HEADER}keys:\nrules:\n  - name: a\n    images:\n    verify: []\n`,
      [
        { path: 'keys', line: 3, column: 6, message: 'must be a map (field: value); got nothing' },
        { path: 'rules[0].images', line: 6, column: 12, message: 'must be a list; got nothing' },
        { path: 'rules[0].verify', line: 7, column: 13, message: 'must list at least 1 item' },
      ],
    ],
    [
      'a missing verify list',
      `${HEADER}rules:\n  - name: a\n    images: [ghcr.io/a/b]\n`,
      [
        {
          path: 'rules[0].verify',
          line: 4,
          column: 5,
          message: 'action verify needs a verify list saying which signatures are required (or set action: allow or action: deny)',
        },
      ],
    ],
    [
      'a verifier without type and a key listed twice',
      `${HEADER}keys: {k: {publicKey: ${JSON.stringify(RELEASE_PEM)}}}\nrules:\n  - name: a\n    images: [ghcr.io/a/b]\n    verify:\n      - {keys: [k]}\n      - {type: cosign, keys: [k, k]}\n`,
      [
        { path: 'rules[0].verify[0].type', line: 8, column: 9, message: 'missing required field' },
        { path: 'rules[0].verify[1].keys[1]', line: 9, column: 34, message: 'the string "k" is listed twice' },
      ],
    ],
  ])('%s', (_label, text, expected) => {
    expect(textError(text).problems).toEqual(expected);
  });

  test('an alias bomb is refused, not expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [name, previous] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) {
      bomb.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    expect(textError(`${bomb.join('\n')}\n`).problems).toEqual([
      { path: '', line: 1, column: 1, message: 'YAML: Excessive alias count indicates a resource exhaustion attack' },
    ]);
  });

  test('anchors and aliases within reason work, and problems behind an alias point at the anchor', () => {
    const text = `${HEADER}keys:\n  k: {publicKey: ${JSON.stringify(RELEASE_PEM)}}\nrules:\n  - name: a\n    images: [ghcr.io/a/*]\n    verify: &v\n      - {type: cosign, keys: [k, nope]}\n  - name: b\n    images: [ghcr.io/b/*]\n    verify: *v\n`;
    expect(textError(text).problems).toEqual([
      { path: 'rules[0].verify[0].keys[1]', line: 9, column: 34, message: 'unknown key "nope" (defined keys: k)' },
      { path: 'rules[1].verify[0].keys[1]', line: 9, column: 34, message: 'unknown key "nope" (defined keys: k)' },
    ]);
    const fixed = loadPolicyText(text.replace(', nope', ''), { baseDir: tmpdir(), sourceName: 'inline.yaml' });
    expect(fixed.ok && cosignOf(fixed.value.rules[1]?.verifiers[0]).keys[0]?.name).toBe('k');
  });

  test('a policy text above the size limit is refused before parsing', () => {
    const text = `${HEADER}rules: []\n# ${'x'.repeat(1024 * 1024)}\n`;
    expect(textError(text).problems).toEqual([{ path: '', message: `the policy is ${text.length} characters; at most 1048576 are allowed` }]);
  });

  test('arbitrary text and arbitrary YAML values give a result, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything().map((value) => String(stringify(value) ?? ''))), (text) => {
        const result = loadPolicyText(text, { baseDir: tmpdir(), sourceName: 'fuzz.yaml' });
        if (!result.ok) {
          expect(result.error.code).toBe('POLICY_INVALID');
          expect(result.error.problems.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('policy-shaped documents with wrong values anywhere give a result, never an exception', () => {
    const anyValue = fc.oneof(fc.anything(), fc.constant(null), fc.array(fc.string()), fc.integer());
    const verifier = fc.record(
      { type: fc.oneof(fc.constantFrom('cosign', 'notation'), anyValue), keys: fc.oneof(fc.array(fc.constantFrom('k', 'x', '')), anyValue), threshold: fc.oneof(fc.integer({ min: -1, max: 4 }), anyValue), annotations: anyValue, identity: anyValue },
      { requiredKeys: [] },
    );
    const labelKey = fc.oneof(fc.constantFrom('tier', 'example.com/team', 'Bad Key', '', 'a/b/c'), fc.string());
    const requirement = fc.record(
      { key: fc.oneof(labelKey, anyValue), operator: fc.oneof(fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist', 'in'), anyValue), values: fc.oneof(fc.array(fc.constantFrom('prod', '', '-x')), anyValue) },
      { requiredKeys: [] },
    );
    const selector = fc.oneof(
      fc.record({ matchLabels: fc.oneof(fc.dictionary(labelKey, fc.oneof(fc.constantFrom('prod', ''), anyValue)), anyValue), matchExpressions: fc.oneof(fc.array(requirement, { maxLength: 3 }), anyValue) }, { requiredKeys: [] }),
      anyValue,
    );
    const namespaceList = fc.oneof(fc.array(fc.constantFrom('prod', 'prod-*', '*', '**', 'Prod', '-x', '')), anyValue);
    const namespaces = fc.oneof(fc.record({ names: namespaceList, selector }, { requiredKeys: [] }), anyValue);
    const rule = fc.record(
      { name: fc.oneof(fc.constantFrom('a', 'a', 'b'), anyValue), images: fc.oneof(fc.array(fc.constantFrom('**', 'nginx:1', 'ghcr.io/*', '')), anyValue), exclude: anyValue, namespaces, action: fc.oneof(fc.constantFrom('verify', 'allow', 'deny'), anyValue), require: anyValue, mode: anyValue, pinDigest: fc.oneof(fc.boolean(), anyValue), verify: fc.oneof(fc.array(verifier), anyValue) },
      { requiredKeys: [] },
    );
    const keys = fc.dictionary(fc.constantFrom('k', 'x', 'bad name'), fc.oneof(fc.constant({ publicKey: RELEASE_PEM }), fc.record({ publicKey: anyValue, file: anyValue }, { requiredKeys: [] }), anyValue));
    const exemptions = fc.oneof(fc.record({ namespaces: namespaceList }, { requiredKeys: [] }), anyValue);
    const breakGlass = fc.oneof(fc.record({ annotation: fc.oneof(fc.constantFrom('a.image-policy.k8s.io/x', 'x/y', ''), anyValue) }, { requiredKeys: [] }), anyValue);
    const policy = fc.record(
      { apiVersion: fc.constant('signet.dev/v1alpha1'), kind: fc.constant('ImagePolicy'), keys, exemptions, breakGlass, defaults: anyValue, rules: fc.oneof(fc.array(rule, { maxLength: 4 }), anyValue) },
      { requiredKeys: ['apiVersion', 'kind'] },
    );
    const scope = fc.record({
      namespace: fc.option(fc.oneof(fc.constantFrom('prod', 'prod-eu', 'kube-system'), fc.string()), { nil: undefined }),
      labels: fc.option(fc.dictionary(labelKey, fc.constantFrom('prod', '')), { nil: undefined }),
    });
    fc.assert(
      fc.property(policy, scope, (document, where) => {
        const result = loadPolicyText(stringify(document), { baseDir: '/nonexistent', sourceName: 'fuzz.yaml' });
        if (!result.ok) {
          expect(result.error.problems.length).toBeGreaterThan(0);
          return;
        }
        expect(Object.isFrozen(result.value)).toBe(true);
        // A compiled policy answers every scope without throwing.
        for (const rule of result.value.rules) expect(typeof rule.appliesTo(where)).toBe('boolean');
        expect(typeof result.value.isNamespaceExempt(where.namespace ?? '')).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('key files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-policy-'));
    mkdirSync(join(dir, 'keys'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const policyWithKeyFile = (file: string): string =>
    `${HEADER}keys:\n  k: {file: ${JSON.stringify(file)}}\nrules:\n  - name: a\n    images: [ghcr.io/a/b]\n    verify: [{type: cosign, keys: [k]}]\n`;

  test('a relative key file path is resolved against the policy file, not the working directory', async () => {
    writeFileSync(join(dir, 'keys', 'k.pub'), RELEASE_PEM);
    writeFileSync(join(dir, 'policy.yaml'), policyWithKeyFile('keys/k.pub'));
    expect(resolve('keys/k.pub')).not.toBe(join(dir, 'keys', 'k.pub'));
    const result = await loadPolicyFile(join(dir, 'policy.yaml'));
    expect(result.ok && result.value.keys.get('k')?.algorithm).toBe('ecdsa-p256');
  });

  test('loadPolicyText resolves relative key files against baseDir; absolute paths are used as they are', () => {
    writeFileSync(join(dir, 'keys', 'k.pub'), RELEASE_PEM);
    const relative = loadPolicyText(policyWithKeyFile('keys/k.pub'), { baseDir: dir, sourceName: 'inline.yaml', readKeyFile: readKeyFileFromDisk });
    const absolute = loadPolicyText(policyWithKeyFile(join(dir, 'keys', 'k.pub')), { baseDir: '/nonexistent', sourceName: 'inline.yaml', readKeyFile: readKeyFileFromDisk });
    expect(relative.ok && absolute.ok && relative.value.keys.get('k')?.fingerprint === absolute.value.keys.get('k')?.fingerprint).toBe(true);
  });

  test('policy text without a key file reader does no I/O: a key file it names is refused, saying to put the key inline', () => {
    writeFileSync(join(dir, 'keys', 'k.pub'), RELEASE_PEM);
    const result = loadPolicyText(policyWithKeyFile(join(dir, 'keys', 'k.pub')), { baseDir: dir, sourceName: 'inline.yaml' });
    expect(!result.ok && result.error.problems).toEqual([
      { path: 'keys.k.file', line: 4, column: 13, message: `cannot read key file ${JSON.stringify(join(dir, 'keys', 'k.pub'))}: this policy source has no files; put the key inline (pem:)` },
    ]);
  });

  test('a key file reader can be supplied (keys that come from a ConfigMap)', () => {
    const asked: string[] = [];
    const result = loadPolicyText(policyWithKeyFile('keys/k.pub'), {
      baseDir: '/etc/signet',
      sourceName: 'configmap signet/policy',
      readKeyFile: (path) => {
        asked.push(path);
        return path === '/etc/signet/keys/k.pub' ? ok(RELEASE_PEM) : err('not in the ConfigMap');
      },
    });
    expect(asked).toEqual(['/etc/signet/keys/k.pub']);
    expect(result.ok && result.value.source).toBe('configmap signet/policy');
  });

  test('a key file above the size limit is refused without reading it whole', () => {
    writeFileSync(join(dir, 'keys', 'k.pub'), 'x'.repeat(MAX_KEY_FILE_BYTES + 1));
    const error = textError(policyWithKeyFile('keys/k.pub'), dir);
    expect(error.problems).toEqual([
      {
        path: 'keys.k.file',
        line: 4,
        column: 13,
        message: `cannot read key file ${JSON.stringify(join(dir, 'keys', 'k.pub'))}: it is ${MAX_KEY_FILE_BYTES + 1} bytes; at most ${MAX_KEY_FILE_BYTES} are allowed`,
      },
    ]);
  });

  test('a private key is refused with a message that says so', () => {
    const privatePem = execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'keys', 'k.pub'), privatePem);
    expect(textError(policyWithKeyFile('keys/k.pub'), dir).problems).toEqual([
      { path: 'keys.k.file', line: 4, column: 13, message: 'key file "keys/k.pub": key k is a private key; give the public key' },
    ]);
  });

  test('the version changes when a key file changes, and only then', async () => {
    const policyFile = join(dir, 'policy.yaml');
    const keyFile = join(dir, 'keys', 'k.pub');
    writeFileSync(policyFile, policyWithKeyFile('keys/k.pub'));
    const versionNow = async (): Promise<string> => {
      const result = await loadPolicyFile(policyFile);
      if (!result.ok) throw new Error(result.error.message);
      return result.value.version;
    };

    writeFileSync(keyFile, RELEASE_PEM);
    const first = await versionNow();
    expect(await versionNow()).toBe(first);

    writeFileSync(keyFile, BACKUP_PEM);
    const rotated = await versionNow();
    expect(rotated).not.toBe(first);

    // The same key written differently (extra blank lines) is the same trust, so the same version.
    writeFileSync(keyFile, `\n${RELEASE_PEM}\n\n`);
    expect(await versionNow()).toBe(first);

    writeFileSync(policyFile, `# reviewed\n${policyWithKeyFile('keys/k.pub')}`);
    expect(await versionNow()).not.toBe(first);
  });

  test('a missing policy file, or a directory, is a POLICY_INVALID error', async () => {
    const missing = join(dir, 'nope.yaml');
    expect(await loadPolicyFile(missing)).toEqual(
      err({
        code: 'POLICY_INVALID',
        message: `policy ${missing} is invalid (1 problem):\n  ${missing}: cannot read policy file ${JSON.stringify(missing)}: no such file or directory`,
        problems: [{ path: '', message: `cannot read policy file ${JSON.stringify(missing)}: no such file or directory` }],
      }),
    );
    const result = await loadPolicyFile(dir);
    expect(!result.ok && result.error.problems[0]?.message).toBe(`cannot read policy file ${JSON.stringify(dir)}: it is a directory, not a file`);
  });

  test('a policy file above the size limit is refused', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `${HEADER}rules: []\n#${'x'.repeat(1024 * 1024)}\n`);
    const result = await loadPolicyFile(big);
    expect(!result.ok && result.error.problems[0]?.message).toMatch(/^cannot read policy file ".*big\.yaml": it is 1048\d+ bytes; at most 1048576 are allowed$/);
  });
});
