// Section 1, warm cache: closed-loop autocannon load of one realistic Pod review (three signed images,
// verdicts already cached) against the webhook and against the bare fastify ceiling, cell by cell,
// the two servers alternating so drift on a noisy machine hits both alike.
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchContext } from './context.js';
import { podReviewJson } from './admission-review.js';
import { difference, has, sumBy } from './metrics.js';
import { Reviewer, startBaseline, type ServerUnderTest, type Webhook } from './servers.js';
import { int, median, mib, ms, summarize, table, verdict, type Summary } from './stats.js';
import type { SignedImage } from './images.js';
import { cpuSecondsOf } from './processes.js';

export const WARM_THROUGHPUT_TARGET = 0.7;
export const WARM_P99_TARGET_MS = 5;
/** Issue 17: the p99 target is relative to the bare server's p99 at the same concurrency in the same run. */
export const WARM_P99_RELATIVE = 1.5;
export const WARM_P99_CONCURRENCY = 16;

interface Cell {
  readonly server: 'signet' | 'baseline';
  readonly concurrency: number;
  readonly round: number;
  readonly reviewsPerSecond: number;
  readonly latency: Summary;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Server CPU time (all threads) per answered review, from /proc/<pid>/stat over the cell. */
  readonly cpuMicrosPerReview: number;
}

/** A cell with its raw latencies (autocannon's own histogram rounds to whole milliseconds). */
interface MeasuredCell extends Cell {
  readonly samples: readonly number[];
  readonly answered: number;
}

export interface WarmRow {
  readonly concurrency: number;
  readonly server: 'signet' | 'baseline';
  /** Median over rounds, with the spread. */
  readonly reviewsPerSecond: number;
  readonly reviewsPerSecondMin: number;
  readonly reviewsPerSecondMax: number;
  /** Over every sample of every round. */
  readonly latency: Summary;
  readonly failures: number;
  /** Median over rounds. */
  readonly cpuMicrosPerReview: number;
}

export interface WarmResult {
  readonly bodyBytes: number;
  readonly images: readonly string[];
  readonly cells: readonly Cell[];
  readonly rows: readonly WarmRow[];
  readonly ratios: readonly { readonly concurrency: number; readonly ratio: number }[];
  /** Registry requests the webhook made while the warm cells ran (tag re-resolutions after the tag TTL). */
  readonly registryRequestsDuringCells: number;
  readonly registryRequestsSource: 'metrics' | 'proxy';
  /** Reviews the webhook answered during the cells, by outcome (from its /metrics). */
  readonly reviewOutcomes: Readonly<Record<string, number>>;
  /** The webhook's resident memory after the cells (one pod, so the caches hold 3 images). */
  readonly webhookRss: number;
  readonly webhookPeakRss: number;
  readonly targets: { readonly throughput: boolean; readonly p99: boolean; readonly p99Relative: boolean };
}

