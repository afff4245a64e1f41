// Which signing certificates the policy trusts: a list of identities, each an OIDC issuer (as
// Fulcio records it) and a subject (a subject alternative name: e-mail, URI, DNS name or Fulcio's
// username otherName), each given exactly or as a pattern that must match the whole name. Patterns
// use RE2 syntax and run in linear time (util/linear-pattern.ts), with a work limit per certificate.
// An identity without an issuer matches only certificates that record no issuer at all (an
// operator's own PKI), so leaving the issuer out can never mean "any OIDC provider".
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';
import { compileLinearPattern, type LinearPattern } from '../../util/linear-pattern.js';
import type { SubjectAlternativeName } from './certificate.js';

/** A name given exactly, or as a pattern (RE2 syntax, linear-time) that must match all of it. */
export type NameMatcher = { readonly kind: 'exact'; readonly value: string } | { readonly kind: 'regexp'; readonly pattern: LinearPattern };

/** `none`: the certificate must record no issuer (an operator's own PKI). */
export type IssuerMatcher = { readonly kind: 'none' } | NameMatcher;

export interface IdentityRule {
  readonly issuer: IssuerMatcher;
  readonly subject: NameMatcher;
}

export interface IdentityRuleDocument {
  readonly issuer?: string;
  readonly issuerRegExp?: string;
  readonly subject?: string;
  readonly subjectRegExp?: string;
}

export interface CertificateIdentity {
  readonly issuer: string | undefined;
  readonly names: readonly SubjectAlternativeName[];
}

export type IdentityMatch = { readonly matched: true; readonly signer: string } | { readonly matched: false; readonly detail: string };

// Patterns run against names from untrusted certificates. Real identities are far shorter than this;
// a longer name is never matched by a pattern (exact subjects still compare).
const MAX_MATCHED_NAME_CHARS = 1024;
/**
 * Work allowed for matching one certificate against a policy's patterns, in the units of
 * LinearPattern.cost (program size × name length): at most about 40 ms in the worst case measured
 * (64 identities with Unicode-class patterns against a dozen kilobyte-long names), and twice what 64
 * realistic identities (80 instructions, 100-character names) need. A tenant's crafted certificate (many long names)
 * and patterns cannot make one signature occupy the process longer than that; past it, the certificate
 * matches nothing, so the signature does not count (fail closed).
 */
export const MATCH_WORK_LIMIT = 1_000_000;

/** The error names the field (`issuer…` or `subject…`) and what is wrong with it. */
export function compileIdentityRule(document: IdentityRuleDocument): Result<IdentityRule, { field: string; message: string }> {
  if (document.issuer !== undefined && document.issuerRegExp !== undefined) {
    return err({ field: 'issuerRegExp', message: 'give issuer or issuerRegExp, not both' });
  }
  if (document.subject !== undefined && document.subjectRegExp !== undefined) {
    return err({ field: 'subjectRegExp', message: 'give subject or subjectRegExp, not both' });
  }
  if (document.subject === undefined && document.subjectRegExp === undefined) {
    return err({ field: 'subject', message: 'an identity needs subject or subjectRegExp' });
  }
  const issuer = compileName(document.issuer, document.issuerRegExp, 'issuerRegExp');
  if (!issuer.ok) return issuer;
  const subject = compileName(document.subject, document.subjectRegExp, 'subjectRegExp');
  if (!subject.ok) return subject;
  return ok({ issuer: issuer.value ?? { kind: 'none' }, subject: subject.value as NameMatcher });
}

function compileName(exact: string | undefined, pattern: string | undefined, field: string): Result<NameMatcher | undefined, { field: string; message: string }> {
  if (exact !== undefined) return ok({ kind: 'exact', value: exact });
  if (pattern === undefined) return ok(undefined);
  // Anchored: `.*@example\.com` must not accept `x@example.com.evil`; cosign's unanchored match would.
  const compiled = compileLinearPattern(pattern, { anchored: true });
  return compiled.ok ? ok({ kind: 'regexp', pattern: compiled.value }) : err({ field, message: compiled.error.message });
}

