// Section 2, cold cache: one review of a pod with one image the webhook has never seen, repeated with
// a fresh image each time, against the floor (the same three registry round trips and one verify done
// by a minimal undici client), both through the same logging proxy, interleaved.
import type { BenchContext } from './context.js';
import { podReviewJson } from './admission-review.js';
import { FloorClient } from './floor-client.js';
import { difference, has, sumBy } from './metrics.js';
import { Reviewer, type Webhook } from './servers.js';
import { ms, summarize, table, verdict, type Summary } from './stats.js';
import type { SignedImage } from './images.js';

/** Tag resolve + signature manifest + payload blob. */
export const MINIMUM_ROUND_TRIPS = 3;
export const COLD_RATIO_TARGET = 1.5;

interface Iteration {
  readonly image: string;
  readonly webhookMs: number;
  readonly floorMs: number;
  /** Requests the proxy saw during the review. */
  readonly proxyRoundTrips: number;
  /** signet_registry_requests_total difference, when the webhook exposes it. */
  readonly metricRoundTrips: number | undefined;
  readonly floorRoundTrips: number;
}

export interface ColdResult {
  readonly iterations: readonly Iteration[];
  readonly webhook: Summary;
  readonly floor: Summary;
  readonly ratio: number;
  /** Most round trips any review needed (proxy count; the metric agrees or is absent). */
  readonly maxRoundTrips: number;
  readonly roundTripsSource: string;
  /** The requests of the first review, as the proxy saw them. */
  readonly exampleRequests: readonly string[];
  readonly metricKinds: Readonly<Record<string, number>>;
  readonly targets: { readonly roundTrips: boolean; readonly latency: boolean };
}

export async function runCold(ctx: BenchContext, webhook: Webhook, webhookImages: readonly SignedImage[], floorImages: readonly SignedImage[]): Promise<ColdResult> {
  const reviewer = new Reviewer(webhook.url, ctx.tls.caPem, 1);
  const floor = new FloorClient(`http://${ctx.proxy.host}`, ctx.publicKey);
  try {
    await reviewer.open(1);
    await floor.warm();
    const iterations: Iteration[] = [];
    let exampleRequests: string[] = [];
    const metricKinds: Record<string, number> = {};
    for (const [i, image] of webhookImages.entries()) {
      const floorImage = floorImages[i];
      if (floorImage === undefined) throw new Error('one floor image per webhook image is needed');
      const runFloor = async (): Promise<{ ms: number; roundTrips: number }> => {
        const [repository, tag] = repositoryAndTag(floorImage.reference, ctx.proxy.host);
        const mark = await ctx.proxy.mark();
        const started = performance.now();
        await floor.verifyTag(repository, tag);
        const elapsed = performance.now() - started;
        return { ms: elapsed, roundTrips: (await ctx.proxy.since(mark)).total };
      };
      const runWebhook = async (): Promise<{ ms: number; proxy: number; metric: number | undefined; requests: string[] }> => {
        const body = podReviewJson({ app: image.reference, sidecars: [] });
        const before = await webhook.metrics();
        const mark = await ctx.proxy.mark();
        const outcome = await reviewer.review(body);
        if (!outcome.allowed) throw new Error(`the webhook denied ${image.reference}: ${outcome.message ?? '(no message)'}`);
        const window = await ctx.proxy.since(mark);
        const after = await webhook.metrics();
        const byKind = difference(sumBy(after, 'signet_registry_requests_total', 'kind'), sumBy(before, 'signet_registry_requests_total', 'kind'));
        for (const [kind, n] of Object.entries(byKind)) metricKinds[kind] = (metricKinds[kind] ?? 0) + n;
        return {
          ms: outcome.ms,
          proxy: window.total,
          metric: has(after, 'signet_registry_requests_total') ? Object.values(byKind).reduce((a, b) => a + b, 0) : undefined,
          requests: window.first.map((e) => `${e.kind} → ${e.status}`),
        };
      };
      // Alternate which goes first, so neither always meets the registry right after the other.
      let floorRun: { ms: number; roundTrips: number };
      let webhookRun: Awaited<ReturnType<typeof runWebhook>>;
      if (i % 2 === 0) {
        floorRun = await runFloor();
        webhookRun = await runWebhook();
      } else {
        webhookRun = await runWebhook();
        floorRun = await runFloor();
      }
      if (i === 0) exampleRequests = webhookRun.requests;
      iterations.push({
        image: image.reference,
        webhookMs: webhookRun.ms,
        floorMs: floorRun.ms,
        proxyRoundTrips: webhookRun.proxy,
        metricRoundTrips: webhookRun.metric,
        floorRoundTrips: floorRun.roundTrips,
      });
    }
    const webhookSummary = summarize(iterations.map((it) => it.webhookMs));
    const floorSummary = summarize(iterations.map((it) => it.floorMs));
    const ratio = webhookSummary.p50 / floorSummary.p50;
    const maxRoundTrips = Math.max(...iterations.map((it) => Math.max(it.proxyRoundTrips, it.metricRoundTrips ?? 0)));
    const withMetric = iterations.filter((it) => it.metricRoundTrips !== undefined);
    const agree = withMetric.every((it) => it.metricRoundTrips === it.proxyRoundTrips);
    return {
      iterations,
      webhook: webhookSummary,
      floor: floorSummary,
      ratio,
      maxRoundTrips,
      roundTripsSource:
        withMetric.length === 0
          ? 'logging proxy (the webhook exposes no signet_registry_requests_total)'
          : `logging proxy and signet_registry_requests_total (${agree ? 'they agree on every review' : 'they DISAGREE on some reviews'})`,
      exampleRequests,
      metricKinds,
      targets: { roundTrips: maxRoundTrips <= MINIMUM_ROUND_TRIPS, latency: ratio <= COLD_RATIO_TARGET },
    };
  } finally {
    await reviewer.close();
    await floor.close();
  }
}

