// The cache several replicas share, on Redis or Valkey (ADR 0007). Two promises to the rest of
// Signet: nothing read from it is believed without a check, and nothing it does can fail or stall a
// review.
// - Every value is sealed with an HMAC-SHA256 under a key the replicas share (a Kubernetes Secret),
//   bound to the entry's name and expiry. Whoever can write to Redis but lacks the key can only cause
//   misses. Content by digest is, in addition, re-hashed by the registry client on read.
// - Entry names are HMACs too: what a key says (registry, repository, and a hash of the credentials that
//   fetched it) is not readable in Redis, so nobody who can list keys can test passwords against them.
// - Every command has a short deadline; a disconnected client fails at once (no offline queue); after a
//   run of failures a breaker stops asking for a while. Trouble is a miss, counted in the metrics.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { SharedStore } from '../registry/shared-store.js';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  readonly url: string;
  /** The replicas' shared secret; at least 32 bytes. */
  readonly hmacKey: Buffer;
  /** Password when not in the URL (from a Secret). */
  readonly password?: string;
  readonly username?: string;
  /** Extra CA certificates (PEM) for `rediss://`. */
  readonly caBundle?: string;
  /** Prefix of every key, so one Redis can serve several installations. Default `signet:`. */
  readonly prefix?: string;
  /**
   * Deadline of one command. Default 100 ms: far below a registry round trip, which is what a miss
   * costs, and above the event-loop delay of a busy replica (the deadline is a timer on the same loop
   * as the reply: with 25 ms, a replica under load timed out on replies that had arrived).
   */
  readonly commandTimeoutMs?: number;
  /** Largest value stored; larger ones are simply not shared. Default 1 MiB. */
  readonly maxEntryBytes?: number;
  /** Consecutive failures that open the breaker, and for how long it stays open. Default 5 and 2000 ms. */
  readonly breakerFailures?: number;
  readonly breakerOpenMs?: number;
  readonly now?: () => number;
  /** Told (rarely: on state changes) what went wrong; never with values or secrets. */
  readonly onProblem?: (message: string) => void;
}

export interface SharedStoreStats {
  readonly hits: number;
  readonly misses: number;
  /** Values present but refused: bad seal (forged, or another key), or expired. */
  readonly rejected: number;
  readonly errors: number;
  readonly writes: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly breakerOpen: boolean;
  readonly connected: boolean;
}

const VERSION = 1;
const HEADER_BYTES = 1 + 8 + 32;
const MIN_KEY_BYTES = 32;
const CLOCK_SKEW_MS = 5_000;

export class RedisSharedStore implements SharedStore {
  readonly #redis: Redis;
  readonly #key: Buffer;
  readonly #prefix: string;
  readonly #maxEntryBytes: number;
  readonly #breakerFailures: number;
  readonly #breakerOpenMs: number;
  readonly #now: () => number;
  readonly #onProblem: (message: string) => void;
  #failures = 0;
  #openUntil = 0;
  #stats = { hits: 0, misses: 0, rejected: 0, errors: 0, writes: 0, bytesRead: 0, bytesWritten: 0 };

