// Opening the optional cache shared by replicas (ADR 0007): the store, what the registry client is
// given, its metrics and its log lines.
import type { Logger } from 'pino';
import type { SharedStoreSettings } from '../registry/shared-store.js';
import { RedisSharedStore } from '../shared-cache/redis-store.js';
import type { Metrics } from '../telemetry/metrics.js';
import { addSharedCacheMetrics } from '../telemetry/shared-cache-metrics.js';

export interface SharedCacheConfig {
  /** `redis://host:port[/db]` or `rediss://…`. */
  readonly url: string;
  /** The replicas' shared key (from a Secret), at least 32 bytes. */
  readonly hmacKey: Buffer;
  readonly password?: string;
  readonly username?: string;
  /** Extra CA certificates (PEM) for `rediss://`. */
  readonly caBundle?: string;
  /** Lifetime of shared tag resolutions and referrer lists; the webhook's --tag-ttl. */
  readonly tagTtlMs: number;
  /** Lifetime of shared content by digest. Default 24 h. */
  readonly contentTtlMs?: number;
  /** How long a replica waits for another's fetch. Default 500 ms. */
  readonly waitMs?: number;
}

export interface OpenedSharedCache {
  readonly settings: SharedStoreSettings;
  close(): Promise<void>;
}

/** Throws on a configuration error (start-up). Connects in the background: until then, every lookup is a miss. */
export function openSharedCache(config: SharedCacheConfig, logger: Logger, metrics: Metrics): OpenedSharedCache {
  const store = new RedisSharedStore({
    url: config.url,
    hmacKey: config.hmacKey,
    ...(config.password !== undefined ? { password: config.password } : {}),
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.caBundle !== undefined ? { caBundle: config.caBundle } : {}),
    onProblem: (message) => logger.warn({ problem: message }, 'shared cache'),
  });
  addSharedCacheMetrics(metrics, () => store.stats());
  // The URL may carry a password: only its host is logged.
  logger.info({ sharedCache: hostOf(config.url) }, 'shared cache configured');
  return {
    settings: { store, tagTtlMs: config.tagTtlMs, contentTtlMs: config.contentTtlMs ?? 24 * 3600_000, waitMs: config.waitMs ?? 500 },
    close: () => store.close(),
  };
}

function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return '(invalid URL)';
  }
}
