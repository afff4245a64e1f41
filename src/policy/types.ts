// Types of the image policy: the document operators write (as validated by schema.ts) and the
// compiled, frozen form the request path reads. Nothing on the request path ever sees the raw document.

import type { TrustedKey } from '../keys/types.js';
import type { CompiledVerifier, VerifierDocument } from '../signatures/systems.js';
import type { NamespaceScope } from './scope.js';

/** What a failed check does: deny the pod, admit it with a warning, or admit it and only record the result. */
export type Mode = 'enforce' | 'warn' | 'audit';

export type RuleAction = 'verify' | 'allow' | 'deny';

export type UnmatchedAction = 'deny' | 'allow';

/** How the entries of a rule's `verify` list combine. */
export type RequireMode = 'all' | 'any';

/** What an infrastructure failure (registry unreachable, timeout) does: `closed` denies, `open` admits with a warning. */
export type FailurePolicy = 'closed' | 'open';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

// ---------------------------------------------------------------------------------------------
// The document as written (after schema validation). Optional fields are still optional here;
// compile.ts applies the defaults in one place.

export interface PolicyKeyDocument {
  readonly publicKey?: string;
  readonly file?: string;
}

export type { CosignVerifierDocument, IdentityCheck } from '../signatures/cosign/policy.js';
export type { CompiledNotationVerifier, NotationVerifierDocument } from '../signatures/notation/policy.js';
export type { CompiledDctVerifier, DctVerifierDocument } from '../signatures/dct/policy.js';
export type { CompiledSigstoreVerifier, SigstoreVerifierDocument } from '../signatures/sigstore/policy.js';
export type { VerifierDocument, CompiledVerifier };

export interface LabelRequirementDocument {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[];
}

export interface LabelSelectorDocument {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelRequirementDocument[];
}

export interface NamespacesDocument {
  readonly names?: readonly string[];
  readonly selector?: LabelSelectorDocument;
}

export interface RuleDocument {
  readonly name: string;
  readonly images: readonly string[];
  readonly exclude?: readonly string[];
  readonly namespaces?: NamespacesDocument;
  readonly action?: RuleAction;
  readonly mode?: Mode;
  readonly require?: RequireMode;
  readonly pinDigest?: boolean;
  readonly verify?: readonly VerifierDocument[];
}

export interface PolicyDocument {
  readonly apiVersion: 'signet.dev/v1alpha1';
  readonly kind: 'ImagePolicy';
  readonly metadata?: { readonly name?: string };
  readonly keys?: Readonly<Record<string, PolicyKeyDocument>>;
  readonly exemptions?: { readonly namespaces?: readonly string[] };
  readonly breakGlass?: { readonly annotation: string };
  readonly defaults?: {
    readonly mode?: Mode;
    readonly unmatched?: UnmatchedAction;
    readonly failurePolicy?: FailurePolicy;
    readonly pinDigests?: boolean;
  };
  readonly rules: readonly RuleDocument[];
}

// ---------------------------------------------------------------------------------------------
// The compiled policy.

export type { CompiledCosignVerifier } from '../signatures/cosign/policy.js';

/** One matchExpressions entry; only In and NotIn carry values (never empty). */
export type LabelRequirement =
  | { readonly key: string; readonly operator: 'In' | 'NotIn'; readonly values: readonly string[] }
  | { readonly key: string; readonly operator: 'Exists' | 'DoesNotExist' };

/** A Kubernetes LabelSelector with at least one requirement (an empty selector is refused when loading). */
export interface CompiledLabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelRequirement[];
}

/** A rule's `namespaces`; at least one of the two is set, and both must hold when both are. */
export interface CompiledNamespaceRestriction {
  /** Namespace names and patterns as written (`*` within the name); undefined when the rule gives none. */
  readonly names: readonly string[] | undefined;
  readonly selector: CompiledLabelSelector | undefined;
}

export interface CompiledRule {
  readonly name: string;
  /** Position in the policy's `rules` list (0-based); earlier rules win. */
  readonly index: number;
  readonly action: RuleAction;
  readonly mode: Mode;
  readonly require: RequireMode;
  /** Empty unless action is `verify`; never empty when it is. */
  readonly verifiers: readonly CompiledVerifier[];
  /** The `images` patterns after normalisation (`nginx` → `docker.io/library/nginx`). */
  readonly patterns: readonly string[];
  /** The `exclude` patterns after normalisation. */
  readonly excludes: readonly string[];
  /** Where the rule applies; undefined means every namespace, and objects whose namespace is unknown. */
  readonly namespaces: CompiledNamespaceRestriction | undefined;
  /** Overrides `defaults.pinDigests` for images this rule verified; undefined when the rule does not say. */
  readonly pinDigest: boolean | undefined;
  /** True when the normalised `registry/repository` matches a pattern and no exclude pattern. */
  matches(normalisedName: string): boolean;
  /**
   * True when the rule covers objects in this scope. A rule without `namespaces` covers every scope.
   * When the answer depends on what the scope does not know (namespace or labels), the rule applies
   * only if it can deny (action deny, or action verify in mode enforce): a guess never exempts.
   */
  appliesTo(scope: NamespaceScope): boolean;
}

export interface CompiledPolicy {
  /** `sha256:<hex>` over the policy text and every key's identity; changes whenever trust changes. For cache keys. */
  readonly version: string;
  /** `metadata.name`, or the source name when the policy has none. */
  readonly name: string;
  /** Where the policy came from (file path or ConfigMap name), for logs. */
  readonly source: string;
  readonly keys: ReadonlyMap<string, TrustedKey>;
  readonly rules: readonly CompiledRule[];
  readonly defaults: {
    readonly mode: Mode;
    readonly unmatched: UnmatchedAction;
    /** Only infrastructure failures follow it; a bad or missing signature is never let through by `open`. */
    readonly failurePolicy: FailurePolicy;
    /** Whether the mutating endpoint rewrites verified Pod images to `name:tag@digest` (rules may override). */
    readonly pinDigests: boolean;
  };
  /** Namespace names and patterns whose objects are not checked at all (default `kube-system`). */
  readonly exemptNamespaces: readonly string[];
  /** True when objects in `namespace` are exempt from every check. */
  isNamespaceExempt(namespace: string): boolean;
  /** The pod annotation whose presence admits a pod on the ImagePolicyWebhook endpoint; undefined when not configured. */
  readonly breakGlass: { readonly annotation: string } | undefined;
}

// ---------------------------------------------------------------------------------------------
// Errors.

export interface PolicyProblem {
  /** Field path in the document, e.g. `rules[1].verify[0].threshold`; empty for the document itself. */
  readonly path: string;
  /** 1-based line of the offending YAML node, when the problem can be placed in the text. */
  readonly line?: number;
  /** 1-based column, with `line`. */
  readonly column?: number;
  readonly message: string;
}

export interface PolicyLoadError {
  readonly code: 'POLICY_INVALID';
  /** Every problem, one per line, each prefixed with `source:line:column` and the field path. */
  readonly message: string;
  readonly problems: readonly PolicyProblem[];
}
