// The webhook with its trust in Kubernetes ConfigMaps (a faithful fake API server; the real one
// cannot run here) and a real docker-registry: kubectl-apply-style key rotation enforced seconds
// later, invalid changes rejected with an Event, tenant keys scoped to their namespace, denial Events.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, decryptPrivateKey } from '../../src/signatures/cosign/private-key.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { startFakeKubeApi, waitFor, type FakeKubeApi } from '../support/fake-kube-api.js';
import { admissionReview, workload } from '../support/admission.js';
import { startWebhookServer, type TestWebhook } from '../support/webhook-server.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;
const NS = 'signet-system';

maybe('trust from ConfigMaps through the API', () => {
  let fx: SignedRegistry;
  let api: FakeKubeApi;
  let hook: TestWebhook;
  const other = generateKeyPair('pw');

  const clusterPolicy = (keyName: string) => `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: cluster}
keys:
  ${keyName}: {file: ${keyName}.pub}
rules:
  - name: apps
    images: ["${fx.registry.host}/apps/**"]
    verify: [{type: cosign, keys: [${keyName}]}]
`;
  const putCluster = (data: Record<string, string>) => api.putConfigMap({ namespace: NS, name: 'signet-trust', labels: { 'signet.dev/trust': 'cluster' }, data });
  const review = async (namespace: string, image: string, dryRun = false, name = 'web') => {
    const res = await hook.client.post('/validate', admissionReview({ kind: 'Pod', namespace, name, dryRun, object: workload('Pod', name, namespace, { containers: [{ name: 'app', image }] }) }));
    return (res.json as { response: { allowed: boolean; status?: { message: string } } }).response;
  };
  const trustVersion = () => hook.server.trust()?.version;

  beforeAll(async () => {
    fx = await startSignedRegistry();
    api = await startFakeKubeApi({ bookmarkIntervalMs: 200 });
    putCluster({ 'policy.yaml': clusterPolicy('release'), 'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8') });
    hook = await startWebhookServer({
      trust: { kind: 'kube', kubeConfig: api.kubeConfig(), namespace: NS, tenants: true, tuning: { debounceMs: 50 } },
      ownNamespace: NS,
      events: true,
      registry: { hosts: { [fx.registry.host]: { insecureHttp: true } } },
    });
  }, 60_000);

  afterAll(async () => {
    await hook?.stop();
    await api?.close();
    await fx?.stop();
  });

  test('the trust in the ConfigMap is enforced', async () => {
    expect((await hook.client.get('/readyz')).status).toBe(200);
    expect((await review('shop', fx.images.signed)).allowed).toBe(true);
    expect((await review('shop', fx.images.unsigned)).allowed).toBe(false);
  });

  test('a key rotated with a ConfigMap update is enforced within seconds, without a restart', async () => {
    const before = trustVersion();
    putCluster({ 'policy.yaml': clusterPolicy('rotated'), 'rotated.pub': other.publicKeyPem });
    await waitFor('the new trust', () => trustVersion() !== before, 5000);
    const r = await review('shop', fx.images.signed);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('UNTRUSTED_SIGNER');
    expect(r.status?.message).toContain('tried: rotated');
    putCluster({ 'policy.yaml': clusterPolicy('release'), 'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8') });
    const rotatedVersion = trustVersion();
    await waitFor('the original trust', () => trustVersion() !== rotatedVersion, 5000);
    expect((await review('shop', fx.images.signed)).allowed).toBe(true);
  });

  test('an invalid change is rejected as a whole: the last good policy stays, and an Event says why', async () => {
    const before = trustVersion();
    const eventsBefore = api.events().length;
    putCluster({ 'policy.yaml': clusterPolicy('release').replace('keys: [release]', 'keys: [relaese]'), 'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8') });
    await waitFor('an InvalidTrustPolicy event', () => api.events().slice(eventsBefore).some((e) => e['reason'] === 'InvalidTrustPolicy'), 5000);
    const event = api.events().slice(eventsBefore).find((e) => e['reason'] === 'InvalidTrustPolicy')!;
    expect(String(event['message'])).toContain('unknown key "relaese"');
    expect(trustVersion()).toBe(before);
    expect((await review('shop', fx.images.signed)).allowed).toBe(true);
    putCluster({ 'policy.yaml': clusterPolicy('release'), 'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8') });
  });

  test('a tenant adds a requirement in its own namespace only, and cannot loosen the cluster rule', async () => {
    const before = trustVersion();
    api.putConfigMap({
      namespace: 'team-a',
      name: 'team-a-trust',
      labels: { 'signet.dev/trust': 'tenant' },
      data: {
        'policy.yaml': `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nkeys:\n  team: {file: team.pub}\nrules:\n  - name: team-signed\n    images: ["${fx.registry.host}/apps/**"]\n    verify: [{type: cosign, keys: [team]}]\n`,
        'team.pub': other.publicKeyPem,
      },
    });
    await waitFor('the tenant layer', () => trustVersion() !== before, 5000);
    const inTeamA = await review('team-a', fx.images.signed);
    expect(inTeamA.allowed).toBe(false);
    expect(inTeamA.status?.message).toContain("[rule team-signed of namespace team-a's own policy]");
    expect((await review('team-b', fx.images.signed)).allowed).toBe(true);

    // Sign with the tenant's key too: now both layers are satisfied in team-a.
    const key = decryptPrivateKey(other.privateKeyPem, 'pw');
    const ref = parseReference(fx.images.signed);
    const registry = new RegistryClient({ hosts: { [fx.registry.host]: { insecureHttp: true } } });
    if (!key.ok || !ref.ok) throw new Error('fixture');
    expect((await signImage({ client: registry, ref: ref.value, privateKey: key.value, annotations: {} })).ok).toBe(true);
    await registry.close();
    await new Promise((r) => setTimeout(r, 5200)); // the tenant's denial was cached for the negative TTL
    expect((await review('team-a', fx.images.signed)).allowed).toBe(true);

    // A tenant trying to exempt images is refused as a whole; its last good policy stays.
    const eventsBefore = api.events().length;
    const kept = trustVersion();
    api.putConfigMap({
      namespace: 'team-a',
      name: 'team-a-trust',
      labels: { 'signet.dev/trust': 'tenant' },
      data: { 'policy.yaml': `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: everything\n    images: ["**"]\n    action: allow\n` },
    });
    await waitFor('the tenant rejection event', () => api.events().slice(eventsBefore).some((e) => e['reason'] === 'InvalidTrustPolicy'), 5000);
    expect(trustVersion()).toBe(kept);
    // The cluster rule still applies to team-a: an unsigned image stays denied.
    expect((await review('team-a', fx.images.unsigned)).allowed).toBe(false);
  }, 20_000);

  test('a denial posts an Event on the object; dryRun posts none; the own namespace is exempt', async () => {
    const before = api.events().length;
    // Events are rate-limited per object and reason, so this test uses a pod of its own.
    await review('shop', fx.images.untrusted, true, 'checkout');
    await new Promise((r) => setTimeout(r, 200));
    expect(api.events().slice(before).filter((e) => e['reason'] === 'ImageSignatureDenied')).toHaveLength(0);
    await review('shop', fx.images.untrusted, false, 'checkout');
    await waitFor('a denial event', () => api.events().slice(before).some((e) => e['reason'] === 'ImageSignatureDenied'), 5000);
    const event = api.events().slice(before).find((e) => e['reason'] === 'ImageSignatureDenied')!;
    expect(event['involvedObject']).toMatchObject({ kind: 'Pod', name: 'checkout', namespace: 'shop' });
    expect(event['type']).toBe('Warning');
    expect(String(event['message'])).toContain('UNTRUSTED_SIGNER');
    expect((await review(NS, fx.images.unsigned)).allowed).toBe(true);
  });
});
