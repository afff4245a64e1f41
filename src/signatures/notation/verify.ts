// Verifies Notation (Notary Project v2) signature envelopes (JWS or COSE_Sign1) for one admitted image against one trust
// policy (trust store, trusted identities, level). Pure: envelope bytes, trust material and `now` in,
// one SignatureCheck per envelope out; fetching is pipeline/systems/notation.ts's job and the decision is decide/'s.
// Order, as in the Notary Project verification steps: integrity (envelope, algorithm, signature,
// chain structure) before anything signed is believed; then authenticity (root in the trust store,
// identity); then the signed target against the admitted descriptor; then time (certificate
// validity, expiry). Which of authenticity and time are enforced depends on the level.
import { flattenedVerify } from 'jose';
import type { Digest } from '../../reference/types.js';
import type { InvalidSignatureReason, SignatureCheck } from '../types.js';
import { quote } from '../../util/quote.js';
import { algorithmForKey, checkChain, describeKey, validityProblem, type Certificate } from './certificates.js';
import { COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, UNDERSTOOD_CRITICAL, isBase64Url, parseJwsEnvelope, parseTargetArtifact, type JwsEnvelope, type SignedEnvelope } from './envelope.js';
import { parseCoseEnvelope, verifyCose } from './cose.js';
import { isSubjectSubset, subjectAttributes } from './identity.js';
import type { NotationTrustPolicy, NotationTrustStore } from './trust.js';
import { verifyTimestampToken } from './timestamp.js';
import { RevocationCache, checkChainRevocation, type RevocationContext, type RevocationFetcher } from './revocation.js';
import { err } from '../../util/result.js';

/** The manifest being admitted, as the registry describes it; the signed payload must name exactly this. */
export interface NotationTarget {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
}

export interface NotationEnvelope {
  /** Media type of the signature manifest's layer: application/jose+json or application/cose. */
  readonly mediaType: string;
  /** The envelope blob, already checked against its descriptor digest by the fetcher. */
  readonly bytes: Buffer;
  /** Where it came from, for messages, e.g. "signature sha256:ab12…". */
  readonly source: string;
}

export interface NotationVerifyInput {
  readonly target: NotationTarget;
  readonly envelopes: readonly NotationEnvelope[];
  readonly policy: NotationTrustPolicy;
  readonly now: Date;
  /** How OCSP responses and CRLs are fetched (and kept); without it, a chain that names any is of unknown status. */
  readonly revocation?: { readonly fetcher: RevocationFetcher; readonly cache: RevocationCache; readonly signal?: AbortSignal };
}

/** Stands in when the caller gave no fetcher: chains that name no responder never reach it. */
const NO_FETCHER: RevocationFetcher = {
  ocsp: () => Promise.resolve(err('could not be asked: revocation checking is not available to this caller')),
  crl: () => Promise.resolve(err('could not be fetched: revocation checking is not available to this caller')),
};
const NO_FETCHER_CACHE = new RevocationCache({ maxAnswers: 1, maxCrls: 1 });

/** One check per envelope, in order. */
export async function verifyNotationSignatures(input: NotationVerifyInput): Promise<SignatureCheck[]> {
  return Promise.all(input.envelopes.map((envelope) => verifyEnvelope(input, envelope)));
}

function invalid(reason: InvalidSignatureReason, detail: string, signer?: string): SignatureCheck {
  return signer === undefined
    ? { status: 'invalid', system: 'notation', reason, detail }
    : { status: 'invalid', system: 'notation', reason, detail, signer };
}

/** An envelope whose signature verified with its leaf's key, and the payload it signs. */
interface Opened {
  readonly envelope: SignedEnvelope;
  readonly payload: Uint8Array;
}

