// Runs an async check every interval, never two at once (a slow disk or network skips ticks
// rather than piling them up), without keeping the process alive.
export interface Poller {
  stop(): void;
}

export function pollEvery(intervalMs: number, tick: () => Promise<void>): Poller {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void tick().finally(() => {
      busy = false;
    });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