function repositoryAndTag(reference: string, host: string): [string, string] {
  const rest = reference.slice(host.length + 1);
  const colon = rest.lastIndexOf(':');
  return [rest.slice(0, colon), rest.slice(colon + 1)];
}

export function renderCold(r: ColdResult): string {
  const counts = new Map<number, number>();
  for (const it of r.iterations) counts.set(it.proxyRoundTrips, (counts.get(it.proxyRoundTrips) ?? 0) + 1);
  const distribution = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([n, times]) => `${n} round trips × ${times}`).join(', ');
  return [
    `2. Cold cache, one image: ${r.iterations.length} reviews, each of a pod with a signed image never seen before (tag reference), one keep-alive connection.`,
    table(
      ['path', ' p50 ms', ' p90 ms', ' max ms', ' registry round trips'],
      [
        ['signet review', ms(r.webhook.p50), ms(r.webhook.p90), ms(r.webhook.max), distribution],
        ['floor (undici: 3 GETs + ECDSA verify)', ms(r.floor.p50), ms(r.floor.p90), ms(r.floor.max), String(r.iterations[0]?.floorRoundTrips ?? '-')],
      ],
    ),
    `   Requests of one review: ${r.exampleRequests.join('; ') || '(none seen)'}`,
    ...(Object.keys(r.metricKinds).length > 0 ? [`   signet_registry_requests_total over all reviews, by kind: ${JSON.stringify(r.metricKinds)}`] : []),
    `   Counted by: ${r.roundTripsSource}.`,
    `   Target: no more than ${MINIMUM_ROUND_TRIPS} round trips per review: ${verdict(r.targets.roundTrips, `at most ${r.maxRoundTrips}`)}`,
    `   Target: p50 ≤ ${COLD_RATIO_TARGET} × floor: ${verdict(r.targets.latency, `${ms(r.webhook.p50)} ms vs ${ms(r.floor.p50)} ms = ${r.ratio.toFixed(2)}×`)}`,
  ].join('\n');
}
