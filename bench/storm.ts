// Section 5, restart storm (issue 17): every replica starts cold at once, as after a rollout of
// Signet itself, and a rollout of the cluster's workloads sends thousands of pods over a few dozen
// images, round-robin across the replicas. Measured four ways on the same images: one replica; three
// replicas each with its own caches; three sharing a real redis-server; and three sharing it while
// Redis is stopped a third of the way through. The registry proxy counts every request.
import { randomUUID } from 'node:crypto';
import type { BenchContext } from './context.js';
import { podReviewJson } from './admission-review.js';
import { Reviewer, type Webhook } from './servers.js';
import { int, ms, summarize, table, verdict, type Summary } from './stats.js';
import type { SignedImage } from './images.js';
import { sumBy } from './metrics.js';

export interface StormRun {
  readonly label: string;
  readonly replicas: number;
  readonly shared: boolean;
  readonly reviews: number;
  readonly allowed: number;
  /** Transport errors or non-200 answers. */
  readonly failures: number;
  readonly denials: readonly string[];
  readonly wallMs: number;
  readonly latency: Summary;
  readonly registryRequests: number;
  readonly registryRequestsByKind: Readonly<Record<string, number>>;
  /** signet_shared_cache_operations_total by result, summed over the replicas (shared runs). */
  readonly sharedCache: Readonly<Record<string, number>>;
  /** Redis-down run: latency of the reviews sent after Redis stopped. */
  readonly afterStop?: Summary;
}

export interface StormResult {
  readonly images: number;
  readonly reviews: number;
  readonly concurrency: number;
  readonly runs: readonly StormRun[];
  readonly targets: { readonly sharedLikeOne: boolean; readonly redisDownHarmless: boolean };
}

export interface StormHooks {
  /** Starts `count` fresh webhooks, sharing the cache when `shared`. */
  startReplicas(count: number, shared: boolean, name: string): Promise<Webhook[]>;
  /** Empties Redis between runs, so each shared run starts cold. */
  flushShared(): Promise<void>;
  stopRedis(): Promise<void>;
  restartRedis(): Promise<void>;
}

export async function runStorm(ctx: BenchContext, hooks: StormHooks, images: readonly SignedImage[], reviews: number, concurrency: number): Promise<StormResult> {
  const runs: StormRun[] = [];
  const plan: readonly { label: string; replicas: number; shared: boolean; stopRedis?: boolean }[] = [
    { label: 'one replica', replicas: 1, shared: false },
    { label: 'three replicas, own caches', replicas: 3, shared: false },
    { label: 'three replicas, shared cache', replicas: 3, shared: true },
    { label: 'three, shared, Redis stopped at 1/3', replicas: 3, shared: true, stopRedis: true },
  ];
  for (const step of plan) {
    await hooks.flushShared();
    ctx.progress(`section 5: ${step.label}`);
    const webhooks = await hooks.startReplicas(step.replicas, step.shared, `storm-${runs.length + 1}`);
    try {
      runs.push(await oneRun(ctx, hooks, webhooks, step, images, reviews, concurrency));
    } finally {
      await Promise.allSettled(webhooks.map((w) => w.stop()));
      if (step.stopRedis === true) await hooks.restartRedis();
    }
  }
  const [one, , shared, down] = runs as [StormRun, StormRun, StormRun, StormRun];
  return {
    images: images.length,
    reviews,
    concurrency,
    runs,
    targets: {
      sharedLikeOne: shared.registryRequests <= one.registryRequests && shared.failures === 0 && shared.allowed === shared.reviews,
      redisDownHarmless: down.failures === 0 && down.allowed === down.reviews,
    },
  };
}

