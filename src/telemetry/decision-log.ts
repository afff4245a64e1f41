// The per-decision log line. It is written on every review, so it is serialised with one native
// JSON.stringify, in pino's line format, into the logger's own destination. Lines of one event-loop
// turn are handed over as one string: the destination measures every string it is given, and the
// buffer it appends to, so a write per line cost several microseconds per review under load
// (make bench, warm cache). A decision line can therefore follow, by at most one turn, a line the
// logger wrote directly; lines never interleave.
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

/** A batch is handed over early once it holds this many characters, so one busy turn stays bounded. */
const MAX_BATCH_CHARS = 64 * 1024;

export function createDecisionLog(logger: Logger, destination?: { write(line: string): unknown }, base: Readonly<Record<string, unknown>> = {}): DecisionLog {
  if (!destination) {
    const viaLogger = (fields: Readonly<Record<string, unknown>>, msg: string): void => logger.info(fields, msg);
    return Object.assign(viaLogger, {
      withImages: (fields: Readonly<Record<string, unknown>>, imagesJson: string, msg: string) => logger.info({ ...fields, images: JSON.parse(imagesJson) as unknown }, msg),
      flush: () => undefined,
    });
  }
  let batch = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (batch === '') return;
    const lines = batch;
    batch = '';
    destination.write(lines);
  };
  const append = (line: string): void => {
    batch += line;
    if (batch.length >= MAX_BATCH_CHARS) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
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
