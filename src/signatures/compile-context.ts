// What a verifier's policy fragment may use while compiling: files next to the policy (or keys of
// the same ConfigMap) and the policy's named public keys. Compiling happens once per policy change.
import type { Result } from '../util/result.js';
import type { TrustedKey } from '../keys/types.js';

export interface VerifierCompileContext {
  /** Reads a file named relative to the policy source (size-capped); the error is a sentence. */
  readFile(relativePath: string): Result<string, string>;
  /** The policy's named public keys (the top-level `keys:` map). */
  readonly keys: ReadonlyMap<string, TrustedKey>;
  /**
   * Names of the files (not folders) in a folder named relative to the policy source, sorted; absent
   * where the source has no folders (a ConfigMap). For trust material laid out by another tool
   * (Notation's trust store folders); the files are then read with readFile.
   */
  listFiles?(relativePath: string): Result<readonly string[], string>;
}

export interface VerifierProblem {
  /** Path relative to the verify entry, e.g. "trustStore[0].file". */
  readonly path: string;
  readonly message: string;
}

/** Trust material a policy gives either as a file next to it or inline: exactly one of the two. */
export interface PemSourceDocument {
  readonly file?: string;
  readonly pem?: string;
}

/**
 * The JSON Schema of a PemSourceDocument; `what` says what the PEM holds. `inline` names the inline
 * field: `pem` everywhere except the top-level keys map, which has always called it `publicKey`.
 */
export function pemSourceSchema(what: string, inline: 'pem' | 'publicKey' = 'pem') {
  return {
    type: 'object',
    description: `${what}: a PEM file next to the policy (file) or the PEM text itself (${inline}).`,
    additionalProperties: false,
    properties: {
      file: { type: 'string', minLength: 1, description: 'Path of a PEM file, relative to the policy file.' },
      [inline]: { type: 'string', minLength: 1, description: 'The PEM text itself.' },
    },
    oneOf: [{ required: ['file'] }, { required: [inline] }],
    'x-problem': `give exactly one of file (path to a PEM file) or ${inline} (inline PEM text)`,
  } as const;
}

/** The PEM text, and the field a problem with its content should name (`<path>.file` or `<path>.pem`). */
export interface PemText {
  readonly text: string;
  readonly field: string;
}

/** Reads a PemSourceDocument at `path` (e.g. "rootKeys[0]"). */
export function readPemSource(source: PemSourceDocument, path: string, ctx: VerifierCompileContext): Result<PemText, VerifierProblem> {
  if ((source.file === undefined) === (source.pem === undefined)) return { ok: false, error: { path, message: 'give exactly one of file or pem' } };
  if (source.pem !== undefined) return { ok: true, value: { text: source.pem, field: `${path}.pem` } };
  const read = ctx.readFile(source.file!);
  if (!read.ok) return { ok: false, error: { path: `${path}.file`, message: read.error } };
  return { ok: true, value: { text: read.value, field: `${path}.file` } };
}
