// Registry politeness (issue 8): per-host concurrency cap with a bounded queue, a request-rate limit,
// and 429 handling with Retry-After, all within the caller's deadline. A real registry never answers 429
// or stalls on cue, so the in-process hostile registry plays the server; it records when each request
// arrived and how many were in flight, which is what these tests measure.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Digest, RepositoryRef } from '../../src/reference/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { ThrottleReason } from '../../src/registry/types.js';
import { deadlineSignal, retryAfterDelayMs } from '../../src/registry/limits.js';
import { generateKeyPair } from '../../src/signatures/cosign/private-key.js';
import { hostileRegistryPerTest } from '../support/hostile-registry.js';
import type { HostileRegistry } from '../support/hostile-registry.js';
import { admissionReview, workload } from '../support/admission.js';
import { startWebhookServer } from '../support/webhook-server.js';
import { signet } from '../support/cli.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function sha256(bytes: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

const manifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 }, layers: [] }),
);
const MANIFEST_PATH = '/v2/demo/app/manifests/v1';

function sendManifest(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': manifest.length });
  response.end(manifest);
}

function send429(response: ServerResponse, retryAfter: string | undefined): void {
  const body = '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}';
  response.writeHead(429, { 'content-type': 'application/json', 'content-length': body.length, ...(retryAfter !== undefined ? { 'retry-after': retryAfter } : {}) });
  response.end(body);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds; bounded so a broken limiter fails the test instead of hanging it. */
async function until(condition: () => boolean, what: string, limitMs = 3000): Promise<void> {
  const giveUp = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** What the server saw of one route: arrival times, answers, and the most requests it held at once. */
interface ServerLog {
  readonly arrivals: number[];
  readonly statuses: number[];
  inFlight: number;
  maxInFlight: number;
}

let hostile: HostileRegistry;
let client: RegistryClient;
let repo: RepositoryRef;
let throttled: { host: string; reason: ThrottleReason }[];
const { useClient, replaceClosedClient } = hostileRegistryPerTest((setup) => ({ hostile, client, repo } = setup), {
  onThrottle: (e) => void throttled.push({ host: e.host, reason: e.reason }),
});

function record(log: ServerLog, status: number): void {
  log.arrivals.push(performance.now());
  log.statuses.push(status);
  log.inFlight++;
  log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
}

/**
 * Serves the manifest route through `decide`, which gets the request number (0-based) and picks the
 * answer (200 sends the manifest), sent after `delayMs`.
 */
function route(decide: (n: number) => { status: 200 } | { status: 429; retryAfter?: string }, delayMs = 0): ServerLog {
  const log: ServerLog = { arrivals: [], statuses: [], inFlight: 0, maxInFlight: 0 };
  hostile.on('GET', MANIFEST_PATH, {
    kind: 'handler',
    handle: (_request, response) => {
      const decision = decide(log.arrivals.length);
      record(log, decision.status);
      const answer = (): void => {
        log.inFlight--;
        if (decision.status === 200) sendManifest(response);
        else send429(response, decision.retryAfter);
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    },
  });
  return log;
}

/** Serves the manifest, but only when releaseHeld() is called. */
function heldRoute(): ServerLog & { releaseHeld(): void } {
  const held: ServerResponse[] = [];
  const log: ServerLog & { releaseHeld(): void } = {
    arrivals: [],
    statuses: [],
    inFlight: 0,
    maxInFlight: 0,
    releaseHeld: () => {
      for (const response of held.splice(0)) {
        log.inFlight--;
        sendManifest(response);
      }
    },
  };
  hostile.on('GET', MANIFEST_PATH, {
    kind: 'handler',
    handle: (_request, response) => {
      record(log, 200);
      held.push(response);
    },
  });
  return log;
}

beforeEach(() => {
  throttled = [];
});

describe('concurrency cap per registry host', () => {
  test.each([
    ['the client-wide cap', { maxConcurrentRequests: 3 }, {}, 3],
    ['a per-registry cap', { maxConcurrentRequests: 8 }, { maxConcurrentRequests: 2 }, 2],
  ])('%s holds: never more in flight at the server, and the rest are served in turn', async (_name, options, host, cap) => {
    await useClient(options, host);
    const log = route(() => ({ status: 200 }), 80);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 10 }, () => client.getManifest(repo, 'v1')));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(log.arrivals).toHaveLength(10);
    // Exactly the cap: fewer would mean the requests were needlessly serialised.
    expect(log.maxInFlight).toBe(cap);
    expect(performance.now() - started).toBeGreaterThanOrEqual(Math.ceil(10 / cap) * 80 - 20);
    expect(client.waiting().get(hostile.host)).toBe(0);
  });

  test('beyond the queue bound a request is refused RATE_LIMITED at once, without reaching the server', async () => {
    await useClient({ maxConcurrentRequests: 1, maxQueuedRequests: 2 });
    const log = heldRoute();
    const admitted = [client.getManifest(repo, 'v1'), client.getManifest(repo, 'v1'), client.getManifest(repo, 'v1')];
    await until(() => log.arrivals.length === 1, 'the first request at the server');
    expect(client.waiting().get(hostile.host)).toBe(2);

    const started = performance.now();
    const refused = await client.getManifest(repo, 'v1');
    expect(performance.now() - started).toBeLessThan(200);
    expect(refused).toEqual({
      ok: false,
      error: {
        code: 'RATE_LIMITED',
        registry: hostile.host,
        message: `registry ${hostile.host} not asked for manifest demo/app:v1: 2 requests are already waiting for ${hostile.host} (at most 1 in flight, 2 queued)`,
      },
    });
    expect(throttled).toEqual([{ host: hostile.host, reason: 'queue-full' }]);

    // The queued ones are served in turn once the server answers.
    const answering = setInterval(() => log.releaseHeld(), 10);
    try {
      const results = await Promise.all(admitted);
      expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    } finally {
      clearInterval(answering);
    }
    expect(log.arrivals).toHaveLength(3);
    expect(log.maxInFlight).toBe(1);
  });

  test('aborting a queued request frees its place in the queue and answers it TIMEOUT', async () => {
    await useClient({ maxConcurrentRequests: 1, maxQueuedRequests: 1 });
    const log = heldRoute();
    const first = client.getManifest(repo, 'v1');
    await until(() => log.arrivals.length === 1, 'the first request at the server');
    const cancel = new AbortController();
    const queued = client.getManifest(repo, 'v1', { signal: cancel.signal });
    await until(() => client.waiting().get(hostile.host) === 1, 'one waiter');
    expect((await client.getManifest(repo, 'v1')).ok ? undefined : 'refused').toBe('refused');

    cancel.abort();
    expect(await queued).toEqual({
      ok: false,
      error: { code: 'TIMEOUT', registry: hostile.host, message: `registry ${hostile.host} request for manifest demo/app:v1 was cancelled while waiting for its turn: the caller's deadline passed` },
    });
    expect(client.waiting().get(hostile.host)).toBe(0);
    // The freed place takes a new request instead of refusing it.
    const next = client.getManifest(repo, 'v1');
    await until(() => client.waiting().get(hostile.host) === 1, 'the new waiter');
    const answering = setInterval(() => log.releaseHeld(), 10);
    try {
      expect((await first).ok).toBe(true);
      expect((await next).ok).toBe(true);
    } finally {
      clearInterval(answering);
    }
    // The aborted request never reached the server.
    expect(log.arrivals).toHaveLength(2);
  });

  test('a request whose turn does not come before its request timeout is TIMEOUT, saying why', async () => {
    await useClient({ maxConcurrentRequests: 1, requestTimeoutMs: 300 });
    hostile.on('GET', MANIFEST_PATH, { kind: 'stall' });
    // The first stalls in its slot until its timeout; by then the two queued behind it have almost no time
    // left either, so neither is sent (a request that could not finish only adds to the registry's load).
    const first = client.getManifest(repo, 'v1');
    await until(() => hostile.requests.length === 1, 'the first stalled request');
    const second = client.getManifest(repo, 'v1');
    const started = performance.now();
    const third = await client.getManifest(repo, 'v1');
    expect(performance.now() - started).toBeLessThan(300 + 500);
    expect(third.ok ? undefined : third.error.code).toBe('TIMEOUT');
    expect(third.ok ? '' : third.error.message).toMatch(
      new RegExp(`^registry ${hostile.host} had no turn for manifest demo/app:v1 before its deadline: waited (2[5-9]\\d|3\\d\\d) ms behind other requests to ${hostile.host} \\(at most 1 in flight, 50/s\\)$`),
    );
    expect((await first).ok ? undefined : 'timeout').toBe('timeout');
    const secondResult = await second;
    expect(secondResult.ok ? '' : secondResult.error.message).toContain('had no turn for manifest demo/app:v1 before its deadline');
    expect(hostile.requests).toHaveLength(1);
  });

  test('closing the client answers queued requests at once instead of leaving them to their deadlines', async () => {
    await useClient({ maxConcurrentRequests: 1 });
    const log = heldRoute();
    const first = client.getManifest(repo, 'v1');
    await until(() => log.arrivals.length === 1, 'the first request at the server');
    const queued = client.getManifest(repo, 'v1');
    await until(() => client.waiting().get(hostile.host) === 1, 'the waiter');
    const closing = client.close();
    expect(await queued).toEqual({ ok: false, error: { code: 'UNREACHABLE', registry: hostile.host, message: `registry ${hostile.host} not asked for manifest demo/app:v1: the registry client is closed` } });
    log.releaseHeld();
    expect((await first).ok).toBe(true);
    await closing;
    replaceClosedClient();
    expect(log.arrivals).toHaveLength(1);
  });

  test('every kind of answer gives its slot back (one slot, many exchanges, no hang)', async () => {
    await useClient({ maxConcurrentRequests: 1, maxBlobBytes: 16, requestTimeoutMs: 1000 });
    hostile.requireBearer({ token: 'tok' });
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
    hostile.on('HEAD', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256(manifest) }, body: manifest });
    const big = Buffer.alloc(64, 1);
    hostile.on('GET', `/v2/demo/app/blobs/${sha256(big)}`, { kind: 'respond', body: big });
    hostile.on('GET', '/v2/demo/app/manifests/moved', { kind: 'redirect', location: MANIFEST_PATH });

    // Were any slot given back only at its deadline (1 s), this would take seconds.
    const started = performance.now();
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true); // 401, token, retry
    expect((await client.getManifest(repo, 'moved')).ok).toBe(true); // redirect hop
    expect((await client.getManifest(repo, 'missing')).ok ? undefined : 'not found').toBe('not found'); // error body
    expect((await client.getBlob(repo, { digest: sha256(big) })).ok ? undefined : 'too large').toBe('too large'); // abandoned body
    const headOnly = new RegistryClient({ maxConcurrentRequests: 1, hosts: { [hostile.host]: { insecureHttp: true, resolveWith: 'HEAD' } } });
    try {
      expect((await headOnly.resolve(repo, 'v1')).ok).toBe(true);
      expect((await headOnly.resolve(repo, 'v1')).ok).toBe(true);
    } finally {
      await headOnly.close();
    }
    expect(performance.now() - started).toBeLessThan(900);
    expect(client.waiting().get(hostile.host)).toBe(0);
  });
});

