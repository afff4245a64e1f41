// Concurrent requests for the same thing share one in-flight computation. A rollout of 500 pods
// with the same image must cost one registry lookup, not 500.
export class SingleFlight<V> {
  readonly #inFlight = new Map<string, Promise<V>>();

  /** Runs `work` unless a call with the same key is in flight; `joined` tells the caller which happened. */
  run(key: string, work: () => Promise<V>): { readonly promise: Promise<V>; readonly joined: boolean } {
    const existing = this.#inFlight.get(key);
    if (existing) return { promise: existing, joined: true };
    const promise = work().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, promise);
    return { promise, joined: false };
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
