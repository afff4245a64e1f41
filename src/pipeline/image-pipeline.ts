// The webhook's per-image path with caches and coalescing between the stages of verify-image.ts.
// What is cached and for how long follows what is immutable:
//   tag → digest            short TTL (a tag is mutable)
//   digest → cosign `.sig` signatures (payloads verified against their digests)
//     for the tag TTL (the `.sig` tag is a tag: signatures can be added or removed); "no signature
//     tag" is not kept. Shared by every policy version, rule and layer, so a policy change re-decides
//     without fetching. They may admit an image but never refuse it: a denial is checked again with
//     fresh signatures
//   verdict per (policy version, rule, image, digest)
//     allowed                long TTL, never past the expiry of what satisfied it
//     denied by signatures   short TTL, so a freshly signed image is admitted on the next try
//     NOT_FOUND              short TTL (negative caching: a missing image must not cause a storm)
//     registry trouble       never cached
// Concurrent identical lookups share one in-flight request whatever the number of waiters.
import { LRUCache } from 'lru-cache';
import type { CompiledPolicy } from '../policy/types.js';
import type { NamespaceScope } from '../policy/scope.js';
import type { Digest, RepositoryRef } from '../reference/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { RegistryError } from '../registry/types.js';
import { discoverCosignSignatures, discoveryBytes, type CosignDiscovery } from '../discovery/cosign.js';
import type { ImageVerdict } from '../decide/types.js';
import { SingleFlight } from '../util/single-flight.js';
import { deadlineSignal } from '../registry/limits.js';
import { err, ok, type Result } from '../util/result.js';
import { digestFor, planImage, verifyAtDigest, type ImagePlan, type ResolvedImage } from './verify-image.js';
import { isOnTheMerits } from '../decide/codes.js';

export interface PipelineOptions {
  readonly registry: RegistryClient;
  /** How long a tag's digest is trusted before it is resolved again. */
  readonly tagTtlMs?: number;
  /** Lifetime of an allowed verdict. */
  readonly verdictTtlMs?: number;
  /** Lifetime of a denial on the image's own merits (unsigned, untrusted, not found...). */
  readonly negativeTtlMs?: number;
  readonly maxEntries?: number;
  /** Time allowed to shared work, independent of the deadline of whichever review started it. */
  readonly sharedWorkMs?: number;
  readonly now?: () => number;
}

/** A `.sig` manifest with more signature material than this is not kept (fetched each time instead). */
const MAX_SIGNATURE_ENTRY_BYTES = 1024 * 1024;


export class ImagePipeline {
  readonly #o: Required<PipelineOptions>;
  readonly #tags: LRUCache<string, Result<ResolvedImage, RegistryError>>;
  readonly #verdicts: LRUCache<string, ImageVerdict>;
  /** The last cache-only verdict per (policy version, scope, image), with when it stops being valid. */
  readonly #warm = new Map<string, { readonly verdict: ImageVerdict; readonly until: number; readonly tagged: boolean }>();
  /** What the policy says about an image string in a scope: pure, so cached per policy version. */
  readonly #plans: LRUCache<string, ImagePlan>;
  /** Cosign `.sig` signatures per repository and digest. */
  readonly #signatures: LRUCache<string, CosignDiscovery>;
  readonly #resolving = new SingleFlight<Result<ResolvedImage, RegistryError>>();
  readonly #verifying = new SingleFlight<ImageVerdict>();
  readonly #discovering = new SingleFlight<Result<CosignDiscovery, RegistryError>>();

