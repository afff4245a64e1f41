// Section 4, many images: a thousand distinct signed images, each reviewed once by a fresh webhook
// (cold) and once more (cached), and the webhook's resident memory before, after and at its peak, with
// the cache sizes it reports, to see whether memory stays bounded as the caches fill.
import { randomUUID } from 'node:crypto';
import type { BenchContext } from './context.js';
import { podReviewJson } from './admission-review.js';
import type { Sample } from './metrics.js';
import { Reviewer, type Webhook } from './servers.js';
import { inParallel, type SignedImage } from './images.js';
import { int, median, mib, ms, summarize, table, verdict, type Summary } from './stats.js';

export const RSS_TARGET_BYTES = 200 * 1024 * 1024;
const RSS_SAMPLES = 5;
const MIN_CACHED_PASSES = 2;
/** RSS has settled when each of the last SETTLED_PASSES passes moved it by less than this. */
const SETTLED_DELTA_BYTES = 2 * 1024 * 1024;
const SETTLED_PASSES = 2;
const RSS_SAMPLE_GAP_MS = 300;

interface Pass {
  readonly name: string;
  readonly reviews: number;
  readonly allowed: number;
  readonly wallMs: number;
  readonly reviewsPerSecond: number;
  readonly latency: Summary;
  readonly registryRequests: number;
  /** Median of a few VmRSS readings taken after the pass, once the webhook is idle. */
  readonly rssAfter: number;
  readonly firstDenial: string | undefined;
}

export interface ManyResult {
  readonly images: number;
  readonly repositories: number;
  readonly pushSeconds: number;
  readonly rssBefore: number;
  readonly passes: readonly Pass[];
  readonly peakRss: number;
  /** Every signet_cache_* gauge the webhook exposes, after the last pass (e.g. entries by cache). */
  readonly cacheGauges: Readonly<Record<string, number>>;
  /** Cached passes after which RSS stopped moving; undefined when it never did within the limit. */
  readonly settledAfterCachedPasses: number | undefined;
  readonly targets: { readonly rss: boolean; readonly allAllowed: boolean };
}

export function manyImageNames(ctx: BenchContext): { repository: string; tag: string; seed: string }[] {
  return Array.from({ length: ctx.settings.manyImages }, (_, i) => ({
    repository: `bench/many-${String(i % ctx.settings.manyRepositories).padStart(2, '0')}`,
    tag: `v${String(i).padStart(4, '0')}`,
    seed: `many-${i}`,
  }));
}

export async function runMany(ctx: BenchContext): Promise<ManyResult> {
  const names = manyImageNames(ctx);
  const pushStarted = performance.now();
  let pushed = 0;
  const images: SignedImage[] = await inParallel(names, ctx.settings.pushConcurrency, async (n) => {
    const image = await ctx.factory.pushSigned(n.repository, n.tag, n.seed);
    pushed += 1;
    if (pushed % 250 === 0) ctx.progress(`many: pushed and signed ${pushed}/${names.length} images`);
    return image;
  });
  const pushSeconds = (performance.now() - pushStarted) / 1000;
  // Not one of the thousand, so the cold pass finds every one of them uncached.
  const warmUp = await ctx.factory.pushSigned('bench/many-warm-up', 'v1', 'many-warm-up');

  const webhook = await ctx.startWebhook('webhook-many');
  try {
    // One review first, so "before" includes everything a started webhook holds after its first answer.
    const reviewer = new Reviewer(webhook.url, ctx.tls.caPem, ctx.settings.manyConcurrency);
    try {
      await reviewer.open(ctx.settings.manyConcurrency);
      await reviewer.review(podReviewJson({ app: warmUp.reference, sidecars: [] }));
      const rssBefore = await idleRss(webhook);
      const passes: Pass[] = [];
      // Cached passes until RSS stops moving: V8 grows its heap over several passes before it settles,
      // so the figure after one or two passes is not yet the steady state.
      let settledAfter: number | undefined;
      for (let pass = 0; pass <= ctx.settings.manyMaxCachedPasses; pass++) {
        const name = pass === 0 ? 'cold (first review of each image)' : `cached (review ${pass + 1} of each image)`;
        passes.push(await reviewAll(ctx, webhook, reviewer, images, name));
        ctx.progress(`many: ${name}: ${int(passes.at(-1)!.reviewsPerSecond)} reviews/s, RSS ${mib(passes.at(-1)!.rssAfter)}`);
        if (pass >= MIN_CACHED_PASSES && isSettled(passes)) {
          settledAfter = pass;
          break;
        }
      }
      const metrics = await webhook.metrics();
      const peakRss = webhook.memory().peak;
      const lastRss = passes.at(-1)?.rssAfter ?? Number.NaN;
      return {
        images: images.length,
        repositories: ctx.settings.manyRepositories,
        pushSeconds,
        rssBefore,
        passes,
        peakRss,
        cacheGauges: cacheGauges(metrics),
        settledAfterCachedPasses: settledAfter,
        targets: { rss: lastRss <= RSS_TARGET_BYTES, allAllowed: passes.every((p) => p.allowed === p.reviews) },
      };
    } finally {
      await reviewer.close();
    }
  } finally {
    await webhook.stop();
  }
}

