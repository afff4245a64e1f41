// The outcome for one image under the policy: allowed (with what satisfied it) or denied with a
// stable reason code a developer, the logs and the metrics all share.
import type { Digest } from '../reference/types.js';
import type { SignatureCheck, SignatureSystem } from '../signatures/types.js';

/** Stable, documented denial codes (docs/denials.md). */
export type DenyCode =
  | 'INVALID_REFERENCE'
  | 'NO_MATCHING_RULE'
  | 'DENIED_BY_RULE'
  | 'UNSIGNED'
  | 'UNTRUSTED_SIGNER'
  | 'DIGEST_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'MISSING_ANNOTATION'
  | 'IDENTITY_MISMATCH'
  | 'THRESHOLD_NOT_MET'
  | 'NOT_FOUND'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_UNAUTHORIZED'
  | 'REGISTRY_ERROR'
  | 'TIMEOUT';

/** What satisfied a rule for an allowed image. */
export interface Satisfaction {
  readonly system: SignatureSystem;
  /** Names of the trusted keys (or identities) whose valid signatures counted. */
  readonly signers: readonly string[];
}

export type ImageVerdict =
  | {
      readonly outcome: 'allowed';
      readonly image: string;
      readonly digest: Digest | undefined;
      /** The rule that decided, or undefined when the policy default allowed an unmatched image. */
      readonly rule: string | undefined;
      /** How it was decided: signatures checked, or an exemption that skipped verification. */
      readonly basis: 'verified' | 'exempt' | 'default-allow';
      readonly satisfiedBy: readonly Satisfaction[];
      /** When the signatures that satisfied the rule stop counting (ISO 8601); a cached verdict must not outlive it. */
      readonly validUntil?: string;
    }
  | {
      readonly outcome: 'denied';
      readonly image: string;
      readonly digest: Digest | undefined;
      readonly rule: string | undefined;
      readonly code: DenyCode;
      /** What is wrong, in one or two sentences, naming keys, digests and registries involved. */
      readonly reason: string;
      /** One line on how to fix it. */
      readonly fix: string;
      /** The per-signature findings behind the decision, for -o json and logs. */
      readonly checks: readonly SignatureCheck[];
      /**
       * Set when a tenant's own policy (in this namespace) denied the image. Tenant rules only add
       * requirements, so such a denial is always enforced and never let through by fail-open.
       */
      readonly tenant?: string;
    };
