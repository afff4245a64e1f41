// Micro-benchmark of policy pattern matching (issue 13 §1), in ns per match over 1e5 matches, the
// fastest of several rounds (the machine may be shared). Before: the RegExp each pattern was
// translated to (backtracking). After: the linear matchers the policy compiles to now (segment and
// `*` wildcards for image and namespace patterns, re2js for identity patterns). For comparison: the
// same RegExp source run by re2js, the other way to make globs linear. Then one adversarial match
// each, where RegExp backtracks and the linear matchers do not.
//
//   tsc -p tsconfig.bench.json && node dist-bench/bench/patterns.js
import { RE2JS } from 're2js';
import { compileImagePattern } from '../src/policy/glob.js';
import { compileNamespacePattern } from '../src/policy/namespaces.js';
import { compileLinearPattern } from '../src/util/linear-pattern.js';

const MATCHES = 100_000;
const ROUNDS = 7;

function nsPerMatch(test: (input: string) => boolean, inputs: readonly string[]): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round += 1) {
    let hits = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < MATCHES; i += 1) if (test(inputs[i % inputs.length]!)) hits += 1;
    const elapsed = Number(process.hrtime.bigint() - started) / MATCHES;
    if (hits < 0) throw new Error('unreachable; keeps the loop from being optimised away');
    best = Math.min(best, elapsed);
  }
  return best;
}

/** The RegExp source glob.ts compiled a normalised pattern to before. */
function oldGlobSource(normalised: string): string {
  const segments = normalised.split('/');
  if (segments.length === 1 && segments[0] === '**') return '^.+$';
  let source = '';
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '**') {
      source += index === 0 ? '(?:.+/)?' : last ? '/.+' : '/(?:.+/)?';
      return;
    }
    const separator = index === 0 || segments[index - 1] === '**' ? '' : '/';
    source += separator + [...segment].map((c) => (c === '*' ? '[^/]*' : /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c)).join('');
  });
  return `^${source}$`;
}

function row(label: string, before: number, after: number, re2: number): void {
  console.log(`${label.padEnd(40)} RegExp ${before.toFixed(0).padStart(5)} ns   now ${after.toFixed(0).padStart(5)} ns   re2js ${re2.toFixed(0).padStart(5)} ns`);
}

function must<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(String(result.error));
  return result.value;
}

const names = ['docker.io/library/nginx', 'registry.example.com/team/billing-api', 'ghcr.io/acme/app', 'eu.example.com/team/billing-api', 'quay.io/some/very/long/path/to/an/image-name'];
for (const source of ['docker.io/library/nginx', 'registry.example.com/**', '*.example.com/team/*-api', '**/app', 'ghcr.io/acme/**/app', '*']) {
  const pattern = must(compileImagePattern(source));
  const regexpSource = oldGlobSource(pattern.normalised);
  const regexp = new RegExp(regexpSource);
  const re2 = RE2JS.compile(regexpSource);
  row(`image ${source}`, nsPerMatch((s) => regexp.test(s), names), nsPerMatch((s) => pattern.test(s), names), nsPerMatch((s) => re2.testExact(s), names));
}

const namespaces = ['default', 'kube-system', 'shop-prod', 'team-a-prod', 'monitoring'];
for (const source of ['kube-system', 'kube-*', 'team-*-prod', '*-prod']) {
  const pattern = must(compileNamespacePattern(source));
  const regexpSource = `^${source.replaceAll('*', '.*')}$`;
  const regexp = new RegExp(regexpSource);
  const re2 = RE2JS.compile(regexpSource);
  row(`namespace ${source}`, nsPerMatch((s) => regexp.test(s), namespaces), nsPerMatch((s) => pattern.test(s), namespaces), nsPerMatch((s) => re2.testExact(s), namespaces));
}

const subjects = [
  'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0',
  'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main',
  'dev@example.com',
];
for (const source of ['https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.yml@refs/tags/v.*', '.*@example\\.com']) {
  const pattern = must(compileLinearPattern(source, { anchored: true }));
  const regexp = new RegExp(`^(?:${source})$`, 'u');
  const time = nsPerMatch((s) => pattern.test(s), subjects);
  row(`subjectRegExp ${source.slice(0, 26)}…`, nsPerMatch((s) => regexp.test(s), subjects), time, time);
}

function once(label: string, test: () => boolean): void {
  const started = performance.now();
  test();
  console.log(`${label.padEnd(60)} ${(performance.now() - started).toFixed(2)} ms`);
}
const evilName = `registry.example.com/${'a'.repeat(234)}`;
const evilGlob = must(compileImagePattern(`registry.example.com/${'*a'.repeat(8)}*b`));
once('adversarial image *a×8*b, 255-character name, now', () => evilGlob.test(evilName));
const threeStars = new RegExp(oldGlobSource(`registry.example.com/${'*a'.repeat(3)}*b`));
once('adversarial image *a×3*b, 255-character name, RegExp', () => threeStars.test(evilName));
const evilNamespace = must(compileNamespacePattern(`${'*a'.repeat(30)}*b`));
once('adversarial namespace *a×30*b, 63-character name, now', () => evilNamespace.test('a'.repeat(63)));
const nested = must(compileLinearPattern('(a+)+', { anchored: true }));
once('subjectRegExp (a+)+ against "a"×34+"!", now', () => nested.test(`${'a'.repeat(34)}!`));
const nestedRegExp = /^(?:(a+)+)$/u;
once('subjectRegExp (a+)+ against "a"×24+"!", RegExp', () => nestedRegExp.test(`${'a'.repeat(24)}!`));
