// The request limiter on its own, with an injected clock: exact waits and budgets, the queue bound, the
// back-off after a 429, aborts, closing, forgetting idle hosts, and the validation of configured limits.
// (test/registry/politeness.test.ts covers the same rules through the client against a hostile registry.)
import { deadlineOf, deadlineSignal, hostLimits, MAX_BACKOFF_MS, MIN_USEFUL_MS, rememberDeadline, RequestLimiter, retryAfterDelayMs, type Admission, type HostLimits } from '../../src/registry/limits.js';
import type { ThrottleReason } from '../../src/registry/types.js';

const HOST = 'registry.example';

/** A limiter whose clock moves only when told to, recording throttle events. */
function limiter(limits: Partial<HostLimits> = {}): { limiter: RequestLimiter; clock: { t: number }; events: ThrottleReason[]; limits: HostLimits } {
  const full: HostLimits = { maxConcurrent: 100, maxQueued: 100, requestsPerSecond: 10, burst: 100, ...limits };
  const clock = { t: 1_000_000 };
  const events: ThrottleReason[] = [];
  const l = new RequestLimiter(
    () => full,
    (event) => {
      expect(event.host).toBe(HOST);
      events.push(event.reason);
    },
    () => clock.t,
  );
  return { limiter: l, clock, events, limits: full };
}

const live = (): AbortSignal => new AbortController().signal;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Settled admissions, in the order they settled. */
function track(promises: Promise<Admission>[]): Admission[] {
  const settled: Admission[] = [];
  for (const p of promises) void p.then((a) => settled.push(a));
  return settled;
}

function admitted(a: Admission): Extract<Admission, { kind: 'admitted' }> {
  if (a.kind !== 'admitted') throw new Error(`expected admitted, got ${a.kind}`);
  return a;
}

describe('slots and the queue', () => {
  test('requests up to maxConcurrent go at once; then they queue up to maxQueued; one more is refused as queue-full', async () => {
    const { limiter: l, clock, events, limits } = limiter({ maxConcurrent: 2, maxQueued: 1 });
    const first = admitted(await l.acquire(HOST, live(), clock.t + 1000));
    admitted(await l.acquire(HOST, live(), clock.t + 1000));
    const settled = track([l.acquire(HOST, live(), clock.t + 1000)]);
    expect(await l.acquire(HOST, live(), clock.t + 1000)).toEqual({ kind: 'queue-full', queued: 1, limits });
    expect(events).toEqual(['queue-full']);
    expect(l.waiting()).toEqual(new Map([[HOST, 1]]));
    await sleep(5);
    expect(settled).toEqual([]);
    // A release lets the one waiting go; a second release of the same exchange frees nothing more.
    first.release();
    first.release();
    await sleep(0);
    expect(settled.map((a) => a.kind)).toEqual(['admitted']);
    const fourth = track([l.acquire(HOST, live(), clock.t + 1000)]);
    await sleep(5);
    expect(fourth).toEqual([]);
    expect(l.waiting()).toEqual(new Map([[HOST, 1]]));
    l.close();
  });

  test('with maxQueued 0 a busy host refuses at once', async () => {
    const { limiter: l, clock, limits } = limiter({ maxConcurrent: 1, maxQueued: 0 });
    admitted(await l.acquire(HOST, live(), clock.t + 1000));
    expect(await l.acquire(HOST, live(), clock.t + 1000)).toEqual({ kind: 'queue-full', queued: 0, limits });
  });

  test('a slot wait is bounded by the signal only: an abort answers out-of-time and lets the one behind go', async () => {
    const { limiter: l, clock, limits } = limiter({ maxConcurrent: 1 });
    const holder = admitted(await l.acquire(HOST, live(), clock.t + 1000));
    const abort = new AbortController();
    // giveUpAt already past: a slot wait is not predictable, so it is not refused up front.
    const settled = track([l.acquire(HOST, abort.signal, clock.t - 1), l.acquire(HOST, live(), clock.t + 1000)]);
    await sleep(5);
    expect(settled).toEqual([]);
    abort.abort();
    await sleep(0);
    expect(settled).toEqual([{ kind: 'out-of-time', limits }]);
    expect(l.waiting().get(HOST)).toBe(1);
    holder.release();
    await sleep(0);
    expect(settled.map((a) => a.kind)).toEqual(['out-of-time', 'admitted']);
    // An abort after the turn came changes nothing.
    abort.abort();
    expect(l.waiting().get(HOST)).toBe(0);
  });

  test('an already aborted signal is out-of-time at once', async () => {
    const { limiter: l, clock, limits } = limiter();
    expect(await l.acquire(HOST, AbortSignal.abort(), clock.t + 1000)).toEqual({ kind: 'out-of-time', limits });
  });
});

