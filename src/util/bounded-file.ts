// Reading a whole regular file of at most a given size, with a sentence for every way it can fail.
// Policies, key files and mounted ConfigMaps are read this way: a file that is huge, not a file, or
// grows while being read is refused, never loaded in part or without bound.
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { err, ok } from './result.js';
import type { Result } from './result.js';

export interface FileReadError {
  /** The system error code (ENOENT, EACCES, …), or ENOTFILE / EFBIG for our own refusals. */
  readonly code: string | undefined;
  /** What is wrong, for a person: "no such file or directory", "it is 2000000 bytes; at most 1048576 are allowed". */
  readonly message: string;
}

export function describeFsError(error: unknown): FileReadError {
  const raw = (error as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : undefined;
  switch (code) {
    case 'ENOENT':
      return { code, message: 'no such file or directory' };
    case 'EACCES':
    case 'EPERM':
      return { code, message: 'permission denied' };
    case 'EISDIR':
      return { code, message: 'it is a directory, not a file' };
    case 'ENOTDIR':
      return { code, message: 'not a directory' };
    default:
      return { code, message: error instanceof Error ? error.message : String(error) };
  }
}

function refuse(stat: Stats, limit: number): FileReadError | undefined {
  if (!stat.isFile()) return { code: 'ENOTFILE', message: stat.isDirectory() ? 'it is a directory, not a file' : 'it is not a regular file' };
  if (stat.size > limit) return { code: 'EFBIG', message: `it is ${stat.size} bytes; at most ${limit} are allowed` };
  return undefined;
}

const grew = (limit: number): FileReadError => ({ code: 'EFBIG', message: `it is larger than ${limit} bytes` });

/** Reads one byte past the limit, so a file that grows after the size check is still caught. */
export function readFileBoundedSync(path: string, limit: number): Result<Buffer, FileReadError> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return err(describeFsError(error));
  }
  try {
    const refused = refuse(fstatSync(fd), limit);
    if (refused) return err(refused);
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const count = readSync(fd, buffer, length, buffer.length - length, null);
      if (count === 0) break;
      length += count;
      if (length > limit) return err(grew(limit));
    }
    return ok(buffer.subarray(0, length));
  } catch (error) {
    return err(describeFsError(error));
  } finally {
    closeSync(fd);
  }
}

export async function readFileBounded(path: string, limit: number): Promise<Result<Buffer, FileReadError>> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return err(describeFsError(error));
  }
  try {
    const refused = refuse(await handle.stat(), limit);
    if (refused) return err(refused);
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) return err(grew(limit));
    }
    return ok(buffer.subarray(0, length));
  } catch (error) {
    return err(describeFsError(error));
  } finally {
    await handle.close();
  }
}