async function reviewAll(ctx: BenchContext, webhook: Webhook, reviewer: Reviewer, images: readonly SignedImage[], name: string): Promise<Pass> {
  const mark = await ctx.proxy.mark();
  const started = performance.now();
  const outcomes = await inParallel(images, ctx.settings.manyConcurrency, (image) => reviewer.review(podReviewJson({ app: image.reference, sidecars: [] }, randomUUID())));
  const wallMs = performance.now() - started;
  const window = await ctx.proxy.since(mark);
  const allowed = outcomes.filter((o) => o.allowed).length;
  return {
    name,
    reviews: outcomes.length,
    allowed,
    wallMs,
    reviewsPerSecond: outcomes.length / (wallMs / 1000),
    latency: summarize(outcomes.map((o) => o.ms)),
    registryRequests: window.total,
    rssAfter: await idleRss(webhook),
    firstDenial: outcomes.find((o) => !o.allowed)?.message,
  };
}

/** VmRSS once the webhook is idle: the median of a few readings a little apart. */
async function idleRss(webhook: Webhook): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < RSS_SAMPLES; i++) {
    await new Promise((resolve) => setTimeout(resolve, RSS_SAMPLE_GAP_MS));
    readings.push(webhook.memory().rss);
  }
  return median(readings);
}

function cacheGauges(metrics: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of metrics) {
    if (!s.name.startsWith('signet_cache') || s.name === 'signet_cache_lookups_total') continue;
    const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(',');
    out[labels === '' ? s.name : `${s.name}{${labels}}`] = s.value;
  }
  return out;
}

export function renderMany(r: ManyResult): string {
  const last = r.passes.at(-1);
  return [
    `4. Many images: ${int(r.images)} distinct signed images in ${r.repositories} repositories (pushed and signed in ${r.pushSeconds.toFixed(1)} s), one-image pod reviews, fresh webhook.`,
    table(
      ['pass', ' reviews', ' allowed', ' reviews/s', ' p50 ms', ' p99 ms', ' registry requests', ' RSS after'],
      [
        ['before (after one review)', '', '', '', '', '', '', mib(r.rssBefore)],
        ...r.passes.map((p) => [p.name, int(p.reviews), int(p.allowed), int(p.reviewsPerSecond), ms(p.latency.p50), ms(p.latency.p99), int(p.registryRequests), mib(p.rssAfter)]),
      ],
    ),
    `   Peak RSS (VmHWM): ${mib(r.peakRss)}. Cache gauges after the last pass: ${Object.keys(r.cacheGauges).length > 0 ? JSON.stringify(r.cacheGauges) : 'none exposed'}.`,
    `   ${cacheBoundNote(r)}`,
    ...r.passes.filter((p) => p.firstDenial !== undefined).map((p) => `   First denial in "${p.name}": ${p.firstDenial}`),
    `   ${r.settledAfterCachedPasses !== undefined ? `RSS settled (each of the last ${SETTLED_PASSES} passes moved it by < ${mib(SETTLED_DELTA_BYTES)}) after ${r.settledAfterCachedPasses} cached passes.` : `RSS had NOT settled after ${r.passes.length - 1} cached passes; the last figure is a lower bound of the steady state.`}`,
    `   Target: steady-state RSS ≤ ${mib(RSS_TARGET_BYTES)}: ${verdict(r.targets.rss, `${mib(last?.rssAfter ?? Number.NaN)} after the last pass; peak ${mib(r.peakRss)}`)}`,
    `   Every review allowed: ${verdict(r.targets.allAllowed, r.passes.map((p) => `${p.allowed}/${p.reviews}`).join(', '))}`,
  ].join('\n');
}

/** What the cache gauges say about the memory bound, in one sentence. */
function cacheBoundNote(r: ManyResult): string {
  const entries = Object.entries(r.cacheGauges).filter(([name]) => name.includes('entries') && !name.includes('bytes'));
  if (entries.length === 0) return 'The webhook exposes no cache sizes; RSS before and after is the only evidence of the bound.';
  const seen = r.images + 1;
  const largest = Math.max(...entries.map(([, n]) => n));
  return largest <= seen
    ? `The caches hold at most one entry per image seen (${int(largest)} for ${int(seen)} images, the warm-up one included): nothing is retained beyond them; no eviction was needed at this size, so the entry cap itself is not exercised.`
    : `A cache holds ${int(largest)} entries for ${int(seen)} images seen: more than one per image.`;
}

function isSettled(passes: readonly Pass[]): boolean {
  if (passes.length < SETTLED_PASSES + 1) return false;
  const recent = passes.slice(-(SETTLED_PASSES + 1)).map((p) => p.rssAfter);
  return recent.slice(1).every((rss, i) => Math.abs(rss - recent[i]!) < SETTLED_DELTA_BYTES);
}
