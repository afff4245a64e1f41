// Public surface of the policy module: load and compile a policy, then match images (and the namespace
// scope they run in) against it.

export { compileImagePattern } from './glob.js';
export type { ImagePattern } from './glob.js';
export { loadPolicyText, MAX_KEY_FILE_BYTES, MAX_POLICY_BYTES } from './load.js';
export type { LoadTextOptions } from './load.js';
export type { KeyFileReader } from './compile.js';
export { matchRule } from './match.js';
export { UNKNOWN_SCOPE } from './scope.js';
export type { NamespaceScope } from './scope.js';
export { policyJsonSchema } from './schema.js';
export { loadTenantPolicyText } from './tenants.js';
export type { CompiledTenantPolicy, TenantLoadOptions, TenantUnmatched } from './tenants.js';
export type {
  CompiledCosignVerifier,
  CompiledLabelSelector,
  CompiledNamespaceRestriction,
  CompiledPolicy,
  CompiledRule,
  CompiledVerifier,
  FailurePolicy,
  IdentityCheck,
  LabelRequirement,
  Mode,
  PolicyDocument,
  PolicyLoadError,
  PolicyProblem,
  RequireMode,
  RuleAction,
  SelectorOperator,
  UnmatchedAction,
} from './types.js';
