// `signet serve --body-limit`: its default (4 MiB, README's CLI table) and its bounds (1024 bytes to
// 64 MiB), through the real command: `signet serve` run in-process as the binary runs it, over HTTPS,
// stopped the way a SIGTERM stops it. Bodies are valid AdmissionReviews of exactly the size wanted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.js';
import { freePort } from '../support/free-port.js';
import { admissionReview } from '../support/admission.js';
import { webhookClient, type WebhookClient } from '../support/webhook-client.js';

const MiB = 1024 * 1024;
const DEFAULT_LIMIT = 4 * MiB;

/** An AdmissionReview of a ConfigMap (not checked: answered at once) whose JSON is exactly `bytes` long. */
function reviewOfSize(bytes: number): string {
  const build = (pad: string) => JSON.stringify(admissionReview({ kind: 'ConfigMap', name: 'big', namespace: 'shop', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'shop' }, data: { pad } } }));
  const base = Buffer.byteLength(build(''));
  if (bytes < base) throw new Error(`an AdmissionReview needs at least ${base} bytes`);
  const body = build('x'.repeat(bytes - base));
  if (Buffer.byteLength(body) !== bytes) throw new Error('size arithmetic');
  return body;
}

interface CliServer {
  readonly client: WebhookClient;
  post(bytes: number): Promise<{ status: number; json: unknown }>;
  stop(): Promise<{ code: number; stderr: string }>;
}

let dir: string;
let policyPath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'signet-body-limit-'));
  policyPath = join(dir, 'policy.yaml');
  writeFileSync(policyPath, 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: body-limit}\nrules: []\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `signet serve --policy ... --local ...` plus `extra`; resolves once it answers /readyz. */
async function serve(extra: string[]): Promise<CliServer> {
  const port = await freePort();
  const localDir = mkdtempSync(join(dir, 'local-'));
  let stderr = '';
  const before = new Set(process.listeners('SIGTERM'));
  const beforeInt = new Set(process.listeners('SIGINT'));
  let exited: { code: number } | { error: unknown } | undefined;
  const running = runCli(['serve', '--policy', policyPath, '--local', '--local-dir', localDir, '--port', String(port), ...extra], {
    stdout: () => undefined,
    stderr: (t) => {
      stderr += t;
    },
    env: { HOME: '/nonexistent', SIGNET_LOG_LEVEL: 'silent' }, // the tests read HTTP answers, not logs
  }).then(
    (code) => {
      exited = { code };
      return code;
    },
    (error: unknown) => {
      exited = { error };
      return -1;
    },
  );
  let client: WebhookClient | undefined;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) throw new Error(`signet serve ended before serving: ${JSON.stringify(exited)} ${stderr}`);
    if (Date.now() > deadline) throw new Error(`signet serve did not become ready: ${stderr}`);
    if (!client && existsSync(join(localDir, 'ca.crt'))) client = webhookClient(`https://127.0.0.1:${port}`, readFileSync(join(localDir, 'ca.crt'), 'utf8'));
    // Ready, and the command has installed its signal handlers (it does so right after listening).
    if (client && (await client.get('/readyz').catch(() => undefined))?.status === 200 && process.listeners('SIGTERM').some((l) => !before.has(l))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const ready = client;
  return {
    client: ready,
    post: async (bytes) => {
      const res = await ready.post('/validate', reviewOfSize(bytes));
      return { status: res.status, json: res.json };
    },
    stop: async () => {
      await ready.close();
      // What a SIGTERM does, without signalling the test process: the handlers the command installed.
      for (const listener of process.listeners('SIGINT').filter((l) => !beforeInt.has(l))) process.removeListener('SIGINT', listener);
      const added = process.listeners('SIGTERM').filter((l) => !before.has(l));
      for (const listener of added) process.removeListener('SIGTERM', listener);
      for (const listener of added) (listener as (signal: string) => void)('SIGTERM');
      const code = await running;
      return { code, stderr };
    },
  };
}

const expectAllowed = (answer: { status: number; json: unknown }) => {
  expect(answer.status).toBe(200);
  expect((answer.json as { response: { allowed: boolean } }).response.allowed).toBe(true);
};
const expectTooLarge = (answer: { status: number; json: unknown }, limit: number) => {
  expect(answer.status).toBe(413);
  expect(answer.json).toEqual({ error: 'PayloadTooLarge', message: `request body is larger than the limit of ${limit} bytes` });
};

describe('signet serve --body-limit', () => {
  test('default: a body of exactly 4 MiB is reviewed; one byte more gets 413', async () => {
    const server = await serve([]);
    try {
      expectAllowed(await server.post(DEFAULT_LIMIT));
      expectAllowed(await server.post(DEFAULT_LIMIT - 1000));
      expectTooLarge(await server.post(DEFAULT_LIMIT + 1), DEFAULT_LIMIT);
      expectTooLarge(await server.post(DEFAULT_LIMIT + 64 * 1024), DEFAULT_LIMIT);
      // The server stays up after refusing.
      expect((await server.client.get('/healthz')).status).toBe(200);
    } finally {
      const stopped = await server.stop();
      expect(stopped.code).toBe(0);
      expect(stopped.stderr).toContain('SIGTERM received, finishing in-flight reviews');
    }
  }, 60_000);

  test('the lower bound, 1024, is accepted and enforced', async () => {
    const server = await serve(['--body-limit', '1024']);
    try {
      expectAllowed(await server.post(1024));
      expectTooLarge(await server.post(1025), 1024);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  }, 60_000);

  test('the upper bound, 64 MiB, is accepted and enforced: a body over the default is reviewed', async () => {
    const server = await serve(['--body-limit', String(64 * MiB)]);
    try {
      expectAllowed(await server.post(DEFAULT_LIMIT + 1));
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  }, 60_000);

  test.each(['1023', String(64 * MiB + 1), '0', '-1', 'abc', '4MiB', '', 'Infinity', '1024.5'])('--body-limit %p is refused with a usage error (exit 2), before anything listens', async (value) => {
    let stderr = '';
    // `--body-limit=VALUE`: the form that also passes values starting with a dash.
    const code = await runCli(['serve', '--policy', policyPath, '--local', '--local-dir', join(dir, 'never'), '--port', '0', `--body-limit=${value}`], {
      stdout: () => undefined,
      stderr: (t) => {
        stderr += t;
      },
      env: { HOME: '/nonexistent' },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^signet serve: --body-limit must be a (whole )?number from 1024 to /);
    expect(stderr).toContain(`from 1024 to ${64 * MiB}, got "${value}"`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  test('a flag value that looks like a flag (--body-limit -1) is a usage error, not a crash', async () => {
    let stderr = '';
    const code = await runCli(['serve', '--policy', policyPath, '--local', '--local-dir', join(dir, 'never'), '--body-limit', '-1'], {
      stdout: () => undefined,
      stderr: (t) => {
        stderr += t;
      },
      env: { HOME: '/nonexistent' },
    });
    expect(code).toBe(2);
    expect(stderr).toContain("signet serve: Option '--body-limit' argument is ambiguous");
  });
});
