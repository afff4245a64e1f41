// Offline check that a key-based cosign signature was recorded in a trusted Rekor transparency log,
// from the `dev.sigstore.cosign/bundle` layer annotation: the SignedEntryTimestamp (SET) must verify
// over the RFC 8785 canonical form of the bundle Payload with the Rekor key the Payload's logID names,
// and the logged hashedrekord entry must be for exactly this payload, signature and signing key.
// Without that last step a valid SET for some other artifact would vouch for this one.
import { createHash } from 'node:crypto';
import type { InvalidSignatureReason } from '../types.js';
import type { TrustedKey } from '../../keys/types.js';
import { decodePem, spkiDer } from '../../keys/keys.js';
import { canonicalizeJson } from '../../util/canonical-json.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { decodeSignatureBase64, verifyWithKey } from './key-crypto.js';
import { quote } from '../../util/quote.js';
import { isJsonObject, parseStrictJson, parseStrictJsonBytes } from '../../util/strict-json.js';
import type { JsonObject, JsonValue } from '../../util/strict-json.js';

export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

export interface TlogFailure {
  readonly reason: InvalidSignatureReason;
  readonly detail: string;
}

export interface TlogEvidence {
  /** The layer's bundle annotation text, or undefined when the layer has none. */
  readonly bundleText: string | undefined;
  /** The signed payload blob. */
  readonly payload: Uint8Array;
  /** The decoded signature from the layer. */
  readonly signature: Uint8Array;
  /** The trusted key that verified the signature. */
  readonly signer: TrustedKey;
  readonly rekorKeys: readonly TrustedKey[];
}

/** On success returns the log's integratedTime (unix seconds), for callers that want to show it. */
export function verifyTlogEntry(evidence: TlogEvidence): Result<number, TlogFailure> {
  const malformed = (detail: string): Result<number, TlogFailure> =>
    err({ reason: 'MALFORMED', detail: `transparency-log bundle ${detail}` });

  if (evidence.bundleText === undefined) {
    return err({
      reason: 'MISSING_ANNOTATION',
      detail: `signature has no transparency-log entry (${BUNDLE_ANNOTATION} annotation), but the policy requires one`,
    });
  }
  const parsed = parseStrictJson(evidence.bundleText);
  if (!parsed.ok) return malformed(`is not valid JSON: ${parsed.error}`);
  if (!isJsonObject(parsed.value)) return malformed('is not a JSON object');
  const setText = member(parsed.value, 'SignedEntryTimestamp');
  const payload = member(parsed.value, 'Payload');
  if (typeof setText !== 'string') return malformed('has no SignedEntryTimestamp string');
  if (!isJsonObject(payload)) return malformed('has no Payload object');

  const body = member(payload, 'body');
  const integratedTime = member(payload, 'integratedTime');
  const logIndex = member(payload, 'logIndex');
  const logID = member(payload, 'logID');
  if (typeof body !== 'string') return malformed('Payload has no body string');
  if (!isSafeInteger(integratedTime) || !isSafeInteger(logIndex)) {
    return malformed('Payload integratedTime and logIndex must be non-negative integers');
  }
  if (typeof logID !== 'string' || !/^[0-9a-f]{64}$/.test(logID)) return malformed('Payload logID is not a hex SHA-256');

  // The SET covers exactly these four fields (what cosign and containers/image marshal), canonicalised.
  const canonical = canonicalizeJson({ body, integratedTime, logIndex, logID });
  if (!canonical.ok) return malformed(`Payload cannot be canonicalised: ${canonical.error.message}`);
  const set = decodeSignatureBase64(setText);
  if (set === undefined || set.length === 0) return malformed('SignedEntryTimestamp is not base64');

  const rekorKey = evidence.rekorKeys.find((candidate) => candidate.fingerprint === `sha256:${logID}`);
  if (rekorKey === undefined) {
    const trusted = evidence.rekorKeys.map((key) => key.name).join(', ') || 'none';
    return err({
      reason: 'UNTRUSTED_SIGNER',
      detail: `transparency-log entry is from Rekor log ${logID}, which is not a trusted Rekor key (trusted: ${trusted})`,
    });
  }
  if (!verifyWithKey(rekorKey, Buffer.from(canonical.value, 'utf8'), set)) {
    return err({
      reason: 'BAD_SIGNATURE',
      detail: `transparency-log SignedEntryTimestamp does not verify with Rekor key ${rekorKey.name}`,
    });
  }

  const entryCheck = checkHashedRekordBody(body, evidence);
  return entryCheck.ok ? ok(integratedTime) : entryCheck;
}

