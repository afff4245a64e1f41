// Certificate path validation for signing certificates: from the leaf a signature carries, through
// intermediates it may also carry, to a certificate the operator trusts, everything checked at one
// given time (the transparency log's integration time for Fulcio certificates, which live ten
// minutes; the current time when no trusted time exists). Intermediates from a signature are only
// path-building aids: a path is accepted only when it ends at a configured CA certificate.
// Pure; no revocation checking (neither Fulcio nor cosign uses CRLs or OCSP).
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';
import { OID_ANY_EXTENDED_KEY_USAGE, OID_CODE_SIGNING } from './certificate.js';
import type { ParsedCertificate } from './certificate.js';

/** A set of trusted CA certificates (one Fulcio instance, or an operator's PKI) and when it may be used. */
export interface CertificateAuthority {
  /** For messages, e.g. `CN=sigstore, O=sigstore.dev`. */
  readonly name: string;
  /** Trust anchors: a path may end at any of them. The first is the one named in messages. */
  readonly certificates: readonly ParsedCertificate[];
  /** Signing certificates count only when checked at a time inside this window. */
  readonly validFor: { readonly start: Date; readonly end: Date | undefined };
}

export interface VerifiedPath {
  /** Leaf first, the trusted certificate last. */
  readonly path: readonly ParsedCertificate[];
  readonly authority: CertificateAuthority;
  /** The earliest notAfter on the path or end of the authority's window: when the path stops being valid. */
  readonly validUntil: Date;
}

// Real chains have one or two intermediates; the bound keeps a hostile chain annotation cheap.
const MAX_INTERMEDIATES = 4;
// Certificates sharing one name (and key) could make the depth-first search try every ordering of
// them; real paths need a handful of steps, so a hostile chain is cut off after this many.
const MAX_SEARCH_STEPS = 64;

/** Shared by one search: the step budget, and signature checks already made (issuer → child → result). */
interface Search {
  steps: number;
  readonly signatures: Map<ParsedCertificate, Map<ParsedCertificate, boolean>>;
}

/**
 * Builds and checks a path from `leaf` to a trusted CA certificate, valid at `at`. On failure the
 * error is one sentence saying which certificate failed which rule.
 */
export function verifyCertificatePath(
  leaf: ParsedCertificate,
  intermediates: readonly ParsedCertificate[],
  authorities: readonly CertificateAuthority[],
  at: Date,
): Result<VerifiedPath, string> {
  const leafProblem = signingCertificateProblem(leaf, at);
  if (leafProblem !== undefined) return err(leafProblem);

  const usable = authorities.filter((authority) => withinWindow(authority.validFor, at));
  if (usable.length === 0) {
    return err(`no trusted certificate authority was valid at ${at.toISOString()} (the trust root's validity windows exclude it)`);
  }

  let firstProblem: string | undefined;
  const search: Search = { steps: 0, signatures: new Map() };
  for (const authority of usable) {
    const found = searchPath([leaf], intermediates, authority, at, search);
    if (found.ok) {
      const ends = found.value.map((certificate) => certificate.notAfter.getTime());
      if (authority.validFor.end !== undefined) ends.push(authority.validFor.end.getTime());
      return ok({ path: found.value, authority, validUntil: new Date(Math.min(...ends)) });
    }
    firstProblem ??= found.error;
  }
  return err(firstProblem ?? 'no path to a trusted certificate authority');
}

/** Depth-first: extend `path` (leaf first) with an issuer of its last certificate until a trust anchor. */
function searchPath(
  path: readonly ParsedCertificate[],
  intermediates: readonly ParsedCertificate[],
  authority: CertificateAuthority,
  at: Date,
  search: Search,
): Result<ParsedCertificate[], string> {
  const current = path[path.length - 1] as ParsedCertificate;
  const isAnchor = (candidate: ParsedCertificate): boolean => authority.certificates.some((anchor) => anchor.der.equals(candidate.der));
  const candidates = [...authority.certificates, ...intermediates].filter(
    (candidate, index, all) =>
      candidate.subjectDer.equals(current.issuerDer) &&
      !path.some((onPath) => onPath.der.equals(candidate.der)) &&
      all.findIndex((other) => other.der.equals(candidate.der)) === index,
  );
  if (candidates.length === 0) {
    return err(
      path.length === 1
        ? `the certificate ${describe(current)} was issued by ${quote(current.issuerName)}, which is not a CA in the trust root (${authority.name}) nor in the signature's chain`
        : `the chain stops at ${describe(current)}, issued by ${quote(current.issuerName)}, which is not a CA in the trust root (${authority.name})`,
    );
  }

  let firstProblem: string | undefined;
  for (const candidate of candidates) {
    if (++search.steps > MAX_SEARCH_STEPS) {
      return err(`the signature's chain offers too many candidate issuers (searched ${MAX_SEARCH_STEPS} without finding a path to a trusted CA)`);
    }
    if (!signedBy(candidate, current, search)) {
      firstProblem ??= `the certificate ${describe(current)} names ${describe(candidate)} as its issuer, but that CA's key did not sign it`;
      continue;
    }
    const problem = issuerProblem(candidate, path.length - 1, at);
    if (problem !== undefined) {
      firstProblem ??= problem;
      continue;
    }
    if (isAnchor(candidate)) return ok([...path, candidate]);
    if (path.length > MAX_INTERMEDIATES) {
      firstProblem ??= `the chain is longer than ${MAX_INTERMEDIATES} intermediates without reaching a trusted CA`;
      continue;
    }
    const deeper = searchPath([...path, candidate], intermediates, authority, at, search);
    if (deeper.ok) return deeper;
    firstProblem ??= deeper.error;
  }
  return err(firstProblem ?? 'no path to a trusted certificate authority');
}