describe('request-rate limit per registry host', () => {
  test('requests beyond the burst are spaced at the configured rate', async () => {
    await useClient({ maxRequestsPerSecond: 10, burst: 2 });
    const log = route(() => ({ status: 200 }));
    const results = await Promise.all(Array.from({ length: 6 }, () => client.getManifest(repo, 'v1')));
    expect(results.every((r) => r.ok)).toBe(true);
    const first = log.arrivals[0]!;
    const offsets = log.arrivals.map((t) => t - first);
    // The burst goes at once; each of the other four waits for its token, one per 100 ms, and is never early
    // (tolerances are generous for a busy machine: a late timer delays one request, not the schedule).
    expect(offsets[1]!).toBeLessThan(100);
    for (let i = 2; i < offsets.length; i++) expect(offsets[i]!).toBeGreaterThanOrEqual((i - 1) * 100 - 30);
    expect(offsets[5]!).toBeLessThan(1500);
    expect(throttled.filter((e) => e.reason === 'rate-limit')).toHaveLength(4);
  });

  test('a per-registry rate overrides the client-wide one', async () => {
    await useClient({ maxRequestsPerSecond: 1000, burst: 1000 }, { maxRequestsPerSecond: 10, burst: 1 });
    const log = route(() => ({ status: 200 }));
    await Promise.all(Array.from({ length: 3 }, () => client.getManifest(repo, 'v1')));
    expect(log.arrivals[2]! - log.arrivals[0]!).toBeGreaterThanOrEqual(150);
  });

  test("a wait for a token that would outlast the caller's deadline fails fast with RATE_LIMITED", async () => {
    await useClient({ maxRequestsPerSecond: 1, burst: 1 });
    route(() => ({ status: 200 }));
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    const started = performance.now();
    const refused = await client.getManifest(repo, 'v1', { signal: deadlineSignal(400) });
    expect(performance.now() - started).toBeLessThan(200);
    expect(refused.ok ? undefined : refused.error.code).toBe('RATE_LIMITED');
    expect(refused.ok ? '' : refused.error.message).toMatch(
      new RegExp(`^registry ${hostile.host} not asked for manifest demo/app:v1: the request-rate limit for ${hostile.host} \\(1/s, burst 1\\) would hold it (0\\.\\d|1\\.0) s, 0\\.[34] s left before the deadline$`),
    );
    expect(hostile.requests).toHaveLength(1);
  });

  test('without a known caller deadline the request timeout bounds the wait', async () => {
    await useClient({ maxRequestsPerSecond: 1, burst: 1, requestTimeoutMs: 300 });
    route(() => ({ status: 200 }));
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    const started = performance.now();
    const refused = await client.getManifest(repo, 'v1', { signal: AbortSignal.timeout(5000) });
    expect(performance.now() - started).toBeLessThan(200);
    expect(refused.ok ? '' : refused.error.message).toContain('0.3 s left before the deadline');
  });

  test('a wait for a token that fits the deadline is waited out', async () => {
    await useClient({ maxRequestsPerSecond: 5, burst: 1 });
    const log = route(() => ({ status: 200 }));
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    expect((await client.getManifest(repo, 'v1', { signal: deadlineSignal(1000) })).ok).toBe(true);
    expect(log.arrivals[1]! - log.arrivals[0]!).toBeGreaterThanOrEqual(150);
  });
});