export async function runWarm(ctx: BenchContext, webhook: Webhook, images: readonly SignedImage[]): Promise<WarmResult> {
  const [app, ...sidecars] = images.map((i) => i.reference);
  if (app === undefined) throw new Error('the warm pod needs images');
  const body = podReviewJson({ app, sidecars });
  // With BENCH_PROFILE=1 the ceiling is profiled too, so the two profiles can be compared line by line.
  const baselineArgs = ctx.settings.profile ? ['--cpu-prof', '--cpu-prof-dir', join(ctx.root, 'bench', 'results', 'profiles'), '--cpu-prof-name', 'baseline-warm.cpuprofile'] : [];
  const baseline = await startBaseline(ctx.root, ctx.tls, ctx.logDir, baselineArgs);
  try {
    for (const server of [webhook, baseline]) {
      // The first review fills Signet's caches; both must be allowed or the figures mean nothing.
      const probe = new Reviewer(server.url, ctx.tls.caPem, 1);
      try {
        for (let i = 0; i < 2; i++) {
          const outcome = await probe.review(body);
          if (!outcome.allowed) throw new Error(`${server.name} denied the warm pod: ${outcome.message ?? '(no message)'}`);
        }
      } finally {
        await probe.close();
      }
    }

    const metricsBefore = await webhook.metrics();
    const proxyMark = await ctx.proxy.mark();
    const cells: MeasuredCell[] = [];
    for (let round = 0; round < ctx.settings.rounds; round++) {
      for (const concurrency of ctx.settings.concurrencies) {
        const order: [ServerUnderTest, 'signet' | 'baseline'][] = [
          [webhook, 'signet'],
          [baseline, 'baseline'],
        ];
        if (round % 2 === 1) order.reverse();
        for (const [server, label] of order) {
          await load(server.url, body, concurrency, ctx.settings.warmUpSeconds, ctx.tls.caPem);
          const cpuBefore = cpuSecondsOf(server.child.pid);
          const measured = await load(server.url, body, concurrency, ctx.settings.cellSeconds, ctx.tls.caPem);
          const cpuMicrosPerReview = ((cpuSecondsOf(server.child.pid) - cpuBefore) * 1e6) / Math.max(1, measured.answered);
          cells.push({ server: label, concurrency, round, ...measured, cpuMicrosPerReview });
          ctx.progress(`warm ${label} c=${concurrency} round ${round + 1}: ${int(measured.reviewsPerSecond)} reviews/s, p99 ${ms(measured.latency.p99)} ms`);
        }
      }
    }
    const memoryAfter = webhook.memory();
    const metricsAfter = await webhook.metrics();
    const proxyWindow = await ctx.proxy.since(proxyMark);

    const rows: WarmRow[] = [];
    for (const concurrency of ctx.settings.concurrencies) {
      for (const server of ['baseline', 'signet'] as const) {
        const mine = cells.filter((c) => c.concurrency === concurrency && c.server === server);
        const rates = mine.map((c) => c.reviewsPerSecond);
        rows.push({
          concurrency,
          server,
          reviewsPerSecond: median(rates),
          reviewsPerSecondMin: Math.min(...rates),
          reviewsPerSecondMax: Math.max(...rates),
          latency: mergedLatency(mine),
          failures: mine.reduce((n, c) => n + c.non2xx + c.errors + c.timeouts, 0),
          cpuMicrosPerReview: median(mine.map((c) => c.cpuMicrosPerReview)),
        });
      }
    }
    const ratios = ctx.settings.concurrencies.map((concurrency) => {
      const rate = (server: string): number => rows.find((r) => r.concurrency === concurrency && r.server === server)?.reviewsPerSecond ?? Number.NaN;
      return { concurrency, ratio: rate('signet') / rate('baseline') };
    });
    const p99Row = rows.find((r) => r.server === 'signet' && r.concurrency === WARM_P99_CONCURRENCY);
    const baselineP99Row = rows.find((r) => r.server === 'baseline' && r.concurrency === WARM_P99_CONCURRENCY);
    const fromMetrics = has(metricsAfter, 'signet_registry_requests_total');
    const registryBefore = sumBy(metricsBefore, 'signet_registry_requests_total', '');
    const registryAfter = sumBy(metricsAfter, 'signet_registry_requests_total', '');
    return {
      bodyBytes: Buffer.byteLength(body),
      images: images.map((i) => i.reference),
      cells: cells.map(({ samples: _samples, answered: _answered, ...cell }) => cell),
      rows,
      ratios,
      registryRequestsDuringCells: fromMetrics ? (registryAfter['total'] ?? 0) - (registryBefore['total'] ?? 0) : proxyWindow.total,
      registryRequestsSource: fromMetrics ? 'metrics' : 'proxy',
      reviewOutcomes: difference(
        sumBy(metricsAfter, 'signet_reviews_total', 'outcome', (l) => l['endpoint'] === 'validate'),
        sumBy(metricsBefore, 'signet_reviews_total', 'outcome', (l) => l['endpoint'] === 'validate'),
      ),
      webhookRss: memoryAfter.rss,
      webhookPeakRss: memoryAfter.peak,
      targets: {
        throughput: ratios.every((r) => r.ratio >= WARM_THROUGHPUT_TARGET),
        p99: p99Row !== undefined && p99Row.latency.p99 <= WARM_P99_TARGET_MS,
        p99Relative: p99Row !== undefined && baselineP99Row !== undefined && p99Row.latency.p99 <= WARM_P99_RELATIVE * baselineP99Row.latency.p99,
      },
    };
  } finally {
    await baseline.stop();
  }
}