/** The logged entry must record this payload's hash, this signature and this signing key. */
function checkHashedRekordBody(bodyBase64: string, evidence: TlogEvidence): Result<true, TlogFailure> {
  const malformed = (detail: string): Result<true, TlogFailure> =>
    err({ reason: 'MALFORMED', detail: `transparency-log entry ${detail}` });
  const mismatch = (detail: string): Result<true, TlogFailure> =>
    err({ reason: 'PAYLOAD_MISMATCH', detail: `transparency-log entry ${detail}` });

  const bodyBytes = decodeSignatureBase64(bodyBase64);
  if (bodyBytes === undefined) return malformed('body is not base64');
  const parsed = parseStrictJsonBytes(bodyBytes);
  if (!parsed.ok) return malformed(`body is not valid JSON: ${parsed.error}`);
  const entry = parsed.value;
  if (!isJsonObject(entry)) return malformed('body is not a JSON object');
  const kind = member(entry, 'kind');
  const apiVersion = member(entry, 'apiVersion');
  if (kind !== 'hashedrekord' || apiVersion !== '0.0.1') {
    return malformed(`is of kind ${quote(kind)} version ${quote(apiVersion)}; only hashedrekord 0.0.1 is supported`);
  }
  const spec = member(entry, 'spec');
  const hash = path(spec, ['data', 'hash']);
  const algorithm = path(hash, ['algorithm']);
  const hashValue = path(hash, ['value']);
  const signatureContent = path(spec, ['signature', 'content']);
  const publicKeyContent = path(spec, ['signature', 'publicKey', 'content']);
  if (typeof hashValue !== 'string' || typeof signatureContent !== 'string' || typeof publicKeyContent !== 'string') {
    return malformed('lacks spec.data.hash.value, spec.signature.content or spec.signature.publicKey.content');
  }
  if (algorithm !== 'sha256') return malformed(`hash algorithm ${quote(algorithm)} is not sha256`);

  const payloadHash = createHash('sha256').update(evidence.payload).digest('hex');
  if (hashValue !== payloadHash) {
    return mismatch(`is for content sha256:${hashValue}, but the signed payload is sha256:${payloadHash}`);
  }
  const loggedSignature = decodeSignatureBase64(signatureContent);
  if (loggedSignature === undefined || !Buffer.from(loggedSignature).equals(Buffer.from(evidence.signature))) {
    return mismatch('records a different signature than the one on this layer');
  }
  const loggedPem = decodeSignatureBase64(publicKeyContent);
  const loggedBlocks = loggedPem === undefined ? undefined : decodePem(loggedPem.toString('utf8'));
  const loggedKey = loggedBlocks?.ok === true && loggedBlocks.value.length === 1 ? loggedBlocks.value[0] : undefined;
  if (loggedKey === undefined) return malformed('publicKey is not a single PEM block');
  if (loggedKey.type !== 'PUBLIC KEY' || !loggedKey.der.equals(spkiDer(evidence.signer))) {
    return mismatch(`was logged for another key or a certificate, not for trusted key ${evidence.signer.name}`);
  }
  return ok(true);
}

function member(object: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

function path(value: JsonValue | undefined, names: readonly string[]): JsonValue | undefined {
  let current = value;
  for (const name of names) {
    if (!isJsonObject(current)) return undefined;
    current = member(current, name);
  }
  return current;
}

function isSafeInteger(value: JsonValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
