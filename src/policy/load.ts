// Entry points for loading a policy: from a file (key files relative to it) or from text (a ConfigMap,
// a test). Runs the stages in order (YAML, schema, semantic checks and compilation) and turns every
// problem into `source:line:column: path: message`. Never throws for bad input; reads are bounded.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import type { KeyFileReader } from './compile.js';
import { compilePolicy } from './compile.js';
import type { RawProblem } from './problem.js';
import { formatPath, quote } from './problem.js';
import { checkShape } from './schema.js';
import { parseSource } from './source.js';
import type { CompiledPolicy, PolicyLoadError, PolicyProblem } from './types.js';

/** Far above any real policy; a bigger file is a mistake or an attack, not a policy. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** Far above any PEM public key (parsePublicKey caps PEM text at 64 KiB too). */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface LoadTextOptions {
  /** Directory that relative key file paths are resolved against. */
  readonly baseDir: string;
  /** Names the policy in messages and logs, e.g. the file path or `configmap signet/policy`. */
  readonly sourceName: string;
  /** Replaces the file system for key files (tests, ConfigMap-mounted keys); defaults to a bounded read. */
  readonly readKeyFile?: KeyFileReader;
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Reads a whole regular file of at most `limit` bytes, synchronously (policy loading is not on the request path). */
function readBoundedSync(path: string, limit: number): Result<Buffer, string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return err(describeFsError(error));
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return err(stat.isDirectory() ? 'it is a directory, not a file' : 'it is not a regular file');
    if (stat.size > limit) return err(`it is ${stat.size} bytes; at most ${limit} are allowed`);
    // Read one byte past the limit so a file that grows after fstat is still caught.
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const count = readSync(fd, buffer, length, buffer.length - length, null);
      if (count === 0) break;
      length += count;
      if (length > limit) return err(`it is larger than ${limit} bytes`);
    }
    return ok(buffer.subarray(0, length));
  } catch (error) {
    return err(describeFsError(error));
  } finally {
    closeSync(fd);
  }
}

async function readBounded(path: string, limit: number): Promise<Result<Buffer, string>> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return err(describeFsError(error));
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return err(stat.isDirectory() ? 'it is a directory, not a file' : 'it is not a regular file');
    if (stat.size > limit) return err(`it is ${stat.size} bytes; at most ${limit} are allowed`);
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) return err(`it is larger than ${limit} bytes`);
    }
    return ok(buffer.subarray(0, length));
  } catch (error) {
    return err(describeFsError(error));
  } finally {
    await handle.close();
  }
}

export const readKeyFileFromDisk: KeyFileReader = (resolvedPath) => {
  const read = readBoundedSync(resolvedPath, MAX_KEY_FILE_BYTES);
  if (!read.ok) return err(`cannot read key file ${quote(resolvedPath)}: ${read.error}`);
  return ok(read.value.toString('utf8'));
};

function byPosition(a: PolicyProblem, b: PolicyProblem): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || (a.column ?? 0) - (b.column ?? 0);
}

function failure(sourceName: string, problems: PolicyProblem[]): PolicyLoadError {
  const sorted = [...problems].sort(byPosition);
  const lines = sorted.map((problem) => {
    const where = problem.line === undefined ? sourceName : `${sourceName}:${problem.line}:${problem.column ?? 1}`;
    const field = problem.path === '' ? '' : `${problem.path}: `;
    return `  ${where}: ${field}${problem.message}`;
  });
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return Object.freeze({
    code: 'POLICY_INVALID',
    message: [`policy ${sourceName} is invalid (${count}):`, ...lines].join('\n'),
    problems: Object.freeze(sorted.map((problem) => Object.freeze(problem))),
  });
}

/** Parses, validates and compiles policy text. Relative key file paths are resolved against `opts.baseDir`. */
export function loadPolicyText(text: string, opts: LoadTextOptions): Result<CompiledPolicy, PolicyLoadError> {
  if (text.length > MAX_POLICY_BYTES) {
    return err(failure(opts.sourceName, [{ path: '', message: `the policy is ${text.length} characters; at most ${MAX_POLICY_BYTES} are allowed` }]));
  }
  const parsed = parseSource(text);
  if (!parsed.ok) {
    return err(
      failure(
        opts.sourceName,
        parsed.problems.map((problem) => ({
          path: formatPath(problem.path),
          line: problem.position.line,
          column: problem.position.column,
          message: problem.message,
        })),
      ),
    );
  }
  if (parsed.data === null || parsed.data === undefined) {
    return err(failure(opts.sourceName, [{ path: '', line: 1, column: 1, message: 'the policy is empty' }]));
  }

  const shapeProblems = checkShape(parsed.data);
  const outcome = compilePolicy(parsed.data, shapeProblems.length === 0, {
    baseDir: opts.baseDir,
    sourceName: opts.sourceName,
    text,
    readKeyFile: opts.readKeyFile ?? readKeyFileFromDisk,
  });
  if (outcome.ok) return ok(outcome.policy);

  const place = (problem: RawProblem): PolicyProblem => {
    const position = parsed.locate(problem.locate ?? problem.path, problem.locate === undefined ? problem.at : 'value');
    return { path: formatPath(problem.path), line: position.line, column: position.column, message: problem.message };
  };
  return err(failure(opts.sourceName, [...shapeProblems, ...outcome.problems].map(place)));
}

/** Reads a policy file (bounded) and loads it; key files are resolved relative to the policy file. */
export async function loadPolicyFile(path: string): Promise<Result<CompiledPolicy, PolicyLoadError>> {
  const read = await readBounded(path, MAX_POLICY_BYTES);
  if (!read.ok) {
    return err(failure(path, [{ path: '', message: `cannot read policy file ${quote(path)}: ${read.error}` }]));
  }
  return loadPolicyText(read.value.toString('utf8'), { baseDir: dirname(resolve(path)), sourceName: path });
}
