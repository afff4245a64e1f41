// Keeps the policy from a file current: loads it at start and re-loads it when its content
// changes. An invalid change is rejected as a whole; the last good policy stays in force.
import { readFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { DirectoryLister, KeyFileReader } from '../policy/compile.js';
import { failure, loadPolicyText, MAX_KEY_FILE_BYTES, MAX_POLICY_BYTES } from '../policy/load.js';
import type { CompiledPolicy, PolicyLoadError } from '../policy/types.js';
import { readFileBounded, readFileBoundedSync } from '../util/bounded-file.js';
import type { Poller } from '../util/poll.js';
import { keepCurrent, type Look, type ReloadEvents } from './keep-current.js';
import { quote } from '../util/quote.js';
import { err, ok, type Result } from '../util/result.js';

/** Key files named by a policy file, read from disk (bounded) relative to the policy file. */
export const readKeyFileFromDisk: KeyFileReader = (resolvedPath) => {
  const read = readFileBoundedSync(resolvedPath, MAX_KEY_FILE_BYTES);
  if (!read.ok) return err(`cannot read key file ${quote(resolvedPath)}: ${read.error.message}`);
  return ok(read.value.toString('utf8'));
};

/** A folder holds a few certificates; a listing longer than this is not trust material. */
const MAX_LISTED_FILES = 256;

/** Files (not folders) in a folder next to the policy, sorted, bounded: for Notation's trust store folders. */
export const listDirectoryFromDisk: DirectoryLister = (resolvedPath) => {
  try {
    const names = readdirSync(resolvedPath, { withFileTypes: true })
      .filter((entry) => entry.isFile() || entry.isSymbolicLink())
      .map((entry) => entry.name)
      .sort();
    if (names.length > MAX_LISTED_FILES) return err(`folder ${quote(resolvedPath)} holds ${names.length} files; at most ${MAX_LISTED_FILES} are read`);
    return ok(names);
  } catch (error) {
    return err(`cannot list folder ${quote(resolvedPath)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
};

/** Reads a policy file (bounded) and loads it; key files are resolved relative to the policy file. */
export async function loadPolicyFile(path: string): Promise<Result<CompiledPolicy, PolicyLoadError>> {
  const read = await readFileBounded(path, MAX_POLICY_BYTES);
  if (!read.ok) {
    return err(failure(path, [{ path: '', message: `cannot read policy file ${quote(path)}: ${read.error.message}` }]));
  }
  return loadPolicyText(read.value.toString('utf8'), { baseDir: dirname(resolve(path)), sourceName: path, readKeyFile: readKeyFileFromDisk, listDirectory: listDirectoryFromDisk });
}

/** Loads the policy file now, then polls every `intervalMs` (key files it names are re-read too). */
export function watchPolicyFile(path: string, intervalMs: number, events: ReloadEvents): Promise<Poller> {
  const look = async (): Promise<Look> => {
    const text = await readFile(path, 'utf8').catch((e: unknown) => `\0unreadable: ${(e as Error).message}`);
    const result = await loadPolicyFile(path);
    // A problem is reported again only when the file's text changes; the compiled version covers key files.
    if (!result.ok) return { kind: 'invalid', message: result.error.message, key: createHash('sha256').update(text).digest('hex') };
    return { kind: 'loaded', policy: result.value };
  };
  return keepCurrent(intervalMs, events, look, (error) => `cannot load policy file ${quote(path)}: ${String(error)}`);
}