async function oneRun(
  ctx: BenchContext,
  hooks: StormHooks,
  webhooks: readonly Webhook[],
  step: { label: string; replicas: number; shared: boolean; stopRedis?: boolean },
  images: readonly SignedImage[],
  reviews: number,
  concurrency: number,
): Promise<StormRun> {
  const perReplica = Math.ceil(concurrency / webhooks.length);
  const reviewers = webhooks.map((w) => new Reviewer(w.url, ctx.tls.caPem, perReplica));
  try {
    await Promise.all(reviewers.map((r) => r.open(perReplica)));
    const bodies = Array.from({ length: reviews }, (_, i) => podReviewJson({ app: images[i % images.length]!.reference, sidecars: [] }, randomUUID()));
    const before = await Promise.all(webhooks.map((w) => w.metrics()));
    const mark = await ctx.proxy.mark();
    const latencies: number[] = [];
    const afterStop: number[] = [];
    const denials = new Set<string>();
    let allowed = 0;
    let failures = 0;
    let next = 0;
    let done = 0;
    let stopped: Promise<void> | undefined;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < reviews; i = next++) {
          const sentAt = performance.now();
          const redisDown = stopped !== undefined;
          try {
            const outcome = await reviewers[i % reviewers.length]!.review(bodies[i]!);
            latencies.push(outcome.ms);
            if (redisDown) afterStop.push(outcome.ms);
            if (outcome.allowed) allowed++;
            else denials.add(outcome.message ?? '(no message)');
          } catch (error) {
            failures++;
            denials.add(`failed after ${Math.round(performance.now() - sentAt)} ms: ${(error as Error).message.slice(0, 200)}`);
          }
          done++;
          if (step.stopRedis === true && stopped === undefined && done >= reviews / 3) stopped = hooks.stopRedis();
        }
      }),
    );
    const wallMs = performance.now() - started;
    await stopped;
    const window = await ctx.proxy.since(mark);
    const after = await Promise.all(webhooks.map((w) => w.metrics()));
    const sharedCache: Record<string, number> = {};
    after.forEach((samples, i) => {
      const now = sumBy(samples, 'signet_shared_cache_operations_total', 'result');
      const then = sumBy(before[i]!, 'signet_shared_cache_operations_total', 'result');
      for (const [result, value] of Object.entries(now)) sharedCache[result] = (sharedCache[result] ?? 0) + value - (then[result] ?? 0);
    });
    return {
      label: step.label,
      replicas: step.replicas,
      shared: step.shared,
      reviews,
      allowed,
      failures,
      denials: [...denials].slice(0, 5),
      wallMs,
      latency: summarize(latencies),
      registryRequests: window.total,
      registryRequestsByKind: window.byKind,
      sharedCache,
      ...(step.stopRedis === true ? { afterStop: summarize(afterStop) } : {}),
    };
  } finally {
    await Promise.allSettled(reviewers.map((r) => r.close()));
  }
}

export function renderStorm(r: StormResult): string {
  const [one, , shared, down] = r.runs as [StormRun, StormRun, StormRun, StormRun];
  return [
    `5. Restart storm: ${int(r.reviews)} pod reviews over ${r.images} distinct signed images (cosign .sig), every replica cold, round-robin at concurrency ${r.concurrency}.`,
    table(
      ['run', ' reviews', ' allowed', ' failed', ' wall ms', ' p50 ms', ' p99 ms', ' registry requests', ' shared hits', ' shared misses', ' shared errors'],
      r.runs.map((run) => [
        run.label,
        int(run.reviews),
        int(run.allowed),
        int(run.failures),
        ms(run.wallMs),
        ms(run.latency.p50),
        ms(run.latency.p99),
        int(run.registryRequests),
        run.shared ? int(run.sharedCache['hit'] ?? 0) : '-',
        run.shared ? int(run.sharedCache['miss'] ?? 0) : '-',
        run.shared ? int(run.sharedCache['error'] ?? 0) : '-',
      ]),
    ),
    ...r.runs.map((run) => `   ${run.label}: registry requests by kind ${JSON.stringify(run.registryRequestsByKind)}${run.denials.length > 0 ? `; not allowed: ${run.denials.join(' | ')}` : ''}`),
    ...(down.afterStop ? [`   With Redis stopped: p50 ${ms(down.afterStop.p50)} ms, p99 ${ms(down.afterStop.p99)} ms over ${int(down.afterStop.count)} reviews (shared cache running: p99 ${ms(shared.latency.p99)} ms).`] : []),
    `   Target: three replicas sharing the cache cost the registry what one replica does: ${verdict(r.targets.sharedLikeOne, `${shared.registryRequests} vs ${one.registryRequests} requests`)}`,
    `   Target: Redis stopped mid-run fails or denies nothing: ${verdict(r.targets.redisDownHarmless, `${down.failures} failed, ${down.allowed}/${down.reviews} allowed`)}`,
  ].join('\n');
}
