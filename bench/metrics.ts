// Reads the webhook's Prometheus text exposition: just enough parsing to take differences of
// counters between two scrapes and to read gauges.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** True when the scrape has at least one series of this metric. */
export function has(samples: readonly Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

/** Sum of a metric's series, grouped by one label ('' groups everything). */
export function sumBy(samples: readonly Sample[], name: string, label: string, where: (labels: Readonly<Record<string, string>>) => boolean = () => true): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name || !where(s.labels)) continue;
    const key = label === '' ? 'total' : (s.labels[label] ?? '');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

export function total(samples: readonly Sample[], name: string, where?: (labels: Readonly<Record<string, string>>) => boolean): number {
  return sumBy(samples, name, '', where)['total'] ?? 0;
}

/** after − before, per key (keys only in `after` count from zero). */
export function difference(after: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}
