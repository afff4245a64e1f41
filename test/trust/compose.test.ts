// Trust sources → compiled trust: the merge rule (one policy.yaml, every key once), key files as data
// keys only, tenant isolation, and the last-good holder.
import { readFileSync } from 'node:fs';
import {
  compileClusterTrust,
  compileTenantTrust,
  composeTrust,
  createTrustTracker,
  tenantPolicyFor,
  type TrustBundle,
  type TrustOrigin,
} from '../../src/trust/compose.js';
import { MAX_KEY_FILE_BYTES } from '../../src/policy/load.js';

const RELEASE_PEM = readFileSync('test/fixtures/policies/keys/release.pub', 'utf8');
const BACKUP_PEM = readFileSync('test/fixtures/policies/keys/backup.pub', 'utf8');
const HEADER = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\n';

const CLUSTER_POLICY = `${HEADER}metadata: {name: cluster}
keys:
  release: {file: release.pub}
rules:
  - name: everything
    images: ["**"]
    verify: [{type: cosign, keys: [release]}]
`;

function configMap(namespace: string, name: string, data: Record<string, string>): TrustBundle {
  const origin: TrustOrigin = { kind: 'configmap', namespace, name, uid: `uid-${name}`, resourceVersion: '1' };
  return { origin, files: new Map(Object.entries(data)) };
}

function fingerprintOf(pem: string): string {
  const policy = compileClusterTrust([configMap('signet', 'x', { 'policy.yaml': CLUSTER_POLICY, 'release.pub': pem })]);
  if (!policy.ok) throw new Error(policy.error.message);
  return policy.value.keys.get('release')?.fingerprint ?? '';
}

describe('cluster layer', () => {
  test('the policy in one ConfigMap names key files held by another', () => {
    const result = compileClusterTrust([configMap('signet', 'trust-policy', { 'policy.yaml': CLUSTER_POLICY }), configMap('signet', 'trust-keys', { 'release.pub': RELEASE_PEM })]);
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.name).toBe('cluster');
    expect(result.value.source).toBe('configmap signet/trust-policy (policy.yaml)');
    expect(result.value.keys.get('release')?.fingerprint).toBe(fingerprintOf(RELEASE_PEM));
  });

  test('a data key in two ConfigMaps rejects the layer, naming the key and both ConfigMaps', () => {
    const result = compileClusterTrust([
      configMap('signet', 'a', { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM }),
      configMap('signet', 'b', { 'release.pub': BACKUP_PEM }),
    ]);
    if (result.ok) throw new Error('loaded despite the clash');
    expect(result.error.code).toBe('TRUST_INVALID');
    expect(result.error.message).toBe(
      'cluster trust is invalid: the same data key appears in more than one ConfigMap ("release.pub" is in configmap signet/a, configmap signet/b); every key, policy.yaml included, must appear in exactly one, so nothing is silently overridden',
    );
    expect(result.error.origins.map((origin) => (origin.kind === 'configmap' ? origin.name : ''))).toEqual(['a', 'b']);
  });

  test('two policies are a clash too: no ordering picks one', () => {
    const result = compileClusterTrust([configMap('signet', 'a', { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM }), configMap('signet', 'b', { 'policy.yaml': CLUSTER_POLICY })]);
    expect(result.ok ? '' : result.error.message).toContain('"policy.yaml" is in configmap signet/a, configmap signet/b');
  });

  test('no policy.yaml anywhere, or no ConfigMaps at all', () => {
    const keysOnly = compileClusterTrust([configMap('signet', 'keys', { 'release.pub': RELEASE_PEM })]);
    expect(keysOnly.ok ? '' : keysOnly.error.message).toBe('cluster trust is invalid: none of configmap signet/keys has a policy.yaml key; exactly one must hold the policy under policy.yaml');
    const none = compileClusterTrust([]);
    expect(none.ok ? '' : none.error.message).toBe('cluster trust is invalid: there are no trust ConfigMaps; exactly one must hold the policy under policy.yaml');
    expect(none.ok ? [1] : none.error.origins).toEqual([]);
  });

  test('key files are data keys only: no paths, no reading from disk', () => {
    const policy = (file: string): string => CLUSTER_POLICY.replace('file: release.pub', `file: ${JSON.stringify(file)}`);
    const problems = ['/etc/hostname', '../../etc/hostname', 'sub/release.pub', 'missing.pub'].map((file) => {
      const result = compileClusterTrust([configMap('signet', 'trust', { 'policy.yaml': policy(file), 'release.pub': RELEASE_PEM })]);
      if (result.ok) throw new Error(`${file} was read`);
      return result.error.problems[0]?.message;
    });
    expect(problems.slice(0, 3)).toEqual(Array(3).fill('key files are read from the trust ConfigMaps, never from disk: write file: <data key> (available: release.pub)'));
    expect(problems[3]).toBe('no data key "missing.pub" in configmap signet/trust (available: release.pub)');
  });

  test('a policy error names the ConfigMap, line and field, and blames the ConfigMap holding the policy', () => {
    const result = compileClusterTrust([configMap('signet', 'trust', { 'policy.yaml': `${HEADER}rules:\n  - {name: x, images: ["**"], action: alow}\n` }), configMap('signet', 'keys', {})]);
    if (result.ok) throw new Error('loaded');
    expect(result.error.message).toContain('policy configmap signet/trust (policy.yaml) is invalid (1 problem):');
    expect(result.error.message).toContain('configmap signet/trust (policy.yaml):4:39: rules[0].action: must be one of verify, allow, deny');
    expect(result.error.origins).toEqual([expect.objectContaining({ name: 'trust' })]);
  });

  test('an oversized key file is refused with its size', () => {
    const result = compileClusterTrust([configMap('signet', 'trust', { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM + ' '.repeat(MAX_KEY_FILE_BYTES) })]);
    expect(result.ok ? '' : result.error.message).toMatch(/data key "release.pub" of configmap signet\/trust is \d+ bytes; at most 65536 are allowed/);
  });
});

