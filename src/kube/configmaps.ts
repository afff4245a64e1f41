// Keeps an up-to-date view of the ConfigMaps that match a label selector, in one namespace or in all,
// and hands a debounced snapshot of them to a callback. It is a small reflector of our own around the
// client's `Watch` (auth, TLS, line protocol) and `CoreV1Api` list, not the client's informer, because
// the informer cannot ask for bookmarks or a watch timeout and stops for good on most errors (see
// docs/kubernetes.md, "How the watch works"). What it does:
// - list, then watch from the list's resourceVersion; a watch that ends is resumed from the last
//   resourceVersion seen (ADDED/MODIFIED/DELETED/BOOKMARK), with no relist;
// - 410 Gone (an ERROR event or an HTTP 410) forgets the resourceVersion and relists, so objects deleted
//   while we were away disappear; any other ERROR event relists too, after a backoff;
// - failures (list or watch refused, connection reset before anything arrived, stall) retry with a
//   capped exponential backoff, for ever, until stop();
// - every watch asks the server to end it after `watchTimeoutSeconds`; one still open `stallGraceMs`
//   later is stalled, and is aborted and resumed (the client's own 30 s inactivity limit agrees);
// - `healthy()` is true only once listed and while the last attempt made progress.
// It never throws into its caller and never logs: it reports through `onEvent`.

import { CoreV1Api, Watch } from '@kubernetes/client-node';
import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import { deadlineOptions, describeKubeError, kubeErrorStatus } from './api.js';

/** One ConfigMap as the trust code needs it; plain frozen data. */
export interface TrustConfigMap {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly resourceVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, string>>;
  /** base64 text, as the API serves it. */
  readonly binaryData: Readonly<Record<string, string>>;
}

export interface WatchTuning {
  /** Changes are collected for this long before a snapshot is emitted (bounded to 4× under constant change). */
  readonly debounceMs: number;
  /** Asked of the server for every watch. Keep it under 30: the client aborts streams silent for 30 s. */
  readonly watchTimeoutSeconds: number;
  /** A watch still open this long after its timeoutSeconds is stalled and is aborted. */
  readonly stallGraceMs: number;
  /** Deadline of one list call. */
  readonly requestTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Fraction of each backoff delay taken off at random, so replicas do not retry in step. 0 in tests. */
  readonly backoffJitter: number;
}

export const DEFAULT_WATCH_TUNING: WatchTuning = Object.freeze({
  debounceMs: 250,
  watchTimeoutSeconds: 20,
  stallGraceMs: 5000,
  requestTimeoutMs: 10_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  backoffJitter: 0.2,
});

/** What the watcher did, for logs and metrics. `retryInMs` is the delay before the next attempt. */
export type WatcherEvent =
  | { readonly kind: 'listed'; readonly count: number; readonly resourceVersion: string }
  | { readonly kind: 'watching'; readonly resourceVersion: string }
  | { readonly kind: 'watch-ended'; readonly events: number; readonly retryInMs: number }
  | { readonly kind: 'expired'; readonly resourceVersion: string }
  | { readonly kind: 'failed'; readonly stage: 'list' | 'watch'; readonly message: string; readonly retryInMs: number }
  | { readonly kind: 'stalled'; readonly afterMs: number; readonly retryInMs: number };

export interface ConfigMapWatchOptions {
  readonly kubeConfig: KubeConfig;
  /** The namespace to watch; undefined watches every namespace (needs cluster-wide list/watch RBAC). */
  readonly namespace: string | undefined;
  /** A Kubernetes label selector, e.g. `signet.dev/trust=cluster`. */
  readonly labelSelector: string;
  /** Every matching ConfigMap, sorted by namespace and name. Called after the first list and after changes. */
  readonly onSnapshot: (configMaps: readonly TrustConfigMap[]) => void;
  readonly onEvent?: (event: WatcherEvent) => void;
  readonly tuning?: Partial<WatchTuning>;
}

