import { Histogram, Registry, type Metric } from 'prom-client';
import { CountedHistogram } from '../../src/telemetry/counted-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.5, 10];

test('renders exactly what a prom-client Histogram given the same observations renders', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const counted = new CountedHistogram('signet_review_duration_seconds', 'Time to answer a review.', 'endpoint', BUCKETS);
  ours.registerMetric(counted as unknown as Metric<string>);
  const reference = new Histogram({ name: 'signet_review_duration_seconds', help: 'Time to answer a review.', labelNames: ['endpoint'], buckets: BUCKETS, registers: [theirs] });
  // Values on bucket bounds, between them, below the first and above the last.
  const observations: [string, number][] = [
    ['validate', 0.0001],
    ['validate', 0.0005],
    ['validate', 0.00051],
    ['validate', 0.003],
    ['validate', 0.5],
    ['validate', 11],
    ['mutate', 0.001],
    ['imagepolicy', 42],
  ];
  for (const [endpoint, value] of observations) {
    counted.observe(endpoint, value);
    reference.observe({ endpoint }, value);
  }
  const text = await ours.metrics();
  expect(text).toBe(await theirs.metrics());
  expect(text).toContain('signet_review_duration_seconds_bucket{le="0.0005",endpoint="validate"} 2');
  expect(text).toContain('signet_review_duration_seconds_bucket{le="+Inf",endpoint="validate"} 6');
  expect(text).toContain('signet_review_duration_seconds_count{endpoint="mutate"} 1');
});

test('an empty histogram renders only its help and type; non-finite values are not counted', async () => {
  const registry = new Registry();
  const counted = new CountedHistogram('x_seconds', 'help', 'endpoint', BUCKETS);
  registry.registerMetric(counted as unknown as Metric<string>);
  counted.observe('validate', Number.NaN);
  counted.observe('validate', Number.POSITIVE_INFINITY);
  expect(await registry.metrics()).toBe('# HELP x_seconds help\n# TYPE x_seconds histogram\n');
});

test('Registry.resetMetrics forgets the observations, like it does for prom-client metrics', async () => {
  const registry = new Registry();
  const counted = new CountedHistogram('x_seconds', 'help', 'endpoint', BUCKETS);
  registry.registerMetric(counted as unknown as Metric<string>);
  counted.observe('validate', 0.001);
  expect(await registry.metrics()).toContain('x_seconds_count{endpoint="validate"} 1');
  registry.resetMetrics();
  expect(await registry.metrics()).not.toContain('x_seconds_count');
  expect((await registry.getMetricsAsJSON())[0]).toMatchObject({ name: 'x_seconds', type: 'histogram', values: [] });
});

test('buckets must increase', () => {
  expect(() => new CountedHistogram('x', 'h', 'l', [1, 1])).toThrow('buckets must increase');
});
