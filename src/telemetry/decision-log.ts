// The per-decision log line. It is written on every review, so it is serialised with one native
// JSON.stringify, in pino's line format, and batched: lines are handed to the logger's own
// destination together, at most FLUSH_MS after the first of them (or sooner once a batch is large).
// A write per line cost about 40 µs per review at one review in flight and 9 µs at sixteen (make
// bench, warm cache, log level info vs warn): each is a separate write system call. A decision line
// may therefore follow, by at most FLUSH_MS, a line the logger wrote directly; lines never interleave.
import type { Logger } from 'pino';

export interface DecisionLog {
  (fields: Readonly<Record<string, unknown>>, msg: string): void;
  /** The same line with an `images` field given as ready JSON text (its parts are memoised per verdict). */
  withImages(fields: Readonly<Record<string, unknown>>, imagesJson: string, msg: string): void;
  /** Hands any batched lines to the destination now (before the logger itself is flushed). */
  flush(): void;
}

/** pino's numeric level for info. */
const INFO = 30;

/** A batch is handed over early once it holds this many characters, so memory stays bounded. */
const MAX_BATCH_CHARS = 64 * 1024;

/** How long a decision line may wait for company before it is written. */
export const FLUSH_MS = 100;

export function createDecisionLog(
  logger: Logger,
  destination?: { write(line: string): unknown },
  base: Readonly<Record<string, unknown>> = {},
  flushMs: number = FLUSH_MS,
): DecisionLog {
  if (!destination) {
    const viaLogger = (fields: Readonly<Record<string, unknown>>, msg: string): void => logger.info(fields, msg);
    return Object.assign(viaLogger, {
      withImages: (fields: Readonly<Record<string, unknown>>, imagesJson: string, msg: string) => logger.info({ ...fields, images: JSON.parse(imagesJson) as unknown }, msg),
      flush: () => undefined,
    });
  }
  let batch = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (batch === '') return;
    const lines = batch;
    batch = '';
    destination.write(lines);
  };
  const append = (line: string): void => {
    batch += line;
    if (batch.length >= MAX_BATCH_CHARS) flush();
    // unref: a pending batch never keeps the process alive; shutdown flushes it explicitly.
    else timer ??= setTimeout(flush, flushMs).unref();
  };
  const write = (fields: Readonly<Record<string, unknown>>, msg: string): void => {
    if (!logger.isLevelEnabled('info')) return;
    append(`${JSON.stringify({ level: INFO, time: Date.now(), ...base, ...fields, msg })}\n`);
  };
  return Object.assign(write, {
    withImages: (fields: Readonly<Record<string, unknown>>, imagesJson: string, msg: string) => {
      if (!logger.isLevelEnabled('info')) return;
      const head = JSON.stringify({ level: INFO, time: Date.now(), ...base, ...fields });
      append(`${head.slice(0, -1)},"images":${imagesJson},"msg":${JSON.stringify(msg)}}\n`);
    },
    flush,
  });
}