async function verifyEnvelope(input: NotationVerifyInput, envelope: NotationEnvelope): Promise<SignatureCheck> {
  const where = `Notation ${envelope.source}`;
  // ---- integrity ----
  let opened: Opened | SignatureCheck;
  if (envelope.mediaType === JWS_MEDIA_TYPE) opened = await openJws(where, envelope.bytes);
  else if (envelope.mediaType === COSE_MEDIA_TYPE) opened = openCose(where, envelope.bytes);
  else return invalid('MALFORMED', `${where} has envelope media type ${quote(envelope.mediaType)}, not ${JWS_MEDIA_TYPE} or ${COSE_MEDIA_TYPE}`);
  if ('status' in opened) return opened;
  const { envelope: jws, payload } = opened;
  const leaf = jws.chain[0]!;
  const chainCheck = checkChain(jws.chain);
  if (!chainCheck.ok) return invalid(chainCheck.error.reason, `${where}: ${chainCheck.error.detail}`);
  const target = parseTargetArtifact(payload);
  if (!target.ok) return invalid('MALFORMED', `${where}: ${target.error}`);

  // ---- authenticity ----
  const { policy } = input;
  const trust = authenticity(jws, policy);
  if (trust.problem !== undefined && policy.level !== 'audit') return invalid('UNTRUSTED_SIGNER', `${where}: ${trust.problem}`);
  const trusted = trust.problem === undefined;
  const signer = trusted
    ? `${trust.store.name} (${leaf.displayName})`
    : `${leaf.displayName}, not trusted by ${trust.store.name} (level audit)`;
  // Only a signer the policy trusts is named on a failure: an unknown party's claims are not evidence.
  const failedSigner = trusted ? signer : undefined;

  // ---- the signed target is the admitted image (every level) ----
  const signed = target.value;
  const admitted = input.target;
  if (signed.digest !== admitted.digest) {
    return invalid('DIGEST_MISMATCH', `${where} is for ${signed.digest} but the image is ${admitted.digest}`, failedSigner);
  }
  if (signed.size !== admitted.size) {
    return invalid('DIGEST_MISMATCH', `${where} is for ${signed.digest} of ${signed.size} bytes, but the registry serves it as ${admitted.size} bytes`, failedSigner);
  }
  if (signed.mediaType !== admitted.mediaType) {
    return invalid('DIGEST_MISMATCH', `${where} is for ${signed.digest} as ${quote(signed.mediaType)}, but the registry serves it as ${quote(admitted.mediaType)}`, failedSigner);
  }

  const warnings: string[] = [];
  const revocationMode = policy.revocation ?? (policy.level === 'strict' ? 'enforce' : 'log');
  const given = input.revocation;
  const revocationContext: RevocationContext = {
    fetcher: given?.fetcher ?? NO_FETCHER,
    cache: given?.cache ?? NO_FETCHER_CACHE,
    now: input.now,
    ...(given?.signal !== undefined ? { signal: given.signal } : {}),
  };

  // ---- time: certificate validity (authentic timestamp) and expiry ----
  const enforceTime = policy.level === 'strict';
  const header = jws.header;
  let timestamped = false;
  if (enforceTime) {
    const time = await authenticTime(jws, policy, input.now);
    if (time.problem !== undefined) return invalid(time.problem.reason, `${where}: ${time.problem.detail}`, failedSigner);
    timestamped = time.timestamped;
    if (time.tsaChain !== undefined && revocationMode !== 'skip') {
      // As notation-go: a timestamp only counts while its authority's chain is not revoked.
      const tsaRevocation = await checkChainRevocation(time.tsaChain, revocationContext);
      if (tsaRevocation.status !== 'good') {
        const detail = `the timestamping authority's ${tsaRevocation.detail.replace(/^the /, '')}`;
        if (revocationMode === 'enforce') return invalid(tsaRevocation.status === 'revoked' ? 'REVOKED' : 'REVOCATION_UNKNOWN', `${where}: ${detail}`, failedSigner);
        warnings.push(`${where}: ${detail} (not enforced: revocation ${revocationMode})`);
      }
    }
    if (header.expiry !== undefined && input.now.getTime() >= header.expiry.getTime()) {
      return invalid('BAD_SIGNATURE', `${where}: signature expired at ${header.expiry.toISOString()}; sign the image again`, failedSigner);
    }
  }

  // ---- revocation (Notation: enforced at strict, logged at permissive and audit, or as the policy overrides) ----
  // A chain nobody trusts (level audit) is not checked: its certificates name URLs the signer chose,
  // and the webhook must not be made to call them.
  if (revocationMode !== 'skip' && trusted) {
    const revocation = await checkChainRevocation(jws.chain, revocationContext);
    if (revocation.status !== 'good') {
      if (revocationMode === 'enforce') return invalid(revocation.status === 'revoked' ? 'REVOKED' : 'REVOCATION_UNKNOWN', `${where}: ${revocation.detail}`, failedSigner);
      warnings.push(`${where}: ${revocation.detail} (not enforced: revocation ${revocationMode})`);
    }
  }

  const validUntil = enforceTime ? validUntilOf(jws, input.now, timestamped) : undefined;
  return {
    status: 'valid',
    system: 'notation',
    signer,
    digest: admitted.digest,
    annotations: signed.annotations,
    ...(validUntil !== undefined ? { validUntil } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/** Undefined when the leaf's key is one Notation allows and the envelope declares the algorithm it pairs with. */
function algorithmProblem(where: string, envelope: SignedEnvelope): SignatureCheck | undefined {
  const leaf = envelope.chain[0]!;
  const expected = algorithmForKey(leaf.key);
  if (expected === undefined) {
    return invalid('BAD_SIGNATURE', `${where}: the signing certificate ${leaf.displayName} has a ${describeKey(leaf.key)} key, which Notation does not allow (RSA 2048/3072/4096, ECDSA P-256/P-384/P-521)`);
  }
  if (expected !== envelope.header.alg) {
    return invalid('BAD_SIGNATURE', `${where}: signed with ${envelope.header.alg}, but the ${describeKey(leaf.key)} key of ${leaf.displayName} requires ${expected}`);
  }
  return undefined;
}

function altered(where: string, leaf: Certificate): SignatureCheck {
  return invalid('BAD_SIGNATURE', `${where}: the signature does not verify with the key of its signing certificate ${leaf.displayName} (the envelope was altered)`);
}

async function openJws(where: string, bytes: Buffer): Promise<Opened | SignatureCheck> {
  const parsed = parseJwsEnvelope(bytes);
  if (!parsed.ok) return invalid('MALFORMED', `${where}: ${parsed.error}`);
  const jws = parsed.value;
  const problem = algorithmProblem(where, jws);
  if (problem !== undefined) return problem;
  const payload = await verifyJws(jws, jws.chain[0]!);
  if (payload === undefined) return altered(where, jws.chain[0]!);
  if (!isBase64Url(jws.jws.payload) || !isBase64Url(jws.jws.signature)) {
    // Verified, yet not what a conforming signer writes; Notation's own decoder would refuse it.
    return invalid('MALFORMED', `${where}: the JWS payload or signature is not unpadded base64url`);
  }
  return { envelope: jws, payload };
}

function openCose(where: string, bytes: Buffer): Opened | SignatureCheck {
  const parsed = parseCoseEnvelope(bytes);
  if (!parsed.ok) return invalid('MALFORMED', `${where}: ${parsed.error}`);
  const cose = parsed.value;
  const problem = algorithmProblem(where, cose);
  if (problem !== undefined) return problem;
  const payload = verifyCose(cose, cose.chain[0]!);
  if (payload === undefined) return altered(where, cose.chain[0]!);
  return { envelope: cose, payload };
}

/** The signed payload bytes when the JWS verifies with the leaf's key under its declared algorithm. */
async function verifyJws(jws: JwsEnvelope, leaf: Certificate): Promise<Uint8Array | undefined> {
  try {
    const result = await flattenedVerify({ ...jws.jws, header: { ...jws.jws.header } }, leaf.node.publicKey, {
      algorithms: [jws.header.alg],
      crit: Object.fromEntries(UNDERSTOOD_CRITICAL.map((name) => [name, true])),
    });
    return result.payload;
  } catch {
    return undefined;
  }
}

/** Undefined when the chain ends in a root of a trust store of the right type and the leaf is a trusted identity. */
function authenticity(jws: SignedEnvelope, policy: NotationTrustPolicy): { problem: string | undefined; store: NotationTrustStore } {
  const wantedType = jws.header.signingScheme === 'notary.x509' ? 'ca' : 'signingAuthority';
  const stores = [policy.trustStore, ...(policy.otherTrustStores ?? [])];
  const candidates = stores.filter((store) => store.type === wantedType);
  const named = policy.trustStore;
  if (candidates.length === 0) {
    return {
      problem: `signed with the ${jws.header.signingScheme} scheme, which needs a trust store of type ${wantedType}, but ${stores.map((store) => store.name).join(', ')} ${stores.length === 1 ? 'is' : 'are'} of type ${named.type}`,
      store: named,
    };
  }
  const root = jws.chain[jws.chain.length - 1]!;
  const store = candidates.find((candidate) => candidate.certificates.some((certificate) => certificate.der.equals(root.der)));
  if (store === undefined) {
    const leaf = jws.chain[0]!;
    const names = candidates.map((candidate) => candidate.name).join(', ');
    return {
      problem: `signed by ${leaf.displayName}, whose chain ends at ${root.displayName}, which is not a certificate of the trust store${candidates.length > 1 ? 's' : ''} ${names}`,
      store: candidates[0]!,
    };
  }
  const result = identityProblem(jws, policy);
  return { problem: result, store };
}

function identityProblem(jws: SignedEnvelope, policy: NotationTrustPolicy): string | undefined {
  const identities = policy.trustedIdentities;
  if (identities.kind === 'any') return undefined;
  const leaf = jws.chain[0]!;
  const subject = subjectAttributes(leaf.subjectRdns);
  if (subject === undefined) {
    return `the signing certificate subject ${quote(leaf.subject)} repeats an attribute or has a multi-valued attribute, so it cannot be matched against trustedIdentities`;
  }
  if (identities.subjects.some((trustedSubject) => isSubjectSubset(trustedSubject.name, subject))) return undefined;
  return `signed by ${quote(leaf.subject)}, which matches none of the trusted identities (${identities.subjects.map((s) => quote(s.text)).join(', ')})`;
}

interface TimeOutcome {
  readonly problem: { readonly reason: InvalidSignatureReason; readonly detail: string } | undefined;
  /** The chain was judged at a verified RFC 3161 time rather than now. */
  readonly timestamped: boolean;
  /** The verified timestamp authority's chain, for its revocation check. */
  readonly tsaChain?: readonly Certificate[];
}

/**
 * Notation's "authentic timestamp" step. notary.x509.signingAuthority: the chain must have been
 * valid at the authentic signing time. notary.x509: with no tsa trust store, or with
 * `afterCertExpiry` while the chain is still valid, the chain must be valid now and a timestamp is
 * not looked at; otherwise the signature must carry a timestamp from a trusted TSA, and the
 * chain must have been valid over the whole interval the timestamp's accuracy allows.
 */
async function authenticTime(jws: SignedEnvelope, policy: NotationTrustPolicy, now: Date): Promise<TimeOutcome> {
  const chain = jws.chain;
  if (jws.header.signingScheme === 'notary.x509.signingAuthority') {
    const problem = validityProblem(chain, jws.header.authenticSigningTime!, 'the authentic signing time');
    return { problem: problem === undefined ? undefined : { reason: 'BAD_SIGNATURE', detail: problem }, timestamped: false };
  }
  const tsa = policy.tsaTrustStore;
  const mode = policy.verifyTimestamp ?? 'always';
  const expired = chain.some((certificate) => now.getTime() > certificate.notAfter.getTime());
  if (tsa === undefined || (mode === 'afterCertExpiry' && !expired)) {
    const problem = validityProblem(chain, now, 'now');
    if (problem === undefined) return { problem: undefined, timestamped: false };
    const note =
      jws.timestampToken === undefined
        ? '; the signature carries no RFC 3161 timestamp'
        : '; its RFC 3161 timestamp is not used because the policy names no tsaTrustStore';
    return { problem: { reason: 'BAD_SIGNATURE', detail: `${problem}${note}` }, timestamped: false };
  }
  if (jws.timestampToken === undefined) {
    const why = expired
      ? `${validityProblem(chain, now, 'now') ?? 'a certificate of the chain has expired'}, and the signature carries no RFC 3161 timestamp to show it was made while the chain was valid`
      : `the policy requires an RFC 3161 timestamp from the tsa trust store ${tsa.name} (verifyTimestamp: ${mode}), but the signature carries none`;
    return { problem: { reason: 'TIMESTAMP_INVALID', detail: why }, timestamped: false };
  }
  const stamp = await verifyTimestampToken(jws.timestampToken, jws.signatureValue, tsa.certificates, tsa.name);
  if (!stamp.ok) return { problem: { reason: 'TIMESTAMP_INVALID', detail: `the RFC 3161 timestamp ${stamp.error}` }, timestamped: false };
  const { earliest, latest, genTime } = stamp.value;
  const stamped = `the RFC 3161 timestamp ${genTime.toISOString()}${latest.getTime() > genTime.getTime() ? ` (±${latest.getTime() - genTime.getTime()} ms)` : ''}`;
  for (const certificate of chain) {
    if (earliest.getTime() < certificate.notBefore.getTime()) {
      return { problem: { reason: 'TIMESTAMP_INVALID', detail: `${stamped} may be before certificate ${certificate.displayName} is valid (from ${certificate.notBefore.toISOString()})` }, timestamped: false };
    }
    if (latest.getTime() > certificate.notAfter.getTime()) {
      return { problem: { reason: 'TIMESTAMP_INVALID', detail: `${stamped} may be after certificate ${certificate.displayName} expired (at ${certificate.notAfter.toISOString()})` }, timestamped: false };
    }
  }
  return { problem: undefined, timestamped: true, tsaChain: stamp.value.chain };
}

/** At strict level: nothing counts after the signature expiry or, for a notary.x509 chain judged now, any chain certificate's notAfter. */
function validUntilOf(jws: SignedEnvelope, now: Date, timestamped: boolean): string | undefined {
  const limits: number[] = [];
  if (jws.header.expiry !== undefined) limits.push(jws.header.expiry.getTime());
  // A signing authority or a TSA vouched for the signing time; later expiry of the chain does not matter.
  if (jws.header.signingScheme === 'notary.x509' && !timestamped) limits.push(...jws.chain.map((certificate) => certificate.notAfter.getTime()));
  if (limits.length === 0) return undefined;
  const until = Math.min(...limits);
  return until > now.getTime() ? new Date(until).toISOString() : undefined;
}
