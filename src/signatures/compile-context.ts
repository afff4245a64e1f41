// What a verifier's policy fragment may use while compiling: files next to the policy (or keys of
// the same ConfigMap) and the policy's named public keys. Compiling happens once per policy change.
import type { Result } from '../util/result.js';
import type { TrustedKey } from '../keys/types.js';

export interface VerifierCompileContext {
  /** Reads a file named relative to the policy source (size-capped); the error is a sentence. */
  readFile(relativePath: string): Result<string, string>;
  /** The policy's named public keys (the top-level `keys:` map). */
  readonly keys: ReadonlyMap<string, TrustedKey>;
}

export interface VerifierProblem {
  /** Path relative to the verify entry, e.g. "trustStore[0].file". */
  readonly path: string;
  readonly message: string;
}
