// `signet serve`: run the webhook. With --local (or no TLS files) it makes its own CA for trying
// things on a laptop; in a cluster the chart gives it certificate files.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HURRY_MS, startServer } from '../server/serve.js';
import type { TrustSourceConfig } from '../trust/source.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';
import { REGISTRY_FLAGS, registryOptions } from './registry-options.js';

export const SERVE_USAGE = `Usage: signet serve (--policy FILE | --policy-dir DIR | --kube --namespace NS [--tenants] [--events] [--pull-secrets] [--warm-up] [--kubeconfig FILE])
                    [--tls-cert FILE --tls-key FILE | --local]
                    [--host 0.0.0.0] [--port 8443] [--timeout-seconds 10] [--body-limit 4194304] [--drain-period 5s]
                    [--reload-interval 5] [--tag-ttl 30] [--verdict-ttl 600] [--negative-ttl 5] [--insecure-registry HOST]... [--ca-file FILE] [--docker-config FILE]
                    [--registry-qps 50] [--registry-burst 100] [--registry-concurrency 16]
                    [--shared-cache redis://HOST:PORT --shared-cache-key-file FILE [--shared-cache-ca-file FILE]]
Trust: a policy file; a mounted ConfigMap directory (policy.yaml plus key files); or ConfigMaps labelled
signet.dev/trust=cluster in NS watched through the API (--tenants: also signet.dev/trust=tenant in any namespace).
Environment: SIGNET_POLICY, POD_NAMESPACE, SIGNET_TLS_CERT, SIGNET_TLS_KEY, SIGNET_PORT, SIGNET_LOG_LEVEL, SIGNET_INSECURE_REGISTRIES.
Without TLS files, a CA and certificate for localhost are generated into --local-dir (default .signet-local).
Registry politeness, per registry host: at most --registry-concurrency requests in flight (up to 1000 more wait
in line; beyond that a lookup fails RATE_LIMITED at once), and a request rate of --registry-qps with bursts of
--registry-burst. A 429 pauses every request to that host until its Retry-After has passed.
A body over --body-limit gets 413 once it has been read (up to 4 times the limit, at least 64 MiB, within
--timeout-seconds; beyond that the connection is cut); a body naming a member twice in one object gets 400.
On SIGTERM or SIGINT: /readyz answers 503 at once while reviews are still served for --drain-period (a duration
such as 5s or 500ms, or seconds; 0 for none), each response asking its client to reconnect elsewhere; then no new
connections, in-flight reviews finish (within --timeout-seconds), exit 0. A second signal ends the drain at once
and gives in-flight reviews at most 1 s.
With --shared-cache, replicas share what they fetch from registries through Redis or Valkey (redis:// or rediss://);
every entry is sealed with the key in --shared-cache-key-file (at least 32 bytes, the same for every replica), and
the password comes from SIGNET_SHARED_CACHE_PASSWORD (or the URL). Redis trouble costs latency, never a review.`;

