// Registry politeness: decides when a request to a host may go. Per host it keeps a cap on requests
// in flight with a bounded FIFO queue behind it, a token bucket for the request rate, and a back-off
// window after a 429, so a rollout of hundreds of pods cannot hammer one registry and every caller
// learns of a 429 from the first one that met it. It never sends anything itself. Every wait is
// bounded twice: by the caller's signal, and by a time budget it refuses up front to outlast
// (failing fast with a reason instead of sleeping into a timeout).

import type { ThrottleReason } from './types.js';

/** Limits for one host (a registry's API host, a token realm's host, or a redirect target). */
export interface HostLimits {
  /** Requests in flight at once (headers sent until the body is consumed or dropped). */
  readonly maxConcurrent: number;
  /** Requests waiting for a slot or a token; one more is refused at once. */
  readonly maxQueued: number;
  /** Token bucket refill rate. */
  readonly requestsPerSecond: number;
  /** Token bucket size: requests that may go at once after a quiet spell. */
  readonly burst: number;
}

export const DEFAULT_HOST_LIMITS: HostLimits = Object.freeze({ maxConcurrent: 16, maxQueued: 1000, requestsPerSecond: 50, burst: 100 });

/** A back-off from a 429 never holds a host longer than this; the next request then probes it again. */
export const MAX_BACKOFF_MS = 60_000;

export type ThrottleObserver = (event: { readonly host: string; readonly reason: ThrottleReason }) => void;

export type Admission =
  /** `release` must be called when the exchange is over (body consumed or dropped); later calls do nothing. */
  | { readonly kind: 'admitted'; readonly release: () => void }
  /** The signal fired while waiting, or the turn came with too little time left to be worth sending. */
  | { readonly kind: 'out-of-time'; readonly limits: HostLimits }
  | { readonly kind: 'queue-full'; readonly queued: number; readonly limits: HostLimits }
  /** Waiting for a token or for a back-off to end would outlast the budget. */
  | { readonly kind: 'rate-limited'; readonly waitMs: number; readonly budgetMs: number; readonly limits: HostLimits; readonly backoff: Backoff | undefined }
  | { readonly kind: 'closed' };

/** Why a host is being left alone: what its 429 said. */
export interface Backoff {
  readonly untilMs: number;
  /** The Retry-After value as sent (already made printable), or undefined when there was none. */
  readonly retryAfter: string | undefined;
}

interface Waiter {
  readonly giveUpAt: number;
  /** Counted once as 'rate-limit' when the rate or a back-off (rather than a busy slot) holds it. */
  rateCounted: boolean;
  readonly settle: (admission: Admission) => void;
}

interface HostGate {
  readonly limits: HostLimits;
  inFlight: number;
  readonly waiters: Waiter[];
  tokens: number;
  refilledAt: number;
  backoff: Backoff | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** A request whose turn (or retry) would come with less time than this before its deadline is not sent: it could not finish. */
export const MIN_USEFUL_MS = 50;

/** Idle hosts are forgotten once more than this many are known (an idle gate equals a fresh one). */
const MAX_IDLE_HOSTS = 256;

export class RequestLimiter {
  readonly #limitsFor: (host: string) => HostLimits;
  readonly #onThrottle: ThrottleObserver | undefined;
  readonly #now: () => number;
  readonly #gates = new Map<string, HostGate>();
  #closed = false;

  constructor(limitsFor: (host: string) => HostLimits, onThrottle?: ThrottleObserver, now: () => number = () => performance.now()) {
    this.#limitsFor = limitsFor;
    this.#onThrottle = onThrottle;
    this.#now = now;
  }

