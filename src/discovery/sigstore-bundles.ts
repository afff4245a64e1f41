// Finds the Sigstore bundles cosign v3 attaches to an image digest as OCI 1.1 referrers (artifactType
// application/vnd.dev.sigstore.bundle.v0.3+json, through the referrers API or its `sha256-<hex>` tag
// fallback). Every read is bounded in count and size and runs under the caller's signal; a failure to
// look is an error, never "unsigned"; a referrer that cannot be used is an invalid check for it.
import type { Descriptor, RegistryError } from '../registry/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { Digest, RepositoryRef } from '../reference/types.js';
import { ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import type { SignatureCheck } from '../signatures/types.js';
import { quote } from '../util/quote.js';
import { isRecord } from '../util/is-record.js';
import { BUNDLE_V03_MEDIA_TYPE } from '../signatures/sigstore/bundle.js';
import type { BundleBlob } from '../signatures/sigstore/verify.js';
import { malformedCheck, unusableFetch } from './unusable.js';
import { OCI_MANIFEST } from '../registry/media-types.js';

export const SIGSTORE_BUNDLE_ARTIFACT_TYPE = BUNDLE_V03_MEDIA_TYPE;
/** Anyone who can push to the repository can add referrers; never fetch an unbounded number. */
export const MAX_BUNDLE_REFERRERS = 16;
/** A bundle with a Fulcio leaf and a Rekor inclusion proof is 5–10 KiB. */
export const MAX_BUNDLE_BYTES = 256 * 1024;


export interface BundleLookup {
  readonly registry: RegistryClient;
  readonly repo: RepositoryRef;
  readonly digest: Digest;
  readonly signal?: AbortSignal;
}

export interface FetchedBundles {
  readonly blobs: BundleBlob[];
  /** Referrers that could not be used at all: reported, never trusted. */
  readonly rejected: SignatureCheck[];
}

/** The Sigstore bundles attached to a digest as OCI referrers, each fetched and digest-checked. */
export async function discoverSigstoreBundles(target: BundleLookup): Promise<Result<FetchedBundles, RegistryError>> {
  const options = target.signal === undefined ? {} : { signal: target.signal };
  const listed = await target.registry.referrers(target.repo, target.digest, { ...options, artifactType: SIGSTORE_BUNDLE_ARTIFACT_TYPE });
  if (!listed.ok) return listed;
  const rejected: SignatureCheck[] = [];
  let descriptors = listed.value;
  if (descriptors.length > MAX_BUNDLE_REFERRERS) {
    rejected.push(malformed(`${descriptors.length} Sigstore bundles refer to ${target.digest}; only the first ${MAX_BUNDLE_REFERRERS} were examined`));
    descriptors = descriptors.slice(0, MAX_BUNDLE_REFERRERS);
  }
  const fetched = await Promise.all(descriptors.map((descriptor) => fetchBundle(target, descriptor, options)));
  const blobs: BundleBlob[] = [];
  for (const outcome of fetched) {
    if (!outcome.ok) return outcome;
    if (outcome.value.kind === 'bundle') blobs.push(outcome.value.blob);
    else rejected.push(outcome.value.check);
  }
  return ok({ blobs, rejected });
}

type BundleOutcome = { readonly kind: 'bundle'; readonly blob: BundleBlob } | { readonly kind: 'unusable'; readonly check: SignatureCheck };

async function fetchBundle(target: BundleLookup, descriptor: Descriptor, options: { signal?: AbortSignal }): Promise<Result<BundleOutcome, RegistryError>> {
  const where = `Sigstore bundle referrer ${descriptor.digest}`;
  const unusable = (check: SignatureCheck): Result<BundleOutcome, RegistryError> => ok({ kind: 'unusable', check });
  if (descriptor.mediaType !== OCI_MANIFEST) return unusable(malformed(`${where} is a ${quote(descriptor.mediaType)}, not an OCI image manifest`));

  const manifest = await target.registry.getManifest(target.repo, descriptor.digest, options);
  if (!manifest.ok) {
    const problem = unusableFetch(manifest.error, where, 'cosign');
    return problem === undefined ? manifest : unusable(problem);
  }
  // The referrers list is unsigned; the manifest is checked again for what it claims to hold.
  const body = manifest.value.json;
  const config = body['config'];
  const artifactType = typeof body['artifactType'] === 'string' ? body['artifactType'] : isRecord(config) ? config['mediaType'] : undefined;
  if (artifactType !== SIGSTORE_BUNDLE_ARTIFACT_TYPE) {
    return unusable({ status: 'invalid', system: 'cosign', reason: 'WRONG_TYPE', detail: `${where} has artifactType ${quote(artifactType ?? null)}, not a Sigstore bundle` });
  }
  const layer = layerDescriptor(body['layers']);
  if (layer === undefined) return unusable(malformed(`${where} does not have exactly one ${SIGSTORE_BUNDLE_ARTIFACT_TYPE} layer`));

  const blob = await target.registry.getBlob(target.repo, layer, { ...options, maxBytes: MAX_BUNDLE_BYTES });
  if (!blob.ok) {
    const problem = unusableFetch(blob.error, `${where} bundle blob ${layer.digest}`, 'cosign');
    return problem === undefined ? blob : unusable(problem);
  }
  return ok({ kind: 'bundle', blob: { source: `referrer ${descriptor.digest}`, bytes: blob.value } });
}

function layerDescriptor(layers: unknown): { digest: Digest; size: number } | undefined {
  if (!Array.isArray(layers) || layers.length !== 1) return undefined;
  const layer: unknown = layers[0];
  if (!isRecord(layer)) return undefined;
  const { mediaType, digest, size } = layer;
  if (mediaType !== SIGSTORE_BUNDLE_ARTIFACT_TYPE) return undefined;
  if (typeof digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(digest)) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  return { digest: digest as Digest, size };
}

function malformed(detail: string): SignatureCheck {
  return malformedCheck('cosign', detail);
}
