// Starts the webhook: TLS (files with rotation, or a generated local CA), the policy, the
// registry client and the HTTPS listener; and stops it gracefully: a drain (not ready, still
// serving, every connection told to close), then no new connections, then in-flight reviews
// finished within the review timeout. The only place that listens.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { CompiledPolicy } from '../policy/types.js';
import { RegistryClient } from '../registry/client.js';
import type { RegistryClientOptions } from '../registry/types.js';
import { ImagePipeline } from '../pipeline/image-pipeline.js';
import { addStateGauges, createMetrics, type Metrics } from '../telemetry/metrics.js';
import { createDecisionLog, flushOnExit, type DecisionLog } from '../telemetry/decision-log.js';
import { buildApp, type AppOptions } from './app.js';
import { generateSelfSignedTls } from './self-signed.js';
import { readTlsFiles, watchTlsFiles, type TlsWatcher } from './tls-files.js';
import { httpsOptions } from './tls-options.js';
import { startTrustSource, type RunningTrustSource, type TrustSourceConfig } from '../trust/source.js';
import { cachedLayered, verifyLayered } from '../pipeline/layered.js';
import type { NamespaceScope } from '../policy/scope.js';
import type { CompiledTrust } from '../trust/compose.js';
import type { EventRecorder } from '../kube/events.js';
import type { PullSecretProvider } from '../kube/pull-secrets.js';
import type { DeniedReview } from './denial-event.js';
import { openSharedCache, type OpenedSharedCache, type SharedCacheConfig } from './shared-cache.js';

export interface ServeConfig {
  readonly host: string;
  readonly port: number;
  /** A policy file (shorthand for trust: {kind: 'file'}). */
  readonly policyPath?: string;
  /** Where trust comes from; overrides policyPath. */
  readonly trust?: TrustSourceConfig;
  /** The webhook's own namespace: never checked, so a broken policy cannot block the webhook's recovery. */
  readonly ownNamespace?: string;
  /** Post Kubernetes Events on denials (Kubernetes trust source only). */
  readonly events?: boolean;
  /** Use each pod's imagePullSecrets (and its service account's) for its images (Kubernetes trust source only). */
  readonly pullSecrets?: boolean;
  /** Verify the images of running pods at start and on every trust change (Kubernetes trust source only). */
  readonly warmUp?: boolean;
  readonly tls: { readonly kind: 'files'; readonly certPath: string; readonly keyPath: string } | { readonly kind: 'self-signed'; readonly dir: string; readonly hosts: readonly string[] };
  readonly timeoutSeconds: number;
  readonly budgetFraction: number;
  readonly bodyLimitBytes: number;
  /** How much of an oversized body is read and discarded before the 413 (default: 4 × the limit, at least 64 MiB). */
  readonly bodyDiscardBytes?: number;
  /** How long a body may take to arrive (default: the timeout). */
  readonly bodyReadMs?: number;
  readonly registry: RegistryClientOptions;
  /** A cache shared with the other replicas (Redis or Valkey; ADR 0007). Off when undefined. */
  readonly sharedCache?: Omit<SharedCacheConfig, 'tagTtlMs'>;
  readonly reloadIntervalMs: number;
  /** Cache lifetimes (tag → digest, allowed verdicts, denials on the image's merits). */
  readonly cache?: { readonly tagTtlMs?: number; readonly verdictTtlMs?: number; readonly negativeTtlMs?: number; readonly maxEntries?: number };
  /** The clock (epoch ms) of the caches and of the time signatures are verified at. Default Date.now; tests inject one. */
  readonly now?: () => number;
  readonly logger?: Logger;
  /** Level of the logger made here when none is given (the CLI reads SIGNET_LOG_LEVEL). Default info. */
  readonly logLevel?: string;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  readonly metrics: Metrics;
  /** PEM of the CA clients must trust, when a self-signed CA was generated. */
  readonly caPem: string | undefined;
  policy(): CompiledPolicy | undefined;
  trust(): CompiledTrust | undefined;
  /** Stops accepting, lets in-flight reviews finish (within the timeout), then releases everything. */
  close(): Promise<void>;
  /**
   * What a stop signal starts: not ready at once (/readyz 503) while admission is still served for
   * `drainMs`, every response asking its client to close the connection so that it reconnects to
   * another replica; then close(). Called again, it hurries.
   */
  shutdown(drainMs: number): Promise<void>;
  /** Ends a drain under way at once and gives in-flight reviews at most HURRY_MS more. */
  hurry(): void;
  /** True from the start of shutdown() or close(). */
  draining(): boolean;
}

