// Cluster trust from a mounted ConfigMap directory in the kubelet's layout: `..<timestamp>` version
// directories, a `..data` symlink swapped with rename(2), per-key symlinks. A half-written version is
// never loaded; an invalid version is rejected and the last good policy stays.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrustDirectory, watchTrustDirectory } from '../../src/trust/directory.js';
import type { Poller } from '../../src/util/poll.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { waitFor } from '../support/fake-kube-api.js';

const RELEASE_PEM = readFileSync('test/fixtures/policies/keys/release.pub', 'utf8');
const BACKUP_PEM = readFileSync('test/fixtures/policies/keys/backup.pub', 'utf8');
const policyTrusting = (file: string): string => `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: mounted}
keys:
  signer: {file: ${file}}
rules:
  - name: everything
    images: ["**"]
    verify: [{type: cosign, keys: [signer]}]
`;

/** A ConfigMap volume as the kubelet's atomic writer lays it out. */
class KubeletVolume {
  #generation = 0;
  #current: string | undefined;
  #keys: string[] = [];
  constructor(readonly dir: string) {}

  /** Writes a new version directory file by file (optionally slowly), without publishing it. */
  async stage(files: Record<string, string>, pauseMs = 0): Promise<string> {
    this.#generation += 1;
    const name = `..2026_11_24_21_00_${String(this.#generation).padStart(2, '0')}.00000000${this.#generation}`;
    mkdirSync(join(this.dir, name));
    for (const [key, text] of Object.entries(files)) {
      writeFileSync(join(this.dir, name, key), text);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return name;
  }

  /**
   * Publishes a staged version: `..data_tmp` → rename onto `..data`, then (after `pauseMs`, a window a
   * reader going through the per-key links would fall into) the new per-key links, then drops the old version.
   */
  async publish(name: string, keys: readonly string[], pauseMs = 0): Promise<void> {
    symlinkSync(name, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    for (const key of keys) if (!existsSync(join(this.dir, key))) symlinkSync(join('..data', key), join(this.dir, key));
    for (const key of this.#keys) if (!keys.includes(key)) unlinkSync(join(this.dir, key));
    if (this.#current !== undefined) rmSync(join(this.dir, this.#current), { recursive: true });
    this.#current = name;
    this.#keys = [...keys];
  }

  async write(files: Record<string, string>): Promise<void> {
    await this.publish(await this.stage(files), Object.keys(files));
  }
}

describe('trust from a mounted ConfigMap directory', () => {
  let root: string;
  let watcher: Poller | undefined;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'signet-trust-dir-'));
  });
  afterEach(() => {
    watcher?.stop();
    watcher = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  function record(): { loads: CompiledPolicy[]; problems: string[]; events: { onLoad(p: CompiledPolicy): void; onInvalid(m: string): void } } {
    const loads: CompiledPolicy[] = [];
    const problems: string[] = [];
    return { loads, problems, events: { onLoad: (policy) => loads.push(policy), onInvalid: (message) => problems.push(message) } };
  }

  test('an atomic swap is picked up, and a version still being written is never loaded', async () => {
    const volume = new KubeletVolume(root);
    await volume.write({ 'policy.yaml': policyTrusting('release.pub'), 'release.pub': RELEASE_PEM });
    const seen = record();
    watcher = await watchTrustDirectory(root, 10, seen.events);
    expect(seen.loads).toHaveLength(1);
    const firstKey = seen.loads[0]?.keys.get('signer')?.fingerprint;

    // The next version names a key file that is written last and slowly: in a plain directory that
    // would be a broken policy for a while. Behind ..data nothing is visible until the swap.
    const staged = await volume.stage({ 'policy.yaml': policyTrusting('backup.pub'), 'unrelated.txt': 'x', 'backup.pub': BACKUP_PEM }, 60);
    expect(seen.loads).toHaveLength(1);
    expect(seen.problems).toEqual([]);
    await volume.publish(staged, ['policy.yaml', 'unrelated.txt', 'backup.pub'], 60);
    await waitFor('the swapped version', () => seen.loads.length === 2, 2000);
    expect(seen.loads[1]?.keys.get('signer')?.fingerprint).not.toBe(firstKey);
    expect(seen.problems).toEqual([]);
    expect(existsSync(join(root, 'release.pub'))).toBe(false);
  });

  test('an invalid version is rejected, the last good policy stays, and a fix loads', async () => {
    const volume = new KubeletVolume(root);
    await volume.write({ 'policy.yaml': policyTrusting('release.pub'), 'release.pub': RELEASE_PEM });
    const seen = record();
    watcher = await watchTrustDirectory(root, 10, seen.events);
    await volume.write({ 'policy.yaml': policyTrusting('release.pub').replace('keys: [signer]', 'keys: [signr]'), 'release.pub': RELEASE_PEM });
    await waitFor('the rejection', () => seen.problems.length === 1, 2000);
    expect(seen.problems[0]).toContain(`policy ${root}/policy.yaml is invalid (1 problem):`);
    expect(seen.problems[0]).toContain(`${root}/policy.yaml:9:36: rules[0].verify[0].keys[0]: unknown key "signr"; did you mean signer?`);
    expect(seen.loads).toHaveLength(1);
    await volume.write({ 'policy.yaml': policyTrusting('release.pub').replace('name: mounted', 'name: fixed'), 'release.pub': RELEASE_PEM });
    await waitFor('the fix', () => seen.loads.length === 2, 2000);
    expect(seen.loads[1]?.name).toBe('fixed');
    expect(seen.problems).toHaveLength(1);
  });

  test('key files come from the directory only: a path elsewhere on disk is refused', async () => {
    const volume = new KubeletVolume(root);
    writeFileSync(join(root, '..', `outside-${process.pid}.pub`), RELEASE_PEM);
    try {
      await volume.write({ 'policy.yaml': policyTrusting(`../outside-${process.pid}.pub`) });
      const seen = record();
      watcher = await watchTrustDirectory(root, 10, seen.events);
      expect(seen.loads).toHaveLength(0);
      expect(seen.problems[0]).toContain('keys.signer.file: key files are read from the trust ConfigMaps, never from disk');
    } finally {
      rmSync(join(root, '..', `outside-${process.pid}.pub`), { force: true });
    }
  });

  test('a plain directory (no ..data) works too, and a missing one is reported once', async () => {
    const seen = record();
    watcher = await watchTrustDirectory(join(root, 'trust'), 10, seen.events);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(seen.problems).toEqual([`cannot read trust directory ${join(root, 'trust')}: no such file or directory`]);
    mkdirSync(join(root, 'trust'));
    writeFileSync(join(root, 'trust', 'release.pub'), RELEASE_PEM);
    writeFileSync(join(root, 'trust', 'policy.yaml'), policyTrusting('release.pub'));
    await waitFor('the load', () => seen.loads.length === 1, 2000);
  });

  test('readTrustDirectory returns the files of exactly one version, without kubelet bookkeeping', async () => {
    const volume = new KubeletVolume(root);
    await volume.write({ 'policy.yaml': 'one', '.hidden-key': 'h' });
    const read = await readTrustDirectory(root);
    if (!read.ok) throw new Error(read.error);
    expect([...read.value.files.entries()]).toEqual([
      ['.hidden-key', 'h'],
      ['policy.yaml', 'one'],
    ]);
    expect(read.value.revision).toMatch(/^\.\.data -> \.\.2026_11_24_21_00_01/);
  });
});