describe('the request rate', () => {
  test('after the burst a request waits 1/rate per token; one whose turn is past its budget is refused at once with the wait and the budget', async () => {
    const { limiter: l, clock, events, limits } = limiter({ burst: 2, requestsPerSecond: 10 });
    admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    expect(events).toEqual([]);
    expect(await l.acquire(HOST, live(), clock.t + 99)).toEqual({ kind: 'rate-limited', waitMs: 100, budgetMs: 99, limits, backoff: undefined });
    expect(events).toEqual(['rate-limit']);
    const settled = track([l.acquire(HOST, live(), clock.t + 100 + MIN_USEFUL_MS)]);
    // The next in line waits for the token after that one.
    expect(await l.acquire(HOST, live(), clock.t + 150)).toEqual({ kind: 'rate-limited', waitMs: 200, budgetMs: 150, limits, backoff: undefined });
    clock.t += 100;
    await sleep(120);
    expect(settled.map((a) => a.kind)).toEqual(['admitted']);
  });

  test('tokens come back at the configured rate, never above the burst', async () => {
    const { limiter: l, clock, limits } = limiter({ burst: 3, requestsPerSecond: 10 });
    for (let i = 0; i < 3; i++) admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    clock.t += 250; // 2.5 tokens
    admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    expect(await l.acquire(HOST, live(), clock.t)).toEqual({ kind: 'rate-limited', waitMs: 50, budgetMs: 0, limits, backoff: undefined });
    clock.t += 10_000; // a long quiet spell: back to the burst, not 100 tokens
    for (let i = 0; i < 3; i++) admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    expect((await l.acquire(HOST, live(), clock.t + 10)).kind).toBe('rate-limited');
  });

  test('a waiter whose turn comes with less than MIN_USEFUL_MS left is answered out-of-time, not sent', async () => {
    const { limiter: l, clock, limits } = limiter({ burst: 1, requestsPerSecond: 10 });
    admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    const settled = track([l.acquire(HOST, live(), clock.t + 100 + MIN_USEFUL_MS - 1), l.acquire(HOST, live(), clock.t + 1000)]);
    clock.t += 100;
    await sleep(120);
    // The first is dropped without using the token: the second goes on the same token.
    expect(settled).toEqual([{ kind: 'out-of-time', limits }, expect.objectContaining({ kind: 'admitted' })]);
  });
});

describe('back-off after a 429', () => {
  test('nobody goes until the back-off ends; a request that cannot wait that long is refused with the back-off and its Retry-After', async () => {
    const { limiter: l, clock, events, limits } = limiter();
    const start = clock.t;
    l.backOff(HOST, 5000, '5');
    const backoff = { untilMs: start + 5000, retryAfter: '5' };
    expect(await l.acquire(HOST, live(), clock.t + 4999)).toEqual({ kind: 'rate-limited', waitMs: 5000, budgetMs: 4999, limits, backoff });
    expect(events).toEqual(['rate-limit']);
    // A shorter back-off later does not shorten it.
    l.backOff(HOST, 10, undefined);
    expect(await l.acquire(HOST, live(), clock.t + 100)).toEqual({ kind: 'rate-limited', waitMs: 5000, budgetMs: 100, limits, backoff });
    // A longer one extends it.
    l.backOff(HOST, 7000, '7');
    expect(await l.acquire(HOST, live(), clock.t)).toEqual({ kind: 'rate-limited', waitMs: 7000, budgetMs: 0, limits, backoff: { untilMs: start + 7000, retryAfter: '7' } });
    // Once it is over, requests go again, at the rate from one token (not a full burst at once).
    clock.t = start + 7000;
    admitted(await l.acquire(HOST, live(), clock.t + 1000)).release();
    expect(await l.acquire(HOST, live(), clock.t + 50)).toEqual({ kind: 'rate-limited', waitMs: 100, budgetMs: 50, limits, backoff: undefined });
  });

  test('a back-off is capped at MAX_BACKOFF_MS, and a negative one is none', async () => {
    const { limiter: l, clock, limits } = limiter();
    l.backOff(HOST, 10 * MAX_BACKOFF_MS, undefined);
    expect(await l.acquire(HOST, live(), clock.t)).toEqual({ kind: 'rate-limited', waitMs: MAX_BACKOFF_MS, budgetMs: 0, limits, backoff: { untilMs: clock.t + MAX_BACKOFF_MS, retryAfter: undefined } });
    const other = limiter();
    other.limiter.backOff(HOST, -5000, undefined);
    admitted(await other.limiter.acquire(HOST, live(), other.clock.t + 1000));
  });

  test('waiters already queued are counted as rate-limited once, and those whose budget ends first are answered at once', async () => {
    const { limiter: l, clock, events, limits } = limiter({ maxConcurrent: 1 });
    const holder = admitted(await l.acquire(HOST, live(), clock.t + 100_000));
    const start = clock.t;
    const settled = track([l.acquire(HOST, live(), start + 1000), l.acquire(HOST, live(), start + 5000), l.acquire(HOST, live(), start + 100_000)]);
    await sleep(0);
    expect(events).toEqual([]);
    l.backOff(HOST, 2000, '2');
    await sleep(0);
    // The turns after the back-off: 2000 ms (one token left), then one more token each 100 ms.
    expect(settled).toEqual([{ kind: 'rate-limited', waitMs: 2000, budgetMs: 1000, limits, backoff: { untilMs: start + 2000, retryAfter: '2' } }]);
    expect(events).toEqual(['rate-limit', 'rate-limit', 'rate-limit']);
    l.backOff(HOST, 2000, '2');
    expect(events).toHaveLength(3);
    expect(l.waiting().get(HOST)).toBe(2);
    holder.release();
    l.close();
    await sleep(0);
    expect(settled.slice(1)).toEqual([{ kind: 'closed' }, { kind: 'closed' }]);
  });
});

