// The processes under test and the clients that talk to them: the webhook as `node dist/cli.js serve`
// (exactly what an operator runs), the fastify ceiling server, the registry's logging proxy, and an
// HTTPS client that sends AdmissionReviews and reads the verdict.
import { join } from 'node:path';
import { Pool, Agent, request } from 'undici';
import { freePort } from '../test/support/free-port.js';
import { memoryOf, spawnAnnouncing, spawnNode, type Child } from './processes.js';
import { parseMetrics, type Sample } from './metrics.js';

const READY_TIMEOUT_MS = 20_000;
const START_ATTEMPTS = 3;
const REQUEST_TIMEOUT_MS = 30_000;

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  /** The CA that signed the serving certificate; every client trusts only this. */
  readonly caPem: string;
}

export interface ServerUnderTest {
  readonly name: string;
  readonly child: Child;
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  stop(): Promise<void>;
}

export interface Webhook extends ServerUnderTest {
  /** A scrape of /metrics, parsed. */
  metrics(): Promise<Sample[]>;
  memory(): { rss: number; peak: number };
}

export interface WebhookStart {
  readonly root: string;
  readonly name: string;
  readonly policyPath: string;
  readonly tls: TlsFiles;
  /** The registry host[:port] the pods name, reached over plain HTTP. */
  readonly registryHost: string;
  readonly logDir: string;
  /** An empty folder, so no credentials from the user's ~/.docker are used. */
  readonly dockerConfigDir: string;
  readonly logLevel: string;
  /** Extra node flags for the webhook process (e.g. --cpu-prof when profiling). */
  readonly nodeArgs: readonly string[];
  /** Extra `signet serve` flags (e.g. the shared cache's). */
  readonly serveArgs?: readonly string[];
}

/** Environment for children: what node needs, nothing from the Makefile's NODE_OPTIONS (production runs plain node). */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...extra };
}

export async function startWebhook(o: WebhookStart): Promise<Webhook> {
  const logFile = join(o.logDir, `${o.name}.log`);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnNode({
      name: o.name,
      logFile,
      env: childEnv({ DOCKER_CONFIG: o.dockerConfigDir, SIGNET_LOG_LEVEL: o.logLevel }),
      // No drain: the bench stops webhooks between sections and nothing routes to them then (a drain
      // would outlast the harness's SIGKILL grace and lose --cpu-prof profiles).
      args: [...o.nodeArgs, join(o.root, 'dist', 'cli.js'), 'serve', '--registry-qps', '10000', '--registry-burst', '10000', '--policy', o.policyPath, '--tls-cert', o.tls.certPath, '--tls-key', o.tls.keyPath,
        '--host', '127.0.0.1', '--port', String(port), '--insecure-registry', o.registryHost, '--drain-period', '0', ...(o.serveArgs ?? [])],
    });
    const url = `https://127.0.0.1:${port}`;
    const control = new Agent({ connect: { ca: o.tls.caPem }, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
    try {
      await waitReady(`${url}/readyz`, control, child);
    } catch (error) {
      await child.stop();
      await control.close();
      if (attempt < START_ATTEMPTS && /EADDRINUSE/.test(child.output())) continue;
      throw error;
    }
    return {
      name: o.name,
      child,
      url,
      metrics: async () => {
        const response = await request(`${url}/metrics`, { dispatcher: control });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`${o.name} /metrics answered ${response.statusCode}`);
        return parseMetrics(text);
      },
      memory: () => memoryOf(child.pid),
      stop: async () => {
        await control.close();
        await child.stop();
      },
    };
  }
}

export async function startBaseline(root: string, tls: TlsFiles, logDir: string, nodeArgs: readonly string[] = []): Promise<ServerUnderTest> {
  const { child, announcement } = await spawnAnnouncing(
    {
      name: 'baseline',
      logFile: join(logDir, 'baseline.log'),
      env: childEnv({}),
      args: [...nodeArgs, join(root, 'dist-bench', 'bench', 'baseline-server.js'), '--tls-cert', tls.certPath, '--tls-key', tls.keyPath],
    },
    READY_TIMEOUT_MS,
  );
  const url = `https://127.0.0.1:${String(announcement['port'])}`;
  const control = new Agent({ connect: { ca: tls.caPem } });
  try {
    await waitReady(`${url}/healthz`, control, child);
  } finally {
    await control.close();
  }
  return { name: 'fastify baseline', child, url, stop: () => child.stop() };
}

