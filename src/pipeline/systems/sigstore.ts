// Gathers an image's Sigstore signatures from its registry and has verify.ts judge them: the
// classic cosign `sha256-<hex>.sig` layers (for keyless certificates) and the Sigstore bundles
// cosign v3 attaches as OCI 1.1 referrers (artifactType application/vnd.dev.sigstore.bundle.v0.3+json,
// found through the referrers API or its `sha256-<hex>` tag fallback). Every read is bounded in
// count and size and runs under the caller's signal; a failure to look is an error, never "unsigned".
import type { Descriptor } from '../../registry/types.js';
import { repositoryName } from '../../reference/parse.js';
import type { Digest } from '../../reference/types.js';
import type { TrustedKey } from '../../keys/types.js';
import { ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { discoverCosignSignatures } from '../../discovery/cosign.js';
import type { CompiledSigstoreVerifier } from '../../signatures/sigstore/policy.js';
import type { CheckTarget, SystemCheckError, SystemReport } from './check.js';
import type { SignatureCheck } from '../../signatures/types.js';
import { quote } from '../../util/quote.js';
import type { CosignSignatureLayer } from '../../signatures/cosign/verify.js';
import { BUNDLE_V03_MEDIA_TYPE } from '../../signatures/sigstore/bundle.js';
import { verifySigstoreSignatures } from '../../signatures/sigstore/verify.js';
import type { BundleBlob, SigstoreTrust } from '../../signatures/sigstore/verify.js';
import { isRecord } from '../../util/is-record.js';

export const SIGSTORE_BUNDLE_ARTIFACT_TYPE = BUNDLE_V03_MEDIA_TYPE;
/** Anyone who can push to the repository can add referrers; never fetch an unbounded number. */
export const MAX_BUNDLE_REFERRERS = 16;
/** A bundle with a Fulcio leaf and a Rekor inclusion proof is 5–10 KiB. */
export const MAX_BUNDLE_BYTES = 256 * 1024;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * Key-based bundles are signatures by the policy's named keys, so a `cosign` rule entry can be
 * passed as is: its keys, required annotations and identity check apply to bundles too.
 */
export interface CosignKeysVerifier {
  readonly type: 'cosign';
  readonly keys: readonly TrustedKey[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly identity?: 'ignore' | 'repository';
}

export async function checkSigstore(
  target: CheckTarget,
  verifier: CompiledSigstoreVerifier | CosignKeysVerifier,
): Promise<Result<SystemReport, SystemCheckError>> {
  const options = target.signal === undefined ? {} : { signal: target.signal };
  const name = repositoryName(target.repo);
  const trust: SigstoreTrust =
    verifier.type === 'keyless'
      ? verifier.trust
      : { kind: 'key', keys: verifier.keys, annotations: verifier.annotations ?? {}, identity: verifier.identity ?? 'ignore' };

  const checks: SignatureCheck[] = [];
  let layers: readonly CosignSignatureLayer[] = [];
  let lookedAt = `Sigstore bundle referrers of ${target.digest} in ${name}`;
  // Key-signed `.sig` layers are the cosign verifier's; only certificates make a `.sig` layer ours.
  if (trust.kind === 'keyless') {
    const discovered = await (target.cosignSignatures?.() ?? discoverCosignSignatures(target.registry, target.repo, target.digest, options));
    if (!discovered.ok) return discovered;
    checks.push(...discovered.value.rejected);
    layers = discovered.value.layers;
    lookedAt = `tag ${discovered.value.tag} and ${lookedAt}`;
  }

  const bundles = await fetchBundles(target, options);
  if (!bundles.ok) return bundles;
  checks.push(...bundles.value.rejected);

  checks.push(
    ...verifySigstoreSignatures({
      imageDigest: target.digest,
      imageRepository: name,
      trust,
      layers,
      bundles: bundles.value.blobs,
      now: target.now,
    }),
  );
  return ok({ checks, lookedAt });
}

interface FetchedBundles {
  readonly blobs: BundleBlob[];
  /** Referrers that could not be used at all: reported, never trusted. */
  readonly rejected: SignatureCheck[];
}

async function fetchBundles(target: CheckTarget, options: { signal?: AbortSignal }): Promise<Result<FetchedBundles, SystemCheckError>> {
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

async function fetchBundle(target: CheckTarget, descriptor: Descriptor, options: { signal?: AbortSignal }): Promise<Result<BundleOutcome, SystemCheckError>> {
  const where = `Sigstore bundle referrer ${descriptor.digest}`;
  const unusable = (check: SignatureCheck): Result<BundleOutcome, SystemCheckError> => ok({ kind: 'unusable', check });
  if (descriptor.mediaType !== OCI_MANIFEST) return unusable(malformed(`${where} is a ${quote(descriptor.mediaType)}, not an OCI image manifest`));

  const manifest = await target.registry.getManifest(target.repo, descriptor.digest, options);
  if (!manifest.ok) {
    const problem = unusableFetch(manifest.error, where);
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
    const problem = unusableFetch(blob.error, `${where} bundle blob ${layer.digest}`);
    return problem === undefined ? blob : unusable(problem);
  }
  return ok({ kind: 'bundle', blob: { source: `referrer ${descriptor.digest}`, bytes: blob.value } });
}

/** Content problems make one referrer unusable; anything else (network, auth, time) means we could not look. */
function unusableFetch(error: SystemCheckError, where: string): SignatureCheck | undefined {
  switch (error.code) {
    case 'DIGEST_MISMATCH':
      return { status: 'invalid', system: 'cosign', reason: 'PAYLOAD_MISMATCH', detail: `${where}: ${error.message}` };
    case 'TOO_LARGE':
    case 'BAD_CONTENT':
    case 'NOT_FOUND':
      return malformed(`${where}: ${error.message}`);
    default:
      return undefined;
  }
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
  return { status: 'invalid', system: 'cosign', reason: 'MALFORMED', detail };
}
