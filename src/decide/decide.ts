// Turns per-signature findings into a decision for one rule: thresholds, any/all combination,
// and the single most useful reason when the rule is not satisfied. Pure.
import type { InvalidSignatureReason, SignatureCheck, SignatureSystem } from '../signatures/types.js';
import type { DenyCode, Satisfaction } from './types.js';

export interface VerifierOutcome {
  readonly system: SignatureSystem;
  /** Names of the keys the verifier trusts, for messages. */
  readonly trusted: readonly string[];
  readonly threshold: number;
  readonly checks: readonly SignatureCheck[];
  /** Where signatures were looked for, for the UNSIGNED message (e.g. "tag sha256-….sig"). */
  readonly lookedAt: string;
}

export type RuleDecision =
  | { readonly satisfied: true; readonly satisfiedBy: readonly Satisfaction[] }
  | {
      readonly satisfied: false;
      readonly code: DenyCode;
      readonly reason: string;
      readonly checks: readonly SignatureCheck[];
      /** Indexes of the verifiers that were not satisfied, so the fix names the right tools. */
      readonly failing: readonly number[];
    };

export function decideRule(require: 'all' | 'any', outcomes: readonly VerifierOutcome[]): RuleDecision {
  const judged = outcomes.map((o, index) => judgeVerifier(o, index));
  const passed = judged.filter((j): j is Extract<RuleDecision, { satisfied: true }> => j.satisfied);
  const failed = judged.filter((j): j is Extract<RuleDecision, { satisfied: false }> => !j.satisfied);
  const allChecks = outcomes.flatMap((o) => o.checks);
  if (require === 'all' ? failed.length === 0 : passed.length > 0) {
    return { satisfied: true, satisfiedBy: passed.flatMap((p) => p.satisfiedBy) };
  }
  const first = failed[0];
  if (!first) return { satisfied: false, code: 'UNSIGNED', reason: 'the rule lists no verifier', checks: allChecks, failing: [] };
  if (failed.length === 1 || require === 'all') return { ...first, checks: allChecks };
  return {
    satisfied: false,
    code: first.code,
    reason: `none of the ${failed.length} accepted signature kinds is satisfied: ${failed.map((f) => f.reason).join('; ')}`,
    checks: allChecks,
    failing: failed.flatMap((f) => f.failing),
  };
}

function judgeVerifier(o: VerifierOutcome, index: number): RuleDecision {
  const signers = [...new Set(o.checks.flatMap((c) => (c.status === 'valid' ? [c.signer] : [])))];
  if (signers.length >= o.threshold) {
    return { satisfied: true, satisfiedBy: [{ system: o.system, signers }] };
  }
  const invalid = o.checks.filter((c): c is Extract<SignatureCheck, { status: 'invalid' }> => c.status === 'invalid');
  if (signers.length > 0) {
    const missing = o.trusted.filter((k) => !signers.includes(k));
    return {
      satisfied: false,
      code: 'THRESHOLD_NOT_MET',
      reason: `${o.threshold} distinct trusted signers are required but only ${signers.length} signed (${signers.join(', ')}); not signed by: ${missing.join(', ')}`,
      checks: o.checks,
      failing: [index],
    };
  }
  const relevant = invalid.filter((c) => c.reason !== 'WRONG_TYPE');
  if (relevant.length === 0) {
    return { satisfied: false, code: 'UNSIGNED', reason: `no ${o.system} signature found (looked for ${o.lookedAt})`, checks: o.checks, failing: [index] };
  }
  // The most specific finding wins: a signature by a trusted key that failed a later check
  // tells the developer more than an unknown signer does.
  const worst = [...relevant].sort((a, b) => rank(a.reason) - rank(b.reason))[0]!;
  const others = relevant.length > 1 ? ` (${relevant.length} signatures examined)` : '';
  return { satisfied: false, code: denyCodeFor(worst.reason), reason: `${worst.detail}${others}`, checks: o.checks, failing: [index] };
}

const PRIORITY: readonly InvalidSignatureReason[] = [
  'DIGEST_MISMATCH',
  'REVOKED',
  'MISSING_ANNOTATION',
  'IDENTITY_MISMATCH',
  'PAYLOAD_MISMATCH',
  'BAD_SIGNATURE',
  'TIMESTAMP_INVALID',
  'REVOCATION_UNKNOWN',
  'UNTRUSTED_SIGNER',
  'MALFORMED',
  'WRONG_TYPE',
];

function rank(reason: InvalidSignatureReason): number {
  return PRIORITY.indexOf(reason);
}

function denyCodeFor(reason: InvalidSignatureReason): DenyCode {
  switch (reason) {
    case 'DIGEST_MISMATCH':
      return 'DIGEST_MISMATCH';
    case 'MISSING_ANNOTATION':
      return 'MISSING_ANNOTATION';
    case 'IDENTITY_MISMATCH':
      return 'IDENTITY_MISMATCH';
    case 'UNTRUSTED_SIGNER':
      return 'UNTRUSTED_SIGNER';
    case 'PAYLOAD_MISMATCH':
    case 'BAD_SIGNATURE':
    case 'MALFORMED':
      return 'BAD_SIGNATURE';
    case 'TIMESTAMP_INVALID':
      return 'TIMESTAMP_INVALID';
    case 'REVOKED':
      return 'REVOKED';
    case 'REVOCATION_UNKNOWN':
      return 'REVOCATION_UNKNOWN';
    case 'WRONG_TYPE':
      return 'UNSIGNED';
  }
}