/** In-flight reviews get this long after hurry() before their connections are cut. */
export const HURRY_MS = 1000;

export async function startServer(config: ServeConfig): Promise<RunningServer> {
  const logging = startLogging(config);
  const { logger } = logging;
  const metrics = createMetrics();
  const tls = await tlsMaterial(config, logger);
  const kube = await kubeClients(config, logger);
  // Set once the pipeline exists; a trust change before that has nothing to warm yet.
  const warming: { warmUp?: WarmUp | undefined } = {};
  const source = await startTrust(config, metrics, logger, kube.recorder, () => warming.warmUp?.schedule());
  const shared = config.sharedCache ? openSharedCache({ ...config.sharedCache, tagTtlMs: config.cache?.tagTtlMs ?? 30_000 }, logger, metrics) : undefined;
  const { registry, pipeline } = startPipeline(config, metrics, shared);
  addStateGauges(metrics, { trustSourceHealthy: () => source.healthy(), registryWaiting: () => registry.waiting(), cacheSizes: () => pipeline.size });
  const stopping = new Stopping();
  const app = buildApp(appOptions(config, { ...logging, metrics, source, registry, pipeline, ...kube, tls: tls.material, draining: () => stopping.draining }));
  const tlsWatcher = watchServingCertificate(config, tls.material, app, logger);
  const warmUp = (warming.warmUp = await startWarmUp(config, source, pipeline, logger));

  await app.listen({ host: config.host, port: config.port });
  warmUp?.schedule();
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `https://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url }, 'signet is serving');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    stopping.draining = true;
    return (closing ??= closeServer(config, { ...logging, app, source, registry, shared, tlsWatcher, warmUp, recorder: kube.recorder, stopping }));
  };
  let shuttingDown: Promise<void> | undefined;
  const shutdown = async (drainMs: number): Promise<void> => {
    stopping.draining = true;
    logger.info({ drainMs }, 'shutting down: not ready; serving on for the drain period');
    await stopping.drain(drainMs);
    logger.info('drain period over: accepting no new connections; finishing in-flight reviews');
    await close();
  };
  return {
    app,
    url,
    port,
    metrics,
    caPem: tls.caPem,
    policy: () => source.current()?.cluster,
    trust: () => source.current(),
    close,
    shutdown: (drainMs) => {
      if (shuttingDown) stopping.hurry();
      return (shuttingDown ??= shutdown(drainMs));
    },
    hurry: () => stopping.hurry(),
    draining: () => stopping.draining,
  };
}

/** The state of a stop: draining, the drain's end, and the cut of connections left at the end. */
class Stopping {
  draining = false;
  private hurried = false;
  private endDrain: (() => void) | undefined;
  private cut: { readonly server: HttpsServer; timer: NodeJS.Timeout } | undefined;

  /** Resolves after `ms`, or at once when hurried. */
  drain(ms: number): Promise<void> {
    if (this.hurried || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.endDrain = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Cuts the connections still open after `ms` (HURRY_MS if hurried). */
  cutAfter(server: HttpsServer, ms: number): void {
    const timer = setTimeout(() => server.closeAllConnections(), this.hurried ? Math.min(ms, HURRY_MS) : ms);
    this.cut = { server, timer };
  }

  disarm(): void {
    if (this.cut) clearTimeout(this.cut.timer);
  }

  hurry(): void {
    if (this.hurried) return;
    this.hurried = true;
    this.endDrain?.();
    if (this.cut) {
      const { server } = this.cut;
      clearTimeout(this.cut.timer);
      this.cut.timer = setTimeout(() => server.closeAllConnections(), HURRY_MS);
    }
  }
}

interface Logging {
  readonly logger: Logger;
  readonly decisionLog: DecisionLog;
  readonly stopFlushOnExit: () => void;
}

function startLogging(config: ServeConfig): Logging {
  // Writes are asynchronous; decision lines are batched before they get here (telemetry/decision-log.ts),
  // so other lines (errors, trust changes) are written as soon as they are logged. close() flushes both.
  const destination = config.logger ? undefined : pino.destination({ dest: 1, sync: false });
  const base = { app: 'signet' };
  const logger = config.logger ?? pino({ level: config.logLevel ?? 'info', base }, destination);
  const decisionLog = createDecisionLog(logger, destination, base);
  const stopFlushOnExit = destination ? flushOnExit(decisionLog, destination) : () => undefined;
  return { logger, decisionLog, stopFlushOnExit };
}

interface TlsMaterial {
  readonly material: { cert: string; key: string };
  /** PEM of the generated CA, when there is one. */
  readonly caPem: string | undefined;
}

async function tlsMaterial(config: ServeConfig, logger: Logger): Promise<TlsMaterial> {
  if (config.tls.kind === 'files') return { material: await readTlsFiles(config.tls.certPath, config.tls.keyPath), caPem: undefined };
  const generated = await generateSelfSignedTls(config.tls.hosts);
  mkdirSync(config.tls.dir, { recursive: true });
  const caPath = resolve(join(config.tls.dir, 'ca.crt'));
  writeFileSync(caPath, generated.caPem);
  writeFileSync(join(config.tls.dir, 'tls.crt'), generated.certPem);
  writeFileSync(join(config.tls.dir, 'tls.key'), generated.keyPem, { mode: 0o600 });
  logger.info({ caPath, hosts: config.tls.hosts }, `generated a self-signed CA for local use; clients must trust ${caPath}`);
  return { material: { cert: generated.certPem, key: generated.keyPem }, caPem: generated.caPem };
}

interface KubeClients {
  readonly recorder?: EventRecorder;
  readonly pullSecrets?: PullSecretProvider;
}

async function kubeClients(config: ServeConfig, logger: Logger): Promise<KubeClients> {
  if (!(config.trust?.kind === 'kube' && (config.events || config.pullSecrets))) return {};
  // The Kubernetes client is loaded only when the API is used: it costs ~90 MB of memory to import.
  const [{ CoreV1Api }, events, secrets] = await Promise.all([import('@kubernetes/client-node'), import('../kube/events.js'), import('../kube/pull-secrets.js')]);
  const coreApi = config.trust.kubeConfig.makeApiClient(CoreV1Api);
  return {
    ...(config.events ? { recorder: events.createEventRecorder({ coreApi, onError: (e) => logger.warn({ err: String(e) }, 'could not post a Kubernetes Event') }) } : {}),
    ...(config.pullSecrets ? { pullSecrets: secrets.createPullSecretProvider({ coreApi, onProblem: (p) => logger.warn({ problem: p }, 'pull secret lookup') }) } : {}),
  };
}

async function startTrust(config: ServeConfig, metrics: Metrics, logger: Logger, recorder: EventRecorder | undefined, onReload: () => void): Promise<RunningTrustSource> {
  const trustConfig: TrustSourceConfig = config.trust ?? { kind: 'file', path: config.policyPath ?? '' };
  return startTrustSource(
    trustConfig,
    config.reloadIntervalMs,
    {
      onLoad: (trust, previous) => {
        const policy = trust.cluster;
        metrics.policyLoads.inc({ result: 'ok' });
        if (previous) metrics.policyInfo.remove({ name: previous.cluster.name, version: previous.cluster.version });
        metrics.policyInfo.set({ name: policy.name, version: policy.version }, 1);
        logger.info({ policy: policy.name, version: policy.version, trustVersion: trust.version, tenants: [...trust.tenants.keys()], source: policy.source }, previous ? 'trust reloaded' : 'trust loaded');
        if (previous) onReload();
      },
      onInvalid: (message, kept) => {
        metrics.policyLoads.inc({ result: 'invalid' });
        logger.error({ source: describeSource(trustConfig), problems: message }, kept ? 'policy change rejected; the previous policy stays in force' : 'policy is invalid; not ready');
      },
    },
    recorder,
  );
}

function startPipeline(config: ServeConfig, metrics: Metrics, shared: OpenedSharedCache | undefined): { registry: RegistryClient; pipeline: ImagePipeline } {
  const registry = new RegistryClient({
    ...config.registry,
    ...(shared ? { shared: shared.settings } : {}),
    onRequest: (e) => {
      metrics.registryRequests.inc({ registry: e.host, kind: e.kind, outcome: e.outcome });
      metrics.registrySeconds.observe({ registry: e.host, kind: e.kind }, e.seconds);
    },
    onThrottle: (e) => metrics.registryThrottled.inc({ registry: e.host, reason: e.reason }),
  });
  const pipeline = new ImagePipeline({
    registry,
    ...config.cache,
    ...(config.now ? { now: config.now } : {}),
    // Shared lookups may outlive the review that started them (others wait on them), but never the longest review.
    sharedWorkMs: config.timeoutSeconds * 1000 * config.budgetFraction,
  });
  metrics.addLookupSource(() => pipeline.lookups());
  return { registry, pipeline };
}

interface AppParts extends Logging, KubeClients {
  readonly draining: () => boolean;
  readonly metrics: Metrics;
  readonly source: RunningTrustSource;
  readonly registry: RegistryClient;
  readonly pipeline: ImagePipeline;
  readonly tls: { cert: string; key: string };
}

function appOptions(config: ServeConfig, p: AppParts): AppOptions {
  const { source, pipeline, registry, pullSecrets, recorder } = p;
  return {
    logger: p.logger,
    decisionLog: p.decisionLog,
    metrics: p.metrics,
    policy: () => source.current()?.cluster,
    verify: (image, scope, signal, credentials) => {
      const trust = source.current();
      if (!trust) throw new Error('no trust loaded');
      return verifyLayered(pipeline, trust, image, scope, signal, credentials ? registry.withCredentials(credentials) : undefined);
    },
    // The cache-only path reads what the configured credentials (or none) fetched, never a pod's pull
    // secret's entries. With pull secrets on, it serves admissions only: a denial seen that way (say an
    // anonymous NOT_FOUND) is decided again with the pod's own credentials.
    cached: (image: string, scope: NamespaceScope) => {
      const trust = source.current();
      const verdict = trust ? cachedLayered(pipeline, trust, image, scope) : undefined;
      return pullSecrets && verdict?.outcome !== 'allowed' ? undefined : verdict;
    },
    ...(pullSecrets ? { credentialsFor: (namespace: string, podSpec: Record<string, unknown>) => pullSecrets.credentialsFor({ namespace, podSpec }) } : {}),
    ...(config.ownNamespace ? { ownNamespace: config.ownNamespace } : {}),
    ...(recorder
      ? {
          onDenied: (denial: DeniedReview) =>
            void recorder.recordDenial({ namespace: denial.namespace, involvedObject: denial.involvedObject, message: denial.message }),
        }
      : {}),
    timeoutSeconds: config.timeoutSeconds,
    budgetFraction: config.budgetFraction,
    bodyLimitBytes: config.bodyLimitBytes,
    ...(config.bodyDiscardBytes !== undefined ? { bodyDiscardBytes: config.bodyDiscardBytes } : {}),
    ...(config.bodyReadMs !== undefined ? { bodyReadMs: config.bodyReadMs } : {}),
    draining: p.draining,
    https: httpsOptions(p.tls.cert, p.tls.key),
  };
}

function watchServingCertificate(config: ServeConfig, material: { cert: string; key: string }, app: FastifyInstance, logger: Logger): TlsWatcher | undefined {
  if (config.tls.kind !== 'files') return undefined;
  return watchTlsFiles(
    config.tls.certPath,
    config.tls.keyPath,
    material,
    config.reloadIntervalMs,
    (next) => {
      // New handshakes use the new pair; established connections keep theirs, so nothing drops.
      (app.server as unknown as HttpsServer).setSecureContext(httpsOptions(next.cert, next.key));
      logger.info('serving certificate reloaded');
    },
    (e) => logger.error({ err: e.message }, 'serving certificate files unusable; keeping the current certificate'),
  );
}

interface WarmUp {
  /** Starts a warm-up over the running pods, abandoning the one under way. */
  schedule(): void;
  stop(): void;
}

async function startWarmUp(config: ServeConfig, source: RunningTrustSource, pipeline: ImagePipeline, logger: Logger): Promise<WarmUp | undefined> {
  if (!(config.warmUp && config.trust?.kind === 'kube')) return undefined;
  const [{ CoreV1Api }, { warmUp }] = await Promise.all([import('@kubernetes/client-node'), import('../kube/warm-up.js')]);
  const coreApi = config.trust.kubeConfig.makeApiClient(CoreV1Api);
  let warming: AbortController | undefined;
  return {
    schedule: () => {
      warming?.abort();
      const controller = new AbortController();
      warming = controller;
      const started = Date.now();
      warmUp({
        coreApi,
        signal: controller.signal,
        verify: (image, scope) => {
          const trust = source.current();
          return trust ? verifyLayered(pipeline, trust, image, scope, undefined) : Promise.reject(new Error('no trust loaded'));
        },
      }).then(
        (report) => logger.info({ ...report, ms: Date.now() - started }, 'cache warm-up finished'),
        (e: unknown) => logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'cache warm-up failed; caches fill as reviews arrive'),
      );
    },
    stop: () => warming?.abort(),
  };
}

interface ClosingParts extends Logging {
  readonly app: FastifyInstance;
  readonly source: RunningTrustSource;
  readonly registry: RegistryClient;
  readonly shared: OpenedSharedCache | undefined;
  readonly tlsWatcher: TlsWatcher | undefined;
  readonly warmUp: WarmUp | undefined;
  readonly recorder: EventRecorder | undefined;
  readonly stopping: Stopping;
}

async function closeServer(config: ServeConfig, p: ClosingParts): Promise<void> {
  p.tlsWatcher?.stop();
  p.warmUp?.stop();
  await p.source.stop();
  // Responses now carry Connection: close, so connections end after their review; a connection
  // that was idle is shut as soon as it is (a sweep, since more become idle as reviews finish), and
  // after the longest possible review (or HURRY_MS once hurried) whatever is left is cut.
  const server = p.app.server as unknown as HttpsServer;
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  p.stopping.cutAfter(server, config.timeoutSeconds * 1000 + 1000);
  try {
    await p.app.close();
  } finally {
    clearInterval(sweep);
    p.stopping.disarm();
  }
  try {
    await p.registry.close();
    await p.shared?.close();
    await p.recorder?.flush();
  } finally {
    p.decisionLog.flush();
    p.stopFlushOnExit();
    p.logger.flush();
  }
}

function describeSource(config: TrustSourceConfig): string {
  switch (config.kind) {
    case 'file':
      return config.path;
    case 'directory':
      return `${config.dir}/policy.yaml`;
    case 'kube':
      return `ConfigMaps labelled signet.dev/trust in ${config.namespace}${config.tenants ? ' and tenant namespaces' : ''}`;
  }
}