describe('429 and Retry-After', () => {
  test('Retry-After: 1 within the deadline: waited out, retried once, and the lookup succeeds', async () => {
    const log = route((n) => (n === 0 ? { status: 429, retryAfter: '1' } : { status: 200 }));
    const result = await client.getManifest(repo, 'v1', { signal: deadlineSignal(3000) });
    expect(result.ok).toBe(true);
    expect(log.statuses).toEqual([429, 200]);
    expect(log.arrivals[1]! - log.arrivals[0]!).toBeGreaterThanOrEqual(950);
    expect(throttled).toContainEqual({ host: hostile.host, reason: '429' });
  });

  test('Retry-After as an HTTP date is honoured', async () => {
    const log = route((n) => (n === 0 ? { status: 429, retryAfter: new Date(Date.now() + 1000).toUTCString() } : { status: 200 }));
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    expect(log.statuses).toEqual([429, 200]);
  });

  test('Retry-After beyond the request timeout: RATE_LIMITED at once, naming Retry-After, and later requests are not sent', async () => {
    const log = route(() => ({ status: 429, retryAfter: '30' }));
    const started = performance.now();
    const result = await client.getManifest(repo, 'v1');
    expect(performance.now() - started).toBeLessThan(300);
    expect(result).toEqual({
      ok: false,
      error: { code: 'RATE_LIMITED', registry: hostile.host, status: 429, message: `registry ${hostile.host} answered 429 for manifest demo/app:v1 (rate limited; retry after 30; TOOMANYREQUESTS slow down)` },
    });
    // The host is left alone: the next lookup is refused without asking it.
    const again = await client.getManifest(repo, 'v1');
    expect(again.ok ? '' : again.error.message).toMatch(
      new RegExp(`^registry ${hostile.host} not asked for manifest demo/app:v1: ${hostile.host} answered 429 with Retry-After 30; its back-off ends in (29|30)\\.\\d s, 2\\.0 s left before the deadline$`),
    );
    expect(again.ok ? undefined : again.error.code).toBe('RATE_LIMITED');
    expect(log.arrivals).toHaveLength(1);
  });

  test("Retry-After beyond the caller's deadline (but within the request timeout): RATE_LIMITED at once", async () => {
    await useClient({ requestTimeoutMs: 5000 });
    const log = route(() => ({ status: 429, retryAfter: '2' }));
    const started = performance.now();
    const result = await client.getManifest(repo, 'v1', { signal: deadlineSignal(1000) });
    expect(performance.now() - started).toBeLessThan(300);
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} answered 429 for manifest demo/app:v1 (rate limited; retry after 2; TOOMANYREQUESTS slow down)`);
    expect(log.arrivals).toHaveLength(1);
  });

  test('after a 429, concurrent callers to the host wait for Retry-After instead of each meeting the 429', async () => {
    let backoffEnds = Infinity;
    const log = route(() => {
      const now = performance.now();
      if (backoffEnds === Infinity) {
        backoffEnds = now + 1000;
        return { status: 429, retryAfter: '1' };
      }
      // Anyone asking before Retry-After has passed is told again.
      return now < backoffEnds ? { status: 429, retryAfter: '1' } : { status: 200 };
    });
    const first = client.getManifest(repo, 'v1', { signal: deadlineSignal(4000) });
    await until(() => log.arrivals.length === 1, 'the first 429');
    await sleep(20);
    const others = Array.from({ length: 10 }, () => client.getManifest(repo, 'v1', { signal: deadlineSignal(4000) }));
    await until(() => (client.waiting().get(hostile.host) ?? 0) >= 10, 'ten waiters');
    const results = await Promise.all([first, ...others]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(log.statuses.filter((s) => s === 429)).toHaveLength(1);
    expect(log.arrivals).toHaveLength(12);
    expect(Math.min(...log.arrivals.slice(1)) - log.arrivals[0]!).toBeGreaterThanOrEqual(950);
  });

  test("when a 429 arrives, queued requests whose deadline ends before the back-off are refused at once", async () => {
    await useClient({ maxConcurrentRequests: 1, requestTimeoutMs: 5000 });
    const held: ServerResponse[] = [];
    hostile.on('GET', MANIFEST_PATH, { kind: 'handler', handle: (_request, response) => void held.push(response) });
    const first = client.getManifest(repo, 'v1');
    await until(() => held.length === 1, 'the first request');
    const queued = client.getManifest(repo, 'v1', { signal: deadlineSignal(2000) });
    await until(() => client.waiting().get(hostile.host) === 1, 'the waiter');
    const started = performance.now();
    send429(held[0]!, '10');
    const refused = await queued;
    expect(performance.now() - started).toBeLessThan(300);
    expect(refused.ok ? '' : refused.error.message).toMatch(/answered 429 with Retry-After 10; its back-off ends in (9\.\d|10\.0) s, (1\.\d|2\.0) s left before the deadline$/);
    expect((await first).ok ? undefined : 'rate limited').toBe('rate limited');
    expect(held).toHaveLength(1);
  });

  test('a 429 without Retry-After: one retry after a short back-off, then RATE_LIMITED', async () => {
    const log = route(() => ({ status: 429 }));
    const started = performance.now();
    const result = await client.getManifest(repo, 'v1');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} answered 429 for manifest demo/app:v1 (rate limited; no Retry-After given; TOOMANYREQUESTS slow down)`);
    expect(log.arrivals).toHaveLength(2);
  });

  test('at most two retries, however short Retry-After is', async () => {
    const log = route(() => ({ status: 429, retryAfter: '0' }));
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('RATE_LIMITED');
    expect(log.arrivals).toHaveLength(3);
    expect(throttled.filter((e) => e.reason === '429')).toHaveLength(3);
  });

  test('a 429 to a POST is not retried', async () => {
    const blob = Buffer.from('payload');
    hostile.on('HEAD', `/v2/demo/app/blobs/${sha256(blob)}`, { kind: 'respond', status: 404 });
    hostile.on('POST', '/v2/demo/app/blobs/uploads/', { kind: 'respond', status: 429, headers: { 'retry-after': '0' } });
    const result = await client.pushBlob(repo, blob);
    expect(result.ok ? undefined : result.error.code).toBe('RATE_LIMITED');
    expect(hostile.requestsTo('/v2/demo/app/blobs/uploads/')).toHaveLength(1);
  });

  test.each([
    ['5', 5000],
    ['0', 0],
    [' 12 ', 12_000],
    ['Sun, 06 Nov 1994 08:49:47 GMT', 10_000],
    ['Sunday, 06-Nov-94 08:49:47 GMT', 10_000],
    ['Sun, 06 Nov 1994 08:49:30 GMT', 0],
    ['1.5', undefined],
    ['-1', undefined],
    ['soon', undefined],
    ['', undefined],
  ])('Retry-After %j is a delay of %s ms', (value, expected) => {
    expect(retryAfterDelayMs(value, Date.parse('Sun, 06 Nov 1994 08:49:37 GMT'))).toBe(expected);
  });
});

