// Cache warm-up: the images of running pods are verified at start, so the first review of them
// after a restart sends nothing to the registry.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { startFakeKubeApi, waitFor, type FakeKubeApi } from '../support/fake-kube-api.js';
import { admissionReview, podSpec, workload } from '../support/admission.js';
import { webhookClient, type WebhookClient } from '../support/webhook-client.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;

maybe('cache warm-up from running pods', () => {
  let fx: SignedRegistry;
  let api: FakeKubeApi;
  let server: RunningServer;
  let client: WebhookClient;
  let dir: string;
  const logs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    fx = await startSignedRegistry();
    dir = mkdtempSync(join(tmpdir(), 'signet-warm-'));
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
    const stream = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      trust: { kind: 'kube', kubeConfig: api.kubeConfig(), namespace: 'signet', tenants: false },
      warmUp: true,
      tls: { kind: 'self-signed', dir, hosts: ['127.0.0.1'] },
      timeoutSeconds: 5,
      budgetFraction: 0.8,
      bodyLimitBytes: 1 << 20,
      registry: { hosts: { [fx.registry.host]: { insecureHttp: true } } },
      reloadIntervalMs: 100,
      logger: pino({ level: 'info' }, stream),
    });
    client = webhookClient(server.url, server.caPem!);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await api?.close();
    await fx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const registryRequests = async (): Promise<number> => {
    const text = (await client.get('/metrics')).text;
    return [...text.matchAll(/^signet_registry_requests_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  test('running pods are verified at start; their first review costs no registry request', async () => {
    await waitFor('the warm-up to finish', () => logs.some((l) => l['msg'] === 'cache warm-up finished'), 10_000);
    const report = logs.find((l) => l['msg'] === 'cache warm-up finished')!;
    // 12 running pods, 2 images across 3 namespaces; the finished pod is skipped.
    expect(report).toMatchObject({ pods: 12, images: 6, allowed: 6, denied: 0, stopped: false });
    const before = await registryRequests();
    expect(before).toBeGreaterThan(0);
    const res = await client.post('/validate', admissionReview({ kind: 'Pod', namespace: 'team-1', object: workload('Pod', 'web-new', 'team-1', { containers: [{ name: 'app', image: fx.images.signed }] }) }));
    expect((res.json as { response: { allowed: boolean } }).response.allowed).toBe(true);
    expect(await registryRequests()).toBe(before);
  });
});