describe('tenant layer', () => {
  const tenantPolicy = (keyLine: string): string => `${HEADER}keys:\n  release: ${keyLine}\nrules:\n  - {name: extra, images: ["**"], verify: [{type: cosign, keys: [release]}]}\n`;

  test('a tenant key named like a cluster key shadows nothing: each layer keeps its own key', () => {
    const cluster = compileClusterTrust([configMap('signet', 'trust', { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM })]);
    const tenant = compileTenantTrust('team-a', [configMap('team-a', 'trust', { 'policy.yaml': tenantPolicy('{file: mine.pub}'), 'mine.pub': BACKUP_PEM })]);
    if (!cluster.ok || !tenant.ok) throw new Error('setup failed');
    const trust = composeTrust(cluster.value, new Map([['team-a', tenant.value]]));
    expect(trust.cluster.keys.get('release')?.fingerprint).toBe(fingerprintOf(RELEASE_PEM));
    const verifier = trust.cluster.rules[0]?.verifiers[0];
    expect(verifier?.type === 'cosign' ? verifier.keys[0]?.fingerprint : undefined).toBe(fingerprintOf(RELEASE_PEM));
    expect(tenantPolicyFor(trust, 'team-a')?.keys.get('release')?.fingerprint).toBe(fingerprintOf(BACKUP_PEM));
    // Another namespace, or an unknown one, sees no tenant policy at all.
    expect(tenantPolicyFor(trust, 'team-b')).toBeUndefined();
    expect(tenantPolicyFor(trust, undefined)).toBeUndefined();
    expect(tenantPolicyFor(trust, '')).toBeUndefined();
  });

  test('a tenant cannot read the cluster key files, nor name ConfigMaps of another namespace', () => {
    const result = compileTenantTrust('team-a', [configMap('team-a', 'trust', { 'policy.yaml': tenantPolicy('{file: release.pub}') })]);
    expect(result.ok ? '' : result.error.message).toContain('no data key "release.pub" in configmap team-a/trust (they hold no other keys)');
    const foreign = compileTenantTrust('team-a', [configMap('team-a', 'trust', { 'policy.yaml': tenantPolicy('{file: k.pub}') }), configMap('team-b', 'keys', { 'k.pub': RELEASE_PEM })]);
    expect(foreign.ok ? '' : foreign.error.message).toBe('configmap team-b/keys cannot hold tenant trust for namespace team-a');
  });

  test('tenant restrictions come through with the ConfigMap named', () => {
    const result = compileTenantTrust('team-a', [configMap('team-a', 'trust', { 'policy.yaml': `${HEADER}rules:\n  - {name: x, images: ["**"], action: allow}\n` })]);
    if (result.ok) throw new Error('loaded');
    expect(result.error).toMatchObject({ layer: 'tenant', namespace: 'team-a' });
    expect(result.error.message).toContain('configmap team-a/trust (policy.yaml):4:39: rules[0].action: a tenant rule cannot allow images');
  });
});

