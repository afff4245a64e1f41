// The parts of Sigstore verification delegated to @sigstore/verify, which implements them against
// the specification and its conformance suite: Rekor signed entry timestamps and inclusion proofs
// (checkpoints, Merkle paths), the binding of a logged entry to this exact signature and content,
// RFC 3161 timestamps, certificate transparency SCTs, and DSSE/message signatures.
// It is called in two passes. First with the signing certificate's key alone, so the log evidence
// and the signature are authenticated before anything depends on the log's time; then, once
// chain.ts has validated the certificate at that time and only when the trust root lists CT logs,
// with the validated path as the only CA, so the library adds its SCT checks without ever choosing
// a trust anchor itself.
import { VerificationError, Verifier, toSignedEntity } from '@sigstore/verify';
import type { SignedEntity, TrustMaterial } from '@sigstore/verify';
import type { Bundle } from '@sigstore/bundle';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { InvalidSignatureReason } from '../types.js';
import { decodePem, decodeStrictBase64 } from '../../keys/keys.js';
import type { PemBlock } from '../../keys/keys.js';
import { quote } from '../../util/quote.js';
import { isJsonObject, parseStrictJsonBytes } from '../../util/strict-json.js';
import type { JsonValue } from '../../util/strict-json.js';
import type { ParsedCertificate } from './certificate.js';
import type { VerifiedPath } from './chain.js';
import type { SigstoreTrustRoot } from './trust-root.js';

export interface SigstoreFailure {
  readonly reason: InvalidSignatureReason;
  readonly detail: string;
}

const END_OF_TIME = new Date(8_640_000_000_000_000);

/** The library's view of a bundle (and, for a message signature, the signed bytes). */
export function signedEntity(bundle: Bundle, artifact?: Buffer): Result<SignedEntity, SigstoreFailure> {
  try {
    return ok(toSignedEntity(bundle, artifact));
  } catch (thrown) {
    return err({ reason: 'MALFORMED', detail: `signature evidence cannot be read (${libraryMessage(thrown)})` });
  }
}

/**
 * Authenticates the transparency-log entries (and any RFC 3161 timestamps), the signature with the
 * signing certificate's key, and that the log recorded this very certificate; nothing about the
 * certificate's issuer is decided here. Returns the times the evidence vouches for: the signing
 * certificate must be valid at each of them.
 */
export function verifyLoggedSignature(entity: SignedEntity, signer: ParsedCertificate, trustRoot: SigstoreTrustRoot): Result<Date[], SigstoreFailure> {
  if (entity.tlogEntries.length === 0) {
    return err({ reason: 'MISSING_ANNOTATION', detail: 'signature has no transparency-log entry, but the policy requires one (requireRekor)' });
  }
  for (const entry of entity.tlogEntries) {
    const logID = entry.logId?.keyId;
    if (logID === undefined || !trustRoot.tlogs.some((log) => log.logID.equals(logID))) {
      const trusted = trustRoot.tlogs.map((log) => `${log.baseURL} (${log.logID.toString('hex')})`).join(', ') || 'none';
      return err({
        reason: 'UNTRUSTED_SIGNER',
        detail: `transparency-log entry is from log ${logID?.toString('hex') ?? '(none)'}, which the trust root does not list (trusted logs: ${trusted})`,
      });
    }
  }
  const material: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [...trustRoot.timestampAuthorities],
    tlogs: [...trustRoot.tlogs],
    ctlogs: [],
    publicKey: () => ({ publicKey: signer.publicKey, validFor: () => true }),
  };
  const keyOnly: SignedEntity = { ...checkableEvidence(entity, trustRoot), key: { $case: 'public-key', hint: 'signing certificate' } };
  try {
    new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 }).verify(keyOnly);
  } catch (thrown) {
    return err(failureOf(thrown));
  }
  // The library binds an entry to the signature and content, not to who signed; we also want the
  // logged certificate (or key) to be the one presented, as cosign checks.
  for (const entry of entity.tlogEntries) {
    const logged = loggedSigner(entry.canonicalizedBody, entry.kindVersion?.kind, entry.kindVersion?.version);
    if (!logged.ok) return err({ reason: 'MALFORMED', detail: `transparency-log entry ${logged.error}` });
    const spki = signer.publicKey.export({ type: 'spki', format: 'der' });
    const same = logged.value.type === 'CERTIFICATE' ? logged.value.der.equals(signer.der) : logged.value.der.equals(spki);
    if (!same) {
      return err({ reason: 'PAYLOAD_MISMATCH', detail: 'transparency-log entry was made for another certificate than the one presented with the signature' });
    }
  }
  const times: Date[] = [];
  for (const timestamp of entity.timestamps) {
    if (timestamp.$case === 'timestamp-authority') times.push(timestamp.timestamp.signingTime);
    else if (timestamp.tlogEntry.inclusionPromise !== undefined) times.push(new Date(Number(timestamp.tlogEntry.integratedTime) * 1000));
  }
  return ok(times);
}

/**
 * The library's certificate checks on top of ours: the certificate must chain (again) through the
 * path chain.ts accepted, and carry a valid SCT from one of the trust root's CT logs (call it only
 * when the trust root lists CT logs: the library refuses any SCT it has no key for).
 */