export interface WatcherStatus {
  readonly synced: boolean;
  readonly healthy: boolean;
  readonly resourceVersion: string | undefined;
  /** Attempts in a row that made no progress; 0 when healthy. */
  readonly consecutiveFailures: number;
  readonly lastError: string | undefined;
  readonly objects: number;
}

export interface ConfigMapWatcher {
  /** Listed at least once, and the latest attempt made progress. */
  healthy(): boolean;
  status(): WatcherStatus;
  /** Resolves once the first snapshot has been delivered (never rejects; keeps waiting through failures). */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

/** How one watch connection ended. `progressed`: it delivered at least one event, or lived its full term. */
type WatchOutcome =
  | { readonly kind: 'expired'; readonly events: number }
  | { readonly kind: 'error-event'; readonly message: string }
  | { readonly kind: 'ended'; readonly progressed: boolean; readonly events: number }
  | { readonly kind: 'failed'; readonly progressed: boolean; readonly message: string }
  | { readonly kind: 'stalled'; readonly afterMs: number; readonly message: string }
  | { readonly kind: 'stopped' };

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (typeof entry === 'string') result[key] = entry;
  }
  return result;
}

/** The fields we use, checked; undefined for anything that is not a ConfigMap with a name and version. */
function toTrustConfigMap(object: unknown): TrustConfigMap | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const { metadata, data, binaryData } = object as V1ConfigMap;
  const name = metadata?.name;
  const namespace = metadata?.namespace;
  const resourceVersion = metadata?.resourceVersion;
  if (typeof name !== 'string' || typeof namespace !== 'string' || typeof resourceVersion !== 'string') return undefined;
  return Object.freeze({
    namespace,
    name,
    uid: typeof metadata?.uid === 'string' ? metadata.uid : undefined,
    resourceVersion,
    labels: Object.freeze(stringMap(metadata?.labels)),
    data: Object.freeze(stringMap(data)),
    binaryData: Object.freeze(stringMap(binaryData)),
  });
}

const keyOf = (configMap: { namespace: string; name: string }): string => `${configMap.namespace}/${configMap.name}`;

/**
 * One watch connection's own state. Each attempt gets a fresh one, so a late callback from a stream we
 * already gave up on sees `settled` and cannot touch the view or the next attempt.
 */
interface WatchAttempt {
  readonly startedAt: number;
  readonly resolve: (outcome: WatchOutcome) => void;
  settled: boolean;
  events: number;
  controller: AbortController | undefined;
  stallTimer: NodeJS.Timeout | undefined;
}

function errorEventOutcome(object: unknown, events: number): WatchOutcome {
  const status = object as { code?: unknown; message?: unknown } | null;
  if (status?.code === 410) return { kind: 'expired', events };
  return { kind: 'error-event', message: `ERROR event: ${typeof status?.message === 'string' ? status.message : 'no message'} (code ${String(status?.code)})` };
}

class ConfigMapReflector implements ConfigMapWatcher {
  readonly #options: ConfigMapWatchOptions;
  readonly #tuning: WatchTuning;
  readonly #api: CoreV1Api;
  readonly #client: Watch;
  readonly #path: string;
  // Aborts an in-flight list on stop(), so stopping never waits for a slow API server.
  readonly #stopController = new AbortController();
  readonly #firstSnapshot: Promise<void>;
  #markSynced: () => void = () => undefined;
  readonly #running: Promise<void>;

  #stopped = false;
  #synced = false;
  #store = new Map<string, TrustConfigMap>();
  #resourceVersion: string | undefined;
  // A 410 on the very watch that follows a list is the server contradicting itself, not compaction.
  #justListed = false;
  /** Attempts in a row without progress; drives both the backoff and healthy(). */
  #streak = 0;
  #lastError: string | undefined;
  #abortCurrent: (() => void) | undefined;
  #wakeSleeper: (() => void) | undefined;