describe('trust tracker', () => {
  const good = configMap('signet', 'trust', { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM });
  const tenant = (namespace: string, policy: string): TrustBundle => configMap(namespace, 'trust', { 'policy.yaml': policy, 'k.pub': BACKUP_PEM });
  const TENANT_OK = `${HEADER}keys: {k: {file: k.pub}}\nrules:\n  - {name: extra, images: ["**"], verify: [{type: cosign, keys: [k]}]}\n`;
  const TENANT_LOOSE = `${HEADER}exemptions: {namespaces: []}\nrules: []\n`;

  test('an invalid cluster change is rejected as a whole and the last good policy stays', () => {
    const tracker = createTrustTracker();
    expect(tracker.current()).toBeUndefined();
    expect(tracker.updateCluster([good])).toMatchObject({ kind: 'loaded', layer: 'cluster' });
    const before = tracker.current();
    const broken = configMap('signet', 'trust', { 'policy.yaml': CLUSTER_POLICY.replace('release]', 'relase]'), 'release.pub': RELEASE_PEM });
    const outcome = tracker.updateCluster([broken]);
    expect(outcome).toMatchObject({ kind: 'rejected', kept: true });
    expect(outcome.kind === 'rejected' ? outcome.problem.message : '').toContain('unknown key "relase"; did you mean release?');
    expect(tracker.current()).toBe(before);
    // The same broken input again is not reported twice.
    expect(tracker.updateCluster([broken])).toEqual({ kind: 'unchanged', layer: 'cluster', namespace: undefined });
    // Deleting every cluster ConfigMap is rejected too: the last good policy stays.
    expect(tracker.updateCluster([])).toMatchObject({ kind: 'rejected', kept: true });
    expect(tracker.current()).toBe(before);
  });

  test('tenants: loaded, kept on a bad change, absent when never valid, removed with their ConfigMaps', () => {
    const tracker = createTrustTracker();
    tracker.updateCluster([good]);
    const first = tracker.updateTenants(new Map([['team-a', [tenant('team-a', TENANT_OK)]], ['team-b', [tenant('team-b', TENANT_LOOSE)]]]));
    expect(first.map((outcome) => [outcome.kind, outcome.namespace])).toEqual([
      ['loaded', 'team-a'],
      ['rejected', 'team-b'],
    ]);
    expect(first[1]).toMatchObject({ kept: false });
    const withA = tracker.current();
    expect([...(withA?.tenants.keys() ?? [])]).toEqual(['team-a']);

    // A's bad change keeps A's last good policy; B's fix loads; the cluster is untouched.
    const second = tracker.updateTenants(new Map([['team-a', [tenant('team-a', TENANT_LOOSE)]], ['team-b', [tenant('team-b', TENANT_OK)]]]));
    expect(second.map((outcome) => [outcome.kind, outcome.namespace])).toEqual([
      ['rejected', 'team-a'],
      ['loaded', 'team-b'],
    ]);
    expect(second[0]).toMatchObject({ kept: true });
    const both = tracker.current();
    expect(both?.tenants.get('team-a')).toBe(withA?.tenants.get('team-a'));
    expect([...(both?.tenants.keys() ?? [])]).toEqual(['team-a', 'team-b']);
    expect(both?.version).not.toBe(withA?.version);
    expect(both?.cluster).toBe(withA?.cluster);

    expect(tracker.updateTenants(new Map([['team-b', [tenant('team-b', TENANT_OK)]]]))).toEqual([
      { kind: 'removed', layer: 'tenant', namespace: 'team-a' },
      { kind: 'unchanged', layer: 'tenant', namespace: 'team-b' },
    ]);
    expect([...(tracker.current()?.tenants.keys() ?? [])]).toEqual(['team-b']);
  });

  test('the trust version follows every layer and the tenants map cannot be changed', () => {
    const tracker = createTrustTracker();
    tracker.updateCluster([good]);
    const clusterOnly = tracker.current();
    tracker.updateTenants(new Map([['team-a', [tenant('team-a', TENANT_OK)]]]));
    const withTenant = tracker.current();
    expect(withTenant?.version).not.toBe(clusterOnly?.version);
    expect(() => (withTenant?.tenants as unknown as Map<string, unknown>).set('x', undefined)).toThrow();
    expect(Object.isFrozen(withTenant)).toBe(true);
  });
});