export async function serveCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      policy: { type: 'string' },
      'policy-dir': { type: 'string' },
      kube: { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      tenants: { type: 'boolean', default: false },
      events: { type: 'boolean', default: false },
      'pull-secrets': { type: 'boolean', default: false },
      'warm-up': { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      local: { type: 'boolean', default: false },
      'local-dir': { type: 'string', default: '.signet-local' },
      host: { type: 'string' },
      port: { type: 'string' },
      'timeout-seconds': { type: 'string', default: '10' },
      'body-limit': { type: 'string', default: String(4 * 1024 * 1024) },
      'drain-period': { type: 'string', default: '5s' },
      'reload-interval': { type: 'string', default: '5' },
      'tag-ttl': { type: 'string', default: '30' },
      'verdict-ttl': { type: 'string', default: '600' },
      'negative-ttl': { type: 'string', default: '5' },
      'registry-qps': { type: 'string', default: '50' },
      'registry-burst': { type: 'string', default: '100' },
      'registry-concurrency': { type: 'string', default: '16' },
      'shared-cache': { type: 'string' },
      'shared-cache-key-file': { type: 'string' },
      'shared-cache-ca-file': { type: 'string' },
      ...REGISTRY_FLAGS,
    },
  });
  const policyPath = values.policy ?? io.env['SIGNET_POLICY'];
  const policyDir = values['policy-dir'];
  const sources = [policyPath !== undefined, policyDir !== undefined, values.kube].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('serve needs exactly one trust source: --policy FILE, --policy-dir DIR (a mounted ConfigMap) or --kube');
  const ownNamespace = values.namespace ?? io.env['POD_NAMESPACE'];
  if (values.kube && !ownNamespace) throw new UsageError('--kube needs --namespace NS (or POD_NAMESPACE): where the cluster trust ConfigMaps live');
  if ((values.tenants || values.events || values['pull-secrets'] || values['warm-up']) && !values.kube) throw new UsageError('--tenants, --events, --pull-secrets and --warm-up need --kube');
  let trust: TrustSourceConfig;
  if (values.kube) {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
    else kubeConfig.loadFromCluster();
    trust = { kind: 'kube', kubeConfig, namespace: ownNamespace!, tenants: values.tenants };
  } else if (policyDir !== undefined) {
    trust = { kind: 'directory', dir: policyDir };
  } else {
    trust = { kind: 'file', path: policyPath! };
  }
  const cert = values['tls-cert'] ?? io.env['SIGNET_TLS_CERT'];
  const key = values['tls-key'] ?? io.env['SIGNET_TLS_KEY'];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const timeoutSeconds = number(values['timeout-seconds'], '--timeout-seconds', 1, 30);
  const port = integer(values.port ?? io.env['SIGNET_PORT'] ?? '8443', '--port', 0, 65535);
  const drainMs = duration(values['drain-period'], '--drain-period', 300);
  const host = values.host ?? (cert ? '0.0.0.0' : '127.0.0.1');
  const concurrency = integer(values['registry-concurrency'], '--registry-concurrency', 1, 1024);
  const politeness = {
    maxRequestsPerSecond: number(values['registry-qps'], '--registry-qps', 0.1, 10_000),
    burst: integer(values['registry-burst'], '--registry-burst', 1, 100_000),
    maxConcurrentRequests: concurrency,
    // As many connections as requests allowed in flight, so the cap is the only limit.
    connectionsPerHost: concurrency,
  };

  const sharedCache = sharedCacheOptions(values['shared-cache'] ?? io.env['SIGNET_SHARED_CACHE'], values['shared-cache-key-file'] ?? io.env['SIGNET_SHARED_CACHE_KEY_FILE'], values['shared-cache-ca-file'], io.env);

  const server = await startServer({
    host,
    port,
    trust,
    ...(ownNamespace ? { ownNamespace } : {}),
    events: values.events,
    pullSecrets: values['pull-secrets'],
    warmUp: values['warm-up'],
    tls: cert && key ? { kind: 'files', certPath: cert, keyPath: key } : { kind: 'self-signed', dir: values['local-dir'], hosts: ['localhost', '127.0.0.1'] },
    timeoutSeconds,
    ...(io.env['SIGNET_LOG_LEVEL'] ? { logLevel: io.env['SIGNET_LOG_LEVEL'] } : {}),
    budgetFraction: 0.8,
    bodyLimitBytes: integer(values['body-limit'], '--body-limit', 1024, 64 * 1024 * 1024),
    registry: { ...registryOptions(values, io.env), ...politeness },
    ...(sharedCache ? { sharedCache } : {}),
    reloadIntervalMs: number(values['reload-interval'], '--reload-interval', 0.05, 3600) * 1000,
    cache: {
      tagTtlMs: number(values['tag-ttl'], '--tag-ttl', 0.001, 86400) * 1000,
      verdictTtlMs: number(values['verdict-ttl'], '--verdict-ttl', 0.001, 86400) * 1000,
      negativeTtlMs: number(values['negative-ttl'], '--negative-ttl', 0.001, 3600) * 1000,
    },
  });
  let onSignal: ((signal: string) => void) | undefined;
  await new Promise<void>((resolveStop) => {
    let received = 0;
    onSignal = (signal: string): void => {
      received++;
      if (received === 1) {
        io.stderr(`signet: ${signal} received, finishing in-flight reviews after a drain of ${drainMs} ms (not ready, still serving)\n`);
        void server.shutdown(drainMs).then(resolveStop);
      } else if (received === 2) {
        io.stderr(`signet: ${signal} received again, stopping now: in-flight reviews get at most 1 s\n`);
        server.hurry();
        // What may still hold the process after that (a registry connection to a stalled server, closed
        // gracefully for up to 2 s) does not keep it from ending.
        setTimeout(() => process.exit(EXIT_OK), HURRY_MS + 1000).unref();
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  if (onSignal) {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  }
  return EXIT_OK;
}

/** A duration flag: `5s`, `500ms` or a number of seconds; from 0 to maxSeconds. In ms. */
function duration(raw: string, flag: string, maxSeconds: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw);
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : 1000) : NaN;
  if (!Number.isFinite(ms) || ms > maxSeconds * 1000) throw new UsageError(`${flag} must be a duration from 0s to ${maxSeconds}s such as 5s or 500ms, got "${raw}"`);
  return Math.round(ms);
}

/** The shared cache's settings, or undefined when it is off; the key is read here (a mounted Secret). */
function sharedCacheOptions(url: string | undefined, keyFile: string | undefined, caFile: string | undefined, env: NodeJS.ProcessEnv): { url: string; hmacKey: Buffer; password?: string; caBundle?: string } | undefined {
  if (url === undefined) {
    if (keyFile !== undefined || caFile !== undefined) throw new UsageError('--shared-cache-key-file and --shared-cache-ca-file need --shared-cache URL');
    return undefined;
  }
  if (keyFile === undefined) throw new UsageError('--shared-cache needs --shared-cache-key-file FILE: the key every replica seals and checks shared entries with (at least 32 bytes, from a Secret)');
  const hmacKey = readSmallFile(keyFile, '--shared-cache-key-file');
  // A key file written with a trailing newline (echo, kubectl create secret --from-file) means the same key.
  const trimmed = Buffer.from(hmacKey.toString('latin1').replace(/\r?\n$/, ''), 'latin1');
  if (trimmed.length < 32) throw new UsageError(`--shared-cache-key-file ${keyFile} holds ${trimmed.length} bytes; the key must be at least 32 bytes (e.g. head -c 32 /dev/urandom | base64)`);
  const password = env['SIGNET_SHARED_CACHE_PASSWORD'];
  return {
    url,
    hmacKey: trimmed,
    ...(password !== undefined && password !== '' ? { password } : {}),
    ...(caFile !== undefined ? { caBundle: readSmallFile(caFile, '--shared-cache-ca-file').toString('utf8') } : {}),
  };
}

function readSmallFile(path: string, flag: string): Buffer {
  try {
    const bytes = readFileSync(path);
    if (bytes.length > 1024 * 1024) throw new UsageError(`${flag} ${path} is larger than 1 MiB`);
    return bytes;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${flag} ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function number(raw: string, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} must be a number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function integer(raw: string, flag: string, min: number, max: number): number {
  const n = number(raw, flag, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}