  #debounceTimer: NodeJS.Timeout | undefined;
  #pendingSince: number | undefined;
  // Relists and resumed watches replay objects we already have; only a real change is worth a snapshot.
  #lastFingerprint: string | undefined;

  constructor(options: ConfigMapWatchOptions) {
    this.#options = options;
    this.#tuning = { ...DEFAULT_WATCH_TUNING, ...options.tuning };
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#client = new Watch(options.kubeConfig);
    this.#path = options.namespace === undefined ? '/api/v1/configmaps' : `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`;
    this.#firstSnapshot = new Promise<void>((resolve) => {
      this.#markSynced = resolve;
    });
    this.#running = this.#run().catch((error: unknown) => {
      // run() handles every expected failure itself; this is a bug, reported rather than thrown away.
      this.#lastError = `watcher stopped by an internal error: ${describeKubeError(error)}`;
      this.#streak = Math.max(this.#streak, 1);
    });
  }

  healthy(): boolean {
    return !this.#stopped && this.#synced && this.#streak === 0;
  }

  status(): WatcherStatus {
    return {
      synced: this.#synced,
      healthy: this.healthy(),
      resourceVersion: this.#resourceVersion,
      consecutiveFailures: this.#streak,
      lastError: this.#lastError,
      objects: this.#store.size,
    };
  }

  synced(): Promise<void> {
    return this.#firstSnapshot;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopController.abort();
    this.#abortCurrent?.();
    this.#wakeSleeper?.();
    if (this.#debounceTimer !== undefined) clearTimeout(this.#debounceTimer);
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const from = this.#resourceVersion ?? (await this.#relist());
      if (from === undefined) continue;
      const listedRightBefore = this.#justListed;
      this.#justListed = false;
      const outcome = await this.#watch(from);
      if (this.#stopped || outcome.kind === 'stopped') return;
      const retryInMs = this.#afterWatch(outcome, from, listedRightBefore);
      if (retryInMs !== undefined) await this.#sleep(retryInMs);
    }
  }

  // ---- list ----

  /** The listed resourceVersion to watch from, or undefined once the failure has been reported and waited out. */
  async #relist(): Promise<string | undefined> {
    const listed = await this.#list();
    if (this.#stopped) return undefined;
    if (!listed.ok) {
      const retryInMs = this.#failed(listed.message);
      this.#report({ kind: 'failed', stage: 'list', message: listed.message, retryInMs });
      await this.#sleep(retryInMs);
      return undefined;
    }
    // A relist replaces the whole view: whatever was deleted while we were away is gone now.
    this.#store = new Map(listed.items.map((item) => [keyOf(item), item]));
    this.#resourceVersion = listed.resourceVersion;
    this.#justListed = true;
    this.#synced = true;
    this.#streak = 0;
    this.#lastError = undefined;
    this.#report({ kind: 'listed', count: listed.items.length, resourceVersion: listed.resourceVersion });
    this.#scheduleSnapshot();
    return listed.resourceVersion;
  }

  async #list(): Promise<{ ok: true; items: TrustConfigMap[]; resourceVersion: string } | { ok: false; message: string }> {
    const { namespace, labelSelector } = this.#options;
    try {
      const deadline = deadlineOptions(this.#tuning.requestTimeoutMs, this.#stopController.signal);
      const answer =
        namespace === undefined
          ? await this.#api.listConfigMapForAllNamespaces({ labelSelector }, deadline)
          : await this.#api.listNamespacedConfigMap({ namespace, labelSelector }, deadline);
      const listed = answer.metadata?.resourceVersion;
      if (typeof listed !== 'string' || listed === '') return { ok: false, message: 'the list answer carries no resourceVersion' };
      const items = (answer.items ?? []).map(toTrustConfigMap).filter((item): item is TrustConfigMap => item !== undefined);
      return { ok: true, items, resourceVersion: listed };
    } catch (error) {
      return { ok: false, message: describeKubeError(error, this.#tuning.requestTimeoutMs) };
    }
  }

  // ---- watch ----

  #watch(from: string): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve) => {
      const attempt: WatchAttempt = { startedAt: Date.now(), resolve, settled: false, events: 0, controller: undefined, stallTimer: undefined };
      attempt.stallTimer = this.#startWatchdog(attempt);
      this.#abortCurrent = () => this.#finish(attempt, { kind: 'stopped' });
      const query = { resourceVersion: from, labelSelector: this.#options.labelSelector, allowWatchBookmarks: true, timeoutSeconds: this.#tuning.watchTimeoutSeconds };
      this.#client
        .watch(
          this.#path,
          query,
          (type: string, object: unknown) => this.#onEvent(attempt, type, object),
          (error: unknown) => this.#onDone(attempt, error),
        )
        .then(
          (opened) => {
            attempt.controller = opened;
            if (attempt.settled) opened.abort();
            else this.#report({ kind: 'watching', resourceVersion: from });
          },
          (error: unknown) => this.#finish(attempt, { kind: 'failed', progressed: false, message: describeKubeError(error) }),
        );
    });
  }

  /** The server must end the stream at timeoutSeconds; one still open the grace after that is stalled. */
  #startWatchdog(attempt: WatchAttempt): NodeJS.Timeout {
    const { watchTimeoutSeconds, stallGraceMs } = this.#tuning;
    const limitMs = watchTimeoutSeconds * 1000 + stallGraceMs;
    return setTimeout(
      () =>
        this.#finish(attempt, {
          kind: 'stalled',
          afterMs: limitMs,
          message: `stalled: the watch was still open after ${limitMs} ms, though the server was asked to end it after ${watchTimeoutSeconds} s`,
        }),
      limitMs,
    );
  }

  #finish(attempt: WatchAttempt, outcome: WatchOutcome): void {
    if (attempt.settled) return;
    attempt.settled = true;
    clearTimeout(attempt.stallTimer);
    this.#abortCurrent = undefined;
    attempt.controller?.abort();
    attempt.resolve(outcome);
  }

  #onEvent(attempt: WatchAttempt, type: string, object: unknown): void {
    if (attempt.settled) return;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const item = toTrustConfigMap(object);
        if (item === undefined) return; // not a ConfigMap we can use; the next relist sets things right
        if (type === 'DELETED') this.#store.delete(keyOf(item));
        else this.#store.set(keyOf(item), item);
        this.#resourceVersion = item.resourceVersion;
        this.#madeProgress(attempt);
        this.#scheduleSnapshot();
        return;
      }
      case 'BOOKMARK': {
        const bookmarked = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
        if (typeof bookmarked === 'string' && bookmarked !== '') this.#resourceVersion = bookmarked;
        this.#madeProgress(attempt);
        return;
      }
      case 'ERROR':
        this.#finish(attempt, errorEventOutcome(object, attempt.events));
        return;
      default:
        return;
    }
  }

  #onDone(attempt: WatchAttempt, error: unknown): void {
    if (attempt.settled) return;
    if (error === null || error === undefined) {
      // A quiet collection may deliver nothing before the server's timeout; living that long is progress.
      const livedFullTerm = Date.now() - attempt.startedAt >= (this.#tuning.watchTimeoutSeconds * 1000) / 2;
      this.#finish(attempt, { kind: 'ended', progressed: attempt.events > 0 || livedFullTerm, events: attempt.events });
    } else if (kubeErrorStatus(error) === 410) {
      this.#finish(attempt, { kind: 'expired', events: attempt.events });
    } else if (error instanceof Error && error.name === 'TimeoutError') {
      this.#finish(attempt, { kind: 'stalled', afterMs: Date.now() - attempt.startedAt, message: 'stalled: the watch sent nothing for 30 s (the client gave up on it)' });
    } else {
      this.#finish(attempt, { kind: 'failed', progressed: attempt.events > 0, message: describeKubeError(error) });
    }
  }

  /** Books how a watch ended; the delay before the next attempt, or undefined to go straight on. */
  #afterWatch(outcome: Exclude<WatchOutcome, { kind: 'stopped' }>, from: string, listedRightBefore: boolean): number | undefined {
    switch (outcome.kind) {
      case 'expired': {
        this.#report({ kind: 'expired', resourceVersion: from });
        this.#resourceVersion = undefined;
        // Expired straight after a list means the server contradicts itself; do not relist in a tight loop.
        if (outcome.events === 0 && listedRightBefore) return this.#failed(`the server expired resourceVersion ${from} right after listing it`);
        return undefined;
      }
      case 'error-event': {
        this.#streak += 1;
        this.#lastError = outcome.message;
        this.#resourceVersion = undefined;
        const retryInMs = this.#delayFor(this.#streak);
        this.#report({ kind: 'failed', stage: 'watch', message: outcome.message, retryInMs });
        return retryInMs;
      }
      case 'ended': {
        if (outcome.progressed) this.#streak = 0;
        else this.#streak += 1;
        const retryInMs = this.#delayFor(this.#streak);
        this.#report({ kind: 'watch-ended', events: outcome.events, retryInMs });
        return retryInMs;
      }
      case 'failed': {
        if (!outcome.progressed) this.#streak += 1;
        this.#lastError = outcome.message;
        const retryInMs = this.#delayFor(this.#streak);
        this.#report({ kind: 'failed', stage: 'watch', message: outcome.message, retryInMs });
        return retryInMs;
      }
      case 'stalled': {
        const retryInMs = this.#failed(outcome.message);
        this.#report({ kind: 'stalled', afterMs: outcome.afterMs, retryInMs });
        return retryInMs;
      }
    }
  }

  // ---- progress and backoff ----

  #madeProgress(attempt: WatchAttempt): void {
    attempt.events += 1;
    this.#streak = 0;
    this.#lastError = undefined;
  }

  /** Counts one more attempt without progress; the backoff delay that follows it. */
  #failed(message: string): number {
    this.#streak += 1;
    this.#lastError = message;
    return this.#delayFor(this.#streak);
  }

  #delayFor(failures: number): number {
    if (failures === 0) return 0;
    const { backoffInitialMs, backoffMaxMs, backoffJitter } = this.#tuning;
    const base = Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(base * (1 - backoffJitter * Math.random()));
  }

  /** A wait that stop() can cut short. */
  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeSleeper = undefined;
        resolve();
      }, ms);
      this.#wakeSleeper = () => {
        clearTimeout(timer);
        this.#wakeSleeper = undefined;
        resolve();
      };
    });
  }

  // ---- snapshots ----

  /** Debounced, but never held back more than 4× the debounce under constant change. */
  #scheduleSnapshot(): void {
    if (!this.#synced || this.#stopped) return;
    const now = Date.now();
    this.#pendingSince ??= now;
    if (this.#debounceTimer !== undefined) clearTimeout(this.#debounceTimer);
    const latest = this.#pendingSince + this.#tuning.debounceMs * 4;
    this.#debounceTimer = setTimeout(() => this.#flush(), Math.max(0, Math.min(this.#tuning.debounceMs, latest - now)));
  }

  #flush(): void {
    this.#debounceTimer = undefined;
    this.#pendingSince = undefined;
    if (this.#stopped) return;
    const items = [...this.#store.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const fingerprint = items.map((item) => `${keyOf(item)}@${item.resourceVersion}`).join('\n');
    if (fingerprint === this.#lastFingerprint) return;
    this.#lastFingerprint = fingerprint;
    try {
      this.#options.onSnapshot(Object.freeze(items));
    } catch {
      // The consumer's failure is its own; the view stays current.
    }
    this.#markSynced();
  }

  #report(event: WatcherEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // A broken listener must not stop the watch.
    }
  }
}

export function watchConfigMaps(options: ConfigMapWatchOptions): ConfigMapWatcher {
  return new ConfigMapReflector(options);
}
