// Certificate rotation under traffic, and SIGTERM with reviews in flight, on a real process.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { makeCertificates } from '../support/tls.js';
import { haveTools } from '../support/registry-server.js';
import { startHostileRegistry } from '../support/hostile-registry.js';
import { freePort } from '../support/free-port.js';
import { admissionReview, workload } from '../support/admission.js';
import { webhookClient } from '../support/webhook-client.js';
import { startWebhookServer } from '../support/webhook-server.js';
import { generateKeyPair } from '../../src/signatures/cosign/private-key.js';

const maybe = haveTools('openssl') ? describe : describe.skip;

function peerCertificate(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const pem = new X509Certificate(socket.getPeerX509Certificate()!.raw).fingerprint256;
      socket.end();
      resolve(pem);
    });
    socket.once('error', reject);
  });
}

function writePolicy(dir: string, hostileHost: string): string {
  const path = join(dir, 'policy.yaml');
  writeFileSync(join(dir, 'k.pub'), generateKeyPair('').publicKeyPem);
  writeFileSync(
    path,
    `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: lifecycle}
keys:
  k: {file: k.pub}
rules:
  - name: slow
    images: ["${hostileHost}/**"]
    verify: [{type: cosign, keys: [k]}]
  - name: tools
    images: ["example.com/tools/**"]
    action: allow
`,
  );
  return path;
}

maybe('server lifecycle', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-lifecycle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the serving certificate is rotated on disk during traffic with no failed request', async () => {
    for (const sub of ['a', 'b', 'live']) mkdirSync(join(dir, sub));
    const a = await makeCertificates(join(dir, 'a'));
    const b = await makeCertificates(join(dir, 'b'));
    const live = join(dir, 'live');
    copyFileSync(a.certPath, join(live, 'tls.crt'));
    copyFileSync(a.keyPath, join(live, 'tls.key'));
    const policyPath = writePolicy(dir, '127.0.0.1:9');
    const { server, stop: stopServer } = await startWebhookServer({
      policyPath,
      tls: { kind: 'files', certPath: join(live, 'tls.crt'), keyPath: join(live, 'tls.key') },
      registry: {},
    });
    const cas = [a.caCert, b.caCert];
    const before = await peerCertificate(server.port, cas);
    const body = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: 'example.com/tools/x:1' }] }) });
    let failures = 0;
    let done = 0;
    let stop = false;
    // Four clients: two keep their connections, two open a new one for every request.
    const loops = [0, 1, 2, 3].map(async (i) => {
      while (!stop) {
        const client = webhookClient(server.url.replace('127.0.0.1', 'localhost'), cas);
        try {
          for (let n = 0; n < (i < 2 ? 20 : 1) && !stop; n++) {
            const res = await client.post('/validate', body).catch(() => ({ status: 0 }));
            if (res.status === 200) done++;
            else failures++;
          }
        } finally {
          await client.close();
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    // Replace each file atomically (as the kubelet and cert-manager do), cert first, then key.
    for (const [src, name] of [
      [b.certPath, 'tls.crt'],
      [b.keyPath, 'tls.key'],
    ] as const) {
      copyFileSync(src, join(live, `${name}.tmp`));
      renameSync(join(live, `${name}.tmp`), join(live, name));
      await new Promise((r) => setTimeout(r, 80));
    }
    await new Promise((r) => setTimeout(r, 400));
    stop = true;
    await Promise.all(loops);
    const after = await peerCertificate(server.port, cas);
    await stopServer();
    expect(failures).toBe(0);
    expect(done).toBeGreaterThan(20);
    expect(before).toBe(new X509Certificate(readFileSync(a.certPath)).fingerprint256);
    expect(after).toBe(new X509Certificate(readFileSync(b.certPath)).fingerprint256);
  });

  test('SIGTERM: in-flight reviews are answered and logged, new connections refused, exit 0', async () => {
    const cli = join(process.cwd(), 'dist', 'cli.js');
    if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run make build (make test does)');
    const hostile = await startHostileRegistry();
    hostile.on('GET', '/v2/slow/app/manifests/v1', { kind: 'stall' });
    const port = await freePort();
    const localDir = join(dir, 'local');
    const policyPath = writePolicy(dir, hostile.host);
    const child = spawn(process.execPath, [cli, 'serve', '--policy', policyPath, '--local', '--local-dir', localDir, '--port', String(port), '--timeout-seconds', '2', '--insecure-registry', hostile.host], {
      env: { ...process.env, SIGNET_LOG_LEVEL: 'info', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      let client: ReturnType<typeof webhookClient> | undefined;
      while (Date.now() - started < 15_000) {
        if (existsSync(join(localDir, 'ca.crt'))) {
          client ??= webhookClient(`https://127.0.0.1:${port}`, readFileSync(join(localDir, 'ca.crt'), 'utf8'));
          const ready = await client.get('/readyz').catch(() => undefined);
          if (ready?.status === 200) break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!client) throw new Error(`server did not start: ${stderr}`);
      const review = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${hostile.host}/slow/app:v1` }] }) });
      const inFlight = client.post('/validate', review);
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      const fresh = webhookClient(`https://127.0.0.1:${port}`, readFileSync(join(localDir, 'ca.crt'), 'utf8'));
      const refused = await fresh.get('/healthz').then(
        (r) => `status ${r.status}`,
        (e: Error & { code?: string }) => e.code ?? e.message,
      );
      await fresh.close();
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.json)).toContain('TIMEOUT');
      expect(refused).toBe('ECONNREFUSED');
      expect(await exited).toBe(0);
      expect(stderr).toContain('SIGTERM received, finishing in-flight reviews');
      // Decision lines are batched; the one for the review answered during shutdown is still written.
      const decisions = stdout
        .split('\n')
        .filter((l) => l.includes('"admission decision"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(decisions).toContainEqual(expect.objectContaining({ uid: (review['request'] as { uid: string }).uid, verdict: 'denied', reason: 'TIMEOUT' }));
      await client.close();
    } finally {
      child.kill('SIGKILL');
      await hostile.close();
    }
  }, 30_000);
});
