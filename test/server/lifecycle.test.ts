// Certificate rotation under traffic; and stopping on the real binary (dist/cli.js): SIGTERM or SIGINT
// under continuous load (not ready at once, every review still answered through the drain period,
// connections told to close, exit 0 once in-flight reviews are done), in-flight reviews answered
// when there is no drain, and a second signal that ends a long drain at once.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { makeCertificates } from '../support/tls.js';
import { haveTools } from '../support/registry-server.js';
import { startHostileRegistry } from '../support/hostile-registry.js';
import { freePort } from '../support/free-port.js';
import { admissionReview, workload } from '../support/admission.js';
import { webhookClient, type WebhookClient } from '../support/webhook-client.js';
import { Agent, request } from 'undici';
import { startWebhookServer } from '../support/webhook-server.js';
import { generateKeyPair } from '../../src/signatures/cosign/private-key.js';
import { runCli } from '../../src/cli/main.js';

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

const CLI = join(process.cwd(), 'dist', 'cli.js');

interface Binary {
  readonly child: ChildProcess;
  readonly port: number;
  readonly ca: string;
  /** A client with its own connections (keep-alive). */
  readonly client: WebhookClient;
  readonly exited: Promise<number | null>;
  stderr(): string;
  stdout(): string;
}

/** `node dist/cli.js serve --policy … --local …` plus `args`; resolves once /readyz answers 200. */
async function startBinary(dir: string, policyPath: string, args: readonly string[]): Promise<Binary> {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run make build (make test does)');
  const port = await freePort();
  const localDir = mkdtempSync(join(dir, 'local-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--policy', policyPath, '--local', '--local-dir', localDir, '--port', String(port), ...args], {
    env: { ...process.env, SIGNET_LOG_LEVEL: 'info', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  let client: WebhookClient | undefined;
  while (Date.now() - started < 15_000) {
    if (existsSync(join(localDir, 'ca.crt'))) {
      client ??= webhookClient(`https://127.0.0.1:${port}`, readFileSync(join(localDir, 'ca.crt'), 'utf8'));
      const ready = await client.get('/readyz').catch(() => undefined);
      if (ready?.status === 200) return { child, port, ca: readFileSync(join(localDir, 'ca.crt'), 'utf8'), client, exited, stderr: () => stderr, stdout: () => stdout };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start: ${stderr}`);
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

interface Attempt {
  readonly started: number;
  readonly ended: number;
  /** 'ok' for a 200 allowing the pod, else the status or the client's error code. */
  readonly outcome: string;
  /** The response's Connection header. */
  readonly connection: string | undefined;
}

/**
 * Four clients sending reviews in a loop until `stop()`: two keep their connection (keep-alive,
 * reconnecting when told to close), two open a new connection for every review.
 */
function loadOf(port: number, ca: string, body: unknown): { attempts: Attempt[]; stop(): Promise<void> } {
  const attempts: Attempt[] = [];
  let stopping = false;
  const text = JSON.stringify(body);
  const one = async (agent: Agent): Promise<void> => {
    const started = Date.now();
    try {
      const res = await request(`https://127.0.0.1:${port}/validate`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: text });
      const json = (await res.body.json()) as { response?: { allowed?: boolean } };
      const connection = res.headers['connection'];
      attempts.push({ started, ended: Date.now(), outcome: res.statusCode === 200 && json.response?.allowed === true ? 'ok' : String(res.statusCode), connection: typeof connection === 'string' ? connection : undefined });
    } catch (e) {
      const error = e as Error & { code?: string };
      attempts.push({ started, ended: Date.now(), outcome: error.code ?? error.message, connection: undefined });
    }
  };
  const loops = [0, 1, 2, 3].map(async (i) => {
    const keep = i < 2 ? new Agent({ connect: { ca }, keepAliveTimeout: 30_000 }) : undefined;
    while (!stopping) {
      const agent = keep ?? new Agent({ connect: { ca } });
      await one(agent);
      if (!keep) await agent.close();
      await new Promise((r) => setTimeout(r, 5));
    }
    await keep?.close();
  });
  return {
    attempts,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
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

  test('SIGTERM with --drain-period 0: in-flight reviews are answered and logged, new connections refused, exit 0', async () => {
    const hostile = await startHostileRegistry();
    hostile.on('GET', '/v2/slow/app/manifests/v1', { kind: 'stall' });
    const policyPath = writePolicy(dir, hostile.host);
    const server = await startBinary(dir, policyPath, ['--timeout-seconds', '2', '--drain-period', '0', '--insecure-registry', hostile.host]);
    try {
      const review = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${hostile.host}/slow/app:v1` }] }) });
      const inFlight = server.client.post('/validate', review);
      await new Promise((r) => setTimeout(r, 300));
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      const fresh = webhookClient(`https://127.0.0.1:${server.port}`, server.ca);
      const refused = await fresh.get('/healthz').then(
        (r) => `status ${r.status}`,
        (e: Error & { code?: string }) => e.code ?? e.message,
      );
      await fresh.close();
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.json)).toContain('TIMEOUT');
      expect(refused).toBe('ECONNREFUSED');
      expect(await server.exited).toBe(0);
      expect(server.stderr()).toContain('SIGTERM received, finishing in-flight reviews after a drain of 0 ms');
      // Decision lines are batched; the one for the review answered during shutdown is still written.
      const decisions = server
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"admission decision"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(decisions).toContainEqual(expect.objectContaining({ uid: (review['request'] as { uid: string }).uid, verdict: 'denied', reason: 'TIMEOUT' }));
      await server.client.close();
    } finally {
      server.child.kill('SIGKILL');
      await hostile.close();
    }
  }, 30_000);

  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s under continuous load: /readyz 503 at once, every review answered through the drain, connections told to close, exit 0 after drain and in-flight',
    async (signal) => {
      const hostile = await startHostileRegistry();
      hostile.on('GET', '/v2/slow/app/manifests/v1', { kind: 'stall' });
      const policyPath = writePolicy(dir, hostile.host);
      const drainMs = 2500;
      const server = await startBinary(dir, policyPath, ['--timeout-seconds', '2', '--drain-period', '2500ms', '--insecure-registry', hostile.host]);
      const fast = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: 'example.com/tools/x:1' }] }) });
      const slow = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${hostile.host}/slow/app:v1` }] }) });
      const load = loadOf(server.port, server.ca, fast);
      try {
        await new Promise((r) => setTimeout(r, 500));
        const sent = Date.now();
        server.child.kill(signal);
        // Readiness, on fresh connections, until the listener closes.
        const readiness: { at: number; status: number | string }[] = [];
        const probing = (async () => {
          while (Date.now() - sent < drainMs + 1000) {
            const agent = new Agent({ connect: { ca: server.ca } });
            const at = Date.now() - sent;
            const status = await request(`https://127.0.0.1:${server.port}/readyz`, { dispatcher: agent }).then(
              async (r) => (await r.body.text(), r.statusCode),
              (e: Error & { code?: string }) => e.code ?? e.message,
            );
            readiness.push({ at, status });
            await agent.close();
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        // A review still in flight when the drain ends: it is answered (TIMEOUT at its 1.6 s budget) before the exit.
        await new Promise((r) => setTimeout(r, drainMs - 800));
        const inFlight = webhookClient(`https://127.0.0.1:${server.port}`, server.ca);
        const lastReview = inFlight.post('/validate', slow);
        const code = await server.exited;
        const exitedAfter = Date.now() - sent;
        await probing;
        await load.stop();
        const answer = await lastReview;
        await inFlight.close();

        expect(code).toBe(0);
        expect(gone(server.child.pid!)).toBe(true);
        expect(server.stderr()).toContain(`${signal} received, finishing in-flight reviews after a drain of ${drainMs} ms`);
        // Gone once the drain and the in-flight review (1.6 s from drainMs - 800) are over, not before, and promptly.
        expect(exitedAfter).toBeGreaterThanOrEqual(drainMs + 700);
        expect(exitedAfter).toBeLessThan(drainMs + 3000);
        expect(answer.status).toBe(200);
        expect(JSON.stringify(answer.json)).toContain('TIMEOUT');

        // Not ready at once, and for the whole drain; then nothing listens.
        const duringDrain = readiness.filter((p) => p.at < drainMs - 100);
        expect(duringDrain.length).toBeGreaterThan(10);
        expect(new Set(duringDrain.map((p) => p.status))).toEqual(new Set([503]));
        expect(readiness.filter((p) => p.at > drainMs + 300).every((p) => p.status === 'ECONNREFUSED')).toBe(true);

        // Every review started before the drain's end was answered; those during the drain asked to close the connection.
        const before = load.attempts.filter((a) => a.ended < sent);
        const drained = load.attempts.filter((a) => a.started >= sent && a.started < sent + drainMs - 250);
        expect(before.length).toBeGreaterThan(10);
        expect(drained.length).toBeGreaterThan(40);
        expect(drained.filter((a) => a.outcome !== 'ok')).toEqual([]);
        expect(load.attempts.filter((a) => a.started < sent + drainMs - 250).filter((a) => a.outcome !== 'ok')).toEqual([]);
        expect(drained.filter((a) => a.started > sent + 100).every((a) => a.connection === 'close')).toBe(true);
        expect(before.every((a) => a.connection !== 'close')).toBe(true);
      } finally {
        await load.stop();
        server.child.kill('SIGKILL');
        await server.client.close();
        await hostile.close();
      }
    },
    40_000,
  );

  test('a second SIGTERM during a long drain ends it at once: in-flight reviews get at most a second, exit 0', async () => {
    const hostile = await startHostileRegistry();
    hostile.on('GET', '/v2/slow/app/manifests/v1', { kind: 'stall' });
    const policyPath = writePolicy(dir, hostile.host);
    const server = await startBinary(dir, policyPath, ['--timeout-seconds', '20', '--drain-period', '60s', '--insecure-registry', hostile.host]);
    try {
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      // Still serving, not ready; a review that will not finish for 16 s is in flight.
      expect((await server.client.get('/healthz')).status).toBe(200);
      expect((await server.client.get('/readyz')).status).toBe(503);
      const slow = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${hostile.host}/slow/app:v1` }] }) });
      const inFlight = server.client.post('/validate', slow).catch((e: Error & { code?: string }) => ({ status: e.code ?? e.message }));
      await new Promise((r) => setTimeout(r, 300));
      const second = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      const took = Date.now() - second;
      // At most HURRY_MS for the review, and a second more for what still holds the process.
      expect(took).toBeLessThan(3500);
      expect(gone(server.child.pid!)).toBe(true);
      expect(server.stderr()).toContain('SIGTERM received again, stopping now: in-flight reviews get at most 1 s');
      // Cut after its second: the client sees the connection end, not an answer.
      expect((await inFlight).status).not.toBe(200);
    } finally {
      server.child.kill('SIGKILL');
      await server.client.close();
      await hostile.close();
    }
  }, 30_000);
});

describe('signet serve --drain-period', () => {
  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['serve', ...args], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: { HOME: '/nonexistent' },
    });
    return { code, stdout, stderr };
  };

  test('is documented in --help, with its default', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('[--drain-period 5s]');
    expect(help.stdout).toContain('On SIGTERM or SIGINT: /readyz answers 503 at once while reviews are still served for --drain-period');
  });

  test.each(['abc', '5m', '301s', '300001ms', '1e3', '-1s', ''])('%p is refused with a usage error (exit 2), before anything listens', async (value) => {
    const r = await run(['--policy', '/nonexistent/policy.yaml', '--local', '--local-dir', '/nonexistent/never', '--port', '0', `--drain-period=${value}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`signet serve: --drain-period must be a duration from 0s to 300s such as 5s or 500ms, got "${value}"`);
  });
});