  /** Throws on invalid options (a configuration error at start-up). Connects in the background. */
  constructor(o: RedisStoreOptions) {
    if (o.hmacKey.length < MIN_KEY_BYTES) throw new Error(`the shared cache key must be at least ${MIN_KEY_BYTES} bytes, got ${o.hmacKey.length}`);
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new Error('the shared cache URL is not a valid URL (expected redis://host:port or rediss://host:port)');
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`the shared cache URL must start with redis:// or rediss://, not ${url.protocol}//`);
    this.#key = Buffer.from(o.hmacKey);
    this.#prefix = o.prefix ?? 'signet:';
    this.#maxEntryBytes = o.maxEntryBytes ?? 1024 * 1024;
    this.#breakerFailures = o.breakerFailures ?? 5;
    this.#breakerOpenMs = o.breakerOpenMs ?? 2000;
    this.#now = o.now ?? Date.now;
    this.#onProblem = o.onProblem ?? (() => undefined);
    const options: RedisOptions = {
      commandTimeout: o.commandTimeoutMs ?? 100,
      connectTimeout: 2000,
      // Fail at once while disconnected: a queued command would hold a review until reconnection.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
      lazyConnect: false,
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(url.protocol === 'rediss:' ? { tls: o.caBundle !== undefined ? { ca: o.caBundle } : {} } : {}),
    };
    this.#redis = new Redis(o.url, options);
    // Without a listener ioredis reports connection errors as unhandled; they are expected here.
    this.#redis.on('error', (error: unknown) => this.#onProblem(`shared cache: ${describe(error)}`));
  }

  async get(key: string, maxLifetimeMs: number): Promise<Buffer | undefined> {
    if (this.#open()) {
      this.#stats.misses++;
      return undefined;
    }
    let sealed: Buffer | null;
    try {
      sealed = await this.#redis.getBuffer(this.redisName(key));
      this.#succeeded();
    } catch (error) {
      this.#failed(error);
      this.#stats.misses++;
      return undefined;
    }
    if (sealed === null) {
      this.#stats.misses++;
      return undefined;
    }
    this.#stats.bytesRead += sealed.length;
    const value = this.#unseal(key, sealed, maxLifetimeMs);
    if (value === undefined) {
      this.#stats.rejected++;
      this.#stats.misses++;
      return undefined;
    }
    this.#stats.hits++;
    return value;
  }

  set(key: string, value: Buffer, ttlMs: number): void {
    if (this.#open() || value.length > this.#maxEntryBytes || !(ttlMs >= 1)) return;
    const ttl = Math.ceil(ttlMs);
    const sealed = this.#seal(key, value, this.#now() + ttl);
    this.#stats.writes++;
    this.#stats.bytesWritten += sealed.length;
    this.#redis.set(this.redisName(key), sealed, 'PX', ttl).then(
      () => this.#succeeded(),
      (error: unknown) => this.#failed(error),
    );
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (this.#open()) return true;
    try {
      const answer = await this.#redis.set(this.redisName(`claim\u0000${key}`), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      this.#succeeded();
      return answer === 'OK';
    } catch (error) {
      this.#failed(error);
      return true;
    }
  }

  release(key: string): void {
    if (this.#open()) return;
    this.#redis.del(this.redisName(`claim\u0000${key}`)).then(
      () => this.#succeeded(),
      (error: unknown) => this.#failed(error),
    );
  }

  /** The Redis key an entry is stored under: the prefix and an HMAC of its name (for tests and diagnostics). */
  redisName(key: string): string {
    return this.#prefix + createHmac('sha256', this.#key).update('signet shared cache name\u0000').update(key).digest('base64url');
  }

  /** Resolves true once connected, false after `timeoutMs` (the store works meanwhile: as misses). */
  async whenReady(timeoutMs: number): Promise<boolean> {
    const until = this.#now() + timeoutMs;
    while (this.#redis.status !== 'ready') {
      if (this.#now() >= until || this.#redis.status === 'end') return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  stats(): SharedStoreStats {
    return { ...this.#stats, breakerOpen: this.#open(), connected: this.#redis.status === 'ready' };
  }

  async close(): Promise<void> {
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  // Sealed value: version (1 byte) | expiry, ms since the epoch (8 bytes) | HMAC (32 bytes) | value.
  #seal(key: string, value: Buffer, expiresAt: number): Buffer {
    const header = Buffer.alloc(9);
    header.writeUInt8(VERSION, 0);
    header.writeBigUInt64BE(BigInt(expiresAt), 1);
    return Buffer.concat([header, this.#mac(key, header, value), value]);
  }

  #unseal(key: string, sealed: Buffer, maxLifetimeMs: number): Buffer | undefined {
    if (sealed.length < HEADER_BYTES || sealed.readUInt8(0) !== VERSION) return undefined;
    const header = sealed.subarray(0, 9);
    const value = sealed.subarray(HEADER_BYTES);
    if (!timingSafeEqual(sealed.subarray(9, HEADER_BYTES), this.#mac(key, header, value))) return undefined;
    // An entry outlives its TTL only if Redis's clock or the writer's disagree; never serve it then. Nor
    // one sealed to live longer than its kind may (plus a little skew between replicas' clocks).
    const expiresAt = Number(header.readBigUInt64BE(1));
    const now = this.#now();
    if (expiresAt <= now || expiresAt > now + maxLifetimeMs + CLOCK_SKEW_MS) return undefined;
    return value;
  }

  /** Bound to the entry's full name (prefix included), so a value cannot be moved to another key. */
  #mac(key: string, header: Buffer, value: Buffer): Buffer {
    const name = Buffer.from(this.#prefix + key, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(name.length, 0);
    return createHmac('sha256', this.#key).update('signet shared cache\u0000').update(length).update(name).update(header).update(value).digest();
  }

  #open(): boolean {
    return this.#openUntil > this.#now();
  }

  #succeeded(): void {
    if (this.#failures >= this.#breakerFailures) this.#onProblem('shared cache: answering again');
    this.#failures = 0;
    // A command that got through says Redis answers: ask again at once rather than after the pause.
    this.#openUntil = 0;
  }

  #failed(error: unknown): void {
    this.#stats.errors++;
    this.#failures++;
    if (this.#failures === this.#breakerFailures || (this.#failures > this.#breakerFailures && !this.#open())) {
      this.#openUntil = this.#now() + this.#breakerOpenMs;
      this.#onProblem(`shared cache: ${this.#failures} failures in a row (${describe(error)}); not asked for ${this.#breakerOpenMs} ms`);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
}