export function verifyCertificateEvidence(entity: SignedEntity, verified: VerifiedPath, trustRoot: SigstoreTrustRoot): Result<true, SigstoreFailure> {
  const issuers = verified.path.slice(1);
  const rest = verified.authority.certificates.filter((anchor) => !issuers.some((issuer) => issuer.der.equals(anchor.der)));
  const material: TrustMaterial = {
    certificateAuthorities: [
      {
        certChain: [...issuers, ...rest].map((certificate) => certificate.sigstore),
        validFor: { start: verified.authority.validFor.start, end: verified.authority.validFor.end ?? END_OF_TIME },
      },
    ],
    timestampAuthorities: [...trustRoot.timestampAuthorities],
    tlogs: [...trustRoot.tlogs],
    ctlogs: [...trustRoot.ctlogs],
    publicKey: () => {
      throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: 'no public keys are trusted here' });
    },
  };
  try {
    new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 }).verify(checkableEvidence(entity, trustRoot));
  } catch (thrown) {
    return err(failureOf(thrown));
  }
  return ok(true);
}

/**
 * The certificate or public key an entry records as the signer: hashedrekord 0.0.1
 * (`spec.signature.publicKey.content`) and dsse 0.0.1 (`spec.signatures[0].verifier`), both base64 PEM;
 * the kinds cosign writes to Rekor v1. The error is a phrase to follow "transparency-log entry".
 */
function loggedSigner(body: Buffer, kind: string | undefined, version: string | undefined): Result<PemBlock, string> {
  const parsed = parseStrictJsonBytes(body);
  if (!parsed.ok || !isJsonObject(parsed.value)) return err('body is not a JSON object');
  const spec = parsed.value['spec'];
  let content: JsonValue | undefined;
  if (kind === 'hashedrekord' && version === '0.0.1') {
    const signature = isJsonObject(spec) ? spec['signature'] : undefined;
    const publicKey = isJsonObject(signature) ? signature['publicKey'] : undefined;
    content = isJsonObject(publicKey) ? publicKey['content'] : undefined;
  } else if (kind === 'dsse' && version === '0.0.1') {
    const signatures = isJsonObject(spec) ? spec['signatures'] : undefined;
    const first = Array.isArray(signatures) && signatures.length === 1 ? signatures[0] : undefined;
    content = isJsonObject(first) ? first['verifier'] : undefined;
  } else {
    return err(`is of kind ${quote(kind ?? null)} version ${quote(version ?? null)}; only hashedrekord and dsse 0.0.1 are supported`);
  }
  const pem = typeof content === 'string' ? decodeStrictBase64(content) : undefined;
  const blocks = pem === undefined ? undefined : decodePem(pem.toString('utf8'));
  const block = blocks?.ok === true && blocks.value.length === 1 ? blocks.value[0] : undefined;
  if (block === undefined || (block.type !== 'CERTIFICATE' && block.type !== 'PUBLIC KEY')) return err('does not record the signer as one PEM certificate or public key');
  return ok(block);
}

/**
 * With unnamed (PEM) log keys a checkpoint cannot be matched to its log, so inclusion proofs are set
 * aside for entries that also carry a signed entry timestamp, which is then what vouches for them.
 * An entry with only a proof keeps it, and fails.
 */
function checkableEvidence(entity: SignedEntity, trustRoot: SigstoreTrustRoot): SignedEntity {
  if (trustRoot.logOriginsKnown) return entity;
  return {
    ...entity,
    tlogEntries: entity.tlogEntries.map((entry) => (entry.inclusionPromise === undefined ? entry : { ...entry, inclusionProof: undefined })),
  };
}

function failureOf(thrown: unknown): SigstoreFailure {
  const message = libraryMessage(thrown);
  if (!(thrown instanceof VerificationError)) return { reason: 'MALFORMED', detail: `signature evidence cannot be verified (${message})` };
  switch (thrown.code) {
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return { reason: 'BAD_SIGNATURE', detail: `transparency-log signed entry timestamp does not verify with the trusted Rekor key (${message})` };
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return { reason: 'BAD_SIGNATURE', detail: `transparency-log inclusion proof does not verify (${message})` };
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return { reason: 'MISSING_ANNOTATION', detail: 'transparency-log entry has neither a signed entry timestamp nor an inclusion proof' };
    case 'TLOG_BODY_ERROR':
      return { reason: 'PAYLOAD_MISMATCH', detail: `transparency-log entry records another signature or content (${message})` };
    case 'TIMESTAMP_ERROR':
      return /^expected \d+ timestamps/.test(message)
        ? { reason: 'MISSING_ANNOTATION', detail: `signature has no trusted time: no transparency-log entry with a signed entry timestamp (${message})` }
        : { reason: 'BAD_SIGNATURE', detail: `timestamp does not verify (${message})` };
    case 'SIGNATURE_ERROR':
      return { reason: 'BAD_SIGNATURE', detail: "signature does not verify with the signing certificate's key" };
    case 'CERTIFICATE_ERROR':
    case 'PUBLIC_KEY_ERROR':
      return { reason: 'UNTRUSTED_SIGNER', detail: `signing certificate rejected (${message})` };
    case 'TLOG_ERROR':
    case 'NOT_IMPLEMENTED_ERROR':
      return { reason: 'MALFORMED', detail: `transparency-log evidence rejected (${message})` };
  }
}

/** The library's message and cause, single-line and bounded: parts of it may echo signature data. */
function libraryMessage(thrown: unknown): string {
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  const cause = (error as { cause?: unknown }).cause;
  const text = cause instanceof Error && cause.message !== error.message ? `${error.message}: ${cause.message}` : error.message;
  const clean = text.replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
