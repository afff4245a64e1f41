// A logging HTTP proxy in front of the registry, run as its own process: it forwards every request
// unchanged (Host included, so upload Locations point back at the proxy) and records what it saw,
// so the benchmark can count the webhook's registry round trips independently of its /metrics.
//
//   node registry-proxy.js --upstream 127.0.0.1:5000
//   → prints {"port": N} on its first stdout line
//   GET /__proxy/log?since=SEQ  → {next, total, byKind, first: [...up to 50 entries]}
import { Agent, createServer, request as upstreamRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

interface Entry {
  readonly seq: number;
  readonly method: string;
  readonly kind: string;
  readonly path: string;
  readonly status: number;
  readonly ms: number;
}

/** Old entries are dropped past this many; the counters stay exact. */
const MAX_ENTRIES = 100_000;
const LOG_PAGE = 50;
const UPSTREAM_TIMEOUT_MS = 30_000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

const { values } = parseArgs({ options: { upstream: { type: 'string' } } });
const upstream = values.upstream;
if (upstream === undefined || !/^127\.0\.0\.1:\d{1,5}$/.test(upstream)) {
  process.stderr.write('registry-proxy: --upstream 127.0.0.1:PORT is required (loopback only)\n');
  process.exit(2);
}
const [upstreamHost, upstreamPort] = upstream.split(':') as [string, string];
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

const entries: Entry[] = [];
let seq = 0;

/** The registry API call a path is, named the way the report talks about round trips. */
function kindOf(method: string, path: string): string {
  const p = path.split('?')[0] ?? path;
  if (p === '/v2/' || p === '/v2') return `${method} ping`;
  const manifest = /^\/v2\/.+\/manifests\/([^/]+)$/.exec(p);
  if (manifest) {
    const ref = decodeURIComponent(manifest[1]!);
    const what = ref.includes(':') ? 'manifest by digest' : ref.endsWith('.sig') ? 'signature manifest (.sig tag)' : ref.startsWith('sha256-') ? 'referrers tag' : 'manifest by tag';
    return `${method} ${what}`;
  }
  if (/^\/v2\/.+\/blobs\/uploads\//.test(p)) return `${method} blob upload`;
  if (/^\/v2\/.+\/blobs\/[^/]+$/.test(p)) return `${method} blob`;
  if (/^\/v2\/.+\/referrers\//.test(p)) return `${method} referrers`;
  return `${method} other`;
}

function record(method: string, path: string, status: number, started: bigint): void {
  seq += 1;
  entries.push({ seq, method, kind: kindOf(method, path), path, status, ms: Number(process.hrtime.bigint() - started) / 1e6 });
  if (entries.length > MAX_ENTRIES) entries.splice(0, entries.length - MAX_ENTRIES);
}

function forwardHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function serveLog(req: IncomingMessage, res: ServerResponse): void {
  const since = Number(new URL(req.url ?? '/', 'http://proxy').searchParams.get('since') ?? '0');
  const newer = entries.filter((e) => e.seq > since);
  const byKind: Record<string, number> = {};
  for (const e of newer) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ next: seq, total: seq - since, byKind, first: newer.slice(0, LOG_PAGE) }));
}

const server = createServer((req, res) => {
  const path = req.url ?? '/';
  const method = req.method ?? 'GET';
  if (path.startsWith('/__proxy/log')) return serveLog(req, res);
  const started = process.hrtime.bigint();
  const out = upstreamRequest(
    { host: upstreamHost, port: Number(upstreamPort), method, path, headers: forwardHeaders(req.headers), agent, timeout: UPSTREAM_TIMEOUT_MS },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
      answer.pipe(res);
      answer.once('end', () => record(method, path, answer.statusCode ?? 502, started));
    },
  );
  out.once('timeout', () => out.destroy(new Error('upstream timed out')));
  out.once('error', (e) => {
    record(method, path, 502, started);
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`registry-proxy: ${e.message}`);
  });
  req.pipe(out);
});
server.keepAliveTimeout = 60_000;

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
