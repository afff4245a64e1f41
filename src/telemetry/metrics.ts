// Prometheus metrics on a registry of our own (no global state, so tests and several servers in
// one process do not collide). Label values are bounded sets: codes, outcomes, hosts — never images.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { CountedHistogram } from './counted-histogram.js';

export interface Metrics {
  readonly registry: Registry;
  /** Reviews answered; counted as plain integers on the hot path and exported at scrape time. */
  countReview(endpoint: string, outcome: string, reason: string): void;
  /** Time to answer a review, by endpoint. */
  readonly reviewSeconds: CountedHistogram<'endpoint'>;
  readonly imageVerdicts: Counter<'outcome' | 'code' | 'mode'>;
  readonly registryRequests: Counter<'registry' | 'kind' | 'outcome'>;
  readonly registrySeconds: Histogram<'registry' | 'kind'>;
  readonly registryThrottled: Counter<'registry' | 'reason'>;
  readonly cacheLookups: Counter<'cache' | 'result'>;
  readonly policyInfo: Gauge<'name' | 'version'>;
  readonly policyLoads: Counter<'result'>;
  /**
   * Cache lookups are counted in plain integers by their owner (the hot path should not touch
   * labelled metrics per image) and read when /metrics is scraped.
   */
  addLookupSource(source: () => Iterable<readonly [cache: string, result: string, count: number]>): void;
  /**
   * The counter of per-image verdicts with these labels: a plain integer the hot path increments
   * (callers may keep it), exported at scrape time.
   */
  imageVerdictCounter(outcome: string, code: string, mode: string): { count: number };
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const lookupSources: (() => Iterable<readonly [string, string, number]>)[] = [];
  const verdictCounts = new Map<string, { outcome: string; code: string; mode: string; count: number }>();
  const reviewCounts = new Map<string, { endpoint: string; outcome: string; reason: string; count: number }>();
  const reviewSeconds = new CountedHistogram('signet_review_duration_seconds', 'Time to answer a review.', 'endpoint', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  new Counter({
    name: 'signet_reviews_total',
    help: 'Admission and image reviews answered, by endpoint, outcome and reason code.',
    labelNames: ['endpoint', 'outcome', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { endpoint, outcome, reason, count } of reviewCounts.values()) this.inc({ endpoint, outcome, reason }, count);
    },
  });
  // prom-client renders any registered object with get(); its Metric type wants a full class.
  registry.registerMetric(reviewSeconds as unknown as Metric<string>);
  const m: Metrics = {
    addLookupSource: (source) => void lookupSources.push(source),
    imageVerdictCounter: (outcome, code, mode) => {
      const key = `${outcome}\u0000${code}\u0000${mode}`;
      let entry = verdictCounts.get(key);
      if (!entry) {
        entry = { outcome, code, mode, count: 0 };
        verdictCounts.set(key, entry);
      }
      return entry;
    },
    countReview: (endpoint, outcome, reason) => {
      const key = `${endpoint}\u0000${outcome}\u0000${reason}`;
      const entry = reviewCounts.get(key);
      if (entry) entry.count++;
      else reviewCounts.set(key, { endpoint, outcome, reason, count: 1 });
    },
    registry,
    reviewSeconds,
    imageVerdicts: new Counter({
      name: 'signet_image_verdicts_total',
      help: 'Per-image verdicts, by outcome, deny code and rule mode.',
      labelNames: ['outcome', 'code', 'mode'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { outcome, code, mode, count } of verdictCounts.values()) this.inc({ outcome, code, mode }, count);
      },
    }),
    registryRequests: new Counter({ name: 'signet_registry_requests_total', help: 'HTTP requests to registries, by registry host, kind and outcome.', labelNames: ['registry', 'kind', 'outcome'], registers: [registry] }),
    registrySeconds: new Histogram({
      name: 'signet_registry_request_duration_seconds',
      help: 'Registry request latency.',
      labelNames: ['registry', 'kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    registryThrottled: new Counter({
      name: 'signet_registry_throttled_total',
      help: 'Registry requests throttled, by registry host and reason (429: the registry answered 429; rate-limit: held back or refused by our request-rate limit or a 429 back-off; queue-full: refused because too many were waiting).',
      labelNames: ['registry', 'reason'],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'signet_cache_lookups_total',
      help: 'Cache lookups, by cache and result (hit, miss, coalesced).',
      labelNames: ['cache', 'result'],
      registers: [registry],
      collect() {
        if (lookupSources.length === 0) return;
        this.reset();
        for (const source of lookupSources) for (const [cache, result, count] of source()) if (count > 0) this.inc({ cache, result }, count);
      },
    }),
    policyInfo: new Gauge({ name: 'signet_policy_info', help: 'The policy in force (value 1), by name and version.', labelNames: ['name', 'version'], registers: [registry] }),
    policyLoads: new Counter({ name: 'signet_policy_loads_total', help: 'Policy loads, by result (ok, invalid).', labelNames: ['result'], registers: [registry] }),
  };
  return m;
}

