// HTTP transport for the registry client: one undici Agent (keep-alive, bounded connections per
// origin, per-origin trust roots), a deadline on every exchange, manual redirects that never carry
// credentials to another origin, capped body reads, and mapping of network failures to RegistryError.
// Every exchange first gets its host's permission from the RequestLimiter (concurrency cap, request
// rate, back-off after a 429); a 429 to an idempotent request is retried when its Retry-After ends
// before the deadline. It knows nothing about manifests or auth flows; it must never buffer an unbounded body.

import { getCACertificates } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { Result } from '../util/result.js';
import { ok, err } from '../util/result.js';
import type { RegistryError } from './types.js';
import type { RequestContext } from './errors.js';
import { quoteServerText, registryError, summariseErrorBody } from './errors.js';
import type { Admission, HostLimits, ThrottleObserver } from './limits.js';
import { DEFAULT_HOST_LIMITS, MIN_USEFUL_MS, RequestLimiter, deadlineOf, retryAfterDelayMs } from './limits.js';

export interface TransportOptions {
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly connectionsPerHost: number;
  readonly userAgent: string;
  /** Extra CA certificates (PEM) by host[:port] as it appears in URLs. */
  readonly caBundleByHost: ReadonlyMap<string, string>;
  /** Told about every exchange (time to response headers), for metrics. */
  readonly onRequest?: RequestObserver;
  /**
   * Politeness limits by host as it appears in URLs (API host, token realm host, redirect target).
   * Default: DEFAULT_HOST_LIMITS with maxConcurrent = connectionsPerHost.
   */
  readonly limitsFor?: (host: string) => HostLimits;
  /** Told when a request meets a 429, is held back by the rate limit, or finds the queue full. */
  readonly onThrottle?: ThrottleObserver;
}

export type RequestObserver = (event: { readonly host: string; readonly kind: string; readonly outcome: string; readonly seconds: number }) => void;

export interface OutgoingRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  readonly url: URL;
  /** Label for stats(): manifest, manifest-head, blob, blob-head, referrers, token, blob-upload, manifest-put. */
  readonly kind: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Authorization header value; sent only while the target origin equals `authorizationOrigin`. */
  readonly authorization?: string;
  readonly authorizationOrigin?: string;
  readonly followRedirects: boolean;
  /** Plain http is refused unless the registry itself is configured insecureHttp. */
  readonly allowPlainHttp: boolean;
}

interface Deadline {
  readonly signal: AbortSignal;
  readonly timeout: AbortSignal;
  readonly caller: AbortSignal | undefined;
}

export interface IncomingResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The URL that produced this response, after redirects. */
  readonly url: URL;
  /** Must be consumed with readBody/discard; left alone it would hold the connection. */
  readonly body: Dispatcher.ResponseData['body'];
  readonly deadline: Deadline;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const ERROR_BODY_LIMIT = 4096;

/** Retries of one request after 429s that named a Retry-After; a 429 without one is retried once. */
const MAX_THROTTLE_RETRIES = 2;
/** Back-off after a 429 that gave no (readable) Retry-After. */
const DEFAULT_BACKOFF_MS = 1000;

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** A single header value; repeated headers are joined (RFC 9110 list syntax). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** All values of a header that may repeat with values that themselves contain commas (WWW-Authenticate). */
export function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Content-Length as a number when it is present and a plain decimal, else undefined. */
export function contentLengthOf(headers: IncomingHttpHeaders): number | undefined {
  const value = headerValue(headers, 'content-length');
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function errorCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // undici sets no code when llhttp gives none (e.g. "Expected HTTP/" for a reply that is not HTTP at
  // all); it is still a malformed response, not a failed connection.
  if ((error as { name?: unknown }).name === 'HTTPParserError') return 'HPE_INVALID_RESPONSE';
  const cause = (error as { cause?: unknown }).cause;
  return cause === error ? undefined : errorCodeOf(cause);
}

export class Transport {
  readonly #options: TransportOptions;
  readonly #agent: Agent;
  readonly #limiter: RequestLimiter;
  #requests = 0;
  readonly #byKind = new Map<string, number>();

