// The contract between the pipeline and each signature system: given where the image lives and
// what the rule trusts, gather the signatures (I/O via the registry or trust server) and report
// on each. Each system's module beside this one implements it; decide/decide.ts turns the result into a decision.
import type { Digest, ImageReference, RepositoryRef } from '../../reference/types.js';
import type { RegistryClient } from '../../registry/client.js';
import type { RegistryError } from '../../registry/types.js';
import type { SignatureCheck } from '../../signatures/types.js';
import type { CosignDiscovery } from '../../discovery/cosign.js';
import type { Result } from '../../util/result.js';

export interface CheckTarget {
  readonly ref: ImageReference;
  readonly repo: RepositoryRef;
  /** The digest being admitted (pinned by the pod, or resolved from the tag through the registry). */
  readonly digest: Digest;
  /** What the registry says this digest is (media type and size), needed by systems that sign descriptors. */
  readonly descriptor?: { readonly mediaType: string; readonly size: number };
  readonly registry: RegistryClient;
  readonly signal?: AbortSignal;
  readonly now: Date;
  /** The digest's `.sig` signatures, fetched at most once per verification (and cached by the pipeline). */
  readonly cosignSignatures?: () => Promise<Result<CosignDiscovery, RegistryError>>;
}

export interface SystemReport {
  readonly checks: readonly SignatureCheck[];
  /** Where signatures were looked for, for an UNSIGNED message, e.g. "referrers of sha256:… in r/app". */
  readonly lookedAt: string;
}

/** A failure to look (network, auth, timeout) is an error, never "unsigned". */
export type SystemCheckError = RegistryError;