export interface RegistryProxy {
  /** `127.0.0.1:PORT`, the registry name every image reference uses. */
  readonly host: string;
  readonly child: Child;
  /** The sequence number of the last request seen; pass it to since(). */
  mark(): Promise<number>;
  since(mark: number): Promise<ProxyWindow>;
  stop(): Promise<void>;
}

export interface ProxyWindow {
  readonly total: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly first: readonly { readonly method: string; readonly kind: string; readonly path: string; readonly status: number; readonly ms: number }[];
}

export async function startRegistryProxy(root: string, upstreamHost: string, logDir: string): Promise<RegistryProxy> {
  const { child, announcement } = await spawnAnnouncing(
    { name: 'registry-proxy', logFile: join(logDir, 'registry-proxy.log'), env: childEnv({}), args: [join(root, 'dist-bench', 'bench', 'registry-proxy.js'), '--upstream', upstreamHost] },
    READY_TIMEOUT_MS,
  );
  const host = `127.0.0.1:${String(announcement['port'])}`;
  const dispatcher = new Agent({ headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  const window = async (since: number): Promise<ProxyWindow & { next: number }> => {
    const response = await request(`http://${host}/__proxy/log?since=${since}`, { dispatcher });
    if (response.statusCode !== 200) throw new Error(`registry proxy log answered ${response.statusCode}`);
    return (await response.body.json()) as ProxyWindow & { next: number };
  };
  return {
    host,
    child,
    mark: async () => (await window(Number.MAX_SAFE_INTEGER)).next,
    since: window,
    stop: async () => {
      await dispatcher.close();
      await child.stop();
    },
  };
}

async function waitReady(url: string, dispatcher: Agent, child: Child): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) throw new Error(`${child.name} exited while starting: ${child.output()}`);
    try {
      const response = await request(url, { dispatcher, headersTimeout: 1000, bodyTimeout: 1000 });
      last = `${response.statusCode} ${await response.body.text()}`;
      if (response.statusCode === 200) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${child.name} was not ready at ${url} within ${READY_TIMEOUT_MS} ms (${last}): ${child.output()}`);
}

export interface ReviewOutcome {
  /** From just before sending to the parsed answer. */
  readonly ms: number;
  readonly allowed: boolean;
  /** Status message of a denial, for the report. */
  readonly message: string | undefined;
  /** Wall-clock instant (performance.now()) the answer was complete. */
  readonly finishedAt: number;
}

/** Keep-alive HTTPS client for /validate with a fixed number of connections. */
export class Reviewer {
  readonly #pool: Pool;

  constructor(url: string, caPem: string, connections: number) {
    this.#pool = new Pool(url, { connections, pipelining: 1, connect: { ca: caPem }, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  }

  /** Opens up to `count` connections (TLS handshakes done) by sending that many concurrent health checks. */
  async open(count: number): Promise<number> {
    await Promise.all(
      Array.from({ length: count }, async () => {
        const response = await this.#pool.request({ method: 'GET', path: '/healthz' });
        await response.body.dump();
      }),
    );
    return this.#pool.stats.connected;
  }

  async review(body: string): Promise<ReviewOutcome> {
    const started = performance.now();
    const response = await this.#pool.request({ method: 'POST', path: '/validate', headers: { 'content-type': 'application/json' }, body });
    const text = await response.body.text();
    const finishedAt = performance.now();
    if (response.statusCode !== 200) throw new Error(`/validate answered ${response.statusCode}: ${text.slice(0, 500)}`);
    const answer = JSON.parse(text) as { response?: { allowed?: unknown; status?: { message?: unknown } } };
    const message = answer.response?.status?.message;
    return { ms: finishedAt - started, allowed: answer.response?.allowed === true, message: typeof message === 'string' ? message : undefined, finishedAt };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
