// Finds the Notation signatures of one image digest: OCI referrers of the admitted digest (the
// registry client falls back to the `sha256-<hex>` tag), each signature manifest fetched by digest,
// its single envelope layer fetched and digest-checked. Everything is bounded (signatures examined,
// envelope size, the caller's deadline). A failure to look is an error, never "unsigned"; anything odd
// about one signature becomes an invalid check for it. Verifying is signatures/notation's job.
import type { Descriptor, RegistryError } from '../registry/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { Digest, RepositoryRef } from '../reference/types.js';
import { asDigest } from '../reference/digest.js';
import { ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import type { SignatureCheck } from '../signatures/types.js';
import { quote } from '../util/quote.js';
import { COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, NOTATION_ARTIFACT_TYPE } from '../signatures/notation/envelope.js';
import type { NotationEnvelope, NotationTarget } from '../signatures/notation/verify.js';
import { isRecord } from '../util/is-record.js';
import { malformedCheck, unusableFetch } from './unusable.js';
import { OCI_MANIFEST } from '../registry/media-types.js';

/** Anyone who can push to the repository can attach signatures; never examine an unbounded number. */
export const MAX_NOTATION_SIGNATURES = 16;
/** Real envelopes are 2–10 KiB (a timestamp countersignature included). */
export const MAX_ENVELOPE_BYTES = 256 * 1024;

const OCI_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';

/** Where to look: the admitted digest, and its media type and size when the pipeline already has them. */
export interface NotationLookup {
  readonly registry: RegistryClient;
  readonly repo: RepositoryRef;
  readonly digest: Digest;
  readonly descriptor?: { readonly mediaType: string; readonly size: number };
  readonly signal?: AbortSignal;
}

/** What was found: the descriptor the signatures must sign, the envelopes, and referrers that could not be used. */
export interface NotationMaterial {
  readonly target: NotationTarget;
  readonly envelopes: readonly NotationEnvelope[];
  readonly rejected: readonly SignatureCheck[];
}

/** The Notation signature material of a digest, or undefined when no signature is attached. */
export async function discoverNotationSignatures(target: NotationLookup): Promise<Result<NotationMaterial | undefined, RegistryError>> {
  const { registry, repo, digest } = target;
  const options = target.signal !== undefined ? { signal: target.signal } : {};
  // No artifactType filter: the client keeps only descriptors whose artifactType equals the filter, and
  // descriptors written by older tools for image-spec 1.0 signature manifests may carry none at all.
  const referrers = await registry.referrers(repo, digest, options);
  if (!referrers.ok) return referrers;
  const notary = referrers.value.filter((d) => d.artifactType === NOTATION_ARTIFACT_TYPE);
  const unlabelled = referrers.value.filter((d) => d.artifactType === undefined);
  if (notary.length === 0 && unlabelled.length === 0) return ok(undefined);

  const descriptor = await admittedDescriptor(target);
  if (!descriptor.ok) return descriptor;

  const rejected: SignatureCheck[] = [];
  const candidates = [...notary, ...unlabelled];
  if (candidates.length > MAX_NOTATION_SIGNATURES) {
    rejected.push(
      malformed(`${candidates.length} Notation signature candidates are attached to ${digest}; only the first ${MAX_NOTATION_SIGNATURES} were examined (remove stale signatures)`),
    );
  }
  const examined = candidates.slice(0, MAX_NOTATION_SIGNATURES);
  const fetched = await Promise.all(examined.map((candidate) => fetchEnvelope(target, candidate)));
  const envelopes: NotationEnvelope[] = [];
  for (const outcome of fetched) {
    if (!outcome.ok) return outcome;
    if (outcome.value.kind === 'envelope') envelopes.push(outcome.value.envelope);
    else if (outcome.value.kind === 'rejected') rejected.push(outcome.value.check);
  }
  return ok({ target: descriptor.value, envelopes, rejected });
}

/** The admitted manifest's media type and size: from the pipeline when it has them, else from the registry by digest. */
async function admittedDescriptor(target: NotationLookup): Promise<Result<NotationTarget, RegistryError>> {
  if (target.descriptor !== undefined) return ok({ digest: target.digest, mediaType: target.descriptor.mediaType, size: target.descriptor.size });
  const manifest = await target.registry.getManifest(target.repo, target.digest, target.signal !== undefined ? { signal: target.signal } : {});
  if (!manifest.ok) return manifest;
  return ok({ digest: target.digest, mediaType: manifest.value.mediaType, size: manifest.value.bytes.length });
}

type Fetched =
  | { readonly kind: 'envelope'; readonly envelope: NotationEnvelope }
  | { readonly kind: 'rejected'; readonly check: SignatureCheck }
  /** Listed without an artifact type and turned out to be something else: not a signature at all. */
  | { readonly kind: 'other' };

async function fetchEnvelope(target: NotationLookup, candidate: Descriptor): Promise<Result<Fetched, RegistryError>> {
  const { registry, repo } = target;
  const options = target.signal !== undefined ? { signal: target.signal } : {};
  const source = `signature ${candidate.digest}`;
  if (candidate.mediaType === OCI_ARTIFACT_MANIFEST) {
    return rejectedWith(malformed(`Notation ${source} is an OCI artifact manifest (from a Notation release candidate), which is not supported; sign again with Notation 1.0 or later`));
  }
  if (candidate.mediaType !== OCI_MANIFEST) {
    return rejectedWith(malformed(`Notation ${source} is listed as ${quote(candidate.mediaType)}, not an OCI image manifest`));
  }

  const manifest = await registry.getManifest(repo, candidate.digest, options);
  if (!manifest.ok) {
    const check = unusableFetch(manifest.error, `Notation ${source}`, 'notation');
    return check === undefined ? manifest : rejectedWith(check);
  }
  const json = manifest.value.json;
  const configType = isRecord(json['config']) ? json['config']['mediaType'] : undefined;
  const isSignature = json['artifactType'] === NOTATION_ARTIFACT_TYPE || (json['artifactType'] === undefined && configType === NOTATION_ARTIFACT_TYPE);
  if (!isSignature) {
    if (candidate.artifactType === undefined) return ok({ kind: 'other' });
    return rejectedWith(malformed(`Notation ${source} is listed as a Notation signature, but its manifest has artifact type ${quote(json['artifactType'] ?? configType)}`));
  }
  const subject = isRecord(json['subject']) ? json['subject']['digest'] : undefined;
  if (subject !== target.digest) {
    return rejectedWith({
      status: 'invalid',
      system: 'notation',
      reason: 'WRONG_TYPE',
      detail: `Notation ${source} is listed among the referrers of ${target.digest} but its subject is ${quote(subject)}`,
    });
  }
  const layers = json['layers'];
  if (!Array.isArray(layers) || layers.length !== 1 || !isRecord(layers[0])) {
    return rejectedWith(malformed(`Notation ${source} must have exactly one layer (the envelope), but has ${Array.isArray(layers) ? layers.length : 'no layers list'}`));
  }
  const layer = layers[0];
  const { mediaType, size } = layer;
  const digest = typeof layer['digest'] === 'string' ? asDigest(layer['digest']) : undefined;
  if (typeof mediaType !== 'string' || digest === undefined || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    return rejectedWith(malformed(`Notation ${source} has a layer that is not a valid descriptor`));
  }
  if (mediaType !== COSE_MEDIA_TYPE && mediaType !== JWS_MEDIA_TYPE) {
    // The verifier explains that this is not a Notation envelope; it needs no bytes for that.
    return ok({ kind: 'envelope', envelope: { mediaType, bytes: Buffer.alloc(0), source } });
  }
  if (size > MAX_ENVELOPE_BYTES) {
    return rejectedWith(malformed(`Notation ${source} envelope is ${size} bytes, over the ${MAX_ENVELOPE_BYTES}-byte limit`));
  }
  const blob = await registry.getBlob(repo, { digest, size }, { ...options, maxBytes: MAX_ENVELOPE_BYTES });
  if (!blob.ok) {
    const check = unusableFetch(blob.error, `Notation ${source} envelope ${quote(digest)}`, 'notation');
    return check === undefined ? blob : rejectedWith(check);
  }
  return ok({ kind: 'envelope', envelope: { mediaType, bytes: blob.value, source } });
}

function rejectedWith(check: SignatureCheck): Result<Fetched, RegistryError> {
  return ok({ kind: 'rejected', check });
}

function malformed(detail: string): SignatureCheck {
  return malformedCheck('notation', detail);
}
