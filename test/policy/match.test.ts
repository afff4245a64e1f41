import { loadPolicyText } from '../../src/policy/load.js';
import { loadPolicyFile, readKeyFileFromDisk } from '../../src/trust/policy-file.js';
import { matchRule } from '../../src/policy/match.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { parseReference, repositoryName } from '../../src/reference/parse.js';

const KEYLESS_HEADER = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\n';

function policyFrom(text: string): CompiledPolicy {
  const result = loadPolicyText(text, { baseDir: 'test/fixtures/policies', sourceName: 'inline.yaml', readKeyFile: readKeyFileFromDisk });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** The rule name that decides for an image as a pod spec writes it. */
function ruleFor(policy: CompiledPolicy, image: string): string | undefined {
  const reference = parseReference(image);
  if (!reference.ok) throw new Error(reference.error.message);
  return matchRule(policy, repositoryName(reference.value))?.name;
}

describe('matchRule', () => {
  test('the first rule whose images match wins, whatever later rules say', () => {
    const policy = policyFrom(`${KEYLESS_HEADER}rules:
  - {name: specific, images: [ghcr.io/org/app], action: allow}
  - {name: org, images: [ghcr.io/org/*], action: deny}
  - {name: everything, images: ["**"], action: deny}
`);
    expect(ruleFor(policy, 'ghcr.io/org/app:1.0')).toBe('specific');
    expect(ruleFor(policy, 'ghcr.io/org/other@sha256:' + 'a'.repeat(64))).toBe('org');
    expect(ruleFor(policy, 'ghcr.io/org/app/sub')).toBe('everything');
    expect(ruleFor(policy, 'nginx')).toBe('everything');
  });

  test('order matters: the same rules in the other order decide differently', () => {
    const policy = policyFrom(`${KEYLESS_HEADER}rules:
  - {name: everything, images: ["**"], action: deny}
  - {name: specific, images: [ghcr.io/org/app], action: allow}
`);
    expect(ruleFor(policy, 'ghcr.io/org/app')).toBe('everything');
    expect(policy.rules.map((rule) => rule.index)).toEqual([0, 1]);
  });

  test('an excluded image skips the rule and falls through to later rules', () => {
    const policy = policyFrom(`${KEYLESS_HEADER}rules:
  - name: prod
    images: [registry.example.com/prod/**]
    exclude: [registry.example.com/prod/experimental/**, registry.example.com/prod/legacy]
    action: deny
  - {name: experimental, images: [registry.example.com/prod/experimental/**], action: allow}
`);
    expect(ruleFor(policy, 'registry.example.com/prod/api:v2')).toBe('prod');
    expect(ruleFor(policy, 'registry.example.com/prod/experimental/x')).toBe('experimental');
    expect(ruleFor(policy, 'registry.example.com/prod/legacy:old')).toBeUndefined();
    // An exclude names whole repositories too: legacy2 is not legacy.
    expect(ruleFor(policy, 'registry.example.com/prod/legacy2')).toBe('prod');
  });

  test('no match returns undefined and the defaults say what happens (deny unless the policy says allow)', () => {
    const strict = policyFrom(`${KEYLESS_HEADER}rules:\n  - {name: a, images: [ghcr.io/a/*], action: allow}\n`);
    expect(ruleFor(strict, 'quay.io/b/c')).toBeUndefined();
    expect(strict.defaults).toEqual({ mode: 'enforce', unmatched: 'deny', failurePolicy: 'closed', pinDigests: true });

    const lenient = policyFrom(`${KEYLESS_HEADER}defaults: {unmatched: allow, mode: audit}\nrules: []\n`);
    expect(ruleFor(lenient, 'quay.io/b/c')).toBeUndefined();
    expect(lenient.defaults).toEqual({ mode: 'audit', unmatched: 'allow', failurePolicy: 'closed', pinDigests: true });
  });

  test('Docker Hub names match however the pod spec and the policy spell them', () => {
    const policy = policyFrom(`${KEYLESS_HEADER}rules:
  - {name: nginx, images: [nginx], action: allow}
  - {name: bitnami, images: [bitnami/*], action: allow}
  - {name: official, images: ["*"], action: deny}
`);
    for (const image of ['nginx', 'nginx:1.25', 'library/nginx', 'docker.io/nginx', 'docker.io/library/nginx:latest', 'index.docker.io/library/nginx']) {
      expect([image, ruleFor(policy, image)]).toEqual([image, 'nginx']);
    }
    expect(ruleFor(policy, 'bitnami/redis:7')).toBe('bitnami');
    expect(ruleFor(policy, 'busybox')).toBe('official');
    expect(ruleFor(policy, 'ghcr.io/nginx')).toBeUndefined();
  });

  test('the full fixture routes images to the documented rules', async () => {
    const result = await loadPolicyFile('test/fixtures/policies/valid-full.yaml');
    if (!result.ok) throw new Error(result.error.message);
    const policy = result.value;
    expect(ruleFor(policy, 'registry.example.com/prod/api:1.2')).toBe('prod');
    expect(ruleFor(policy, 'nginx:1.25')).toBe('prod');
    expect(ruleFor(policy, 'registry.example.com/prod/experimental/ui')).toBe('experimental');
    expect(ruleFor(policy, 'registry.k8s.io/pause:3.9')).toBe('system');
    expect(ruleFor(policy, 'redis')).toBe('forbidden');
    expect(ruleFor(policy, 'registry.example.com/dev/api')).toBeUndefined();
  });
});
