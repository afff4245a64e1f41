// Micro-benchmark of the request-body parse (issue 13 §2), in ns of CPU per body on the benchmark's
// 8.9 KB Pod review and on a 1 MiB Pod review (a pod with enough containers to reach 1 MiB:
// structure, not one long string). Before: fastify's default JSON parser (secure-json-parse, a
// fastify dependency). After: parseJsonRefusingDuplicates (src/util/duplicate-keys.ts), which the
// webhook runs. For comparison: JSON.parse alone, JSON.parse plus the precise scan (what a body with
// a duplicate, or a name followed by whitespace and a colon, costs), and the strict hand-written
// parser used for signed documents (src/util/strict-json.ts). The machine may be shared: each figure
// is the fastest of many rounds, measured as process CPU time.
//
//   tsc -p tsconfig.bench.json && node dist-bench/bench/body-parse.js
import { podReview, podReviewJson } from './admission-review.js';
import secureJson from 'secure-json-parse';
import { findMemberProblem, parseJsonRefusingDuplicates } from '../src/util/duplicate-keys.js';
import { parseStrictJson } from '../src/util/strict-json.js';

const typical = podReviewJson({ app: 'registry.example.com/shop/checkout:2.14.3', sidecars: ['docker.io/istio/proxyv2:1.22.1', 'registry.example.com/platform/log-shipper:3.1'] });

function mebibyteReview(): string {
  const review = podReview({ app: 'registry.example.com/shop/checkout:2.14.3', sidecars: [] }, '00000000-0000-4000-8000-000000000000');
  const spec = ((review['request'] as Record<string, unknown>)['object'] as Record<string, unknown>)['spec'] as { containers: Record<string, unknown>[] };
  const template = spec.containers[0]!;
  const size = (): number => Buffer.byteLength(JSON.stringify(review));
  const per = Buffer.byteLength(JSON.stringify(template)) + 1;
  const count = Math.floor((1024 * 1024 - size()) / per);
  spec.containers = Array.from({ length: count + 1 }, (_, i) => ({ ...template, name: `c${i}` }));
  return JSON.stringify(review);
}

const large = mebibyteReview();

const candidates: Record<string, (text: string) => unknown> = {
  'JSON.parse': (text) => JSON.parse(text),
  'before: secure-json-parse (fastify)': (text) => secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' }),
  'after: parseJsonRefusingDuplicates': (text) => {
    const r = parseJsonRefusingDuplicates(text);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  },
  'JSON.parse + findMemberProblem': (text) => {
    const value: unknown = JSON.parse(text);
    if (findMemberProblem(text) !== undefined) throw new Error('unexpected problem');
    return value;
  },
  'parseStrictJson (util/strict-json.ts)': (text) => {
    const r = parseStrictJson(text);
    if (!r.ok) throw new Error(r.error);
    return r.value;
  },
};

/** Fewest ns of CPU per call over `rounds` rounds of `perRound` calls, after a warm-up. */
function measure(fn: (text: string) => unknown, text: string, perRound: number, rounds = 40): number {
  let sink: unknown;
  for (let i = 0; i < perRound; i++) sink = fn(text);
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < perRound; i++) sink = fn(text);
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / perRound);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return best;
}

console.log(`node ${process.version}`);
for (const [label, text, perRound] of [
  [`typical Pod review (${typical.length} bytes)`, typical, 500],
  [`1 MiB Pod review (${large.length} bytes)`, large, 4],
] as const) {
  console.log(label);
  const base = measure(candidates['JSON.parse']!, text, perRound);
  for (const [name, fn] of Object.entries(candidates)) {
    const ns = name === 'JSON.parse' ? base : measure(fn, text, perRound);
    console.log(`  ${name.padEnd(40)} ${Math.round(ns).toLocaleString('en').padStart(12)} ns/body  ${(ns / base).toFixed(2)}× JSON.parse`);
  }
}