  /**
   * Waits for this host's turn. `giveUpAt` (on the performance.now() clock) is the latest useful start:
   * when the rate limit or a back-off would hold the request past it, the answer is 'rate-limited' at
   * once. A wait for a free slot is not predictable, so only `signal` bounds it.
   */
  acquire(host: string, signal: AbortSignal, giveUpAt: number): Promise<Admission> {
    if (this.#closed) return Promise.resolve({ kind: 'closed' });
    const gate = this.#gate(host);
    if (signal.aborted) return Promise.resolve({ kind: 'out-of-time', limits: gate.limits });
    const now = this.#now();
    refill(gate, now);
    if (gate.waiters.length === 0 && gate.inFlight < gate.limits.maxConcurrent && !blocked(gate, now) && gate.tokens >= 1) {
      gate.tokens -= 1;
      gate.inFlight++;
      return Promise.resolve(this.#admitted(host, gate));
    }
    if (gate.waiters.length >= gate.limits.maxQueued) {
      this.#onThrottle?.({ host, reason: 'queue-full' });
      return Promise.resolve({ kind: 'queue-full', queued: gate.waiters.length, limits: gate.limits });
    }
    const startAt = turnAt(gate, gate.waiters.length, now);
    const heldByRate = startAt > now;
    if (heldByRate) this.#onThrottle?.({ host, reason: 'rate-limit' });
    // Only a rate or back-off hold is predictable enough to refuse up front; a slot wait is bounded by the signal.
    if (heldByRate && startAt > giveUpAt) return Promise.resolve(rateLimited(gate, startAt, giveUpAt, now));

    return new Promise<Admission>((resolve) => {
      const onAbort = (): void => {
        const index = gate.waiters.indexOf(waiter);
        if (index < 0) return;
        gate.waiters.splice(index, 1);
        resolve({ kind: 'out-of-time', limits: gate.limits });
        // The one behind may be able to go now.
        this.#pump(host, gate);
      };
      const waiter: Waiter = {
        giveUpAt,
        rateCounted: heldByRate,
        settle: (admission) => {
          signal.removeEventListener('abort', onAbort);
          resolve(admission);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      gate.waiters.push(waiter);
      this.#pump(host, gate);
    });
  }

  /**
   * The host answered 429: nobody asks it anything until `waitMs` has passed (at most MAX_BACKOFF_MS),
   * and the bucket restarts nearly empty so the queue drains at the configured rate, not all at once.
   * Waiters whose budget ends before their turn are answered 'rate-limited' now rather than later.
   */
  backOff(host: string, waitMs: number, retryAfter: string | undefined): void {
    if (this.#closed) return;
    const gate = this.#gate(host);
    const now = this.#now();
    refill(gate, now);
    const untilMs = now + Math.min(Math.max(0, waitMs), MAX_BACKOFF_MS);
    if (gate.backoff === undefined || untilMs > gate.backoff.untilMs) gate.backoff = { untilMs, retryAfter };
    gate.tokens = Math.min(gate.tokens, 1);
    let position = 0;
    for (const waiter of [...gate.waiters]) {
      if (!waiter.rateCounted) {
        waiter.rateCounted = true;
        this.#onThrottle?.({ host, reason: 'rate-limit' });
      }
      const startAt = turnAt(gate, position, now);
      if (startAt > waiter.giveUpAt) {
        gate.waiters.splice(position, 1);
        waiter.settle(rateLimited(gate, startAt, waiter.giveUpAt, now));
      } else {
        position++;
      }
    }
    this.#pump(host, gate);
  }

  /** Requests waiting per known host (hosts forgotten when idle). */
  waiting(): Map<string, number> {
    return new Map([...this.#gates].map(([host, gate]) => [host, gate.waiters.length]));
  }

  /** Answers every waiter 'closed' and stops the timers; later calls are refused. */
  close(): void {
    this.#closed = true;
    for (const gate of this.#gates.values()) {
      clearTimeout(gate.timer);
      for (const waiter of gate.waiters.splice(0)) waiter.settle({ kind: 'closed' });
    }
    this.#gates.clear();
  }

  #gate(host: string): HostGate {
    let gate = this.#gates.get(host);
    if (gate !== undefined) return gate;
    if (this.#gates.size >= MAX_IDLE_HOSTS) this.#forgetIdle();
    const limits = this.#limitsFor(host);
    gate = { limits, inFlight: 0, waiters: [], tokens: limits.burst, refilledAt: this.#now(), backoff: undefined, timer: undefined };
    this.#gates.set(host, gate);
    return gate;
  }

  #forgetIdle(): void {
    const now = this.#now();
    for (const [host, gate] of this.#gates) {
      refill(gate, now);
      if (gate.inFlight === 0 && gate.waiters.length === 0 && !blocked(gate, now) && gate.tokens >= gate.limits.burst) this.#gates.delete(host);
    }
  }

  #admitted(host: string, gate: HostGate): Admission {
    let released = false;
    return {
      kind: 'admitted',
      release: () => {
        if (released) return;
        released = true;
        gate.inFlight--;
        this.#pump(host, gate);
      },
    };
  }

  /** Lets waiters go from the front while a slot and a token are free; otherwise sleeps until a token or the back-off end. */
  #pump(host: string, gate: HostGate): void {
    clearTimeout(gate.timer);
    gate.timer = undefined;
    if (this.#closed) return;
    const now = this.#now();
    refill(gate, now);
    while (gate.waiters.length > 0) {
      // A release will pump again.
      if (gate.inFlight >= gate.limits.maxConcurrent) return;
      const readyAt = turnAt(gate, 0, now);
      if (readyAt > now) {
        // Not unref'd: a command-line caller may have nothing else keeping the process alive while it waits.
        gate.timer = setTimeout(() => this.#pump(host, gate), Math.ceil(readyAt - now));
        return;
      }
      const waiter = gate.waiters.shift()!;
      if (waiter.giveUpAt - now < MIN_USEFUL_MS) {
        waiter.settle({ kind: 'out-of-time', limits: gate.limits });
        continue;
      }
      gate.tokens -= 1;
      gate.inFlight++;
      waiter.settle(this.#admitted(host, gate));
    }
  }
}

function blocked(gate: HostGate, now: number): boolean {
  return gate.backoff !== undefined && now < gate.backoff.untilMs;
}

/** Tokens accrue at the configured rate, but not while the host is backing off. */
function tokensAt(gate: HostGate, at: number): number {
  const accrualStart = Math.max(gate.refilledAt, gate.backoff?.untilMs ?? 0);
  const accrued = Math.max(0, at - accrualStart) * (gate.limits.requestsPerSecond / 1000);
  return Math.min(gate.limits.burst, gate.tokens + accrued);
}

function refill(gate: HostGate, now: number): void {
  gate.tokens = tokensAt(gate, now);
  gate.refilledAt = now;
  if (gate.backoff !== undefined && now >= gate.backoff.untilMs) gate.backoff = undefined;
}

/** When the waiter at `position` (0 = front) gets its token, ignoring slots: the back-off end plus the refill time. */
function turnAt(gate: HostGate, position: number, now: number): number {
  const startAt = blocked(gate, now) ? gate.backoff!.untilMs : now;
  const missing = position + 1 - tokensAt(gate, startAt);
  return missing <= 0 ? startAt : startAt + (missing * 1000) / gate.limits.requestsPerSecond;
}

function rateLimited(gate: HostGate, startAt: number, giveUpAt: number, now: number): Admission {
  return { kind: 'rate-limited', waitMs: startAt - now, budgetMs: Math.max(0, giveUpAt - now), limits: gate.limits, backoff: blocked(gate, now) ? gate.backoff : undefined };
}

/**
 * Validated limits: `fallback` overridden by whichever of `given` are set. Throws on a value that could
 * never let a request go (a configuration error at start-up).
 */
export function hostLimits(given: { maxConcurrent?: number | undefined; maxQueued?: number | undefined; requestsPerSecond?: number | undefined; burst?: number | undefined }, fallback: HostLimits, where: string): HostLimits {
  const limits: HostLimits = {
    maxConcurrent: given.maxConcurrent ?? fallback.maxConcurrent,
    maxQueued: given.maxQueued ?? fallback.maxQueued,
    requestsPerSecond: given.requestsPerSecond ?? fallback.requestsPerSecond,
    burst: given.burst ?? fallback.burst,
  };
  if (!Number.isSafeInteger(limits.maxConcurrent) || limits.maxConcurrent < 1) throw new Error(`${where}: maxConcurrentRequests must be a positive integer`);
  if (!Number.isSafeInteger(limits.maxQueued) || limits.maxQueued < 0) throw new Error(`${where}: maxQueuedRequests must be a non-negative integer`);
  if (!Number.isFinite(limits.requestsPerSecond) || limits.requestsPerSecond <= 0) throw new Error(`${where}: maxRequestsPerSecond must be a positive number`);
  if (!Number.isSafeInteger(limits.burst) || limits.burst < 1) throw new Error(`${where}: burst must be a positive integer`);
  return Object.freeze(limits);
}

/**
 * Retry-After (RFC 9110 §10.2.3) as a delay in ms: delay-seconds or an HTTP-date. Undefined when absent
 * or unreadable (treated as "no Retry-After"). A date in the past means "now".
 */
export function retryAfterDelayMs(value: string | undefined, nowEpochMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with a day name; this keeps Date.parse's leniency ("1.5" is a date to it) out.
  if (!/^(?:mon|tue|wed|thu|fri|sat|sun)/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowEpochMs);
}

// AbortSignal cannot say when it will fire. A signal made by deadlineSignal (or told with
// rememberDeadline) carries its deadline here, so the transport, the authenticator and the trust-server
// client can refuse a wait that would outlast it without every call passing a second parameter.
const knownDeadlines = new WeakMap<AbortSignal, number>();

/** AbortSignal.timeout(ms) whose deadline the registry client can see. */
export function deadlineSignal(ms: number): AbortSignal {
  const signal = AbortSignal.timeout(ms);
  knownDeadlines.set(signal, performance.now() + ms);
  return signal;
}

/** Tells the registry client when `signal` is due to fire (`at` on the performance.now() clock). */
export function rememberDeadline(signal: AbortSignal, at: number): void {
  knownDeadlines.set(signal, at);
}

export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal === undefined ? undefined : knownDeadlines.get(signal);
}
