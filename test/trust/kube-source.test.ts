// Trust held in Kubernetes, end to end against the fake API server: live reload of a key, invalid
// changes rejected with the old trust kept and an Event on the ConfigMap, tenants scoped to their
// namespace and unable to loosen anything, and the RBAC footprint when tenants are off.
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { startKubeTrust, type KubeTrust } from '../../src/trust/kube-source.js';
import { tenantPolicyFor, type CompiledTrust, type LayerOutcome, type TrustProblem } from '../../src/trust/compose.js';
import { createEventRecorder } from '../../src/kube/events.js';
import { generateKeyPair } from '../../src/signatures/cosign/private-key.js';
import { startFakeKubeApi, waitFor, type FakeKubeApi } from '../support/fake-kube-api.js';
import { haveTools } from '../support/registry-server.js';

const maybe = haveTools('openssl') ? describe : describe.skip;

const RELEASE_PEM = readFileSync('test/fixtures/policies/keys/release.pub', 'utf8');
const BACKUP_PEM = readFileSync('test/fixtures/policies/keys/backup.pub', 'utf8');
const CLUSTER = { 'signet.dev/trust': 'cluster' };
const TENANT = { 'signet.dev/trust': 'tenant' };
const HEADER = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\n';
const CLUSTER_POLICY = `${HEADER}metadata: {name: cluster}
keys:
  release: {file: release.pub}
rules:
  - name: everything
    images: ["**"]
    verify: [{type: cosign, keys: [release]}]
`;
const TENANT_POLICY = `${HEADER}metadata: {name: team-a-extra}
keys:
  release: {file: team.pub}
rules:
  - name: team-images
    images: ["registry.example.com/team-a/**"]
    verify: [{type: cosign, keys: [release]}]
`;
const TUNING = { debounceMs: 20, watchTimeoutSeconds: 5, stallGraceMs: 500, requestTimeoutMs: 2000, backoffInitialMs: 50, backoffMaxMs: 400, backoffJitter: 0 };

interface Seen {
  readonly loads: { trust: CompiledTrust; changes: readonly LayerOutcome[]; at: number }[];
  readonly invalid: { problem: TrustProblem; kept: boolean }[];
}

