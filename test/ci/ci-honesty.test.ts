// CI must never pass by skipping: .ci/run sets CI itself, any CI value but empty or "false" turns a
// missing real dependency into a failure, and every program a test starts is one that CI installs.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isCI } from '../support/registry-server.js';

const root = process.cwd();

function testSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : testSources(path);
    // This file names programs in its own patterns and runs bash (Essential) itself.
    return name.endsWith('.ts') && path !== join(root, 'test/ci/ci-honesty.test.ts') ? [path] : [];
  });
}

/** Programs named by tests: haveTools('a', 'b'), spawn('a', …) / execFile('a', …) and their Sync forms, and tool-list constants. */
function programsTestsStart(): Set<string> {
  const found = new Set<string>();
  for (const file of testSources(join(root, 'test'))) {
    const text = readFileSync(file, 'utf8');
    for (const call of text.matchAll(/haveTools\(([^)]*)\)/g)) {
      for (const literal of call[1]!.matchAll(/'([^']+)'/g)) found.add(literal[1]!);
    }
    for (const call of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*'([^']+)'/g)) found.add(call[1]!);
    for (const constant of text.matchAll(/export const (?:\w+_TOOLS|\w+_BINARY) = ([^;]+);/g)) {
      for (const literal of constant[1]!.matchAll(/'([^']+)'/g)) found.add(literal[1]!);
    }
  }
  found.delete('/bin/sh'); // Essential on Debian; the manifests' script runs under it.
  return new Set([...found].map((program) => basename(program)));
}

describe('CI honesty', () => {
  test.each([
    [undefined, false],
    ['', false],
    ['  ', false],
    ['false', false],
    ['FALSE', false],
    ['true', true],
    ['1', true],
    ['yes', true],
  ])('CI=%p counts as CI: %p', (value, expected) => {
    expect(isCI(value === undefined ? {} : { CI: value })).toBe(expected);
  });

  test('.ci/run exports CI=true before it runs the tests', () => {
    const script = readFileSync(join(root, '.ci/run'), 'utf8');
    const exported = script.search(/^export CI=true$/m);
    const tests = script.search(/^make test$/m);
    expect(exported).toBeGreaterThanOrEqual(0);
    expect(tests).toBeGreaterThan(exported);
  });

  test('every program a test starts is one scripts/system-deps.sh checks and CI installs', () => {
    const checked = execFileSync('bash', [join(root, 'scripts/system-deps.sh'), '--binaries'], { encoding: 'utf8', timeout: 10_000 })
      .split('\n')
      .filter((line) => line !== '');
    const started = programsTestsStart();
    // The scan must see the programs we know tests start, or it proves nothing.
    for (const known of ['docker-registry', 'skopeo', 'openssl', 'perl', 'notary-server']) expect(started).toContain(known);
    expect([...started].filter((program) => !checked.includes(program))).toEqual([]);
    const packages = execFileSync('bash', [join(root, 'scripts/system-deps.sh'), '--packages'], { encoding: 'utf8', timeout: 10_000 });
    expect(packages.trim().split(/\s+/).sort()).toEqual(['docker-registry', 'notary', 'openssl', 'perl-base', 'redis-server', 'redis-tools', 'skopeo']);
  });
});
