// The outcome for one image under the policy: allowed (with what satisfied it) or denied with a
// stable reason code a developer, the logs and the metrics all share.
import type { Digest } from '../reference/types.js';
import type { SignatureCheck, SignatureSystem } from '../signatures/types.js';
import type { DenyCode } from './codes.js';

// The codes are a runtime catalogue (codes.ts); the type is derived from it.
export { DENY_CODES, OBJECT_DENY_CODES, type DenyCode, type ObjectDenyCode } from './codes.js';

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