  constructor(options: PipelineOptions) {
    this.#o = {
      registry: options.registry,
      tagTtlMs: options.tagTtlMs ?? 30_000,
      verdictTtlMs: options.verdictTtlMs ?? 10 * 60_000,
      negativeTtlMs: options.negativeTtlMs ?? 5_000,
      maxEntries: options.maxEntries ?? 10_000,
      sharedWorkMs: options.sharedWorkMs ?? 8_000,
      now: options.now ?? Date.now,
    };
    const perf = { now: this.#o.now };
    this.#plans = new LRUCache({ max: this.#o.maxEntries });
    // ttlResolution 0: read the clock on every check (lru-cache otherwise memoises it on a real timer).
    this.#tags = new LRUCache({ max: this.#o.maxEntries, ttl: this.#o.tagTtlMs, ttlAutopurge: false, allowStale: false, ttlResolution: 0, perf });
    // Bounded by entries and by bytes: a verdict carries reasons and signature findings.
    this.#verdicts = new LRUCache({
      max: this.#o.maxEntries,
      maxSize: 64 * 1024 * 1024,
      sizeCalculation: (v) => Math.max(1, JSON.stringify(v).length * 2),
      allowStale: false,
      ttlResolution: 0,
      perf,
    });
    // Bounded by bytes too: a signature manifest may carry up to MAX_SIGNATURE_LAYERS payloads.
    this.#signatures = new LRUCache({
      max: this.#o.maxEntries,
      ttl: this.#o.tagTtlMs,
      ttlAutopurge: false,
      maxSize: 32 * 1024 * 1024,
      sizeCalculation: discoveryBytes,
      // One entry may not crowd out the rest: a huge one is simply fetched again when needed.
      maxEntrySize: MAX_SIGNATURE_ENTRY_BYTES,
      allowStale: false,
      ttlResolution: 0,
      perf,
    });
  }

  /** Entries held, for metrics and the benchmark's memory bound. */
  get size(): { readonly tags: number; readonly verdicts: number; readonly verdictBytes: number; readonly signatures: number; readonly signatureBytes: number } {
    return {
      tags: this.#tags.size,
      verdicts: this.#verdicts.size,
      verdictBytes: this.#verdicts.calculatedSize,
      signatures: this.#signatures.size,
      signatureBytes: this.#signatures.calculatedSize,
    };
  }

  /**
   * `registry`: a client carrying the pod's own pull credentials, when they are used. What is fetched
   * and decided is cached under the identity of the credentials that reached the registry, so one
   * namespace's pull secret never answers for another namespace (ADR 0004).
   */
  async verify(image: string, policy: CompiledPolicy, scope: NamespaceScope | undefined, signal: AbortSignal | undefined, registry: RegistryClient = this.#o.registry): Promise<ImageVerdict> {
    const plan = this.#plan(image, policy, scope);
    if (plan.kind === 'decided') return plan.verdict;
    const resolved = await digestFor(plan, registry, signal, (repo, tag) => this.#resolve(registry, repo, tag));
    if (!resolved.ok) return resolved.error;
    const key = verdictKey(policy, plan.rule.index, image, resolved.value.digest, registry.accessIdentity(plan.repo.registry));
    const cached = this.#verdicts.get(key);
    if (cached) {
      this.#count('verdict', 'hit');
      return cached;
    }
    const { promise, joined } = this.#verifying.run(key, async () => {
      const verdict = await this.#verifyAtDigest(plan, resolved.value, registry);
      const ttl = this.#ttlFor(verdict);
      if (ttl > 0) this.#verdicts.set(key, verdict, { ttl });
      return verdict;
    });
    this.#count('verdict', joined ? 'coalesced' : 'miss');
    return promise;
  }

  /**
   * The verdict when caches alone can give it (no I/O, no promise): the warm path of a rollout.
   * Undefined when anything would have to be fetched.
   */
  cached(image: string, policy: CompiledPolicy, scope: NamespaceScope | undefined): ImageVerdict | undefined {
    const key = planKey(policy, scope, image);
    const now = this.#o.now();
    // One map lookup for an image seen lately: its verdict, good until the earlier of the tag's and
    // the verdict's own expiry (never longer than the caches it was read from).
    const warm = this.#warm.get(key);
    if (warm && warm.until > now) {
      if (warm.tagged) this.#count('tag', 'hit');
      this.#count('verdict', 'hit');
      return warm.verdict;
    }
    const plan = this.#planAt(key, image, policy, scope);
    if (plan.kind === 'decided') return plan.verdict;
    let digest = plan.ref.digest;
    let until = Infinity;
    // Only what the configured credentials (or none) fetched: a pod's pull secret is not known here.
    const identity = this.#o.registry.accessIdentity(plan.repo.registry);
    const tagKey = tagKeyOf(plan.repo, plan.ref.tag ?? 'latest', identity);
    if (!digest) {
      const tag = this.#tags.get(tagKey);
      if (!tag?.ok) return undefined;
      digest = tag.value.digest;
      until = now + this.#tags.getRemainingTTL(tagKey);
    }
    const entry = verdictKey(policy, plan.rule.index, image, digest, identity);
    const verdict = this.#verdicts.get(entry);
    if (!verdict) return undefined;
    until = Math.min(until, now + this.#verdicts.getRemainingTTL(entry));
    if (this.#warm.size >= this.#o.maxEntries) this.#warm.clear();
    this.#warm.set(key, { verdict, until, tagged: plan.ref.digest === undefined });
    if (!plan.ref.digest) this.#count('tag', 'hit');
    this.#count('verdict', 'hit');
    return verdict;
  }

  #plan(image: string, policy: CompiledPolicy, scope: NamespaceScope | undefined): ImagePlan {
    return this.#planAt(planKey(policy, scope, image), image, policy, scope);
  }

  #planAt(key: string, image: string, policy: CompiledPolicy, scope: NamespaceScope | undefined): ImagePlan {
    let plan = this.#plans.get(key);
    if (!plan) {
      plan = planImage(image, policy, scope);
      this.#plans.set(key, plan);
    }
    return plan;
  }

  async #resolve(registry: RegistryClient, repo: RepositoryRef, tag: string): Promise<Result<ResolvedImage, RegistryError>> {
    const key = tagKeyOf(repo, tag, registry.accessIdentity(repo.registry));
    const cached = this.#tags.get(key);
    if (cached) {
      this.#count('tag', 'hit');
      return cached;
    }
    const { promise, joined } = this.#resolving.run(key, async () => {
      const r = await registry.resolve(repo, tag, { signal: deadlineSignal(this.#o.sharedWorkMs) });
      const result: Result<ResolvedImage, RegistryError> = r.ok ? ok({ digest: r.value.digest, descriptor: { mediaType: r.value.mediaType, size: r.value.size } }) : err(r.error);
      if (r.ok) this.#tags.set(key, result);
      else if (r.error.code === 'NOT_FOUND') this.#tags.set(key, result, { ttl: this.#o.negativeTtlMs });
      return result;
    });
    this.#count('tag', joined ? 'coalesced' : 'miss');
    return promise;
  }

  /**
   * `.sig` discovery cached per repository and digest, and coalesced. `fresh` skips the cached entry
   * (joining a fetch already under way is still fine: it is fresh); `onHit` says a cached one was used.
   */
  async #discoverCosign(registry: RegistryClient, repo: RepositoryRef, digest: Digest, fresh: boolean, onHit?: () => void): Promise<Result<CosignDiscovery, RegistryError>> {
    const key = `${registry.accessIdentity(repo.registry)}\u0000${repo.registry}/${repo.repository}@${digest}`;
    const cached = fresh ? undefined : this.#signatures.get(key);
    if (cached) {
      this.#count('signatures', 'hit');
      onHit?.();
      return ok(cached);
    }
    // The caller's deadline is not used: others may join this fetch (it runs under the shared-work budget).
    const { promise, joined } = this.#discovering.run(key, async () => {
      const found = await discoverCosignSignatures(registry, repo, digest, { signal: deadlineSignal(this.#o.sharedWorkMs) });
      // Registry trouble is never kept, nor "no signature tag" (a denial would fetch again anyway); a
      // signature tag seen gone drops what was kept, so other rules and policies stop relying on it.
      // (An entry over maxEntrySize is not kept either: set() then drops the key too.)
      if (found.ok && found.value.found) this.#signatures.set(key, found.value);
      else if (found.ok) this.#signatures.delete(key);
      return found;
    });
    this.#count('signatures', joined ? 'coalesced' : 'miss');
    return promise;
  }

  /** Verification at a digest, using cached signatures to admit but never to refuse. */
  async #verifyAtDigest(plan: Extract<ImagePlan, { kind: 'verify' }>, resolved: ResolvedImage, registry: RegistryClient): Promise<ImageVerdict> {
    const signal = deadlineSignal(this.#o.sharedWorkMs);
    // Judged on the clock the verdict's lifetime is measured on (#ttlFor), so the two agree.
    const now = new Date(this.#o.now());
    let usedCached = false;
    const verdict = await verifyAtDigest(
      plan,
      resolved,
      registry,
      signal,
      (r, repo, digest) =>
        this.#discoverCosign(r, repo, digest, false, () => {
          usedCached = true;
        }),
      now,
    );
    // A signature added since the cached ones were fetched must count, as soon as for an unsigned image.
    // Only a denial on the image's merits is checked again, and only while time is left; registry
    // trouble in the second look does not replace what the first one found.
    if (verdict.outcome !== 'denied' || !usedCached || !isOnTheMerits(verdict.code) || signal.aborted) return verdict;
    const fresh = await verifyAtDigest(plan, resolved, registry, signal, (r, repo, digest) => this.#discoverCosign(r, repo, digest, true), now);
    return fresh.outcome === 'denied' && !isOnTheMerits(fresh.code) ? verdict : fresh;
  }

  #ttlFor(verdict: ImageVerdict): number {
    if (verdict.outcome === 'denied') return isOnTheMerits(verdict.code) ? this.#o.negativeTtlMs : 0;
    const until = verdict.validUntil ? Date.parse(verdict.validUntil) - this.#o.now() : Infinity;
    return Math.max(0, Math.min(this.#o.verdictTtlMs, until));
  }

  readonly #lookups: Record<'tag' | 'verdict' | 'signatures', Record<'hit' | 'miss' | 'coalesced', number>> = {
    tag: { hit: 0, miss: 0, coalesced: 0 },
    verdict: { hit: 0, miss: 0, coalesced: 0 },
    signatures: { hit: 0, miss: 0, coalesced: 0 },
  };

  #count(cache: 'tag' | 'verdict' | 'signatures', result: 'hit' | 'miss' | 'coalesced'): void {
    this.#lookups[cache][result]++;
  }

  /** Lookups so far, by cache and result, for the metrics scrape. */
  *lookups(): Iterable<readonly [string, string, number]> {
    for (const [cache, results] of Object.entries(this.#lookups)) {
      for (const [result, count] of Object.entries(results)) if (count > 0) yield [cache, result, count];
    }
  }
}

/** `identity`: RegistryClient.accessIdentity of the registry the entry came from. */
function tagKeyOf(repo: RepositoryRef, tag: string, identity: string): string {
  return `${identity}\u0000${repo.registry}/${repo.repository}:${tag}`;
}

function verdictKey(policy: CompiledPolicy, ruleIndex: number, image: string, digest: string, identity: string): string {
  return `${policy.version}\u0000${ruleIndex}\u0000${image}\u0000${digest}\u0000${identity}`;
}

function planKey(policy: CompiledPolicy, scope: NamespaceScope | undefined, image: string): string {
  const labels = scope?.labels ? JSON.stringify(Object.entries(scope.labels).sort()) : '';
  return `${policy.version}\u0000${scope?.namespace ?? ''}\u0000${labels}\u0000${image}`;
}