function describeName(matcher: NameMatcher): string {
  return matcher.kind === 'exact' ? quote(matcher.value) : `matching /${matcher.pattern.source}/`;
}

export function describeIdentityRule(rule: IdentityRule): string {
  const subject = `subject ${describeName(rule.subject)}`;
  return rule.issuer.kind === 'none' ? `${subject} (no OIDC issuer)` : `issuer ${describeName(rule.issuer)} with ${subject}`;
}

/** Counts pattern work against MATCH_WORK_LIMIT; once spent, every pattern test answers false. */
class WorkMeter {
  spent = 0;
  exhausted = false;

  matches(matcher: NameMatcher, name: string): boolean {
    if (matcher.kind === 'exact') return matcher.value === name;
    if (name.length > MAX_MATCHED_NAME_CHARS || this.exhausted) return false;
    this.spent += matcher.pattern.cost(name.length);
    if (this.spent > MATCH_WORK_LIMIT) {
      this.exhausted = true;
      return false;
    }
    return matcher.pattern.test(name);
  }
}

/** The first rule the certificate satisfies gives the signer name: `<issuer> <name>`, or `<name>` without issuer. */
export function matchIdentity(identity: CertificateIdentity, rules: readonly IdentityRule[]): IdentityMatch {
  const meter = new WorkMeter();
  // Per rule, the name its subject matches (null: none), so the mismatch detail does not match twice.
  const subjectHits: (SubjectAlternativeName | null | undefined)[] = [];
  const subjectHit = (index: number, rule: IdentityRule): SubjectAlternativeName | null =>
    (subjectHits[index] ??= identity.names.find((candidate) => meter.matches(rule.subject, candidate.value)) ?? null);
  for (const [index, rule] of rules.entries()) {
    if (!issuerMatches(rule.issuer, identity.issuer, meter)) continue;
    const name = subjectHit(index, rule);
    if (name !== null) {
      return { matched: true, signer: identity.issuer === undefined ? name.value : `${identity.issuer} ${name.value}` };
    }
  }
  const detail = mismatchDetail(identity, rules, (index, rule) => subjectHit(index, rule) !== null);
  if (meter.exhausted) {
    return {
      matched: false,
      detail: `signing certificate identity not matched: matching its ${identity.names.length} name(s) against the policy's patterns needs more work than the limit allows (names too many or too long, or patterns too complex), so it counts as matching none: ${namesOf(identity)}`,
    };
  }
  return { matched: false, detail };
}

function issuerMatches(matcher: IssuerMatcher, issuer: string | undefined, meter: WorkMeter): boolean {
  if (matcher.kind === 'none') return issuer === undefined;
  return issuer !== undefined && meter.matches(matcher, issuer);
}

function namesOf(identity: CertificateIdentity): string {
  return identity.names.length === 0 ? 'no subject alternative name' : identity.names.map((name) => quote(name.value)).join(', ');
}

function mismatchDetail(identity: CertificateIdentity, rules: readonly IdentityRule[], subjectMatches: (index: number, rule: IdentityRule) => boolean): string {
  const names = namesOf(identity);
  const issuer = identity.issuer === undefined ? 'no OIDC issuer' : `OIDC issuer ${quote(identity.issuer)}`;
  // When the subject is right but the issuer is not, say so: that is the mistake people make.
  const sameSubject = rules.filter((rule, index) => subjectMatches(index, rule));
  if (sameSubject.length > 0) {
    const expected = [...new Set(sameSubject.map((rule) => (rule.issuer.kind === 'none' ? 'no OIDC issuer' : describeName(rule.issuer))))].join(' or ');
    return `signing certificate for ${names} was issued through ${issuer}, but the policy trusts that subject only through ${expected}`;
  }
  return `signing certificate identity ${names} (${issuer}) matches none of the policy's identities: ${rules.map(describeIdentityRule).join('; ')}`;
}
