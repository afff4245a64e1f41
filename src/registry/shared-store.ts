// What the registry client asks of a cache shared by several Signet replicas (ADR 0007). The
// implementation lives in shared-cache/ (Redis or Valkey); this room only names what it needs.
// Whatever a shared store returns is treated as untrusted bytes: content is re-hashed against its
// digest, and the store itself authenticates what cannot be re-hashed (tag resolutions, referrer lists).

export interface SharedStore {
  /**
   * The authenticated, unexpired value under `key`, or undefined (miss, trouble, or failed check). Never
   * rejects. `maxLifetimeMs`: an entry sealed to live longer than this from now is refused too (a
   * holder of the key cannot make an entry outlive the lifetime its kind has).
   */
  get(key: string, maxLifetimeMs: number): Promise<Buffer | undefined>;
  /** Stores a value for `ttlMs`, in the background; trouble is counted, never thrown. */
  set(key: string, value: Buffer, ttlMs: number): void;
  /**
   * Asks to be the one replica fetching `key` for `ttlMs`. True: go ahead (the claim is held, or the
   * store cannot tell, in which case fetching is the safe answer). False: another replica is fetching it.
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
  /** Gives a claim up early, once the value is stored. */
  release(key: string): void;
}

export interface SharedStoreSettings {
  readonly store: SharedStore;
  /** Lifetime of shared tag resolutions and referrer lists (content by digest lives longer). */
  readonly tagTtlMs: number;
  /** Lifetime of shared content (manifests and blobs by digest). */
  readonly contentTtlMs: number;
  /** How long a replica waits for another one's fetch before fetching itself. */
  readonly waitMs: number;
}
