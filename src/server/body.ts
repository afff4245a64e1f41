// Request bodies: read within a size and a time bound, parsed as JSON that says one thing only. The
// API server never sends a body with a member twice (JSON.parse would keep the last one silently) or
// over the limit; such a body is refused with a status and a message the client actually receives.
//
// Why not fastify's own body reading: over its limit it answers at once and closes the connection
// while the client is still sending, so the client's next write fails (EPIPE, or a reset that throws
// away the answer it had not read yet) and it never sees the 413. Here the rest of an oversized body
// is read and thrown away, up to a bound in bytes and in time, before the answer is sent; only a
// body beyond that bound is cut off.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseJsonRefusingDuplicates } from '../util/duplicate-keys.js';

export interface BodyBounds {
  /** Larger bodies are refused with 413. */
  readonly limitBytes: number;
  /** How much of an oversized body is read and discarded before answering; beyond it the connection is cut. */
  readonly discardBytes: number;
  /** The whole body must arrive within this time (the API server gives up at its timeout anyway). */
  readonly readMs: number;
}

/** How much of an oversized body is read and discarded by default: four times the limit, at least 64 MiB. */
export function defaultDiscardBytes(limitBytes: number): number {
  return Math.max(4 * limitBytes, 64 * 1024 * 1024);
}

/** A body refused before any route sees it; fastify answers with statusCode and the error handler's message. */
export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 408 | 413 | 415,
    readonly code: 'SIGNET_BODY_INVALID_JSON' | 'SIGNET_BODY_TOO_COMPLEX' | 'SIGNET_BODY_DUPLICATE_MEMBER' | 'SIGNET_BODY_FORBIDDEN_MEMBER' | 'SIGNET_BODY_TIMEOUT' | 'SIGNET_BODY_TOO_LARGE' | 'SIGNET_BODY_MEDIA_TYPE',
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Replaces fastify's content-type parsers: every body goes through readBody, JSON bodies through the strict parse. */
export function acceptJsonBodies(app: FastifyInstance, bounds: BodyBounds): void {
  app.removeAllContentTypeParsers();
  // The catch-all parser also reads bodies of other types, so that they too are answered cleanly.
  app.addContentTypeParser('*', (req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => {
    readBody(req, payload as NodeJS.ReadableStream & { destroyed?: boolean }, bounds, (outcome) => {
      if (outcome.kind !== 'complete') return done(outcome.error);
      if (!isJson(req.headers['content-type'])) return done(new BodyError(415, 'SIGNET_BODY_MEDIA_TYPE', 'content type must be application/json'));
      const parsed = parseJsonRefusingDuplicates(outcome.text);
      if (parsed.ok) return done(null, parsed.value);
      switch (parsed.error.kind) {
        case 'syntax':
          return done(new BodyError(400, 'SIGNET_BODY_INVALID_JSON', `body is not valid JSON: ${parsed.error.message.slice(0, 200)}`));
        case 'too-complex':
          return done(new BodyError(400, 'SIGNET_BODY_TOO_COMPLEX', `body is refused: ${parsed.error.message} (no Kubernetes object comes close)`));
        case 'duplicate':
          return done(new BodyError(400, 'SIGNET_BODY_DUPLICATE_MEMBER', `${clipPath(parsed.error.path)} appears twice; a body must name each member of an object once`));
        case 'forbidden':
          return done(new BodyError(400, 'SIGNET_BODY_FORBIDDEN_MEMBER', `${clipPath(parsed.error.path)} is not allowed in a body`));
      }
    });
  });
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === 'application/json';
}

type ReadOutcome = { readonly kind: 'complete'; readonly text: string } | { readonly kind: 'refused'; readonly error: BodyError };

function readBody(req: FastifyRequest, payload: NodeJS.ReadableStream, bounds: BodyBounds, finish: (outcome: ReadOutcome) => void): void {
  const tooLarge = (): BodyError => new BodyError(413, 'SIGNET_BODY_TOO_LARGE', `request body is larger than the limit of ${bounds.limitBytes} bytes`);
  const declared = Number(req.headers['content-length']);
  // Announced beyond what we would read: answer now; the connection is closed after the answer.
  if (declared > bounds.discardBytes) return finish({ kind: 'refused', error: tooLarge() });
  let chunks: Buffer[] = [];
  let received = 0;
  let finished = false;
  const end = (outcome: ReadOutcome): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    chunks = [];
    finish(outcome);
  };
  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    // Past the limit nothing is kept; past the discard bound the body is cut off.
    if (received > bounds.discardBytes) return end({ kind: 'refused', error: tooLarge() });
    if (received > bounds.limitBytes) chunks = [];
    else chunks.push(bytes);
  };
  const onEnd = (): void => {
    if (received > bounds.limitBytes) return end({ kind: 'refused', error: tooLarge() });
    if (!Number.isNaN(declared) && declared !== received) {
      return end({ kind: 'refused', error: new BodyError(400, 'SIGNET_BODY_INVALID_JSON', `request body has ${received} bytes but its Content-Length says ${declared}`) });
    }
    end({ kind: 'complete', text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8') });
  };
  const onError = (): void => end({ kind: 'refused', error: new BodyError(400, 'SIGNET_BODY_INVALID_JSON', 'request body could not be read (the client aborted it)') });
  const timer = setTimeout(() => {
    end({
      kind: 'refused',
      error: received > bounds.limitBytes ? tooLarge() : new BodyError(408, 'SIGNET_BODY_TIMEOUT', `request body did not arrive within ${bounds.readMs} ms`),
    });
  }, bounds.readMs);
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}

/** A path from the body, cut for the message: its start and end say where; the middle may be huge. */
function clipPath(path: string): string {
  return path.length <= 300 ? path : `${path.slice(0, 140)}…${path.slice(-140)}`;
}