function mergedLatency(cells: readonly MeasuredCell[]): Summary {
  return summarize(cells.flatMap((c) => c.samples));
}

async function load(url: string, body: string, connections: number, seconds: number, caPem: string): Promise<Omit<MeasuredCell, 'server' | 'concurrency' | 'round' | 'cpuMicrosPerReview'>> {
  const instance = autocannon({
    url: `${url}/validate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    tlsOptions: { ca: caPem },
  });
  const latencies: number[] = [];
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  return {
    reviewsPerSecond: result['2xx'] / result.duration,
    latency: summarize(latencies),
    samples: latencies,
    answered: result['2xx'] + result.non2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

export function renderWarm(r: WarmResult, settings: { cellSeconds: number; rounds: number }): string {
  const rows = r.rows.map((row) => {
    const ratio = row.server === 'signet' ? r.ratios.find((x) => x.concurrency === row.concurrency)?.ratio : undefined;
    return [
      String(row.concurrency),
      row.server === 'signet' ? 'signet' : 'fastify ceiling',
      int(row.reviewsPerSecond),
      `${int(row.reviewsPerSecondMin)}–${int(row.reviewsPerSecondMax)}`,
      ms(row.latency.p50),
      ms(row.latency.p99),
      ratio === undefined ? '' : `${(ratio * 100).toFixed(0)}%`,
      int(row.cpuMicrosPerReview),
      String(row.failures),
    ];
  });
  const p99 = r.rows.find((x) => x.server === 'signet' && x.concurrency === WARM_P99_CONCURRENCY)?.latency.p99 ?? Number.NaN;
  const baselineP99 = r.rows.find((x) => x.server === 'baseline' && x.concurrency === WARM_P99_CONCURRENCY)?.latency.p99 ?? Number.NaN;
  const worst = Math.min(...r.ratios.map((x) => x.ratio));
  return [
    `1. Warm cache: one ${int(r.bodyBytes)}-byte Pod CREATE review (3 signed images, tag references), HTTPS keep-alive, autocannon closed loop,`,
    `   ${settings.rounds} round(s) × ${settings.cellSeconds} s per cell after a warm-up; reviews/s is the median over rounds, latencies over all samples.`,
    table([' conns', 'server', ' reviews/s', ' range', ' p50 ms', ' p99 ms', ' of ceiling', ' server CPU µs/review', ' failed'], rows),
    `   Reviews answered by Signet during the cells, by outcome: ${JSON.stringify(r.reviewOutcomes)}; registry requests meanwhile: ${r.registryRequestsDuringCells} (${r.registryRequestsSource}).`,
    `   Signet's RSS after the cells: ${mib(r.webhookRss)} (peak ${mib(r.webhookPeakRss)}), with 3 images cached.`,
    `   Target: throughput ≥ ${WARM_THROUGHPUT_TARGET * 100}% of the ceiling at every concurrency: ${verdict(r.targets.throughput, `lowest ${(worst * 100).toFixed(0)}%`)}`,
    `   Target: p99 ≤ ${WARM_P99_TARGET_MS} ms at concurrency ${WARM_P99_CONCURRENCY}: ${verdict(r.targets.p99, `p99 ${ms(p99)} ms`)}`,
    `   Target: p99 ≤ ${WARM_P99_RELATIVE} × the bare server's at concurrency ${WARM_P99_CONCURRENCY}: ${verdict(r.targets.p99Relative, `${ms(p99)} ms vs ${ms(baselineP99)} ms`)}`,
  ].join('\n');
}