/** Sizes of the tag, verdict and signature caches. */
export interface CacheSizes {
  readonly tags: number;
  readonly verdicts: number;
  readonly verdictBytes: number;
  readonly signatures: number;
  readonly signatureBytes: number;
}

/** What the server's state gauges read when /metrics is scraped. */
export interface StateSources {
  readonly trustSourceHealthy: () => boolean;
  /** Registry requests waiting, by registry host. */
  readonly registryWaiting: () => Iterable<readonly [host: string, waiting: number]>;
  readonly cacheSizes: () => CacheSizes;
}

/** How often the event loop is sampled; delays are measured beyond this interval. */
export const EVENT_LOOP_RESOLUTION_MS = 10;
/** Quantile 1 is the maximum. */
const EVENT_LOOP_QUANTILES = [0.5, 0.9, 0.99, 1] as const;

/**
 * Event-loop delay since the previous scrape (prom-client's default metrics, which would export
 * nodejs_eventloop_lag_*, are not registered): how late a timer due every 10 ms ran, as quantiles
 * and the maximum (quantile 1). A review that keeps the CPU (a slow signature check, a pathological
 * pattern) shows here long before health probes fail. Read and reset in one collect, so each scrape
 * sees the interval since the one before.
 */
function addEventLoopDelay(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  // The sampling timer does not keep the process alive, so nothing has to stop it.
  histogram.enable();
  const late = (nanoseconds: number): number => Math.max(0, nanoseconds / 1e9 - EVENT_LOOP_RESOLUTION_MS / 1000);
  new Gauge({
    name: 'signet_event_loop_delay_seconds',
    help: 'Event-loop delay since the previous scrape, by quantile (1: the maximum): how late a timer due every 10 ms ran.',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      // Scraped again within 10 ms: nothing new was sampled; keep the previous interval's values.
      if (histogram.count === 0) return;
      for (const q of EVENT_LOOP_QUANTILES) this.set({ quantile: String(q) }, late(q === 1 ? histogram.max : histogram.percentile(q * 100)));
      histogram.reset();
    },
  });
}

/**
 * Gauges of state owned by the running server, read at scrape time, and the event-loop delay.
 * Registered apart from createMetrics because they exist only once there is state to read: an
 * unlabelled gauge with nothing behind it would still be exported, as 0.
 */
export function addStateGauges(metrics: Metrics, sources: StateSources): void {
  addEventLoopDelay(metrics.registry);
  new Gauge({
    name: 'signet_trust_source_healthy',
    help: '1 while the trust source is current (for the Kubernetes source: every watch is up); 0 while changes may be missed.',
    registers: [metrics.registry],
    collect() {
      this.set(sources.trustSourceHealthy() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'signet_registry_queue_waiting',
    help: 'Registry requests waiting for their turn (a free slot, a rate-limit token or the end of a 429 back-off), by registry host.',
    labelNames: ['registry'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [host, waiting] of sources.registryWaiting()) this.set({ registry: host }, waiting);
    },
  });
  new Gauge({
    name: 'signet_cache_entries',
    help: 'Entries held by the tag, verdict and signature caches, and the verdict and signature cache sizes in bytes.',
    labelNames: ['cache'],
    registers: [metrics.registry],
    collect() {
      const size = sources.cacheSizes();
      this.set({ cache: 'tag' }, size.tags);
      this.set({ cache: 'verdict' }, size.verdicts);
      this.set({ cache: 'verdict-bytes' }, size.verdictBytes);
      this.set({ cache: 'signatures' }, size.signatures);
      this.set({ cache: 'signature-bytes' }, size.signatureBytes);
    },
  });
}
