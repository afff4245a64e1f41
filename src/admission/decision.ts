// What a review decided about an admitted object, in the form every consumer reads it: the response
// for the API server, the decision log line, the metrics, and the digest-pinning patch.
import type { ContainerImage } from './extract.js';
import type { ContainerVerdict } from './message.js';
import type { AdmissionResponseBody } from './types.js';

/** What the review decided and why, for the response, the decision log line and the metrics. */
export interface AdmissionDecision {
  readonly response: AdmissionResponseBody;
  readonly outcome: 'allowed' | 'denied' | 'skipped' | 'exempt';
  /** Short machine reason: the first deny code, or why nothing was checked. */
  readonly reason: string;
  readonly object: string;
  readonly verdicts: readonly ContainerVerdict[];
  /** Verdicts that failed but were let through by warn/audit mode or fail-open. */
  readonly tolerated: readonly ContainerVerdict[];
  /** Verified digests per image pointer, for the digest-pinning mutation. */
  readonly pins: readonly { readonly container: ContainerImage; readonly digest: string }[];
}
