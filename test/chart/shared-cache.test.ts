// The chart's side of the shared cache (issue 17), rendered by the real Helm: sharedCache.* wired into
// `signet serve` (URL in the args, password from a Secret in the environment, HMAC key as a mounted
// file), the chart-made key Secret kept across upgrades through `lookup` (against the API stand-in),
// the optional bundled Redis (its rendered command run by a real redis-server), the HPA and the
// NetworkPolicy egress rule; and every refusal with the reason a user reads.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { exited, launch, stopChild } from '../support/child.js';
import { freePort } from '../support/free-port.js';
import { isCI } from '../support/registry-server.js';
import { at, describeHelm, dryRunInstall, findObject, lintChart, renderChart, renderError, schemaErrors, type K8sObject, type RenderedChart, type Values } from './support/helm.js';
import { hasModel, schemaProblems, unknownFields } from './support/k8s-validate.js';
import { startLookupCluster } from './support/lookup-cluster.js';

const EXTERNAL = { sharedCache: { enabled: true, url: 'redis://cache.example.com:6380', password: 's3cret-Redis-pass' } } as const;
const BUNDLED = { sharedCache: { enabled: true, bundledRedis: { enabled: true } } } as const;

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: unknown;
}

function deployment(rendered: RenderedChart, name = 'signet'): K8sObject {
  return findObject(rendered, 'Deployment', name);
}

function container(rendered: RenderedChart, name = 'signet'): Record<string, unknown> {
  return at(deployment(rendered, name), 'spec', 'template', 'spec', 'containers', 0) as Record<string, unknown>;
}

function args(rendered: RenderedChart): string[] {
  return at(container(rendered), 'args') as string[];
}

function env(rendered: RenderedChart, name = 'signet'): EnvVar[] {
  return at(container(rendered, name), 'env') as EnvVar[];
}

function volumes(rendered: RenderedChart): unknown[] {
  return at(deployment(rendered), 'spec', 'template', 'spec', 'volumes') as unknown[];
}

function mounts(rendered: RenderedChart): unknown[] {
  return at(container(rendered), 'volumeMounts') as unknown[];
}

function secretData(rendered: RenderedChart, name = 'signet-shared-cache'): Record<string, string> {
  return at(findObject(rendered, 'Secret', name), 'data') as Record<string, string>;
}

function decoded(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

function expectValidObjects(rendered: RenderedChart): void {
  for (const { file, object } of rendered.documents) {
    if (!hasModel(object)) continue;
    const where = `${file}: ${object.kind}/${object.metadata.name}`;
    expect([where, schemaProblems(object)]).toEqual([where, '']);
    expect([where, unknownFields(object)]).toEqual([where, []]);
  }
}

async function expectLintClean(values: Values): Promise<void> {
  const lint = await lintChart(values);
  expect([lint.ok, lint.stdout.match(/\[(ERROR|WARNING)\].*/g)]).toEqual([true, null]);
}

/** The YAML blocks of a document that set sharedCache (the examples users copy). */
function sharedCacheExamples(path: string): Values[] {
  const text = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as Values).filter((v) => typeof v === 'object' && v !== null && 'sharedCache' in v);
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
}
/** A real redis-server runs what the chart renders; missing, it fails under CI and skips elsewhere. */
const itRedis = hasRedisServer() || isCI() ? it : it.skip;

/** Exit code of `command` (an exec probe as the kubelet runs it) with extra environment. */
function runProbe(command: readonly string[], extraEnv: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...extraEnv }, stdio: 'ignore', timeout: 10_000 });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

