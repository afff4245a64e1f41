// Public surface of the policy module: load and compile a policy, then match images against it.

export { compileImagePattern } from './glob.js';
export type { ImagePattern } from './glob.js';
export { loadPolicyFile, loadPolicyText, readKeyFileFromDisk, MAX_KEY_FILE_BYTES, MAX_POLICY_BYTES } from './load.js';
export type { LoadTextOptions } from './load.js';
export type { KeyFileReader } from './compile.js';
export { matchRule } from './match.js';
export { policyJsonSchema } from './schema.js';
export type {
  CompiledCosignVerifier,
  CompiledPolicy,
  CompiledRule,
  CompiledVerifier,
  IdentityCheck,
  Mode,
  PolicyDocument,
  PolicyLoadError,
  PolicyProblem,
  RequireMode,
  RuleAction,
  UnmatchedAction,
} from './types.js';
