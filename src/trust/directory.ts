// Cluster trust from a mounted ConfigMap directory (policy.yaml plus key files), kept current the way
// the kubelet updates such volumes. The kubelet writes every version into a fresh `..<timestamp>`
// directory and then renames a `..data` symlink onto it, so one readlink names a complete, immutable
// version. We read every file from that target directory, never through the per-key symlinks, and check
// that `..data` still points there afterwards; a version being written, or one swapped out mid-read, is
// never loaded. A plain directory (no `..data`) is read as it is.
// Same contract as src/server/policy-file.ts: load at start, then poll; onLoad when the compiled policy
// changes, onInvalid once per distinct bad input; the last good policy stays in force.
// Key files are data keys of the same directory (`file: release.pub`), exactly as with ConfigMaps from
// the API; nothing else on disk is read.

import { createHash } from 'node:crypto';
import { open, readdir, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MAX_POLICY_BYTES } from '../policy/load.js';
import type { CompiledPolicy } from '../policy/types.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { compileClusterTrust } from './compose.js';
import { pollEvery } from '../util/poll.js';

/** A ConfigMap holds at most 1 MiB; a directory with far more than that is not a ConfigMap volume. */
const MAX_FILES = 256;
const MAX_TOTAL_BYTES = 4 * 1024 * 1024;
/** Reads restarted because the kubelet swapped versions underneath us, before giving up until the next poll. */
const MAX_READ_ATTEMPTS = 3;

export interface TrustDirectoryEvents {
  onLoad(policy: CompiledPolicy): void;
  onInvalid(message: string): void;
}

export interface TrustDirectoryWatcher {
  stop(): void;
}

export interface TrustDirectorySnapshot {
  /** File name → text: every regular file of the current version, except kubelet bookkeeping (`..*`). */
  readonly files: ReadonlyMap<string, string>;
  /** The `..data` target for a kubelet volume, else a hash of the contents; equal revisions hold equal files. */
  readonly revision: string;
}

function fsMessage(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  return error instanceof Error ? error.message : String(error);
}

async function readBounded(path: string, limit: number): Promise<Result<string, { code: unknown; message: string }>> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return err({ code: (error as { code?: unknown }).code, message: fsMessage(error) });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return err({ code: 'ENOTFILE', message: 'not a regular file' });
    if (stat.size > limit) return err({ code: 'EFBIG', message: `it is ${stat.size} bytes; at most ${limit} are allowed` });
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) return err({ code: 'EFBIG', message: `it is larger than ${limit} bytes` });
    }
    return ok(buffer.subarray(0, length).toString('utf8'));
  } catch (error) {
    return err({ code: (error as { code?: unknown }).code, message: fsMessage(error) });
  } finally {
    await handle.close();
  }
}

async function dataTarget(dir: string): Promise<Result<string | undefined, string>> {
  try {
    return ok(await readlink(join(dir, '..data')));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // No ..data (or not a link): a plain directory, read as it is.
    if (code === 'ENOENT' || code === 'EINVAL') return ok(undefined);
    return err(`cannot read ${join(dir, '..data')}: ${fsMessage(error)}`);
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
    return { kind: 'failed', message: `cannot read trust directory ${dir}: ${fsMessage(error)}` };
  }
  const names = entries
    .filter((entry) => !entry.name.startsWith('..') && (entry.isFile() || (target.value === undefined && entry.isSymbolicLink())))
    .map((entry) => entry.name)
    .sort();
  if (names.length > MAX_FILES) return { kind: 'failed', message: `trust directory ${dir} holds ${names.length} files; at most ${MAX_FILES} are read` };
  const files = new Map<string, string>();
  let total = 0;
  for (const name of names) {
    const read = await readBounded(join(root, name), MAX_POLICY_BYTES);
    if (!read.ok) {
      if (target.value !== undefined && read.error.code === 'ENOENT') return { kind: 'retry' };
      if (read.error.code === 'ENOTFILE') continue; // a symlink to a directory, say: not a file of the ConfigMap
      return { kind: 'failed', message: `cannot read ${join(dir, name)}: ${read.error.message}` };
    }
    total += Buffer.byteLength(read.value, 'utf8');
    if (total > MAX_TOTAL_BYTES) return { kind: 'failed', message: `trust directory ${dir} holds more than ${MAX_TOTAL_BYTES} bytes` };
    files.set(name, read.value);
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
export async function watchTrustDirectory(dir: string, intervalMs: number, events: TrustDirectoryEvents): Promise<TrustDirectoryWatcher> {
  const origin = { kind: 'directory', path: dir } as const;
  let lastRevision: string | undefined;
  let lastProblem: string | undefined;
  let lastVersion: string | undefined;

  const invalid = (message: string): void => {
    if (message === lastProblem) return;
    lastProblem = message;
    events.onInvalid(message);
  };

  const load = (): Promise<void> =>
    loadOnce().catch((error: unknown) => invalid(`cannot load trust directory ${dir}: ${fsMessage(error)}`));
  const loadOnce = async (): Promise<void> => {
    // For a kubelet volume one readlink tells whether anything changed; skip the reads when nothing did.
    const target = await dataTarget(dir);
    if (target.ok && target.value !== undefined && `..data -> ${target.value}` === lastRevision) return;
    const read = await readTrustDirectory(dir);
    if (!read.ok) {
      invalid(read.error);
      return;
    }
    if (read.value.revision === lastRevision) return;
    lastRevision = read.value.revision;
    const compiled = compileClusterTrust([{ origin, files: read.value.files }]);
    if (!compiled.ok) {
      invalid(compiled.error.message);
      return;
    }
    lastProblem = undefined;
    if (compiled.value.version === lastVersion) return;
    lastVersion = compiled.value.version;
    events.onLoad(compiled.value);
  };

  await load();
  return pollEvery(intervalMs, load);
}