maybe('trust from ConfigMaps', () => {
  let api: FakeKubeApi;
  let trust: KubeTrust | undefined;
  beforeEach(async () => {
    api = await startFakeKubeApi({ bookmarkIntervalMs: 200 });
  });
  afterEach(async () => {
    await trust?.stop();
    trust = undefined;
    await api.close();
  });

  function start(tenants: boolean): Seen {
    const seen: Seen = { loads: [], invalid: [] };
    const kubeConfig = api.kubeConfig();
    trust = startKubeTrust({
      kubeConfig,
      namespace: 'signet',
      tenants,
      onLoad: (compiled, changes) => seen.loads.push({ trust: compiled, changes, at: Date.now() }),
      onInvalid: (problem, kept) => seen.invalid.push({ problem, kept }),
      events: createEventRecorder({ coreApi: kubeConfig.makeApiClient(CoreV1Api) }),
      tuning: TUNING,
    });
    return seen;
  }

  test('a changed key in a ConfigMap is in force within a second or two', async () => {
    api.putConfigMap({ namespace: 'signet', name: 'trust-policy', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY } });
    api.putConfigMap({ namespace: 'signet', name: 'trust-keys', labels: CLUSTER, data: { 'release.pub': RELEASE_PEM } });
    const seen = start(false);
    await trust?.ready();
    expect(seen.loads).toHaveLength(1);
    const before = seen.loads[0]?.trust;
    expect(before?.cluster.name).toBe('cluster');
    expect(trust?.healthy()).toBe(true);

    const changedAt = Date.now();
    api.putConfigMap({ namespace: 'signet', name: 'trust-keys', labels: CLUSTER, data: { 'release.pub': BACKUP_PEM } });
    await waitFor('the new key', () => seen.loads.length === 2, 2000);
    const after = seen.loads[1];
    expect((after?.at ?? Infinity) - changedAt).toBeLessThan(2000);
    expect(after?.trust.cluster.keys.get('release')?.fingerprint).not.toBe(before?.cluster.keys.get('release')?.fingerprint);
    expect(after?.trust.version).not.toBe(before?.version);
    expect(after?.changes.map((change) => change.kind)).toEqual(['loaded']);
    expect(trust?.current()).toBe(after?.trust);
    expect(seen.invalid).toEqual([]);
    // Tenants off: nothing is listed outside the webhook's namespace.
    expect(api.requests('list').every((request) => request.path === '/api/v1/namespaces/signet/configmaps')).toBe(true);
  });

  test('an invalid policy is rejected, the old trust stays, and the ConfigMap gets a Warning Event', async () => {
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM } });
    const seen = start(false);
    await trust?.ready();
    const good = trust?.current();
    const broken = api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY.replace('keys: [release]', 'keys: [relase]'), 'release.pub': RELEASE_PEM } });
    await waitFor('the rejection', () => seen.invalid.length === 1, 2000);
    const { problem, kept } = seen.invalid[0]!;
    expect(kept).toBe(true);
    expect(problem.message).toBe(
      'policy configmap signet/trust (policy.yaml) is invalid (1 problem):\n  configmap signet/trust (policy.yaml):9:36: rules[0].verify[0].keys[0]: unknown key "relase"; did you mean release? (defined keys: release)',
    );
    expect(trust?.current()).toBe(good);
    expect(seen.loads).toHaveLength(1);

    await waitFor('the Event', () => api.events().length === 1, 2000);
    expect(api.events()[0]).toMatchObject({
      metadata: { namespace: 'signet' },
      involvedObject: { kind: 'ConfigMap', name: 'trust', namespace: 'signet', uid: broken.metadata.uid, apiVersion: 'v1' },
      reason: 'InvalidTrustPolicy',
      type: 'Warning',
      message: problem.message,
    });

    // The fix loads, and brings no further Event.
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY.replace('name: cluster', 'name: fixed'), 'release.pub': RELEASE_PEM } });
    await waitFor('the fix', () => trust?.current()?.cluster.name === 'fixed', 2000);
    expect(api.events()).toHaveLength(1);
  });

  test('the same key in two cluster ConfigMaps is rejected, with an Event on each', async () => {
    api.putConfigMap({ namespace: 'signet', name: 'a', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM } });
    const seen = start(false);
    await trust?.ready();
    api.putConfigMap({ namespace: 'signet', name: 'b', labels: CLUSTER, data: { 'release.pub': BACKUP_PEM } });
    await waitFor('the rejection', () => seen.invalid.length === 1, 2000);
    expect(seen.invalid[0]?.problem.message).toContain('"release.pub" is in configmap signet/a, configmap signet/b');
    await waitFor('two Events', () => api.events().length === 2, 2000);
    expect(api.events().map((event) => (event['involvedObject'] as { name: string }).name).sort()).toEqual(['a', 'b']);
    expect(trust?.current()?.cluster.keys.get('release')?.fingerprint).toBe(seen.loads[0]?.trust.cluster.keys.get('release')?.fingerprint);
  });

  test('no trust before the first valid cluster policy; ready() still resolves', async () => {
    api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': 'rules: [' } });
    const seen = start(false);
    await trust?.ready();
    expect(trust?.current()).toBeUndefined();
    expect(seen.invalid[0]).toMatchObject({ kept: false });
    expect(seen.loads).toHaveLength(0);
  });

  describe('tenants', () => {
    const tenantKey = generateKeyPair('').publicKeyPem;

    test('a tenant policy applies in its own namespace only, with its own keys', async () => {
      api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM } });
      api.putConfigMap({ namespace: 'team-a', name: 'signet-trust', labels: TENANT, data: { 'policy.yaml': TENANT_POLICY, 'team.pub': tenantKey } });
      const seen = start(true);
      await trust?.ready();
      const current = trust!.current()!;
      expect([...current.tenants.keys()]).toEqual(['team-a']);
      const teamA = tenantPolicyFor(current, 'team-a');
      expect(teamA?.tenant).toEqual({ namespace: 'team-a', unmatched: 'ignore' });
      // Named "release" like the cluster key, and yet the cluster keeps its own key.
      expect(teamA?.keys.get('release')?.fingerprint).not.toBe(current.cluster.keys.get('release')?.fingerprint);
      const verifier = current.cluster.rules[0]?.verifiers[0];
      expect(verifier?.type === 'cosign' ? verifier.keys.map((key) => key.fingerprint) : []).toEqual([current.cluster.keys.get('release')?.fingerprint]);
      expect(tenantPolicyFor(current, 'team-b')).toBeUndefined();
      expect(tenantPolicyFor(current, 'signet')).toBeUndefined();
      expect(seen.invalid).toEqual([]);
      expect(api.requests('list').map((request) => request.path).sort()).toEqual(['/api/v1/configmaps', '/api/v1/namespaces/signet/configmaps']);

      // A second tenant arrives; then the first deletes its ConfigMap and its policy goes with it.
      api.putConfigMap({ namespace: 'team-b', name: 'extra', labels: TENANT, data: { 'policy.yaml': TENANT_POLICY, 'team.pub': tenantKey } });
      await waitFor('team-b', () => trust?.current()?.tenants.has('team-b') === true, 2000);
      api.deleteConfigMap('team-a', 'signet-trust');
      await waitFor('team-a to go', () => trust?.current()?.tenants.has('team-a') === false, 2000);
      expect(seen.loads.at(-1)?.changes).toEqual([{ kind: 'removed', layer: 'tenant', namespace: 'team-a' }]);
    });

    test('every attempt to loosen or escape is rejected with an Event in the tenant namespace, and changes nothing', async () => {
      api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM } });
      const seen = start(true);
      await trust?.ready();
      const before = trust?.current();
      const attempts: Record<string, string> = {
        allow: `${HEADER}rules:\n  - {name: mine, images: ["**"], action: allow}\n`,
        exemption: `${HEADER}exemptions: {namespaces: [team-x]}\nrules: []\n`,
        'fail-open': `${HEADER}defaults: {failurePolicy: open}\nrules: []\n`,
        'unmatched-allow': `${HEADER}defaults: {unmatched: allow}\nrules: []\n`,
        warn: `${HEADER}defaults: {mode: warn}\nrules: []\n`,
        'other-namespaces': `${HEADER}keys: {k: {file: k.pub}}\nrules:\n  - {name: reach, images: ["**"], namespaces: {names: [prod]}, verify: [{type: cosign, keys: [k]}]}\n`,
      };
      for (const [name, policy] of Object.entries(attempts)) {
        api.putConfigMap({ namespace: `team-${name}`, name: 'trust', labels: TENANT, data: { 'policy.yaml': policy, 'k.pub': tenantKey } });
      }
      await waitFor('every rejection', () => seen.invalid.length === Object.keys(attempts).length, 3000);
      expect(seen.invalid.map(({ problem }) => [problem.namespace, problem.layer]).sort()).toEqual(Object.keys(attempts).map((name) => [`team-${name}`, 'tenant']).sort());
      expect(seen.invalid.every(({ kept }) => !kept)).toBe(true);
      expect(trust?.current()).toBe(before);
      expect(trust?.current()?.tenants.size).toBe(0);
      await waitFor('one Event per ConfigMap', () => api.events().length === Object.keys(attempts).length, 3000);
      for (const event of api.events()) {
        const involved = event['involvedObject'] as { namespace: string; name: string; kind: string };
        expect(involved).toMatchObject({ kind: 'ConfigMap', name: 'trust' });
        expect((event['metadata'] as { namespace: string }).namespace).toBe(involved.namespace);
        expect(String(event['message'])).toContain(`policy configmap ${involved.namespace}/trust (policy.yaml) is invalid`);
      }
    });

    test('a tenant cannot plant cluster trust: a cluster label outside the webhook namespace is ignored', async () => {
      api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM } });
      api.putConfigMap({ namespace: 'team-a', name: 'fake-cluster', labels: CLUSTER, data: { 'evil.pub': tenantKey } });
      const seen = start(true);
      await trust?.ready();
      expect(seen.invalid).toEqual([]);
      expect(trust?.current()?.cluster.keys.size).toBe(1);
    });

    test('a broken tenant never blocks a cluster update, and a tenant watch outage makes the source unhealthy', async () => {
      api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY, 'release.pub': RELEASE_PEM } });
      api.putConfigMap({ namespace: 'team-a', name: 'trust', labels: TENANT, data: { 'policy.yaml': 'rules: [' } });
      const seen = start(true);
      await trust?.ready();
      expect(seen.invalid).toHaveLength(1);
      api.putConfigMap({ namespace: 'signet', name: 'trust', labels: CLUSTER, data: { 'policy.yaml': CLUSTER_POLICY.replace('name: cluster', 'name: v2'), 'release.pub': RELEASE_PEM } });
      await waitFor('the cluster update', () => trust?.current()?.cluster.name === 'v2', 2000);
      expect(seen.invalid).toHaveLength(1);

      expect(trust?.healthy()).toBe(true);
      api.failNext('watch', 500, 3);
      api.dropWatches();
      await waitFor('unhealthy', () => trust?.healthy() === false, 2000);
      expect(trust?.status().cluster.lastError ?? trust?.status().tenants?.lastError).toMatch(/HTTP 500|terminated|other side closed/);
      await waitFor('healthy again', () => trust?.healthy() === true, 4000);
    });
  });
});
