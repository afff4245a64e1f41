// The event-loop delay in /metrics: a running server's registry exports how late the event loop ran
// since the previous scrape, by quantile (1: the maximum), and no duplicate of prom-client's defaults.
import { addStateGauges, createMetrics, EVENT_LOOP_RESOLUTION_MS, type Metrics } from '../../src/telemetry/metrics.js';

function running(): Metrics {
  const metrics = createMetrics();
  addStateGauges(metrics, {
    trustSourceHealthy: () => true,
    registryWaiting: () => [],
    cacheSizes: () => ({ tags: 0, verdicts: 0, verdictBytes: 0, signatures: 0, signatureBytes: 0 }),
  });
  return metrics;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Holds the event loop, as a long synchronous verification would.
  }
}

function delays(text: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const match of text.matchAll(/^signet_event_loop_delay_seconds\{quantile="([0-9.]+)"\} (\S+)$/gm)) found[match[1]!] = Number(match[2]);
  return found;
}

describe('event-loop delay', () => {
  test('a blocked event loop shows as its delay at the next scrape; the scrape after starts afresh', async () => {
    const metrics = running();
    await sleep(5 * EVENT_LOOP_RESOLUTION_MS);
    busy(300);
    await sleep(3 * EVENT_LOOP_RESOLUTION_MS);
    const text = await metrics.registry.metrics();
    expect(text).toContain('# HELP signet_event_loop_delay_seconds Event-loop delay since the previous scrape, by quantile (1: the maximum): how late a timer due every 10 ms ran.');
    expect(text).toContain('# TYPE signet_event_loop_delay_seconds gauge');
    const first = delays(text);
    expect(Object.keys(first).sort()).toEqual(['0.5', '0.9', '0.99', '1']);
    expect(first['1']).toBeGreaterThanOrEqual(0.25);
    expect(first['1']).toBeLessThan(5);
    expect(first['0.5']).toBeLessThanOrEqual(first['0.99']!);

    // A quiet interval: the 300 ms block belongs to the previous scrape only.
    await sleep(20 * EVENT_LOOP_RESOLUTION_MS);
    const second = delays(await metrics.registry.metrics());
    expect(second['1']).toBeLessThan(0.25);
  });

  test("prom-client's default metrics are not registered, so nothing is exported twice", async () => {
    const text = await running().registry.metrics();
    expect(text).not.toMatch(/^nodejs_eventloop_lag/m);
    expect(text.match(/^# TYPE signet_event_loop_delay_seconds /gm)).toHaveLength(1);
  });

  test('only a running server measures it: createMetrics alone exports no event-loop delay', async () => {
    expect(await createMetrics().registry.metrics()).not.toContain('signet_event_loop_delay_seconds');
  });
});
