// The review's time budget. The API server gives up after timeoutSeconds; we answer by a
// fraction of it so a slow registry produces our denial (with a reason), never its timeout.

import { rememberDeadline } from '../registry/limits.js';

export interface Deadline {
  readonly signal: AbortSignal;
  readonly ms: number;
  /** Resolves with `fallback()` when the budget is spent, if `work` has not settled by then. */
  race<T>(work: Promise<T>, fallback: () => T): Promise<T>;
  dispose(): void;
}

export function startDeadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`deadline of ${ms} ms reached`)), ms);
  // Lets the registry client know how long it may wait for a turn (429 pauses, rate limits).
  rememberDeadline(controller.signal, performance.now() + ms);
  timer.unref();
  return {
    signal: controller.signal,
    ms,
    race<T>(work: Promise<T>, fallback: () => T): Promise<T> {
      if (controller.signal.aborted) return Promise.resolve(fallback());
      return new Promise<T>((resolve, reject) => {
        const onAbort = (): void => resolve(fallback());
        controller.signal.addEventListener('abort', onAbort, { once: true });
        work.then(
          (v) => {
            controller.signal.removeEventListener('abort', onAbort);
            resolve(v);
          },
          (e: unknown) => {
            controller.signal.removeEventListener('abort', onAbort);
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        );
      });
    },
    dispose: () => clearTimeout(timer),
  };
}
