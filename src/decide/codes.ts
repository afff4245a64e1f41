// The catalogue of deny codes: the single source for the `DenyCode` type, docs/denials.md and the
// table test that pins every code's reason and fix (test/verdict/deny-catalogue.test.ts). Adding a
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
  'NOT_FOUND',
  'REGISTRY_UNREACHABLE',
  'REGISTRY_UNAUTHORIZED',
  'REGISTRY_ERROR',
  'TIMEOUT',
] as const;

/** Stable, documented denial codes of an image (docs/denials.md). */
export type DenyCode = (typeof DENY_CODES)[number];

/**
 * Codes of a denial of a whole object before any image is checked (AdmissionDecision.reason, in the
 * decision log and metrics). The developer reads the object's message (no per-image line, no fix).
 */
export const OBJECT_DENY_CODES = ['MALFORMED_OBJECT'] as const;

export type ObjectDenyCode = (typeof OBJECT_DENY_CODES)[number];
