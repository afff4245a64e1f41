// A Prometheus histogram with one label, counted in plain arrays. prom-client's Histogram checks and
// hashes its labels on every observation; this one is observed on every review, so it keeps a
// bucket array per label value and builds prom-client's value list only when /metrics is scraped.
// It renders exactly as a prom-client Histogram would (same _bucket/_sum/_count series, same le).

/** The shape prom-client's Registry reads from a metric when rendering /metrics. */
export interface ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly { readonly metricName: string; readonly labels: Readonly<Record<string, string | number>>; readonly value: number }[];
}

interface Series {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

export class CountedHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelName: L,
    readonly buckets: readonly number[],
  ) {
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${name}: buckets must increase`);
  }

  observe(labelValue: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let series = this.#series.get(labelValue);
    if (!series) {
      series = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.#series.set(labelValue, series);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** Forgets every observation (prom-client's Registry.resetMetrics calls this on each metric). */
  reset(): void {
    this.#series.clear();
  }

  /** What prom-client's Registry asks every metric for at scrape time. */
  get(): ScrapedMetric {
    const values: ScrapedMetric['values'][number][] = [];
    for (const [labelValue, series] of this.#series) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += series.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: i < this.buckets.length ? this.buckets[i]! : '+Inf', [this.labelName]: labelValue }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: labelValue }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: labelValue }, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
