// Metrics of the cache shared by replicas (ADR 0007), read from its own counters at scrape time.
import { Counter, Gauge } from 'prom-client';
import type { Metrics } from './metrics.js';

/** What the shared store counts (plain integers it owns). */
export interface SharedCacheNumbers {
  readonly hits: number;
  readonly misses: number;
  readonly rejected: number;
  readonly errors: number;
  readonly writes: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly breakerOpen: boolean;
  readonly connected: boolean;
}

export function addSharedCacheMetrics(metrics: Metrics, read: () => SharedCacheNumbers): void {
  new Counter({
    name: 'signet_shared_cache_operations_total',
    help: 'Shared cache operations by result: hit, miss, rejected (present but not sealed with the replicas\' key, or expired; also counted as a miss), error (Redis trouble; the fetch goes to the registry), write.',
    labelNames: ['result'],
    registers: [metrics.registry],
    collect() {
      const n = read();
      this.reset();
      this.inc({ result: 'hit' }, n.hits);
      this.inc({ result: 'miss' }, n.misses);
      this.inc({ result: 'rejected' }, n.rejected);
      this.inc({ result: 'error' }, n.errors);
      this.inc({ result: 'write' }, n.writes);
    },
  });
  new Counter({
    name: 'signet_shared_cache_bytes_total',
    help: 'Bytes read from and written to the shared cache, sealed entries included.',
    labelNames: ['direction'],
    registers: [metrics.registry],
    collect() {
      const n = read();
      this.reset();
      this.inc({ direction: 'read' }, n.bytesRead);
      this.inc({ direction: 'written' }, n.bytesWritten);
    },
  });
  new Gauge({
    name: 'signet_shared_cache_up',
    help: '1 while the shared cache is connected and asked; 0 while it is down or its breaker is open (reviews then go to the registry).',
    registers: [metrics.registry],
    collect() {
      const n = read();
      this.set(n.connected && !n.breakerOpen ? 1 : 0);
    },
  });
}
