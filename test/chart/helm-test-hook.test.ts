// The `helm test` script (charts/signet/files/helm-test.cjs) run by Node as the test Pod runs it, against
// an API server stand-in that does what kube-apiserver does with a dry-run Pod create: it sends an
// AdmissionReview to the real Signet webhook (src/server, started by test/support/webhook-server.ts)
// with the chart's default policy or an enforcing one, and turns the answer into a 403 Status naming
// the webhook, or a 201 with the warnings as Warning headers. Canned answers cover what Signet never
// says (another webhook's denial, silence).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admissionReview } from '../support/admission.js';
import { makeCertificates, type TestCertificates } from '../support/tls.js';
import { startWebhookServer, type TestWebhook } from '../support/webhook-server.js';
import { at, CHART_DIR, readDefaultValues } from './support/helm.js';

const SCRIPT = join(CHART_DIR, 'files/helm-test.cjs');
const TOKEN = 'helm-test-token';
const IMAGE = at(readDefaultValues(), 'tests', 'image') as string;

interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly warnings?: readonly string[];
}

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: { metadata: { namespace: string }; spec: { containers: { image: string }[] } };
}

/** What kube-apiserver answers after a validating webhook named verify-images.signet.dev replied. */
async function throughSignet(hook: TestWebhook, pod: SeenRequest['body']): Promise<ApiAnswer> {
  const review = admissionReview({ kind: 'Pod', namespace: pod.metadata.namespace, name: 'signet-helm-test-x', object: pod as never, dryRun: true });
  const reply = await hook.client.post('/validate', review);
  const response = at(reply.json, 'response') as { allowed: boolean; status?: { message?: string }; warnings?: string[] };
  if (!response.allowed) {
    const message = `admission webhook "verify-images.signet.dev" denied the request: ${response.status?.message ?? ''}`;
    return { status: 403, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'Forbidden', code: 403 } };
  }
  return { status: 201, body: { ...pod, metadata: { ...pod.metadata, name: 'signet-helm-test-x' } }, ...(response.warnings ? { warnings: response.warnings } : {}) };
}

describe('the `helm test` script', () => {
  let dir: string;
  let certs: TestCertificates;
  let server: Server;
  let port: number;
  let answer: (request: SeenRequest) => Promise<ApiAnswer>;
  const seen: SeenRequest[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-helm-test-'));
    certs = await makeCertificates(dir);
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    server = createServer({ cert: readFileSync(certs.certPath), key: readFileSync(certs.keyPath) }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const seenRequest: SeenRequest = { method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SeenRequest['body'] };
        seen.push(seenRequest);
        void answer(seenRequest).then((reply) => {
          const headers: Record<string, string | string[]> = { 'content-type': 'application/json' };
          if (reply.warnings) headers['warning'] = reply.warnings.map((w) => `299 - ${JSON.stringify(w)}`);
          response.writeHead(reply.status, headers);
          response.end(JSON.stringify(reply.body));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  function runScript(env: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [SCRIPT],
        {
          env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port), SERVICE_ACCOUNT_DIR: dir, TEST_NAMESPACE: 'default', TEST_IMAGE: IMAGE, ALLOW_WARNING: 'true', ...env },
          timeout: 30_000,
          encoding: 'utf8',
        },
        (error, stdout) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
  }

  async function withSignet<T>(policy: string, work: () => Promise<T>): Promise<T> {
    const policyPath = join(dir, 'policy.yaml');
    writeFileSync(policyPath, policy);
    const hook = await startWebhookServer({ policyPath, registry: {} });
    answer = (request) => throughSignet(hook, request.body);
    try {
      return await work();
    } finally {
      await hook.stop();
    }
  }

  it('passes when Signet denies the dry-run Pod (enforcing policy), having sent it as a dry run with the service account token', async () => {
    const enforcing = (at(readDefaultValues(), 'trust', 'policy') as string).replace('mode: warn', 'mode: enforce');
    const run = await withSignet(enforcing, () => runScript({ ALLOW_WARNING: 'false' }));
    expect(run.stdout).toMatch(/^PASS: Signet denied a Pod naming registry\.invalid\/signet\/helm-test:unsigned in namespace default: admission webhook "verify-images\.signet\.dev" denied the request: .*NO_MATCHING_RULE: no policy rule matches registry\.invalid\/signet\/helm-test/s);
    expect(run.code).toBe(0);
    const request = seen.at(-1)!;
    expect([request.method, request.url, request.authorization]).toEqual(['POST', '/api/v1/namespaces/default/pods?dryRun=All', `Bearer ${TOKEN}`]);
    expect(request.body.spec.containers.map((c) => c.image)).toEqual([IMAGE]);
  });

  it('with the chart’s default policy (warn mode) passes on Signet’s "would be denied" warning, and fails with allowWarning false', async () => {
    const policy = at(readDefaultValues(), 'trust', 'policy') as string;
    const warned = await withSignet(policy, () => runScript());
    expect(warned.stdout).toMatch(/^PASS: Signet would deny registry\.invalid\/signet\/helm-test:unsigned \(the policy only warns\): 299 - "signet warn: probe \(registry\.invalid\/signet\/helm-test:unsigned\) would be denied: NO_MATCHING_RULE/);
    expect(warned.code).toBe(0);
    const strict = await withSignet(policy, () => runScript({ ALLOW_WARNING: 'false' }));
    expect(strict.stdout).toMatch(/^FAIL: Signet only warned about registry\.invalid\/signet\/helm-test:unsigned \(the policy is in warn mode; tests\.allowWarning is false\)/);
    expect(strict.code).toBe(1);
  });

  it('fails when the Pod is admitted silently, naming the two likely causes', async () => {
    answer = (request) => Promise.resolve({ status: 201, body: request.body });
    const run = await runScript();
    expect(run.stdout).toBe(
      'FAIL: a Pod naming registry.invalid/signet/helm-test:unsigned in namespace default was admitted without a denial from verify-images.signet.dev: the webhook was not asked, or the policy admits that image (set tests.image to one it must refuse)\n',
    );
    expect(run.code).toBe(1);
  });

  it('fails on a denial by another webhook or any other error, quoting the API server', async () => {
    const message = 'admission webhook "validate.kyverno.svc" denied the request: no';
    answer = () => Promise.resolve({ status: 403, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code: 403 } });
    const run = await runScript();
    expect(run.stdout).toBe(`FAIL: the API server answered 403, not a denial by verify-images.signet.dev: ${message}\n`);
    expect(run.code).toBe(1);
  });

  it('fails at once, with the reason, when tests.namespace is exempt', async () => {
    const before = seen.length;
    const run = await runScript({ NOT_COVERED: 'tests.namespace (default) is exempt from Signet' });
    expect(run.stdout).toBe('FAIL: tests.namespace (default) is exempt from Signet\n');
    expect(run.code).toBe(1);
    expect(seen.length).toBe(before);
  });

  it('fails with the reason when the API server cannot be reached', async () => {
    const run = await runScript({ KUBERNETES_SERVICE_PORT: '1' });
    expect(run.stdout).toMatch(/^FAIL: cannot reach the API server: connect ECONNREFUSED 127\.0\.0\.1:1/);
    expect(run.code).toBe(1);
  });
});
