// Cluster trust from a mounted ConfigMap directory (policy.yaml plus key files), kept current the way
// the kubelet updates such volumes. The kubelet writes every version into a fresh `..<timestamp>`
// directory and then renames a `..data` symlink onto it, so one readlink names a complete, immutable
// version. We read every file from that target directory, never through the per-key symlinks, and check
// that `..data` still points there afterwards; a version being written, or one swapped out mid-read, is
// never loaded. A plain directory (no `..data`) is read as it is.
// Kept current by the reload loop every polled source shares (keep-current.ts).
// Key files are data keys of the same directory (`file: release.pub`), exactly as with ConfigMaps from
// the API; nothing else on disk is read.

import { createHash } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MAX_POLICY_BYTES } from '../policy/load.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { compileClusterTrust } from './compose.js';
import type { Poller } from '../util/poll.js';
import { keepCurrent, type Look, type ReloadEvents } from './keep-current.js';
import { describeFsError, readFileBounded } from '../util/bounded-file.js';

/** A ConfigMap holds at most 1 MiB; a directory with far more than that is not a ConfigMap volume. */
const MAX_FILES = 256;
const MAX_TOTAL_BYTES = 4 * 1024 * 1024;
/** Reads restarted because the kubelet swapped versions underneath us, before giving up until the next poll. */
const MAX_READ_ATTEMPTS = 3;

export interface TrustDirectorySnapshot {
  /** File name → text: every regular file of the current version, except kubelet bookkeeping (`..*`). */
  readonly files: ReadonlyMap<string, string>;
  /** The `..data` target for a kubelet volume, else a hash of the contents; equal revisions hold equal files. */
  readonly revision: string;
}

async function dataTarget(dir: string): Promise<Result<string | undefined, string>> {
  try {
    return ok(await readlink(join(dir, '..data')));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // No ..data (or not a link): a plain directory, read as it is.
    if (code === 'ENOENT' || code === 'EINVAL') return ok(undefined);
    return err(`cannot read ${join(dir, '..data')}: ${describeFsError(error).message}`);
  }
}

type ReadAttempt = { readonly kind: 'done'; readonly snapshot: TrustDirectorySnapshot } | { readonly kind: 'retry' } | { readonly kind: 'failed'; readonly message: string };

async function readOnce(dir: string): Promise<ReadAttempt> {
  const target = await dataTarget(dir);
  if (!target.ok) return { kind: 'failed', message: target.error };
  const root = target.value === undefined ? dir : resolve(dir, target.value);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    // The version we were pointed at was removed after a swap: read the new one.
    if (target.value !== undefined && (error as { code?: unknown }).code === 'ENOENT') return { kind: 'retry' };
    return { kind: 'failed', message: `cannot read trust directory ${dir}: ${describeFsError(error).message}` };
  }
  const names = entries
    .filter((entry) => !entry.name.startsWith('..') && (entry.isFile() || (target.value === undefined && entry.isSymbolicLink())))
    .map((entry) => entry.name)
    .sort();
  if (names.length > MAX_FILES) return { kind: 'failed', message: `trust directory ${dir} holds ${names.length} files; at most ${MAX_FILES} are read` };
  const files = new Map<string, string>();
  let total = 0;
  for (const name of names) {
    const read = await readFileBounded(join(root, name), MAX_POLICY_BYTES);
    if (!read.ok) {
      if (target.value !== undefined && read.error.code === 'ENOENT') return { kind: 'retry' };
      if (read.error.code === 'ENOTFILE') continue; // a symlink to a directory, say: not a file of the ConfigMap
      return { kind: 'failed', message: `cannot read ${join(dir, name)}: ${read.error.message}` };
    }
    total += read.value.length;
    if (total > MAX_TOTAL_BYTES) return { kind: 'failed', message: `trust directory ${dir} holds more than ${MAX_TOTAL_BYTES} bytes` };
    files.set(name, read.value.toString('utf8'));
  }
  if (target.value !== undefined) {
    const after = await dataTarget(dir);
    if (!after.ok || after.value !== target.value) return { kind: 'retry' };
    return { kind: 'done', snapshot: { files, revision: `..data -> ${target.value}` } };
  }
  const hash = createHash('sha256');
  for (const [name, text] of files) hash.update(`${name.length}:${name}${Buffer.byteLength(text)}:`).update(text);
  return { kind: 'done', snapshot: { files, revision: `sha256:${hash.digest('hex')}` } };
}

/** Reads one complete version of the directory. */
export async function readTrustDirectory(dir: string): Promise<Result<TrustDirectorySnapshot, string>> {
  for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt += 1) {
    const outcome = await readOnce(dir);
    if (outcome.kind === 'done') return ok(outcome.snapshot);
    if (outcome.kind === 'failed') return err(outcome.message);
  }
  return err(`trust directory ${dir} changed ${MAX_READ_ATTEMPTS} times while being read; trying again later`);
}

/** Loads the cluster policy from `dir` now, then polls every `intervalMs`. */
export function watchTrustDirectory(dir: string, intervalMs: number, events: ReloadEvents): Promise<Poller> {
  const origin = { kind: 'directory', path: dir } as const;
  let lastRevision: string | undefined;
  const look = async (): Promise<Look> => {
    // For a kubelet volume one readlink tells whether anything changed; skip the reads when nothing did.
    const target = await dataTarget(dir);
    if (target.ok && target.value !== undefined && `..data -> ${target.value}` === lastRevision) return { kind: 'unchanged' };
    const read = await readTrustDirectory(dir);
    if (!read.ok) return { kind: 'invalid', message: read.error };
    if (read.value.revision === lastRevision) return { kind: 'unchanged' };
    lastRevision = read.value.revision;
    const compiled = compileClusterTrust([{ origin, files: read.value.files }]);
    return compiled.ok ? { kind: 'loaded', policy: compiled.value } : { kind: 'invalid', message: compiled.error.message };
  };
  return keepCurrent(intervalMs, events, look, (error) => `cannot load trust directory ${dir}: ${describeFsError(error).message}`);
}
