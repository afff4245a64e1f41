// Which signing certificates the policy trusts: a list of identities, each an OIDC issuer (as
// Fulcio records it) and a subject (a subject alternative name: e-mail, URI, DNS name or Fulcio's
// username otherName) given exactly or as a regular expression that must match the whole name.
// An identity without an issuer matches only certificates that record no issuer at all (an
// operator's own PKI), so leaving the issuer out can never mean "any OIDC provider".
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';
import type { SubjectAlternativeName } from './certificate.js';

export type SubjectMatcher =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'regexp'; readonly source: string; readonly pattern: RegExp };

export interface IdentityRule {
  /** Required OIDC issuer; undefined means "the certificate must record no issuer". */
  readonly issuer: string | undefined;
  readonly subject: SubjectMatcher;
}

export interface IdentityRuleDocument {
  readonly issuer?: string;
  readonly subject?: string;
  readonly subjectRegExp?: string;
}

export interface CertificateIdentity {
  readonly issuer: string | undefined;
  readonly names: readonly SubjectAlternativeName[];
}

export type IdentityMatch = { readonly matched: true; readonly signer: string } | { readonly matched: false; readonly detail: string };

// Regular expressions run against names from untrusted certificates; a bound on the input keeps a
// badly written pattern from backtracking for long. Real identities are far shorter.
const MAX_MATCHED_NAME_CHARS = 1024;

/** The error names the field (`subject` or `subjectRegExp`) and what is wrong with it. */
export function compileIdentityRule(document: IdentityRuleDocument): Result<IdentityRule, { field: string; message: string }> {
  const issuer = document.issuer;
  if (document.subject !== undefined && document.subjectRegExp !== undefined) {
    return err({ field: 'subjectRegExp', message: 'give subject or subjectRegExp, not both' });
  }
  if (document.subject !== undefined) return ok({ issuer, subject: { kind: 'exact', value: document.subject } });
  if (document.subjectRegExp === undefined) return err({ field: 'subject', message: 'an identity needs subject or subjectRegExp' });
  try {
    // Anchored: `.*@example.com` must not accept `x@example.com.evil`; cosign's unanchored match would.
    const pattern = new RegExp(`^(?:${document.subjectRegExp})$`, 'u');
    return ok({ issuer, subject: { kind: 'regexp', source: document.subjectRegExp, pattern } });
  } catch (thrown) {
    return err({ field: 'subjectRegExp', message: `is not a valid regular expression: ${thrown instanceof Error ? thrown.message : String(thrown)}` });
  }
}

export function describeIdentityRule(rule: IdentityRule): string {
  const subject = rule.subject.kind === 'exact' ? `subject ${quote(rule.subject.value)}` : `subject matching /${rule.subject.source}/`;
  return rule.issuer === undefined ? `${subject} (no OIDC issuer)` : `issuer ${quote(rule.issuer)} with ${subject}`;
}

/** The first rule the certificate satisfies gives the signer name: `<issuer> <name>`, or `<name>` without issuer. */
export function matchIdentity(identity: CertificateIdentity, rules: readonly IdentityRule[]): IdentityMatch {
  for (const rule of rules) {
    if (rule.issuer !== identity.issuer) continue;
    const name = identity.names.find((candidate) => subjectMatches(rule.subject, candidate.value));
    if (name !== undefined) {
      return { matched: true, signer: identity.issuer === undefined ? name.value : `${identity.issuer} ${name.value}` };
    }
  }
  return { matched: false, detail: mismatchDetail(identity, rules) };
}

function subjectMatches(matcher: SubjectMatcher, name: string): boolean {
  if (matcher.kind === 'exact') return matcher.value === name;
  return name.length <= MAX_MATCHED_NAME_CHARS && matcher.pattern.test(name);
}

function mismatchDetail(identity: CertificateIdentity, rules: readonly IdentityRule[]): string {
  const names = identity.names.length === 0 ? 'no subject alternative name' : identity.names.map((name) => quote(name.value)).join(', ');
  const issuer = identity.issuer === undefined ? 'no OIDC issuer' : `OIDC issuer ${quote(identity.issuer)}`;
  // When the subject is right but the issuer is not, say so: that is the mistake people make.
  const sameSubject = rules.filter((rule) => identity.names.some((name) => subjectMatches(rule.subject, name.value)));
  if (sameSubject.length > 0) {
    const expected = [...new Set(sameSubject.map((rule) => (rule.issuer === undefined ? 'no OIDC issuer' : quote(rule.issuer))))].join(' or ');
    return `signing certificate for ${names} was issued through ${issuer}, but the policy trusts that subject only through ${expected}`;
  }
  return `signing certificate identity ${names} (${issuer}) matches none of the policy's identities: ${rules.map(describeIdentityRule).join('; ')}`;
}