  constructor(options: TransportOptions) {
    this.#options = options;
    const fallbackLimits: HostLimits = { ...DEFAULT_HOST_LIMITS, maxConcurrent: options.connectionsPerHost };
    this.#limiter = new RequestLimiter(options.limitsFor ?? (() => fallbackLimits), options.onThrottle);
    const defaultRoots = getCACertificates('default');
    this.#agent = new Agent({
      connections: options.connectionsPerHost,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      // HTTP/1.1 only: predictable connection accounting and the behaviour measured in perf-limits.md.
      allowH2: false,
      // Trust roots are chosen per origin so a private CA configured for one registry is not trusted for any other host.
      factory: (origin: string | URL, poolOptions: object) => {
        const host = new URL(String(origin)).host;
        // A per-registry CA wins; '*' holds CAs trusted for every registry (--ca-file).
        const extraCa = options.caBundleByHost.get(host) ?? options.caBundleByHost.get('*');
        const connect = extraCa === undefined ? { timeout: options.timeoutMs } : { timeout: options.timeoutMs, ca: [...defaultRoots, extraCa] };
        return new Pool(origin, { ...(poolOptions as Pool.Options), connect });
      },
    });
  }

  stats(): { requests: number; byKind: Record<string, number> } {
    return { requests: this.#requests, byKind: Object.fromEntries(this.#byKind) };
  }

  /** Requests waiting for their turn, by host. */
  waiting(): Map<string, number> {
    return this.#limiter.waiting();
  }

  async close(): Promise<void> {
    this.#limiter.close();
    // A graceful close waits for in-flight requests; those are bounded by their deadlines, but do not wait forever.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 2000);
    });
    const outcome = await Promise.race([this.#agent.close().then(() => 'closed' as const), gaveUp]);
    clearTimeout(timer);
    if (outcome === 'timeout') await this.#agent.destroy();
  }

  /**
   * Sends a request and follows redirects (when asked) up to maxRedirects. The returned response's body is
   * still unread: call readBody or discard. Each hop gets its own deadline of timeoutMs (waiting for the
   * host's turn included), always also bounded by the caller's signal. A 429 to a GET or HEAD is retried
   * (at most twice) when its Retry-After ends before the deadline; otherwise the 429 is returned as is.
   */
  async send(request: OutgoingRequest, context: RequestContext, callerSignal?: AbortSignal): Promise<Result<IncomingResponse, RegistryError>> {
    const callerDeadline = deadlineOf(callerSignal) ?? Infinity;
    const idempotent = request.method === 'GET' || request.method === 'HEAD';
    let url = request.url;
    let hop = 0;
    let throttleRetries = 0;
    for (;;) {
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && request.allowPlainHttp)) {
        return err(registryError('UNSUPPORTED', context, `refused to send ${context.what} to ${url.protocol}//${url.host}: only https is allowed unless the registry is configured insecureHttp`));
      }
      const deadline = this.#deadline(callerSignal);
      if (deadline.signal.aborted) return err(this.#abortError(deadline, context, url));
      const waitStarted = performance.now();
      const admission = await this.#limiter.acquire(url.host, deadline.signal, Math.min(callerDeadline, waitStarted + this.#options.timeoutMs));
      if (admission.kind !== 'admitted') return err(this.#refusal(admission, deadline, performance.now() - waitStarted, context, url));

      const headers: Record<string, string> = { 'user-agent': this.#options.userAgent, ...request.headers };
      // Credentials belong to one origin; a redirect to object storage or any other host must not receive them.
      if (request.authorization !== undefined && url.origin === request.authorizationOrigin) headers['authorization'] = request.authorization;

      this.#count(request.kind);
      const started = performance.now();
      let response: Dispatcher.ResponseData;
      try {
        response = await this.#agent.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: request.method,
          headers,
          body: request.body ?? null,
          signal: deadline.signal,
        });
      } catch (error) {
        admission.release();
        const failure = this.#transportError(error, deadline, context, url);
        this.#options.onRequest?.({ host: url.host, kind: request.kind, outcome: failure.code.toLowerCase(), seconds: (performance.now() - started) / 1000 });
        return err(failure);
      }
      this.#options.onRequest?.({ host: url.host, kind: request.kind, outcome: String(response.statusCode), seconds: (performance.now() - started) / 1000 });

      if (response.statusCode === 429) {
        const retryAfterText = headerValue(response.headers, 'retry-after');
        const retryAfterMs = retryAfterDelayMs(retryAfterText);
        const waitMs = retryAfterMs ?? DEFAULT_BACKOFF_MS;
        // Every other request to this host now waits too, instead of each discovering the 429 for itself.
        this.#limiter.backOff(url.host, waitMs, retryAfterText === undefined ? undefined : quoteServerText(retryAfterText, 40));
        this.#options.onThrottle?.({ host: url.host, reason: '429' });
        const retriesAllowed = retryAfterMs === undefined ? 1 : MAX_THROTTLE_RETRIES;
        const now = performance.now();
        const retryFits = now + waitMs + MIN_USEFUL_MS <= Math.min(callerDeadline, now + this.#options.timeoutMs);
        if (idempotent && throttleRetries < retriesAllowed && retryFits) {
          throttleRetries++;
          await discard(response.body);
          admission.release();
          continue;
        }
      }
      // The slot is held until the body is consumed or dropped: until then the exchange still occupies the registry.
      releaseWhenDone(response.body, admission.release, deadline.signal);

      if (!request.followRedirects || !REDIRECT_STATUSES.has(response.statusCode)) {
        return ok({ status: response.statusCode, headers: response.headers, url, body: response.body, deadline });
      }

      await discard(response.body);
      const location = headerValue(response.headers, 'location');
      if (location === undefined) {
        return err(registryError('SERVER_ERROR', context, `answered ${response.statusCode} for ${context.what} without a Location header`, response.statusCode));
      }
      if (hop >= this.#options.maxRedirects) {
        return err(registryError('TOO_MANY_REDIRECTS', context, `redirected ${context.what} more than ${this.#options.maxRedirects} times (last hop ${url.host})`, response.statusCode));
      }
      try {
        url = new URL(location, url);
      } catch {
        return err(registryError('BAD_CONTENT', context, `redirected ${context.what} to an invalid location`, response.statusCode));
      }
      hop++;
    }
  }

  /**
   * Reads the whole body, refusing to hold more than `cap` bytes: a Content-Length above the cap is refused
   * before reading, and a stream that grows past it is cut off at once (the connection is dropped, not drained).
   */
  async readBody(response: IncomingResponse, cap: number, context: RequestContext, overCap: (announced: number | undefined) => RegistryError): Promise<Result<Buffer, RegistryError>> {
    const body = await collectCapped(response, cap);
    switch (body.kind) {
      case 'complete':
        return ok(body.bytes);
      case 'over-cap':
        return err(overCap(body.announced));
      case 'failed': {
        const deadline = response.deadline;
        if (body.announced !== undefined && body.received < body.announced && !deadline.timeout.aborted && deadline.caller?.aborted !== true) {
          return err(registryError('BAD_CONTENT', context, `closed the connection after ${body.received} of ${body.announced} announced bytes for ${context.what}${atHost(context, response.url)}`, response.status));
        }
        return err(this.#transportError(body.error, deadline, context, response.url));
      }
    }
  }

  /** Reads at most a few KiB of an error answer and summarises the registry's error codes; never fails. */
  async errorSummary(response: IncomingResponse): Promise<string> {
    const body = await collectCapped(response, ERROR_BODY_LIMIT);
    return body.kind === 'complete' ? summariseErrorBody(body.bytes) : '';
  }

  #count(kind: string): void {
    this.#requests++;
    this.#byKind.set(kind, (this.#byKind.get(kind) ?? 0) + 1);
  }

  #deadline(caller: AbortSignal | undefined): Deadline {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    return { signal: caller === undefined ? timeout : AbortSignal.any([timeout, caller]), timeout, caller };
  }

  #abortError(deadline: Deadline, context: RequestContext, url: URL): RegistryError {
    if (deadline.caller?.aborted === true) return registryError('TIMEOUT', context, `request for ${context.what} was cancelled: the caller's deadline passed${atHost(context, url)}`);
    return registryError('TIMEOUT', context, `did not answer ${context.what} within ${this.#options.timeoutMs} ms${atHost(context, url)}`);
  }

  /** Why a request never left: the limiter said no, or the deadline passed while it waited its turn. */
  #refusal(admission: Exclude<Admission, { kind: 'admitted' }>, deadline: Deadline, waitedMs: number, context: RequestContext, url: URL): RegistryError {
    const where = atHost(context, url);
    switch (admission.kind) {
      case 'out-of-time': {
        if (deadline.caller?.aborted === true) {
          return registryError('TIMEOUT', context, `request for ${context.what} was cancelled while waiting for its turn${where}: the caller's deadline passed`);
        }
        const { maxConcurrent, requestsPerSecond } = admission.limits;
        return registryError(
          'TIMEOUT',
          context,
          `had no turn for ${context.what} before its deadline: waited ${Math.round(waitedMs)} ms behind other requests to ${url.host} (at most ${maxConcurrent} in flight, ${requestsPerSecond}/s)`,
        );
      }
      case 'queue-full':
        return registryError(
          'RATE_LIMITED',
          context,
          `not asked for ${context.what}: ${admission.queued} requests are already waiting for ${url.host} (at most ${admission.limits.maxConcurrent} in flight, ${admission.limits.maxQueued} queued)`,
        );
      case 'rate-limited': {
        const left = `${seconds(admission.budgetMs)} s left before the deadline`;
        if (admission.backoff !== undefined) {
          const asked = admission.backoff.retryAfter === undefined ? 'answered 429 without Retry-After' : `answered 429 with Retry-After ${admission.backoff.retryAfter}`;
          return registryError('RATE_LIMITED', context, `not asked for ${context.what}: ${url.host} ${asked}; its back-off ends in ${seconds(admission.waitMs)} s, ${left}`);
        }
        return registryError(
          'RATE_LIMITED',
          context,
          `not asked for ${context.what}: the request-rate limit for ${url.host} (${admission.limits.requestsPerSecond}/s, burst ${admission.limits.burst}) would hold it ${seconds(admission.waitMs)} s, ${left}`,
        );
      }
      case 'closed':
        return registryError('UNREACHABLE', context, `not asked for ${context.what}: the registry client is closed`);
    }
  }

  #transportError(error: unknown, deadline: Deadline, context: RequestContext, url: URL): RegistryError {
    if (deadline.caller?.aborted === true || deadline.timeout.aborted) return this.#abortError(deadline, context, url);
    const code = errorCodeOf(error) ?? 'unknown error';
    const where = atHost(context, url);
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return registryError('TIMEOUT', context, `did not accept a connection within ${this.#options.timeoutMs} ms for ${context.what}${where}`);
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return registryError('TIMEOUT', context, `did not answer ${context.what} within ${this.#options.timeoutMs} ms${where}`);
      case 'ECONNREFUSED':
        return registryError('UNREACHABLE', context, `refused the connection for ${context.what}${where} (ECONNREFUSED)`);
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return registryError('UNREACHABLE', context, `host name could not be resolved for ${context.what}${where} (${code})`);
      case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
        return registryError('BAD_CONTENT', context, `sent a body for ${context.what} whose length differs from its Content-Length${where}`);
      case 'UND_ERR_HEADERS_OVERFLOW':
        return registryError('BAD_CONTENT', context, `sent oversized response headers for ${context.what}${where}`);
      default:
        if (TLS_ERROR.test(code)) {
          return registryError('UNREACHABLE', context, `failed TLS verification for ${context.what}${where} (${code}); configure caBundle for a private CA`);
        }
        if (code.startsWith('HPE_')) return registryError('BAD_CONTENT', context, `sent a malformed HTTP response for ${context.what}${where} (${code})`);
        return registryError('UNREACHABLE', context, `connection failed for ${context.what}${where} (${code})`);
    }
  }
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(1);
}