describe('configuration', () => {
  test.each([
    [{ maxRequestsPerSecond: 0 }, 'registry client: maxRequestsPerSecond must be a positive number'],
    [{ burst: 0.5 }, 'registry client: burst must be a positive integer'],
    [{ maxConcurrentRequests: 0 }, 'registry client: maxConcurrentRequests must be a positive integer'],
    [{ maxQueuedRequests: -1 }, 'registry client: maxQueuedRequests must be a non-negative integer'],
    [{ hosts: { 'example.com': { burst: 0 } } }, 'registry example.com: burst must be a positive integer'],
  ])('%j is refused at start-up', (options, message) => {
    expect(() => new RegistryClient(options)).toThrow(message);
  });

  test('signet serve documents the politeness flags and refuses bad values before starting', async () => {
    const run = await signet(['serve', '--policy', '/nonexistent/policy.yaml', '--registry-burst', '2.5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('signet serve: --registry-burst must be a whole number from 1 to 100000, got "2.5"');
    expect(run.stderr).toContain('[--registry-qps 50] [--registry-burst 100] [--registry-concurrency 16]');
    const qps = await signet(['serve', '--policy', '/nonexistent/policy.yaml', '--registry-qps', '0']);
    expect(qps.stderr).toContain('--registry-qps must be a number from 0.1 to 10000, got "0"');
  });
});

describe('metrics from the webhook', () => {
  test('signet_registry_throttled_total and signet_registry_queue_waiting are exported by registry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-politeness-'));
    writeFileSync(join(dir, 'k.pub'), generateKeyPair('').publicKeyPem);
    const policyPath = join(dir, 'policy.yaml');
    writeFileSync(
      policyPath,
      `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: politeness}
keys:
  k: {file: k.pub}
rules:
  - name: throttled
    images: ["${hostile.host}/**"]
    verify: [{type: cosign, keys: [k]}]
`,
    );
    route(() => ({ status: 429, retryAfter: '30' }));
    const { client: webhook, stop } = await startWebhookServer({
      policyPath,
      tlsHosts: ['localhost', '127.0.0.1'],
      timeoutSeconds: 2,
      bodyLimitBytes: 256 * 1024,
      registry: { hosts: { [hostile.host]: { insecureHttp: true } } },
      reloadIntervalMs: 1000,
    });
    try {
      const review = await webhook.post('/validate', admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${hostile.host}/demo/app:v1` }] }) }));
      const answer = (review.json as { response: { allowed: boolean; status?: { message: string } } }).response;
      expect(answer.allowed).toBe(false);
      expect(answer.status?.message).toContain('retry after 30');
      const metrics = (await webhook.get('/metrics')).text;
      const host = hostile.host.replace(/\./g, '\\.');
      expect(metrics).toMatch(new RegExp(`signet_registry_throttled_total\\{registry="${host}",reason="429"\\} 1\\n`));
      expect(metrics).toMatch(new RegExp(`signet_registry_queue_waiting\\{registry="${host}"\\} 0\\n`));
    } finally {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
