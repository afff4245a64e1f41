// Cache warm-up: the images of running pods are verified at start, so the first review of them
// after a restart sends nothing to the registry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { startFakeKubeApi, waitFor, type FakeKubeApi } from '../support/fake-kube-api.js';
import { admissionReview, podSpec, workload } from '../support/admission.js';
import { loggerInto, startWebhookServer, type TestWebhook } from '../support/webhook-server.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;

maybe('cache warm-up from running pods', () => {
  let fx: SignedRegistry;
  let api: FakeKubeApi;
  let hook: TestWebhook;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    fx = await startSignedRegistry();
    api = await startFakeKubeApi();
    api.putConfigMap({
      namespace: 'signet',
      name: 'trust',
      labels: { 'signet.dev/trust': 'cluster' },
      data: { 'policy.yaml': readFileSync(fx.policyPath, 'utf8'), 'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8') },
    });
    // Three pages of pods (page size 500 would be one; the fake pages as the real server does).
    for (let i = 0; i < 12; i++) {
      api.putPod({ namespace: `team-${i % 3}`, name: `web-${i}`, spec: podSpec({ containers: [{ name: 'app', image: i % 2 ? fx.images.signed : fx.images.signed2 }] }) });
    }
    api.putPod({ namespace: 'team-0', name: 'done', spec: podSpec({ containers: [{ name: 'x', image: fx.images.unsigned }] }), phase: 'Succeeded' });
    hook = await startWebhookServer({
      trust: { kind: 'kube', kubeConfig: api.kubeConfig(), namespace: 'signet', tenants: false },
      warmUp: true,
      registry: { hosts: { [fx.registry.host]: { insecureHttp: true } } },
      logger: loggerInto(logs),
    });
  }, 60_000);

  afterAll(async () => {
    await hook?.stop();
    await api?.close();
    await fx?.stop();
  });

  const registryRequests = async (): Promise<number> => {
    const text = (await hook.client.get('/metrics')).text;
    return [...text.matchAll(/^signet_registry_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  test('running pods are verified at start; their first review costs no registry request', async () => {
    await waitFor('the warm-up to finish', () => logs.some((l) => l['msg'] === 'cache warm-up finished'), 10_000);
    const report = logs.find((l) => l['msg'] === 'cache warm-up finished')!;
    // 12 running pods, 2 images across 3 namespaces; the finished pod is skipped.
    expect(report).toMatchObject({ pods: 12, images: 6, allowed: 6, denied: 0, stopped: false });
    const before = await registryRequests();
    expect(before).toBeGreaterThan(0);
    const res = await hook.client.post('/validate', admissionReview({ kind: 'Pod', namespace: 'team-1', object: workload('Pod', 'web-new', 'team-1', { containers: [{ name: 'app', image: fx.images.signed }] }) }));
    expect((res.json as { response: { allowed: boolean } }).response.allowed).toBe(true);
    expect(await registryRequests()).toBe(before);
  });
});
