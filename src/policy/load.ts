// Entry points for loading a policy: from a file (key files relative to it) or from text (a ConfigMap,
// a test). Runs the stages in order (YAML, schema, semantic checks and compilation) and turns every
// problem into `source:line:column: path: message`. Never throws for bad input; reads are bounded.

import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import type { DirectoryLister, KeyFileReader } from './compile.js';
import { compilePolicy } from './compile.js';
import type { RawProblem } from './problem.js';
import { formatPath } from './problem.js';
import { quote } from '../util/quote.js';
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
  /**
   * Reads key files the policy names (`file: release.pub`): a bounded disk read for a policy file
   * (trust/policy-file.ts), the ConfigMap's data keys for trust from Kubernetes. Without one, a policy
   * that names a key file is refused: policy code does no I/O of its own.
   */
  readonly readKeyFile?: KeyFileReader;
  /** Lists folders next to the policy (policy files only), for Notation's trust store folders. */
  readonly listDirectory?: DirectoryLister;
}

const noKeyFiles: KeyFileReader = (resolvedPath) => err(`cannot read key file ${quote(resolvedPath)}: this policy source has no files; put the key inline (pem:)`);

function byPosition(a: PolicyProblem, b: PolicyProblem): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || (a.column ?? 0) - (b.column ?? 0);
}

/** The error for a policy that cannot be loaded: every problem, sorted by position, one per line. */
export function failure(sourceName: string, problems: PolicyProblem[]): PolicyLoadError {
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
    readKeyFile: opts.readKeyFile ?? noKeyFiles,
    ...(opts.listDirectory !== undefined ? { listDirectory: opts.listDirectory } : {}),
  });
  if (outcome.ok) return ok(outcome.policy);

  const place = (problem: RawProblem): PolicyProblem => {
    const position = parsed.locate(problem.locate ?? problem.path, problem.locate === undefined ? problem.at : 'value');
    return { path: formatPath(problem.path), line: position.line, column: position.column, message: problem.message };
  };
  return err(failure(opts.sourceName, [...shapeProblems, ...outcome.problems].map(place)));
}