/**
 * Calls `release` once, when the body has ended, failed or been dropped, or at the deadline (which undici
 * enforces on the body too, so a body nobody reads still gives its slot back in time).
 */
function releaseWhenDone(body: Dispatcher.ResponseData['body'], release: () => void, deadline: AbortSignal): void {
  const done = (): void => {
    deadline.removeEventListener('abort', done);
    release();
  };
  if (body.destroyed || deadline.aborted) {
    release();
    return;
  }
  body.once('close', done);
  body.once('end', done);
  deadline.addEventListener('abort', done, { once: true });
}

function atHost(context: RequestContext, url: URL): string {
  return url.host === context.registry ? '' : ` (at ${url.host})`;
}

/**
 * Drops a body without reading it: the connection is closed rather than drained, which is the point for an
 * oversized or unwanted answer. The abort surfaces as an 'error' event that nobody else listens to.
 */
type CappedBody =
  | { readonly kind: 'complete'; readonly bytes: Buffer }
  /** Announced (Content-Length) or found while reading to be over the cap; the connection was dropped. */
  | { readonly kind: 'over-cap'; readonly announced: number | undefined }
  /** The stream failed after `received` bytes (a reset, a deadline). */
  | { readonly kind: 'failed'; readonly error: unknown; readonly received: number; readonly announced: number | undefined };

/**
 * The one bounded read of a response body: a Content-Length above the cap is refused before reading,
 * and a stream that grows past it is cut off at once (the connection is dropped, not drained).
 */
async function collectCapped(response: IncomingResponse, cap: number): Promise<CappedBody> {
  const announced = contentLengthOf(response.headers);
  if (announced !== undefined && announced > cap) {
    abandon(response.body);
    return { kind: 'over-cap', announced };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      const bytes = chunk as Buffer;
      total += bytes.length;
      if (total > cap) {
        abandon(response.body);
        return { kind: 'over-cap', announced: undefined };
      }
      chunks.push(bytes);
    }
  } catch (error) {
    return { kind: 'failed', error, received: total, announced };
  }
  return { kind: 'complete', bytes: Buffer.concat(chunks, total) };
}

export function abandon(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Drops a body we do not need; small ones are drained so the connection can be reused. */
export async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump({ limit: ERROR_BODY_LIMIT });
  } catch {
    // The connection is already gone or was dropped on purpose; nothing to recover.
  }
}
