// Section 3, burst: a freshly started webhook receives many reviews at the same instant, each of a pod
// with the same three images it has never seen, over already-open connections. With single-flight
// coalescing the registry sees one resolution and one signature fetch per image, whatever the burst size.
import { randomUUID } from 'node:crypto';
import type { BenchContext } from './context.js';
import { podReviewJson } from './admission-review.js';
import { difference, has, sumBy } from './metrics.js';
import { Reviewer, type Webhook } from './servers.js';
import { int, mib, ms, summarize, table, verdict, type Summary } from './stats.js';
import { MINIMUM_ROUND_TRIPS } from './cold.js';
import type { SignedImage } from './images.js';

export interface BurstResult {
  readonly reviews: number;
  readonly connectionsOpen: number;
  readonly allowed: number;
  readonly denials: readonly string[];
  readonly wallMs: number;
  readonly latency: Summary;
  readonly registryRequests: number;
  readonly registryRequestsByKind: Readonly<Record<string, number>>;
  readonly metricRegistryRequests: number | undefined;
  readonly metricRegistryRequestsByKind: Readonly<Record<string, number>>;
  readonly cacheLookups: Readonly<Record<string, number>>;
  readonly expectedRegistryRequests: number;
  readonly rssAfter: number;
  readonly targets: { readonly registryRequests: boolean };
}

export async function runBurst(ctx: BenchContext, webhook: Webhook, images: readonly SignedImage[]): Promise<BurstResult> {
  const [app, ...sidecars] = images.map((i) => i.reference);
  if (app === undefined) throw new Error('the burst pod needs images');
  const size = ctx.settings.burstSize;
  const reviewer = new Reviewer(webhook.url, ctx.tls.caPem, size);
  try {
    // Handshakes first: the burst should measure reviews, not 500 TLS handshakes.
    const connectionsOpen = await reviewer.open(size);
    const bodies = Array.from({ length: size }, () => podReviewJson({ app, sidecars }, randomUUID()));
    const before = await webhook.metrics();
    const mark = await ctx.proxy.mark();
    const started = performance.now();
    const outcomes = await Promise.all(bodies.map((body) => reviewer.review(body)));
    const wallMs = Math.max(...outcomes.map((o) => o.finishedAt)) - started;
    const window = await ctx.proxy.since(mark);
    const after = await webhook.metrics();
    const metricByKind = difference(sumBy(after, 'signet_registry_requests_total', 'kind'), sumBy(before, 'signet_registry_requests_total', 'kind'));
    const fromMetric = has(after, 'signet_registry_requests_total') ? Object.values(metricByKind).reduce((a, b) => a + b, 0) : undefined;
    const expected = images.length * MINIMUM_ROUND_TRIPS;
    const denials = [...new Set(outcomes.filter((o) => !o.allowed).map((o) => o.message ?? '(no message)'))];
    return {
      reviews: size,
      connectionsOpen,
      allowed: outcomes.filter((o) => o.allowed).length,
      denials,
      wallMs,
      // Every review was sent at `started`, so its latency is when its answer was complete.
      latency: summarize(outcomes.map((o) => o.finishedAt - started)),
      registryRequests: window.total,
      registryRequestsByKind: window.byKind,
      metricRegistryRequests: fromMetric,
      metricRegistryRequestsByKind: metricByKind,
      cacheLookups: Object.fromEntries(
        Object.entries(difference(sumBy(after, 'signet_cache_lookups_total', 'result'), sumBy(before, 'signet_cache_lookups_total', 'result'))),
      ),
      expectedRegistryRequests: expected,
      rssAfter: webhook.memory().rss,
      targets: { registryRequests: window.total === expected && (fromMetric === undefined || fromMetric === expected) && denials.length === 0 },
    };
  } finally {
    await reviewer.close();
  }
}

export function renderBurst(r: BurstResult): string {
  return [
    `3. Burst: ${r.reviews} reviews sent at once (${r.connectionsOpen} open connections) to a fresh webhook, every pod with the same 3 uncached images.`,
    table(
      [' reviews', ' allowed', ' wall ms', ' p50 ms', ' p99 ms', ' registry requests', ' expected', ' webhook RSS after'],
      [[int(r.reviews), int(r.allowed), ms(r.wallMs), ms(r.latency.p50), ms(r.latency.p99), int(r.registryRequests), int(r.expectedRegistryRequests), mib(r.rssAfter)]],
    ),
    `   Registry requests by kind (proxy): ${JSON.stringify(r.registryRequestsByKind)}`,
    r.metricRegistryRequests === undefined
      ? '   signet_registry_requests_total: not exposed by this build.'
      : `   signet_registry_requests_total: ${r.metricRegistryRequests} ${JSON.stringify(r.metricRegistryRequestsByKind)}`,
    ...(Object.keys(r.cacheLookups).length > 0 ? [`   Cache lookups during the burst, by result: ${JSON.stringify(r.cacheLookups)}`] : []),
    ...(r.denials.length > 0 ? [`   Denials: ${r.denials.join(' | ')}`] : []),
    `   Target: registry requests equal to one review's (${r.expectedRegistryRequests}: one resolution and one verification per image), all allowed: ${verdict(r.targets.registryRequests, `${r.registryRequests} requests, ${r.allowed}/${r.reviews} allowed`)}`,
  ].join('\n');
}