describeHelm('shared cache in the chart (helm template)', () => {
  it('adds nothing while sharedCache is off: no Secret, no Redis, no HPA, no flag, variable or mount', async () => {
    const rendered = await renderChart();
    expect(rendered.documents.map((d) => `${d.object.kind}/${d.object.metadata.name}`).filter((n) => /redis|shared-cache|HorizontalPodAutoscaler/.test(n))).toEqual([]);
    expect(args(rendered).filter((a) => a.startsWith('--shared-cache'))).toEqual([]);
    expect(env(rendered).map((e) => e.name)).toEqual(['POD_NAMESPACE', 'SIGNET_LOG_LEVEL']);
    expect(at(deployment(rendered), 'spec', 'replicas')).toBe(2);
    expect(rendered.text).not.toMatch(/shared-cache|SHARED_CACHE/);
  });

  it('with an external URL: the URL and key file in the args, the password from the chart’s Secret in the environment, the key mounted, no secret in the Deployment', async () => {
    const rendered = await renderChart({ values: EXTERNAL });
    expectValidObjects(rendered);
    expect(args(rendered)).toEqual(expect.arrayContaining(['--shared-cache=redis://cache.example.com:6380', '--shared-cache-key-file=/etc/signet/shared-cache/key']));
    expect(args(rendered).filter((a) => a.startsWith('--shared-cache-ca-file'))).toEqual([]);
    expect(env(rendered)).toContainEqual({ name: 'SIGNET_SHARED_CACHE_PASSWORD', valueFrom: { secretKeyRef: { name: 'signet-shared-cache', key: 'password' } } });
    expect(mounts(rendered)).toContainEqual({ name: 'shared-cache-key', mountPath: '/etc/signet/shared-cache', readOnly: true });
    expect(volumes(rendered)).toContainEqual({ name: 'shared-cache-key', secret: { secretName: 'signet-shared-cache', items: [{ key: 'key', path: 'key' }] } });

    const secret = findObject(rendered, 'Secret', 'signet-shared-cache');
    expect(secret.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect(at(secret, 'type')).toBe('Opaque');
    const data = secretData(rendered);
    expect(Object.keys(data).sort()).toEqual(['key', 'password']);
    expect(decoded(data['password']!)).toBe('s3cret-Redis-pass');
    // The file Signet reads is base64 text of 48 random bytes: 64 bytes, over the 32 it requires.
    const key = decoded(data['key']!);
    expect(key).toMatch(/^[A-Za-z0-9+/]{64}$/);
    expect(Buffer.from(key, 'base64')).toHaveLength(48);

    const podSpecText = JSON.stringify(deployment(rendered));
    expect(podSpecText).not.toContain('s3cret-Redis-pass');
    expect(podSpecText).not.toContain(key);
    expect(podSpecText).not.toContain(data['key']);
    // Each render makes a new key: only `lookup` keeps one (below).
    expect(secretData(await renderChart({ values: EXTERNAL }))['key']).not.toBe(data['key']);
    await expectLintClean(EXTERNAL);
  });

  it('without a password: no password in the Secret and no variable (Redis without AUTH)', async () => {
    const rendered = await renderChart({ values: { sharedCache: { enabled: true, url: 'redis://cache:6379' } } });
    expect(Object.keys(secretData(rendered))).toEqual(['key']);
    expect(env(rendered).map((e) => e.name)).not.toContain('SIGNET_SHARED_CACHE_PASSWORD');
  });

  it('with existingSecret: no chart Secret; the key and password come from the named keys of that Secret', async () => {
    const values = { sharedCache: { enabled: true, url: 'rediss://signet@cache.example.com:6380/2', existingSecret: 'redis-auth', existingSecretPasswordKey: 'redis-password', existingSecretKeyKey: 'hmac' } };
    const rendered = await renderChart({ values });
    expectValidObjects(rendered);
    expect(rendered.documents.filter((d) => d.object.kind === 'Secret').map((d) => d.object.metadata.name)).toEqual(['signet-ca', 'signet-tls']);
    expect(args(rendered)).toContain('--shared-cache=rediss://signet@cache.example.com:6380/2');
    expect(env(rendered)).toContainEqual({ name: 'SIGNET_SHARED_CACHE_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'redis-password' } } });
    expect(volumes(rendered)).toContainEqual({ name: 'shared-cache-key', secret: { secretName: 'redis-auth', items: [{ key: 'hmac', path: 'key' }] } });
    await expectLintClean(values);

    const noPassword = await renderChart({ values: { sharedCache: { ...values.sharedCache, existingSecretPasswordKey: '' } } });
    expect(env(noPassword).map((e) => e.name)).not.toContain('SIGNET_SHARED_CACHE_PASSWORD');
  });

  it('a rediss:// CA from an existing ConfigMap is mounted for --shared-cache-ca-file', async () => {
    const rendered = await renderChart({ values: { sharedCache: { enabled: true, url: 'rediss://cache:6380', caConfigMap: 'redis-ca', caConfigMapKey: 'bundle.pem' } } });
    expectValidObjects(rendered);
    expect(args(rendered)).toContain('--shared-cache-ca-file=/etc/signet/shared-cache-ca/ca.crt');
    expect(mounts(rendered)).toContainEqual({ name: 'shared-cache-ca', mountPath: '/etc/signet/shared-cache-ca', readOnly: true });
    expect(volumes(rendered)).toContainEqual({ name: 'shared-cache-ca', configMap: { name: 'redis-ca', items: [{ key: 'bundle.pem', path: 'ca.crt' }] } });
  });

  it('keeps the chart-made key (and the bundled Redis password) on upgrade, found through lookup; a missing Secret means a new key', async () => {
    const first = await renderChart({ values: BUNDLED });
    const cluster = await startLookupCluster();
    try {
      cluster.put(structuredClone(findObject(first, 'Secret', 'signet-shared-cache')) as unknown as Record<string, unknown>);
      const upgraded = await renderChart({ values: BUNDLED, cluster, isUpgrade: true });
      expect(cluster.gets()).toContain('/api/v1/namespaces/signet/secrets/signet-shared-cache');
      expect(secretData(upgraded)).toEqual(secretData(first));
      // A password given in the values replaces the generated one; the key stays.
      const withPassword = await renderChart({ values: { sharedCache: { ...BUNDLED.sharedCache, password: 'chosen-password' } }, cluster, isUpgrade: true });
      expect(secretData(withPassword)['key']).toBe(secretData(first)['key']);
      expect(decoded(secretData(withPassword)['password']!)).toBe('chosen-password');
    } finally {
      await cluster.close();
    }
    const empty = await startLookupCluster();
    try {
      const fresh = await renderChart({ values: BUNDLED, cluster: empty, isUpgrade: true });
      expect(secretData(fresh)['key']).not.toBe(secretData(first)['key']);
    } finally {
      await empty.close();
    }
  });

  describe('bundled Redis', () => {
    let rendered: RenderedChart;
    beforeAll(async () => {
      rendered = await renderChart({ values: { ...BUNDLED, networkPolicy: { enabled: true } } });
    });

    it('renders a Deployment, Service, NetworkPolicy and the password Secret, all valid Kubernetes objects, and points Signet at the Service', async () => {
      expectValidObjects(rendered);
      expect(rendered.documents.map((d) => `${d.object.kind}/${d.object.metadata.name}`).filter((n) => /redis|shared-cache/.test(n)).sort()).toEqual([
        'Deployment/signet-redis',
        'NetworkPolicy/signet-redis',
        'Secret/signet-shared-cache',
        'Service/signet-redis',
      ]);
      expect(args(rendered)).toContain('--shared-cache=redis://signet-redis.signet.svc:6379');
      expect(decoded(secretData(rendered)['password']!)).toMatch(/^[A-Za-z0-9]{40}$/);
      expect(env(rendered)).toContainEqual({ name: 'SIGNET_SHARED_CACHE_PASSWORD', valueFrom: { secretKeyRef: { name: 'signet-shared-cache', key: 'password' } } });
      await expectLintClean({ ...BUNDLED, networkPolicy: { enabled: true }, autoscaling: { enabled: true } });
      expect((await dryRunInstall({ values: BUNDLED })).notes).toContain('The replicas share a cache on the bundled Redis (signet-redis): one pod, no persistence,\nfor trials. In production, set sharedCache.url');
      expect((await dryRunInstall({ values: EXTERNAL })).notes).not.toContain('bundled Redis');
    });

    it('is never selected by the webhook’s Service, and its Service selects only the Redis pod', async () => {
      const redisLabels = at(deployment(rendered, 'signet-redis'), 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
      const webhookSelector = at(findObject(rendered, 'Service', 'signet'), 'spec', 'selector') as Record<string, string>;
      expect(Object.entries(webhookSelector).every(([k, v]) => redisLabels[k] === v)).toBe(false);
      expect(at(findObject(rendered, 'Service', 'signet-redis'), 'spec', 'selector')).toEqual(redisLabels);
      expect(at(findObject(rendered, 'Service', 'signet-redis'), 'spec', 'ports')).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }]);
    });

    it('runs non-root on a read-only root with an emptyDir for /data, no persistence, a password from the Secret, probes and resources', async () => {
      const redis = deployment(rendered, 'signet-redis');
      expect(at(redis, 'spec', 'replicas')).toBe(1);
      expect(at(redis, 'spec', 'template', 'spec', 'securityContext')).toMatchObject({ runAsNonRoot: true, runAsUser: 999 });
      const c = container(rendered, 'signet-redis');
      expect(at(c, 'image')).toBe('docker.io/library/redis:7.4-alpine');
      expect(at(c, 'securityContext')).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(at(c, 'volumeMounts')).toEqual([{ name: 'data', mountPath: '/data' }]);
      expect(at(redis, 'spec', 'template', 'spec', 'volumes')).toEqual([{ name: 'data', emptyDir: { sizeLimit: '64Mi' } }]);
      expect(at(c, 'args')).toEqual(['--port', '6379', '--save', '', '--appendonly', 'no', '--maxmemory', '192mb', '--maxmemory-policy', 'allkeys-lru', '--requirepass', '$(REDIS_PASSWORD)']);
      const fromSecret = { secretKeyRef: { name: 'signet-shared-cache', key: 'password' } };
      expect(env(rendered, 'signet-redis')).toEqual([
        { name: 'REDIS_PASSWORD', valueFrom: fromSecret },
        { name: 'REDISCLI_AUTH', valueFrom: fromSecret },
      ]);
      expect(at(c, 'readinessProbe', 'exec', 'command')).toEqual(['sh', '-c', 'test "$(redis-cli -p 6379 ping)" = PONG']);
      expect(at(c, 'livenessProbe', 'tcpSocket')).toEqual({ port: 'redis' });
      expect(at(c, 'resources')).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
      expect(at(redis, 'spec', 'template', 'spec', 'automountServiceAccountToken')).toBe(false);
    });

    itRedis('its rendered command starts a real redis-server that wants the password, and its readiness probe passes only with it', async () => {
      const c = container(rendered, 'signet-redis');
      const password = decoded(secretData(rendered)['password']!);
      const port = String(await freePort());
      // As the kubelet would run it: $(REDIS_PASSWORD) substituted; here on a free loopback port.
      const argv = (at(c, 'args') as string[]).map((a) => (a === '$(REDIS_PASSWORD)' ? password : a === '6379' ? port : a));
      const server = launch((at(c, 'command') as string[])[0]!, [...argv, '--bind', '127.0.0.1']);
      try {
        const probe = (at(c, 'readinessProbe', 'exec', 'command') as string[]).map((part) => part.replace('-p 6379', `-p ${port}`));
        let ready: number | null = 1;
        for (let i = 0; i < 100 && ready !== 0 && !exited(server.child); i++) {
          ready = await runProbe(probe, { REDISCLI_AUTH: password });
          if (ready !== 0) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect([ready, server.output()]).toEqual([0, expect.any(String)]);
        expect(await runProbe(probe, { REDISCLI_AUTH: 'wrong-password' })).not.toBe(0);
        expect(await runProbe(probe, {})).not.toBe(0);
        const config = spawnSync('redis-cli', ['-p', port, 'config', 'get', 'maxmemory*'], { env: { ...process.env, REDISCLI_AUTH: password }, encoding: 'utf8' });
        expect(config.stdout.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['maxmemory', String(192 * 1024 * 1024), 'maxmemory-policy', 'allkeys-lru']));
        const save = spawnSync('redis-cli', ['-p', port, 'config', 'get', 'save'], { env: { ...process.env, REDISCLI_AUTH: password }, encoding: 'utf8' });
        expect(save.stdout.split('\n')).toEqual(['save', '', '']);
      } finally {
        await stopChild(server.child);
      }
    });

    it('with networkPolicy: only the webhook pods reach Redis, Redis reaches nothing, and the webhook may reach it when its egress is restricted', async () => {
      const policy = findObject(rendered, 'NetworkPolicy', 'signet-redis');
      expect(at(policy, 'spec')).toEqual({
        podSelector: { matchLabels: at(deployment(rendered, 'signet-redis'), 'spec', 'selector', 'matchLabels') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'signet', 'app.kubernetes.io/instance': 'signet' } } }], ports: [{ port: 'redis', protocol: 'TCP' }] }],
      });
      const dns = { ports: [{ port: 53, protocol: 'UDP' }] };
      const restricted = await renderChart({ values: { ...BUNDLED, networkPolicy: { enabled: true, egress: [dns] } } });
      expectValidObjects(restricted);
      expect(at(findObject(restricted, 'NetworkPolicy', 'signet'), 'spec', 'egress')).toEqual([
        dns,
        { ports: [{ port: 6379, protocol: 'TCP' }], to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'signet', 'app.kubernetes.io/component': 'shared-cache' } } }] },
      ]);
    });
  });

  it('NetworkPolicy: egress to the URL’s port (6379 when it has none) only when egress is restricted; unrestricted egress stays unrestricted', async () => {
    const dns = { ports: [{ port: 53, protocol: 'UDP' }] };
    const withPort = await renderChart({ values: { ...EXTERNAL, networkPolicy: { enabled: true, egress: [dns] } } });
    expectValidObjects(withPort);
    expect(at(findObject(withPort, 'NetworkPolicy'), 'spec', 'egress')).toEqual([dns, { ports: [{ port: 6380, protocol: 'TCP' }] }]);
    const noPort = await renderChart({ values: { sharedCache: { enabled: true, url: 'rediss://[fd00::1]' }, networkPolicy: { enabled: true, egress: [dns] } } });
    expect(at(findObject(noPort, 'NetworkPolicy'), 'spec', 'egress')).toEqual([dns, { ports: [{ port: 6379, protocol: 'TCP' }] }]);
    const open = findObject(await renderChart({ values: { ...EXTERNAL, networkPolicy: { enabled: true } } }), 'NetworkPolicy');
    expect(at(open, 'spec', 'policyTypes')).toEqual(['Ingress']);
    expect(at(open, 'spec', 'egress')).toBeUndefined();
  });

  it('HPA on: the Deployment leaves replicas to it, CPU target by default, the reviews-per-second Pods metric when asked, the PDB stays', async () => {
    const rendered = await renderChart({ values: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 7 } } });
    expectValidObjects(rendered);
    expect(at(deployment(rendered), 'spec', 'replicas')).toBeUndefined();
    expect(at(findObject(rendered, 'HorizontalPodAutoscaler'), 'spec')).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'signet' },
      minReplicas: 3,
      maxReplicas: 7,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
    });
    expect(at(findObject(rendered, 'PodDisruptionBudget'), 'spec', 'maxUnavailable')).toBe(1);

    const behavior = { scaleDown: { stabilizationWindowSeconds: 600 } };
    const byRate = await renderChart({ values: { autoscaling: { enabled: true, targetCPUUtilizationPercentage: 0, requestsPerSecond: 12.5, behavior } } });
    expectValidObjects(byRate);
    expect(at(findObject(byRate, 'HorizontalPodAutoscaler'), 'spec', 'metrics')).toEqual([
      { type: 'Pods', pods: { metric: { name: 'signet_reviews_per_second' }, target: { type: 'AverageValue', averageValue: '12.5' } } },
    ]);
    expect(at(findObject(byRate, 'HorizontalPodAutoscaler'), 'spec', 'behavior')).toEqual(behavior);
    await expectLintClean({ autoscaling: { enabled: true, requestsPerSecond: 50 } });
  });

  it.each(['docs/install.md', 'README.md'])('the values example in %s renders, with the URL and the Secret it names', async (path) => {
    const examples = sharedCacheExamples(path);
    expect(examples).toHaveLength(1);
    const rendered = await renderChart({ values: examples[0]! });
    expectValidObjects(rendered);
    expect(args(rendered)).toContain('--shared-cache=rediss://signet@redis.cache.svc:6380');
    expect(volumes(rendered)).toContainEqual({ name: 'shared-cache-key', secret: { secretName: 'signet-cache', items: [{ key: 'key', path: 'key' }] } });
  });

  describe('refusals, with the reason a user reads', () => {
    it.each([
      [{ enabled: true, url: 'http://cache:6379' }, '/sharedCache/url', "'http://cache:6379' does not match pattern '^rediss?://'"],
      [{ enabled: true }, '/sharedCache/url', "'' does not match pattern '^rediss?://'"],
      [{ enabled: true, url: 'redis://cache:6379/db/x' }, '/sharedCache/url', "'redis://cache:6379/db/x' does not match pattern"],
      [{ enabled: true, bundledRedis: { enabled: true, maxMemory: '1GiB' } }, '/sharedCache/bundledRedis/maxMemory', "'1GiB' does not match pattern"],
      [{ enabled: true, url: 'redis://c', existingSecretKeyKey: '' }, '/sharedCache/existingSecretKeyKey', "'' does not match pattern"],
    ])('schema refuses sharedCache %j at %s', async (sharedCache, path, message) => {
      const stderr = await renderError({ values: { sharedCache } });
      expect(stderr).toContain("values don't meet the specifications of the schema(s)");
      expect(schemaErrors(stderr)).toContainEqual({ path, message: expect.stringContaining(message) });
    });

    it.each([
      [{ sharedCache: { enabled: true } }, 'sharedCache.enabled needs sharedCache.url (redis://HOST:PORT or rediss://HOST:PORT), or sharedCache.bundledRedis.enabled for a trial'],
      [{ sharedCache: { enabled: true, url: 'http://cache:6379' } }, 'sharedCache.url must be redis://HOST:PORT or rediss://HOST:PORT (optionally with a user and /DB), got "http://cache:6379"'],
    ])('the templates refuse %j too (with --skip-schema-validation)', async (values, message) => {
      expect(await renderError({ values, skipSchemaValidation: true })).toContain(message);
    });

    it.each([
      [{ sharedCache: { enabled: true, url: 'redis://signet:hunter2@cache:6379' } }, 'sharedCache.url must not carry a password: put it in sharedCache.password or sharedCache.existingSecret (the URL is an argument, readable by whoever can read the Deployment)'],
      [{ sharedCache: { enabled: true, url: 'redis://cache:6379', bundledRedis: { enabled: true } } }, 'set sharedCache.url or sharedCache.bundledRedis.enabled, not both'],
      [{ sharedCache: { bundledRedis: { enabled: true } } }, 'sharedCache.bundledRedis.enabled needs sharedCache.enabled: the bundled Redis serves only the shared cache'],
      [{ sharedCache: { enabled: true, url: 'redis://cache:6379', caConfigMap: 'redis-ca' } }, 'sharedCache.caConfigMap is for rediss:// (TLS) URLs; this URL is redis://, which has no certificate to check'],
      [{ sharedCache: { enabled: true, url: 'redis://cache:6379', existingSecret: 'auth', password: 'pw' } }, 'set sharedCache.password or sharedCache.existingSecret, not both'],
      [{ sharedCache: { enabled: true, existingSecret: 'auth', existingSecretPasswordKey: '', bundledRedis: { enabled: true } } }, 'sharedCache.bundledRedis needs a password: set sharedCache.existingSecretPasswordKey'],
      [{ autoscaling: { enabled: true, minReplicas: 6, maxReplicas: 5 } }, 'autoscaling.minReplicas (6) must not exceed autoscaling.maxReplicas (5)'],
      [{ autoscaling: { enabled: true, targetCPUUtilizationPercentage: 0 } }, 'autoscaling needs a target: autoscaling.targetCPUUtilizationPercentage, autoscaling.requestsPerSecond, or both'],
      [{ autoscaling: { enabled: true }, resources: { requests: { cpu: null } } }, 'autoscaling.targetCPUUtilizationPercentage is a percentage of resources.requests.cpu, which is not set'],
    ])('refuses %j', async (values, message) => {
      expect(await renderError({ values })).toContain(message);
    });
  });
});
