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

export function watchConfigMaps(options: ConfigMapWatchOptions): ConfigMapWatcher {
  const tuning: WatchTuning = { ...DEFAULT_WATCH_TUNING, ...options.tuning };
  const api = options.kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(options.kubeConfig);
  const path = options.namespace === undefined ? '/api/v1/configmaps' : `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`;
  const report = (event: WatcherEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken listener must not stop the watch.
    }
  };

  let stopped = false;
  let store = new Map<string, TrustConfigMap>();
  let resourceVersion: string | undefined;
  let justListed = false;
  let synced = false;
  // Aborts an in-flight list on stop(), so stopping never waits for a slow API server.
  const stopController = new AbortController();
  let streak = 0;
  let lastError: string | undefined;
  let abortCurrent: (() => void) | undefined;
  let wakeSleeper: (() => void) | undefined;
  let markSynced: () => void = () => undefined;
  const firstSnapshot = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  // ---- snapshots ----
  let debounceTimer: NodeJS.Timeout | undefined;
  let pendingSince: number | undefined;
  let lastFingerprint: string | undefined;
  const flush = (): void => {
    debounceTimer = undefined;
    pendingSince = undefined;
    if (stopped) return;
    const items = [...store.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const fingerprint = items.map((item) => `${keyOf(item)}@${item.resourceVersion}`).join('\n');
    if (fingerprint === lastFingerprint) return;
    lastFingerprint = fingerprint;
    try {
      options.onSnapshot(Object.freeze(items));
    } catch {
      // The consumer's failure is its own; the view stays current.
    }
    markSynced();
  };
  const scheduleSnapshot = (): void => {
    if (!synced || stopped) return;
    const now = Date.now();
    pendingSince ??= now;
    if (debounceTimer !== undefined) clearTimeout(debounceTimer);
    const latest = pendingSince + tuning.debounceMs * 4;
    debounceTimer = setTimeout(flush, Math.max(0, Math.min(tuning.debounceMs, latest - now)));
  };

  // ---- backoff ----
  const delayFor = (failures: number): number => {
    if (failures === 0) return 0;
    const base = Math.min(tuning.backoffMaxMs, tuning.backoffInitialMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(base * (1 - tuning.backoffJitter * Math.random()));
  };
  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            wakeSleeper = undefined;
            resolve();
          }, ms);
          wakeSleeper = () => {
            clearTimeout(timer);
            wakeSleeper = undefined;
            resolve();
          };
        });

  const list = async (): Promise<{ ok: true; items: TrustConfigMap[]; resourceVersion: string } | { ok: false; message: string }> => {
    try {
      const deadline = deadlineOptions(tuning.requestTimeoutMs, stopController.signal);
      const answer =
        options.namespace === undefined
          ? await api.listConfigMapForAllNamespaces({ labelSelector: options.labelSelector }, deadline)
          : await api.listNamespacedConfigMap({ namespace: options.namespace, labelSelector: options.labelSelector }, deadline);
      const listed = answer.metadata?.resourceVersion;
      if (typeof listed !== 'string' || listed === '') return { ok: false, message: 'the list answer carries no resourceVersion' };
      const items = (answer.items ?? []).map(toTrustConfigMap).filter((item): item is TrustConfigMap => item !== undefined);
      return { ok: true, items, resourceVersion: listed };
    } catch (error) {
      return { ok: false, message: describeKubeError(error, tuning.requestTimeoutMs) };
    }
  };

  const watchOnce = (from: string): Promise<WatchOutcome> =>
    new Promise<WatchOutcome>((resolve) => {
      const startedAt = Date.now();
      let settled = false;
      let events = 0;
      let controller: AbortController | undefined;
      // The server must end the stream at timeoutSeconds; one that has not by then plus the grace is stalled.
      const limitMs = tuning.watchTimeoutSeconds * 1000 + tuning.stallGraceMs;
      const finish = (outcome: WatchOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(stallTimer);
        abortCurrent = undefined;
        controller?.abort();
        resolve(outcome);
      };
      const stallTimer = setTimeout(
        () =>
          finish({
            kind: 'stalled',
            afterMs: limitMs,
            message: `stalled: the watch was still open after ${limitMs} ms, though the server was asked to end it after ${tuning.watchTimeoutSeconds} s`,
          }),
        limitMs,
      );
      abortCurrent = () => finish({ kind: 'stopped' });
      // A quiet collection may deliver nothing before the server's timeout; living that long is progress.
      const livedFullTerm = (): boolean => Date.now() - startedAt >= (tuning.watchTimeoutSeconds * 1000) / 2;

      const onEvent = (type: string, object: unknown): void => {
        if (settled) return;
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
          case 'DELETED': {
            const item = toTrustConfigMap(object);
            if (item === undefined) return; // not a ConfigMap we can use; the next relist sets things right
            if (type === 'DELETED') store.delete(keyOf(item));
            else store.set(keyOf(item), item);
            resourceVersion = item.resourceVersion;
            events += 1;
            streak = 0;
            lastError = undefined;
            scheduleSnapshot();
            return;
          }
          case 'BOOKMARK': {
            const bookmarked = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
            if (typeof bookmarked === 'string' && bookmarked !== '') resourceVersion = bookmarked;
            events += 1;
            streak = 0;
            lastError = undefined;
            return;
          }
          case 'ERROR': {
            const status = object as { code?: unknown; message?: unknown } | null;
            if (status?.code === 410) finish({ kind: 'expired', events });
            else finish({ kind: 'error-event', message: `ERROR event: ${typeof status?.message === 'string' ? status.message : 'no message'} (code ${String(status?.code)})` });
            return;
          }
          default:
            return;
        }
      };
      const onDone = (error: unknown): void => {
        if (settled) return;
        if (error === null || error === undefined) {
          finish({ kind: 'ended', progressed: events > 0 || livedFullTerm(), events });
        } else if (kubeErrorStatus(error) === 410) {
          finish({ kind: 'expired', events });
        } else if (error instanceof Error && error.name === 'TimeoutError') {
          finish({ kind: 'stalled', afterMs: Date.now() - startedAt, message: 'stalled: the watch sent nothing for 30 s (the client gave up on it)' });
        } else {
          finish({ kind: 'failed', progressed: events > 0, message: describeKubeError(error) });
        }
      };
      const query = { resourceVersion: from, labelSelector: options.labelSelector, allowWatchBookmarks: true, timeoutSeconds: tuning.watchTimeoutSeconds };
      watch.watch(path, query, onEvent, onDone).then(
        (opened) => {
          controller = opened;
          if (settled) opened.abort();
          else report({ kind: 'watching', resourceVersion: from });
        },
        (error: unknown) => finish({ kind: 'failed', progressed: false, message: describeKubeError(error) }),
      );
    });

  const run = async (): Promise<void> => {
    while (!stopped) {
      if (resourceVersion === undefined) {
        const listed = await list();
        if (stopped) return;
        if (!listed.ok) {
          streak += 1;
          lastError = listed.message;
          const retryInMs = delayFor(streak);
          report({ kind: 'failed', stage: 'list', message: listed.message, retryInMs });
          await sleep(retryInMs);
          continue;
        }
        // A relist replaces the whole view: whatever was deleted while we were away is gone now.
        store = new Map(listed.items.map((item) => [keyOf(item), item]));
        resourceVersion = listed.resourceVersion;
        justListed = true;
        synced = true;
        streak = 0;
        lastError = undefined;
        report({ kind: 'listed', count: listed.items.length, resourceVersion: listed.resourceVersion });
        scheduleSnapshot();
      }

      const from = resourceVersion;
      const listedRightBefore = justListed;
      justListed = false;
      const outcome = await watchOnce(from);
      if (stopped || outcome.kind === 'stopped') return;
      switch (outcome.kind) {
        case 'expired': {
          report({ kind: 'expired', resourceVersion: from });
          resourceVersion = undefined;
          // Expired straight after a list means the server contradicts itself; do not relist in a tight loop.
          if (outcome.events === 0 && listedRightBefore) {
            streak += 1;
            lastError = `the server expired resourceVersion ${from} right after listing it`;
            await sleep(delayFor(streak));
          }
          break;
        }
        case 'error-event': {
          streak += 1;
          lastError = outcome.message;
          resourceVersion = undefined;
          const retryInMs = delayFor(streak);
          report({ kind: 'failed', stage: 'watch', message: outcome.message, retryInMs });
          await sleep(retryInMs);
          break;
        }
        case 'ended': {
          if (outcome.progressed) streak = 0;
          else streak += 1;
          const retryInMs = delayFor(streak);
          report({ kind: 'watch-ended', events: outcome.events, retryInMs });
          await sleep(retryInMs);
          break;
        }
        case 'failed': {
          if (!outcome.progressed) streak += 1;
          lastError = outcome.message;
          const retryInMs = delayFor(streak);
          report({ kind: 'failed', stage: 'watch', message: outcome.message, retryInMs });
          await sleep(retryInMs);
          break;
        }
        case 'stalled': {
          streak += 1;
          lastError = outcome.message;
          const retryInMs = delayFor(streak);
          report({ kind: 'stalled', afterMs: outcome.afterMs, retryInMs });
          await sleep(retryInMs);
          break;
        }
      }
    }
  };

  const running = run().catch((error: unknown) => {
    // run() handles every expected failure itself; this is a bug, reported rather than thrown away.
    lastError = `watcher stopped by an internal error: ${describeKubeError(error)}`;
    streak = Math.max(streak, 1);
  });

  return {
    healthy: () => !stopped && synced && streak === 0,
    status: () => ({
      synced,
      healthy: !stopped && synced && streak === 0,
      resourceVersion,
      consecutiveFailures: streak,
      lastError,
      objects: store.size,
    }),
    synced: () => firstSnapshot,
    stop: async () => {
      stopped = true;
      stopController.abort();
      abortCurrent?.();
      wakeSleeper?.();
      if (debounceTimer !== undefined) clearTimeout(debounceTimer);
      await running;
    },
  };
}
