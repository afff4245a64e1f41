// The reload loop every polled trust source shares: a policy is handed over only when its version
// changes, a problem is reported once per distinct bad input, the last good policy stays in force, and
// nothing a look or a callback throws ends the loop or reaches the process.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyText } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { keepCurrent, type Look } from '../../src/trust/keep-current.js';
import { watchPolicyFile } from '../../src/trust/policy-file.js';
import type { Poller } from '../../src/util/poll.js';

function policy(name: string): CompiledPolicy {
  const loaded = loadPolicyText(`apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: ${name}}\nrules: []\n`, { baseDir: '/', sourceName: `${name}.yaml` });
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}

const until = async (condition: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('keepCurrent', () => {
  let poller: Poller | undefined;
  afterEach(() => poller?.stop());

  test('loads on version change only, reports each distinct problem once, and again after a good load', async () => {
    const a = policy('a');
    const b = policy('b');
    const script: Look[] = [
      { kind: 'loaded', policy: a },
      { kind: 'loaded', policy: a },
      { kind: 'unchanged' },
      { kind: 'invalid', message: 'bad 1' },
      { kind: 'invalid', message: 'bad 1' },
      { kind: 'invalid', message: 'bad 2' },
      { kind: 'invalid', message: 'same words', key: 'text 1' },
      { kind: 'invalid', message: 'same words', key: 'text 2' },
      { kind: 'loaded', policy: a },
      { kind: 'invalid', message: 'bad 1' },
      { kind: 'loaded', policy: b },
    ];
    const seen: string[] = [];
    let step = 0;
    poller = await keepCurrent(5, { onLoad: (p) => seen.push(`load ${p.name}`), onInvalid: (m) => seen.push(`invalid ${m}`) }, async () => script[Math.min(step++, script.length - 1)]!, String);
    await until(() => step >= script.length);
    expect(seen).toEqual(['load a', 'invalid bad 1', 'invalid bad 2', 'invalid same words', 'invalid same words', 'invalid bad 1', 'load b']);
  });

  test('a look that throws, or a callback that throws, is reported and the loop goes on', async () => {
    let looks = 0;
    const seen: string[] = [];
    let loadThrows = true;
    poller = await keepCurrent(
      5,
      {
        onLoad: (p) => {
          if (loadThrows) {
            loadThrows = false;
            throw new Error('compose failed');
          }
          seen.push(`load ${p.name}`);
        },
        onInvalid: (m) => seen.push(`invalid ${m}`),
      },
      async () => {
        looks += 1;
        if (looks === 1) throw new Error('disk gone');
        return { kind: 'loaded', policy: policy(`p${looks}`) };
      },
      (error) => `crashed: ${(error as Error).message}`,
    );
    await until(() => seen.length >= 3);
    expect(seen.slice(0, 3)).toEqual(['invalid crashed: disk gone', 'invalid crashed: compose failed', 'load p3']);
  });
});

describe('watchPolicyFile', () => {
  let dir: string;
  let poller: Poller | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-keep-current-'));
  });
  afterEach(() => {
    poller?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a key file that becomes unreadable while the policy text stays the same is reported once; the policy in force stays', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(dir, 'k.pub'), key);
    writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: file}\nkeys:\n  k: {file: k.pub}\nrules: []\n');
    const seen: string[] = [];
    poller = await watchPolicyFile(join(dir, 'policy.yaml'), 10, { onLoad: (p) => seen.push(`load ${p.name}`), onInvalid: (m) => seen.push(`invalid ${m}`) });
    expect(seen).toEqual(['load file']);
    unlinkSync(join(dir, 'k.pub'));
    await until(() => seen.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toHaveLength(2);
    expect(seen[1]).toContain(`cannot read key file ${JSON.stringify(join(dir, 'k.pub'))}: no such file or directory`);
  });
});
