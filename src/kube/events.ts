// Kubernetes Events for what operators and developers should see with `kubectl describe` or
// `kubectl get events`: an image denied by Signet (reason ImageSignatureDenied, on the Pod or workload,
// or on the namespace when the object has no name yet) and a trust ConfigMap rejected as invalid
// (reason InvalidTrustPolicy, on that ConfigMap). Events are core/v1 (what `kubectl describe` lists),
// type Warning, legacy form (firstTimestamp/lastTimestamp/count), written in the involved object's
// namespace.
// Posting is best effort and off the decision path: it never throws or rejects into the caller, each
// (object, reason) is posted at most once per interval (a bounded map remembers which), and a global
// token bucket caps the rate against the API server. Dry-run admissions must not be recorded: that is
// the caller's check, because only the caller knows the request.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { deadlineOptions, describeKubeError } from './api.js';

/** Longer messages are cut: events.k8s.io caps notes at 1 kB, and a denial says what matters first. */
export const MAX_EVENT_MESSAGE_CHARS = 1024;

export interface InvolvedObject {
  readonly kind: string;
  readonly name: string;
  /** Empty or absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly uid?: string;
  /** `v1`, `apps/v1`, … */
  readonly apiVersion: string;
}

export interface EventRateLimit {
  /** The same (object, reason) is posted at most once per this interval. Default 60 000 ms. */
  readonly perObjectIntervalMs: number;
  /** How many (object, reason) pairs are remembered; the oldest are forgotten first. Default 4096. */
  readonly maxTracked: number;
  /** Posts allowed in a burst, across all objects. Default 25. */
  readonly burst: number;
  /** Sustained posts per second, across all objects. Default 5. */
  readonly perSecond: number;
}

export const DEFAULT_EVENT_RATE_LIMIT: EventRateLimit = Object.freeze({ perObjectIntervalMs: 60_000, maxTracked: 4096, burst: 25, perSecond: 5 });

export interface EventRecorderOptions {
  readonly coreApi: CoreV1Api;
  /** `source.component` and `reportingComponent`. Default `signet`. */
  readonly component?: string;
  /** `reportingInstance`; default the host (pod) name. */
  readonly instance?: string;
  readonly rateLimit?: Partial<EventRateLimit>;
  /** Deadline of one POST. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Told about posts that failed (for a log line); never about the ones that worked. */
  readonly onError?: (message: string, event: { readonly reason: string; readonly involvedObject: InvolvedObject }) => void;
  readonly now?: () => number;
}

export type RecordOutcome =
  | { readonly kind: 'posted' }
  | { readonly kind: 'suppressed'; readonly why: 'recently-posted' | 'rate-limited' }
  | { readonly kind: 'failed'; readonly message: string };

export interface DenialEvent {
  /** The namespace of the admission request; where the Event is written. */
  readonly namespace: string;
  /** The Pod or workload. Without a name (e.g. generateName only), the namespace is the involved object. */
  readonly involvedObject: Omit<InvolvedObject, 'name'> & { readonly name?: string | undefined };
  readonly reason?: 'ImageSignatureDenied';
  readonly message: string;
}

export interface InvalidTrustEvent {
  readonly configMap: { readonly namespace: string; readonly name: string; readonly uid?: string | undefined; readonly resourceVersion?: string | undefined };
  readonly message: string;
}

export interface EventRecorder {
  /** Never for dryRun requests (the caller's check). Resolves, never rejects. */
  recordDenial(event: DenialEvent): Promise<RecordOutcome>;
  /** One Event per rejected revision of a trust ConfigMap. Resolves, never rejects. */
  recordInvalidTrust(event: InvalidTrustEvent): Promise<RecordOutcome>;
  /** Waits for posts in flight (shutdown, tests). */
  flush(): Promise<void>;
}

/** The involved object for an admission request: the named object, else its namespace. */
export function involvedObjectFor(object: DenialEvent['involvedObject'], namespace: string): InvolvedObject {
  if (object.name !== undefined && object.name !== '') {
    return {
      kind: object.kind,
      name: object.name,
      namespace,
      apiVersion: object.apiVersion,
      ...(object.uid !== undefined && object.uid !== '' ? { uid: object.uid } : {}),
    };
  }
  // A Namespace is cluster-scoped, but an Event about it written into the namespace itself is what the
  // people working there see with `kubectl get events -n <namespace>`.
  return { kind: 'Namespace', name: namespace, namespace, apiVersion: 'v1' };
}

