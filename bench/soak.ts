// Section 6, soak (issue 17): one webhook under steady load for minutes, at half the warm maximum,
// with its resident memory sampled every 10 s. What a long-running replica looks like, not a burst:
// the figure the chart's memory request and limit are set from.
import { randomUUID } from 'node:crypto';
import type { BenchContext } from './context.js';
import { podReviewJson } from './admission-review.js';
import { Reviewer, type Webhook } from './servers.js';
import { int, mib, ms, summarize, table, verdict, type Summary } from './stats.js';
import type { SignedImage } from './images.js';

export interface SoakResult {
  readonly seconds: number;
  readonly targetRate: number;
  /** Where the rate came from: half the warm maximum of this run, BENCH_SOAK_RATE, or the 700/s default. */
  readonly rateSource: string;
  readonly achievedRate: number;
  readonly reviews: number;
  readonly allowed: number;
  readonly failures: number;
  /** Sends skipped because too many were already in flight (the webhook fell behind). */
  readonly skipped: number;
  readonly latency: Summary;
  /** [seconds since start, RSS bytes] every 10 s. */
  readonly rss: readonly (readonly [number, number])[];
  readonly targets: { readonly flat: boolean; readonly under200MiB: boolean };
}

const SAMPLE_EVERY_MS = 10_000;
const TICK_MS = 10;
const MAX_IN_FLIGHT = 256;
const RSS_LIMIT = 200 * 1024 * 1024;

export async function runSoak(ctx: BenchContext, webhook: Webhook, images: readonly SignedImage[], rate: number, rateSource: string, seconds: number): Promise<SoakResult> {
  const [app, ...sidecars] = images.map((i) => i.reference);
  if (app === undefined) throw new Error('the soak pod needs images');
  const reviewer = new Reviewer(webhook.url, ctx.tls.caPem, 32);
  try {
    await reviewer.open(32);
    // Warm the verdicts first: the soak is about steady state, not the first fetch.
    const probe = await reviewer.review(podReviewJson({ app, sidecars }, randomUUID()));
    if (!probe.allowed) throw new Error(`soak probe denied: ${probe.message ?? ''}`);
    const latencies: number[] = [];
    const rss: [number, number][] = [];
    let allowed = 0;
    let failures = 0;
    let skipped = 0;
    let sent = 0;
    let inFlight = 0;
    const started = performance.now();
    const end = started + seconds * 1000;
    let nextSample = started;
    const pending = new Set<Promise<void>>();
    // An open loop: sends are due at a fixed rate whether or not earlier ones have answered.
    while (performance.now() < end) {
      const now = performance.now();
      if (now >= nextSample) {
        rss.push([Math.round((now - started) / 1000), webhook.memory().rss]);
        nextSample += SAMPLE_EVERY_MS;
      }
      const due = Math.floor(((now - started) / 1000) * rate) - sent;
      for (let i = 0; i < due; i++) {
        sent++;
        if (inFlight >= MAX_IN_FLIGHT) {
          skipped++;
          continue;
        }
        inFlight++;
        const work = reviewer
          .review(podReviewJson({ app, sidecars }, randomUUID()))
          .then(
            (outcome) => {
              latencies.push(outcome.ms);
              if (outcome.allowed) allowed++;
            },
            () => {
              failures++;
            },
          )
          .finally(() => {
            inFlight--;
            pending.delete(work);
          });
        pending.add(work);
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    await Promise.all(pending);
    rss.push([Math.round((performance.now() - started) / 1000), webhook.memory().rss]);
    const elapsed = (performance.now() - started) / 1000;
    // Flat: after the first minute (caches and JIT settled), the last sample is within 10 % of the
    // lowest one since.
    const settled = rss.filter(([at]) => at >= Math.min(60, seconds / 2));
    const low = Math.min(...settled.map(([, bytes]) => bytes));
    const last = rss.at(-1)?.[1] ?? Number.NaN;
    return {
      seconds: elapsed,
      targetRate: rate,
      rateSource,
      achievedRate: latencies.length / elapsed,
      reviews: sent,
      allowed,
      failures,
      skipped,
      latency: summarize(latencies),
      rss,
      targets: { flat: last <= low * 1.1, under200MiB: Math.max(...rss.map(([, bytes]) => bytes)) <= RSS_LIMIT },
    };
  } finally {
    await reviewer.close();
  }
}

export function renderSoak(r: SoakResult): string {
  const peak = Math.max(...r.rss.map(([, bytes]) => bytes));
  return [
    `6. Soak: ${Math.round(r.seconds)} s at ${int(r.targetRate)} reviews/s (${r.rateSource}) on one webhook, the warm 3-image pod; RSS every 10 s.`,
    table(
      [' reviews/s', ' answered', ' allowed', ' failed', ' skipped', ' p50 ms', ' p99 ms', ' RSS first', ' RSS last', ' RSS peak'],
      [[int(r.achievedRate), int(r.latency.count), int(r.allowed), int(r.failures), int(r.skipped), ms(r.latency.p50), ms(r.latency.p99), mib(r.rss[0]?.[1] ?? Number.NaN), mib(r.rss.at(-1)?.[1] ?? Number.NaN), mib(peak)]],
    ),
    `   RSS (s: MiB): ${r.rss.map(([at, bytes]) => `${at}: ${(bytes / 1048576).toFixed(0)}`).join(', ')}`,
    `   Target: RSS flat after the first minute: ${verdict(r.targets.flat, `last ${mib(r.rss.at(-1)?.[1] ?? Number.NaN)}`)}; at most 200 MiB: ${verdict(r.targets.under200MiB, `peak ${mib(peak)}`)}`,
  ].join('\n');
}
