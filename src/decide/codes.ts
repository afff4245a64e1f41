// The catalogue of deny codes: the single source for the `DenyCode` type, docs/denials.md and the
// table test that pins every code's reason and fix (test/decide/deny-catalogue.test.ts). Adding a
// code here without documenting and testing it fails the build.

/**
 * Codes of a denied image (ImageVerdict.code): shown in each denial line as `CODE: reason … Fix: …`,
 * in `signet verify` output, the decision log and `signet_image_verdicts_total{code=…}`.
 */
export const DENY_CODES = [
  'INVALID_REFERENCE',
  'NO_MATCHING_RULE',
  'DENIED_BY_RULE',
  'UNSIGNED',
  'UNTRUSTED_SIGNER',
  'DIGEST_MISMATCH',
  'BAD_SIGNATURE',
  'MISSING_ANNOTATION',
  'IDENTITY_MISMATCH',
  'THRESHOLD_NOT_MET',
  'TIMESTAMP_INVALID',
  'REVOKED',
  'REVOCATION_UNKNOWN',
  'NOT_FOUND',
  'REGISTRY_UNREACHABLE',
  'REGISTRY_UNAUTHORIZED',
  'REGISTRY_ERROR',
  'TIMEOUT',
] as const;

/** Stable, documented denial codes of an image (docs/denials.md). */
export type DenyCode = (typeof DENY_CODES)[number];

/**
 * The one classification of deny codes:
 * - `image`: the image's own merits (its reference, the policy, its signatures). Such a denial is
 *   cached (briefly) and is never let through by fail-open.
 * - `access`: the webhook may not read the registry. A configuration problem, not an outage: never
 *   cached, and never let through by fail-open (that would admit any private image).
 * - `outage`: the registry failed or time ran out. Never cached; with `failurePolicy: open`, a cluster
 *   rule's outage is let through with a warning (a tenant's never is).
 */
export type DenyClass = 'image' | 'access' | 'outage';

export const DENY_CLASS: Readonly<Record<DenyCode, DenyClass>> = Object.freeze({
  INVALID_REFERENCE: 'image',
  NO_MATCHING_RULE: 'image',
  DENIED_BY_RULE: 'image',
  UNSIGNED: 'image',
  UNTRUSTED_SIGNER: 'image',
  DIGEST_MISMATCH: 'image',
  BAD_SIGNATURE: 'image',
  MISSING_ANNOTATION: 'image',
  IDENTITY_MISMATCH: 'image',
  THRESHOLD_NOT_MET: 'image',
  TIMESTAMP_INVALID: 'image',
  REVOKED: 'image',
  // Not an outage: fail-open would then admit a chain that may well be revoked (blocking the responder
  // is how OCSP soft-fail is defeated). Like `access`, it is never cached (the responder may answer
  // on the next try) and never let through; air-gapped clusters turn revocation off per rule instead.
  REVOCATION_UNKNOWN: 'access',
  NOT_FOUND: 'image',
  REGISTRY_UNREACHABLE: 'outage',
  REGISTRY_UNAUTHORIZED: 'access',
  REGISTRY_ERROR: 'outage',
  TIMEOUT: 'outage',
});

/** A denial on the image's own merits: the same look would find the same thing, so it may be cached. */
export function isOnTheMerits(code: DenyCode): boolean {
  return DENY_CLASS[code] === 'image';
}

/** Failures of the world, not of the image: only these may be let through by fail-open. */
export function isOutage(code: DenyCode): boolean {
  return DENY_CLASS[code] === 'outage';
}

/**
 * Codes of a denial of a whole object before any image is checked (AdmissionDecision.reason, in the
 * decision log and metrics). The developer reads the object's message, which ends in the code's fix
 * (objectFixFor in explain.ts), with no per-image line.
 * - MALFORMED_OBJECT: the object's container images cannot be read, or it names too many.
 * - KIND_MISMATCH: the review does not describe one object: request.kind, request.resource and the
 *   object's own kind and apiVersion disagree (the API server never sends that).
 */
export const OBJECT_DENY_CODES = ['MALFORMED_OBJECT', 'KIND_MISMATCH'] as const;

export type ObjectDenyCode = (typeof OBJECT_DENY_CODES)[number];