export function clipMessage(message: string): string {
  return message.length > MAX_EVENT_MESSAGE_CHARS ? `${message.slice(0, MAX_EVENT_MESSAGE_CHARS - 1)}…` : message;
}

/** `<object name>.<16 hex>`, a valid DNS subdomain of at most 253 characters, like client-go's names. */
function eventName(objectName: string, now: number): string {
  const stem = objectName.slice(0, 200).replace(/[.-]+$/, '') || 'signet';
  return `${stem}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
}

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const limits: EventRateLimit = { ...DEFAULT_EVENT_RATE_LIMIT, ...options.rateLimit };
  const component = options.component ?? 'signet';
  const instance = options.instance ?? hostname();
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  const recent = new LRUCache<string, true>({
    max: Math.max(1, limits.maxTracked),
    ttl: limits.perObjectIntervalMs,
    // A test clock only; production uses the cache's own monotonic clock.
    ...(options.now !== undefined ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
  });
  const inFlight = new Set<Promise<RecordOutcome>>();
  let tokens = limits.burst;
  let refilledAt = now();

  const takeToken = (): boolean => {
    const at = now();
    tokens = Math.min(limits.burst, tokens + ((at - refilledAt) / 1000) * limits.perSecond);
    refilledAt = at;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const post = (namespace: string, involvedObject: InvolvedObject, reason: string, message: string, dedupeKey: string): Promise<RecordOutcome> => {
    let outcome: Promise<RecordOutcome>;
    try {
      if (recent.has(dedupeKey)) return Promise.resolve({ kind: 'suppressed', why: 'recently-posted' });
      if (!takeToken()) return Promise.resolve({ kind: 'suppressed', why: 'rate-limited' });
      recent.set(dedupeKey, true);
      const at = new Date(now());
      const body: CoreV1Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: eventName(involvedObject.name, at.getTime()), namespace },
        involvedObject: { ...involvedObject },
        reason,
        message: clipMessage(message),
        type: 'Warning',
        source: { component },
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
        reportingComponent: component,
        reportingInstance: instance,
      };
      outcome = options.coreApi.createNamespacedEvent({ namespace, body }, deadlineOptions(timeoutMs)).then(
        (): RecordOutcome => ({ kind: 'posted' }),
        (error: unknown): RecordOutcome => {
          // Not posted, so a later occurrence may try again.
          recent.delete(dedupeKey);
          const text = describeKubeError(error, timeoutMs);
          try {
            options.onError?.(text, { reason, involvedObject });
          } catch {
            // A failing logger must not reach the admission path either.
          }
          return { kind: 'failed', message: text };
        },
      );
    } catch (error) {
      return Promise.resolve({ kind: 'failed', message: describeKubeError(error) });
    }
    inFlight.add(outcome);
    void outcome.finally(() => inFlight.delete(outcome));
    return outcome;
  };

  return {
    recordDenial: (event) => {
      const involved = involvedObjectFor(event.involvedObject, event.namespace);
      const reason = event.reason ?? 'ImageSignatureDenied';
      const key = JSON.stringify([event.namespace, involved.kind, involved.name, reason]);
      return post(event.namespace, involved, reason, event.message, key);
    },
    recordInvalidTrust: (event) => {
      const { configMap } = event;
      const involved: InvolvedObject = {
        kind: 'ConfigMap',
        name: configMap.name,
        namespace: configMap.namespace,
        apiVersion: 'v1',
        ...(configMap.uid !== undefined ? { uid: configMap.uid } : {}),
      };
      // Every rejected revision deserves its Event; repeats of the same revision do not.
      const key = JSON.stringify([configMap.namespace, 'ConfigMap', configMap.name, 'InvalidTrustPolicy', configMap.resourceVersion ?? '', event.message]);
      return post(configMap.namespace, involved, 'InvalidTrustPolicy', event.message, key);
    },
    flush: async () => {
      await Promise.all([...inFlight]);
    },
  };
}
