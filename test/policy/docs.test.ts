// The policies shown in docs/policy.md are real: every example compiles, and the glob table and the
// worked namespace example there agree with the implementation.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { compileImagePattern } from '../../src/policy/glob.js';
import { loadPolicyText } from '../../src/policy/load.js';
import { matchRule } from '../../src/policy/match.js';
import { parseReference, repositoryName } from '../../src/reference/parse.js';
import { err, ok } from '../../src/util/result.js';

const DOC = readFileSync('docs/policy.md', 'utf8');
const KEY_FILES: Record<string, string> = {
  'release.pub': 'keys/release.pub',
  'backup.pub': 'keys/backup.pub',
  'alice.pub': 'keys/release.pub',
  'bob.pub': 'keys/backup.pub',
  'carol.pub': 'keys/audit.pub',
  'ci.pub': 'keys/backup.pub',
  'team-a.pub': 'keys/audit.pub',
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

test('the worked namespace example in docs/policy.md decides as its table says', () => {
  const block = yamlBlocks.find((text) => text.includes('name: namespaced-example'));
  if (block === undefined) throw new Error('the worked example is missing from docs/policy.md');
  const loaded = loadPolicyText(block, { baseDir: '/docs', sourceName: 'docs/policy.md', readKeyFile });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const policy = loaded.value;

  const table = /<!-- scope-example:start -->\n([\s\S]*?)<!-- scope-example:end -->/.exec(DOC)?.[1] ?? '';
  const rows = [...table.matchAll(/^\| (.+?) \| (.+?) \| `([^`]+)` \| (.+?) \|$/gm)].slice(1);
  expect(rows.length).toBeGreaterThanOrEqual(10);
  const code = (cell: string): string | undefined => /^`([^`]*)`$/.exec(cell)?.[1];
  for (const [, namespaceCell = '', labelsCell = '', image = '', decidedBy = ''] of rows) {
    const namespace = namespaceCell === 'unknown' ? undefined : code(namespaceCell);
    if (namespaceCell !== 'unknown' && namespace === undefined) throw new Error(`bad namespace cell ${namespaceCell}`);
    let labels: Record<string, string> | undefined;
    if (labelsCell === 'none') labels = {};
    else if (labelsCell !== 'unknown') {
      const pairs = (code(labelsCell) ?? '').split(', ').map((pair) => pair.split('='));
      labels = Object.fromEntries(pairs.map(([key = '', value = '']) => [key, value]));
    }
    const reference = parseReference(image);
    if (!reference.ok) throw new Error(reference.error.message);
    const exempt = namespace !== undefined && policy.isNamespaceExempt(namespace);
    const rule = matchRule(policy, repositoryName(reference.value), { namespace, labels })?.name;
    const actual = exempt ? 'exempt' : rule === undefined ? 'no rule' : `rule \`${rule}\``;
    expect([namespaceCell, labelsCell, image, actual]).toEqual([namespaceCell, labelsCell, image, decidedBy]);
  }
});
