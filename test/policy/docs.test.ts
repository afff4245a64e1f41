// The policies shown in docs/policy.md are real: every example compiles, and the glob table there
// agrees with the implementation.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { compileImagePattern } from '../../src/policy/glob.js';
import { loadPolicyText } from '../../src/policy/load.js';
import { err, ok } from '../../src/util/result.js';

const DOC = readFileSync('docs/policy.md', 'utf8');
const KEY_FILES: Record<string, string> = {
  'release.pub': 'keys/release.pub',
  'backup.pub': 'keys/backup.pub',
  'alice.pub': 'keys/release.pub',
  'bob.pub': 'keys/backup.pub',
  'carol.pub': 'keys/audit.pub',
};
const readKeyFile = (path: string) => {
  const fixture = KEY_FILES[basename(path)];
  return fixture === undefined ? err(`no fixture for ${path}`) : ok(readFileSync(`test/fixtures/policies/${fixture}`, 'utf8'));
};
const pem = (file: string): string => JSON.stringify(readFileSync(`test/fixtures/policies/keys/${file}`, 'utf8'));
// Fragments in the doc show only rules; they get a header and the keys they name.
const FRAGMENT_HEADER = `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nkeys:\n  release: {publicKey: ${pem('release.pub')}}\n  ci: {publicKey: ${pem('backup.pub')}}\n  legacy-rsa: {publicKey: ${pem('rsa-pkcs1.pub')}}\n`;

const yamlBlocks = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '').filter((block) => block.includes('rules:'));

test('docs/policy.md shows at least the five documented policies', () => {
  expect(yamlBlocks.length).toBeGreaterThanOrEqual(5);
});

test.each(yamlBlocks.map((block, index) => [index, block]))('example %i in docs/policy.md compiles', (_index, block) => {
  const text = block.includes('apiVersion:') ? block : FRAGMENT_HEADER + block;
  const result = loadPolicyText(text, { baseDir: '/docs', sourceName: 'docs/policy.md', readKeyFile });
  expect(result.ok ? 'compiled' : result.error.message).toBe('compiled');
});

test('every row of the glob table in docs/policy.md holds', () => {
  const rows = [...DOC.matchAll(/^\| (`[^|]+`(?:, `[^|]+`)*) \| (`[^|]+`(?:, `[^|]+`)*) \| (yes|no)\b.*\|$/gm)];
  expect(rows.length).toBeGreaterThanOrEqual(25);
  for (const [, patterns, names, expected] of rows) {
    for (const pattern of (patterns ?? '').split(', ').map((cell) => cell.slice(1, -1))) {
      const compiled = compileImagePattern(pattern);
      if (!compiled.ok) throw new Error(`${pattern}: ${compiled.error}`);
      for (const name of (names ?? '').split(', ').map((cell) => cell.slice(1, -1))) {
        expect([pattern, name, compiled.value.test(name)]).toEqual([pattern, name, expected === 'yes']);
      }
    }
  }
});
