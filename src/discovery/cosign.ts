// Finds the cosign signatures attached to an image digest with the `.sig` tag scheme and fetches
// their payload blobs. It only gathers bytes; verify.ts decides what they are worth.
import type { RegistryClient } from '../registry/client.js';
import type { RegistryError, RequestOptions } from '../registry/types.js';
import type { Digest, RepositoryRef } from '../reference/types.js';
import { SIMPLE_SIGNING_MEDIA_TYPE, type CosignSignatureLayer } from '../signatures/cosign/verify.js';
import type { SignatureCheck } from '../signatures/types.js';
import { err, ok, type Result } from '../util/result.js';
import { unusableFetch } from './unusable.js';
import { asDigest } from '../reference/digest.js';

/** Anyone who can push to the repository can append layers; never fetch an unbounded number. */
export const MAX_SIGNATURE_LAYERS = 32;

export interface CosignDiscovery {
  /** The tag looked up, for messages ("looked for tag sha256-….sig"). */
  readonly tag: string;
  /** Whether the tag exists at all ("no signature tag" is not worth caching). */
  readonly found: boolean;
  readonly layers: readonly CosignSignatureLayer[];
  /** Layers that could not be used at all (payload failed its digest, too large): reported, never trusted. */
  readonly rejected: readonly SignatureCheck[];
}

/** Finds the `.sig` signatures of a digest: discoverCosignSignatures, or a cached and coalesced wrapper of it. */
export type CosignDiscoverer = (client: RegistryClient, repo: RepositoryRef, digest: Digest, options: RequestOptions) => Promise<Result<CosignDiscovery, RegistryError>>;

/**
 * Roughly what a discovery result holds in memory, in bytes: payloads, annotations (certificates,
 * chains and Rekor bundles live there) and every string the registry chose, counted as UTF-16.
 */
export function discoveryBytes(d: CosignDiscovery): number {
  let bytes = 256 + d.tag.length * 2;
  for (const layer of d.layers) {
    bytes += 256 + layer.payload.length + (layer.mediaType.length + layer.digest.length) * 2;
    for (const [key, value] of Object.entries(layer.annotations)) bytes += 64 + (key.length + value.length) * 2;
  }
  for (const check of d.rejected) bytes += 128 + ('detail' in check ? check.detail.length * 2 : 0);
  return bytes;
}

export function cosignSignatureTag(digest: Digest): string {
  return `${digest.replace(':', '-')}.sig`;
}

export async function discoverCosignSignatures(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: Digest,
  options: RequestOptions & { maxPayloadBytes?: number } = {},
): Promise<Result<CosignDiscovery, RegistryError>> {
  const tag = cosignSignatureTag(digest);
  const manifest = await client.getManifest(repo, tag, options);
  if (!manifest.ok) {
    if (manifest.error.code === 'NOT_FOUND') return ok({ tag, found: false, layers: [], rejected: [] });
    return manifest;
  }
  const layersField = manifest.value.json['layers'];
  if (!Array.isArray(layersField)) {
    return ok({ tag, found: true, layers: [], rejected: [malformed(`signature manifest ${tag} has no layers list`)] });
  }
  const rejected: SignatureCheck[] = [];
  const wanted: { mediaType: string; digest: Digest; size: number; annotations: Record<string, string> }[] = [];
  for (const [index, raw] of layersField.entries()) {
    if (index >= MAX_SIGNATURE_LAYERS) {
      rejected.push(malformed(`signature manifest ${tag} has ${layersField.length} layers; only the first ${MAX_SIGNATURE_LAYERS} were examined`));
      break;
    }
    const layer = asLayerDescriptor(raw);
    if (!layer) {
      rejected.push(malformed(`layer ${index} of ${tag} is not a valid descriptor`));
      continue;
    }
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
      rejected.push({ status: 'invalid', system: 'cosign', reason: 'WRONG_TYPE', detail: `layer ${index} of ${tag} is ${layer.mediaType}, not a cosign signature` });
      continue;
    }
    wanted.push(layer);
  }
  const fetched = await Promise.all(
    wanted.map(async (layer) => ({ layer, blob: await client.getBlob(repo, layer, { ...options, maxBytes: options.maxPayloadBytes ?? 1024 * 1024 }) })),
  );
  const layers: CosignSignatureLayer[] = [];
  for (const { layer, blob } of fetched) {
    if (blob.ok) {
      layers.push({ ...layer, payload: blob.value });
      continue;
    }
    const check = unusableFetch(blob.error, `signature payload ${layer.digest} in ${tag}`, 'cosign');
    // Transient or access problems mean we could not look: that is an error, not "unsigned".
    if (check === undefined) return err(blob.error);
    rejected.push(check);
  }
  return ok({ tag, found: true, layers, rejected });
}

function malformed(detail: string): SignatureCheck {
  return { status: 'invalid', system: 'cosign', reason: 'MALFORMED', detail };
}


function asLayerDescriptor(raw: unknown): { mediaType: string; digest: Digest; size: number; annotations: Record<string, string> } | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const d = raw as Record<string, unknown>;
  const { mediaType, digest, size } = d;
  if (typeof mediaType !== 'string' || typeof digest !== 'string' || asDigest(digest) === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  const annotations: Record<string, string> = {};
  if (typeof d['annotations'] === 'object' && d['annotations'] !== null) {
    for (const [k, v] of Object.entries(d['annotations'] as Record<string, unknown>)) {
      if (typeof v === 'string') annotations[k] = v;
    }
  }
  return { mediaType, digest: digest as Digest, size, annotations };
}