describe('closing and idle hosts', () => {
  test('close answers every waiter closed; later calls are refused and back-offs ignored', async () => {
    const { limiter: l, clock } = limiter({ maxConcurrent: 1 });
    admitted(await l.acquire(HOST, live(), clock.t + 1000));
    const settled = track([l.acquire(HOST, live(), clock.t + 1000)]);
    l.close();
    await sleep(0);
    expect(settled).toEqual([{ kind: 'closed' }]);
    expect(await l.acquire(HOST, live(), clock.t + 1000)).toEqual({ kind: 'closed' });
    l.backOff(HOST, 1000, undefined);
    expect(l.waiting()).toEqual(new Map());
  });

  test('idle hosts are forgotten once more than 256 are known; busy or backing-off ones are kept', async () => {
    const { limiter: l, clock } = limiter({ burst: 1 });
    const busy = admitted(await l.acquire('busy.example', live(), clock.t + 1000));
    l.backOff('slow.example', 60_000, undefined);
    for (let i = 0; i < 254; i++) admitted(await l.acquire(`h${i}.example`, live(), clock.t + 1000)).release();
    expect(l.waiting().size).toBe(256);
    // Right now every idle host has used its one token: nothing can be forgotten yet.
    admitted(await l.acquire('new-1.example', live(), clock.t + 1000)).release();
    expect(l.waiting().size).toBe(257);
    clock.t += 1000; // tokens back: the idle hosts now equal fresh ones
    admitted(await l.acquire('new-2.example', live(), clock.t + 1000)).release();
    expect([...l.waiting().keys()].sort()).toEqual(['busy.example', 'new-2.example', 'slow.example']);
    busy.release();
  });
});

describe('configured limits', () => {
  const fallback: HostLimits = { maxConcurrent: 4, maxQueued: 10, requestsPerSecond: 5, burst: 8 };

  test('each given value overrides the fallback; the result is frozen', () => {
    expect(hostLimits({}, fallback, 'x')).toEqual(fallback);
    const limits = hostLimits({ maxConcurrent: 1, maxQueued: 0, requestsPerSecond: 0.5, burst: 1 }, fallback, 'x');
    expect(limits).toEqual({ maxConcurrent: 1, maxQueued: 0, requestsPerSecond: 0.5, burst: 1 });
    expect(Object.isFrozen(limits)).toBe(true);
  });

  test.each<[Parameters<typeof hostLimits>[0], string]>([
    [{ maxConcurrent: 0 }, 'registry r.example: maxConcurrentRequests must be a positive integer'],
    [{ maxConcurrent: 1.5 }, 'registry r.example: maxConcurrentRequests must be a positive integer'],
    [{ maxQueued: -1 }, 'registry r.example: maxQueuedRequests must be a non-negative integer'],
    [{ maxQueued: 2.5 }, 'registry r.example: maxQueuedRequests must be a non-negative integer'],
    [{ requestsPerSecond: 0 }, 'registry r.example: maxRequestsPerSecond must be a positive number'],
    [{ requestsPerSecond: Number.POSITIVE_INFINITY }, 'registry r.example: maxRequestsPerSecond must be a positive number'],
    [{ burst: 0 }, 'registry r.example: burst must be a positive integer'],
    [{ burst: Number.NaN }, 'registry r.example: burst must be a positive integer'],
  ])('%j is refused', (given, message) => {
    expect(() => hostLimits(given, fallback, 'registry r.example')).toThrow(message);
  });
});

describe('Retry-After and known deadlines', () => {
  test.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['9999999999', 9_999_999_999_000],
    ['12345678901', undefined],
    ['mon, 06 Nov 1994 08:49:47 GMT', 10_000],
    ['Someday', undefined],
    ['Sun, 31 Feb 1994 99:99:99 GMT', undefined],
  ])('Retry-After %j is a delay of %s ms', (value, expected) => {
    expect(retryAfterDelayMs(value, Date.parse('Sun, 06 Nov 1994 08:49:37 GMT'))).toBe(expected);
  });

  test('a deadline signal carries its deadline; a remembered one too; others and no signal have none', () => {
    const before = performance.now();
    const signal = deadlineSignal(5000);
    const at = deadlineOf(signal) ?? Number.NaN;
    expect(at).toBeGreaterThanOrEqual(before + 5000);
    expect(at).toBeLessThanOrEqual(performance.now() + 5000);
    const plain = new AbortController().signal;
    expect(deadlineOf(plain)).toBeUndefined();
    rememberDeadline(plain, 1234);
    expect(deadlineOf(plain)).toBe(1234);
    expect(deadlineOf(undefined)).toBeUndefined();
  });
});
