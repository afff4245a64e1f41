// Two `signet serve` processes (the real binary) sharing a real redis-server, against a real
// docker-registry: the second replica verifies an image the first one fetched without asking the
// registry; a forged entry in Redis never admits; Redis stopped and restarted while reviews go on
// costs no review; and neither the key nor the Redis password shows in logs or metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { generateKeyPair } from '../../src/signatures/cosign/private-key.js';
import { haveTools, startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { forgedSealedValue, startRedis, type RunningRedis } from '../support/redis-server.js';
import { freePort } from '../support/free-port.js';
import { webhookClient, type WebhookClient } from '../support/webhook-client.js';
import { admissionReview, podSpec } from '../support/admission.js';
import { pushTestImage, type PushedImage } from '../support/signers.js';
import { signet } from '../support/cli.js';
import { RedisSharedStore } from '../../src/shared-cache/redis-store.js';
import { RegistryClient } from '../../src/registry/client.js';

const maybe = haveTools('docker-registry', 'skopeo', 'redis-server') ? describe : describe.skip;
const CLI = join(process.cwd(), 'dist', 'cli.js');
const REDIS_PASSWORD = 'redis-Pa55-word';

interface Replica {
  readonly child: ChildProcess;
  readonly client: WebhookClient;
  output(): string;
  stop(): Promise<void>;
}

maybe('replicas sharing a cache', () => {
  let registry: RunningRegistry;
  let redis: RunningRedis;
  let raw: Redis;
  let dir: string;
  let policyPath: string;
  let keyFile: string;
  let signed: PushedImage;
  let unsigned: PushedImage;
  const key = randomBytes(32).toString('base64');
  const replicas: Replica[] = [];

  const start = async (name: string): Promise<Replica> => {
    if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run make build (make test does)');
    const port = await freePort();
    const localDir = mkdtempSync(join(dir, `${name}-`));
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--policy', policyPath, '--local', '--local-dir', localDir, '--port', String(port), '--insecure-registry', registry.host, '--shared-cache', redis.url, '--shared-cache-key-file', keyFile, '--drain-period', '0'],
      { env: { ...process.env, SIGNET_LOG_LEVEL: 'debug', NODE_OPTIONS: '', SIGNET_SHARED_CACHE_PASSWORD: REDIS_PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      if (existsSync(join(localDir, 'ca.crt'))) {
        const client = webhookClient(`https://127.0.0.1:${port}`, readFileSync(join(localDir, 'ca.crt'), 'utf8'));
        const ready = await client.get('/readyz').catch(() => undefined);
        if (ready?.status === 200) {
          const replica = { child, client, output: () => output, stop: async () => void (child.kill('SIGTERM'), await exited) };
          replicas.push(replica);
          return replica;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`${name} did not start: ${output}`);
  };

  const review = async (replica: Replica, image: string): Promise<{ allowed: boolean; message: string }> => {
    const body = admissionReview({ kind: 'Pod', namespace: 'shop', name: 'p', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: podSpec({ containers: [{ name: 'app', image }] }) } });
    const res = await replica.client.post('/validate', body);
    expect(res.status).toBe(200);
    const response = (res.json as { response: { allowed: boolean; status?: { message: string } } }).response;
    return { allowed: response.allowed, message: response.status?.message ?? '' };
  };

  /** signet_registry_requests_total summed, from /metrics. */
  const registryRequests = async (replica: Replica): Promise<number> => {
    const text = (await replica.client.get('/metrics')).text;
    return [...text.matchAll(/^signet_registry_requests_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-replicas-'));
    registry = await startRegistry();
    redis = await startRedis({ password: REDIS_PASSWORD });
    raw = new Redis(redis.url, { password: REDIS_PASSWORD });
    signed = await pushTestImage(registry, dir, 'demo/app:v1');
    unsigned = await pushTestImage(registry, dir, 'demo/plain:v1');
    const keys = generateKeyPair('pw');
    writeFileSync(join(dir, 'release.key'), keys.privateKeyPem);
    writeFileSync(join(dir, 'release.pub'), keys.publicKeyPem);
    const sign = await signet(['sign', signed.reference, '--key', join(dir, 'release.key'), '--insecure-registry', registry.host], { SIGNET_PASSWORD: 'pw' });
    expect(sign.code).toBe(0);
    policyPath = join(dir, 'policy.yaml');
    writeFileSync(policyPath, `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nkeys:\n  release: {file: release.pub}\nrules:\n  - name: demo\n    images: ["${registry.host}/demo/**"]\n    verify: [{type: cosign, keys: [release]}]\n`);
    keyFile = join(dir, 'shared.key');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  }, 90_000);

  afterEach(async () => {
    for (const replica of replicas.splice(0)) await replica.stop();
  });

  afterAll(async () => {
    raw?.disconnect();
    await redis?.close();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the second replica admits an image from the first one's fetches, without a registry request", async () => {
    await raw.flushall();
    const a = await start('a');
    const b = await start('b');
    expect((await review(a, signed.reference)).allowed).toBe(true);
    expect(await registryRequests(a)).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 100));
    expect((await review(b, signed.reference)).allowed).toBe(true);
    expect(await registryRequests(b)).toBe(0);
    const metrics = (await b.client.get('/metrics')).text;
    expect(metrics).toMatch(/^signet_shared_cache_operations_total\{result="hit"\} [1-9]/m);
    expect(metrics).toMatch(/^signet_shared_cache_up 1$/m);
    // An unsigned image stays denied, shared or not.
    const denied = await review(b, unsigned.reference);
    expect(denied.allowed).toBe(false);
    expect(denied.message).toContain('UNSIGNED');
  }, 60_000);

  test('a complete forgery in Redis (tag, .sig manifest and payload making the unsigned tag look signed), framed as sealed but without the key, changes nothing', async () => {
    await raw.flushall();
    const a = await start('forger-victim');
    // Everything a review of demo/plain:v1 would read, taken from the signed image: its manifest under
    // the unsigned tag, its .sig manifest and its payload under demo/plain. Framed as sealed values
    // with a MAC that is not the key's, so only the MAC check refuses them (without it, this admits).
    const client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    const sigTag = `${signed.digest.replace(':', '-')}.sig`;
    const sig = await client.getManifest(signed.repo, sigTag);
    if (!sig.ok) throw new Error(sig.error.message);
    const layer = (sig.value.json['layers'] as { digest: string; size: number }[])[0]!;
    const payload = await client.getBlob(signed.repo, { digest: layer.digest as PushedImage['digest'], size: layer.size });
    if (!payload.ok) throw new Error(payload.error.message);
    await client.close();
    // (Entry names are HMACs under the key; the test, which knows the key, works them out.)
    const namer = new RedisSharedStore({ url: redis.url, password: REDIS_PASSWORD, hmacKey: Buffer.from(key) });
    const plain = `${registry.host}/demo/plain`;
    await raw.set(namer.redisName(`manifest\u0000anonymous\u0000${plain}:v1`), forgedSealedValue(Buffer.concat([Buffer.from(`${signed.mediaType}\n`), signed.layout.manifestBytes])));
    await raw.set(namer.redisName(`manifest\u0000anonymous\u0000${plain}:${sigTag}`), forgedSealedValue(Buffer.concat([Buffer.from(`${sig.value.mediaType}\n`), sig.value.bytes])));
    await raw.set(namer.redisName(`blob\u0000anonymous\u0000${plain}@${layer.digest}`), forgedSealedValue(payload.value));
    await namer.close();
    const wasUnsigned = await review(a, unsigned.reference);
    expect(wasUnsigned.allowed).toBe(false);
    expect(wasUnsigned.message).toContain('UNSIGNED');
    expect((await review(a, signed.reference)).allowed).toBe(true);
    expect((await a.client.get('/metrics')).text).toMatch(/^signet_shared_cache_operations_total\{result="rejected"\} [1-9]/m);
  }, 60_000);

  test('Redis stopped and restarted while reviews go on: every review answered, rightly; sharing resumes', async () => {
    await raw.flushall();
    const a = await start('steady');
    const outcomes: boolean[] = [];
    const images = [signed.reference, unsigned.reference];
    let stopRequested = false;
    const load = (async () => {
      for (let i = 0; !stopRequested; i++) outcomes.push((await review(a, images[i % 2]!)).allowed === (i % 2 === 0));
    })();
    await new Promise((r) => setTimeout(r, 300));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1000));
    expect((await a.client.get('/metrics')).text).toMatch(/^signet_shared_cache_up 0$/m);
    expect((await a.client.get('/readyz')).status).toBe(200);
    await redis.restart();
    raw.disconnect();
    raw = new Redis(redis.url, { password: REDIS_PASSWORD });
    await new Promise((r) => setTimeout(r, 3000));
    stopRequested = true;
    await load;
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.every(Boolean)).toBe(true);
    expect((await a.client.get('/metrics')).text).toMatch(/^signet_shared_cache_up 1$/m);
  }, 60_000);

  test('neither the key nor the Redis password appears in logs or metrics', async () => {
    const a = await start('quiet');
    await review(a, signed.reference);
    const metrics = (await a.client.get('/metrics')).text;
    for (const text of [a.output(), metrics]) {
      expect(text).not.toContain(REDIS_PASSWORD);
      expect(text).not.toContain(key);
      expect(text).not.toContain(Buffer.from(key).toString('hex'));
    }
    expect(a.output()).toContain(`"sharedCache":"redis://127.0.0.1:${redis.port}"`);
  }, 60_000);

  test('usage errors: a URL without a key file, a short key, a key file without a URL', async () => {
    const short = join(dir, 'short.key');
    writeFileSync(short, 'too short');
    const noKey = await signet(['serve', '--policy', policyPath, '--shared-cache', redis.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--shared-cache needs --shared-cache-key-file FILE');
    const shortKey = await signet(['serve', '--policy', policyPath, '--shared-cache', redis.url, '--shared-cache-key-file', short]);
    expect(shortKey.code).toBe(2);
    expect(shortKey.stderr).toContain(`--shared-cache-key-file ${short} holds 9 bytes; the key must be at least 32 bytes`);
    const noUrl = await signet(['serve', '--policy', policyPath, '--shared-cache-key-file', keyFile]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('--shared-cache-key-file and --shared-cache-ca-file need --shared-cache URL');
  }, 60_000);
});