function signedBy(issuer: ParsedCertificate, child: ParsedCertificate, search: Search): boolean {
  let known = search.signatures.get(issuer);
  if (known === undefined) {
    known = new Map();
    search.signatures.set(issuer, known);
  }
  let result = known.get(child);
  if (result === undefined) {
    result = issuer.signed(child);
    known.set(child, result);
  }
  return result;
}

/** The rules for the certificate that made the signature. */
function signingCertificateProblem(leaf: ParsedCertificate, at: Date): string | undefined {
  const where = `the signing certificate ${describe(leaf)}`;
  if (leaf.unsupportedCriticalExtensions.length > 0) {
    return `${where} has critical extensions this verifier does not implement (${leaf.unsupportedCriticalExtensions.join(', ')})`;
  }
  if (!validAt(leaf, at)) return `${where} ${validityText(leaf)}, so it was not valid at ${at.toISOString()}`;
  if (leaf.keyUsage !== undefined && !leaf.keyUsage.digitalSignature) return `${where} does not allow digital signatures (keyUsage)`;
  if (!allowsCodeSigning(leaf)) return `${where} is not for code signing (its extendedKeyUsage lacks codeSigning)`;
  return undefined;
}

/** The rules for a certificate that issued the one below it; `below` counts the intermediates under it. */
function issuerProblem(issuer: ParsedCertificate, below: number, at: Date): string | undefined {
  const where = `the CA certificate ${describe(issuer)}`;
  if (issuer.unsupportedCriticalExtensions.length > 0) {
    return `${where} has critical extensions this verifier does not implement (${issuer.unsupportedCriticalExtensions.join(', ')})`;
  }
  if (issuer.basicConstraints?.ca !== true) return `${where} is not a CA (basicConstraints cA is not set)`;
  if (issuer.keyUsage !== undefined && !issuer.keyUsage.keyCertSign) return `${where} may not sign certificates (keyUsage lacks keyCertSign)`;
  const pathLength = issuer.basicConstraints.pathLength;
  if (pathLength !== undefined && below > pathLength) {
    return `${where} allows ${pathLength} intermediate(s) below it, but the chain has ${below}`;
  }
  // As Go's verifier does: a CA restricted to other purposes cannot vouch for a code-signing leaf.
  if (!allowsCodeSigning(issuer)) return `${where} is restricted to purposes other than code signing (extendedKeyUsage)`;
  if (!validAt(issuer, at)) return `${where} ${validityText(issuer)}, so it was not valid at ${at.toISOString()}`;
  return undefined;
}

function allowsCodeSigning(certificate: ParsedCertificate): boolean {
  const purposes = certificate.extendedKeyUsages;
  return purposes === undefined || purposes.includes(OID_CODE_SIGNING) || purposes.includes(OID_ANY_EXTENDED_KEY_USAGE);
}

function validAt(certificate: ParsedCertificate, at: Date): boolean {
  return certificate.notBefore.getTime() <= at.getTime() && at.getTime() <= certificate.notAfter.getTime();
}

function withinWindow(window: CertificateAuthority['validFor'], at: Date): boolean {
  return window.start.getTime() <= at.getTime() && (window.end === undefined || at.getTime() <= window.end.getTime());
}

function validityText(certificate: ParsedCertificate): string {
  return `is valid from ${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}`;
}

function describe(certificate: ParsedCertificate): string {
  return quote(certificate.label);
}
