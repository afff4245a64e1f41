// Produces a cosign-compatible signature for an image digest and attaches it with the `.sig` tag
// scheme, appending to the signatures already there (never dropping one). Used by `signet sign`.
import type { KeyObject } from 'node:crypto';
import type { RegistryClient } from '../registry/client.js';
import type { RegistryError } from '../registry/types.js';
import { repositoryName, repositoryOf, sha256Digest } from '../reference/parse.js';
import type { Digest, ImageReference } from '../reference/types.js';
import { buildPayload } from '../signatures/cosign/payload.js';
import { publicKeyPemFor, signPayload } from '../signatures/cosign/private-key.js';
import { parsePublicKey } from '../keys/keys.js';
import { SIMPLE_SIGNING_MEDIA_TYPE, verifyCosignSignatures } from '../signatures/cosign/verify.js';
import { cosignSignatureTag } from '../discovery/cosign.js';
import { err, ok, type Result } from '../util/result.js';
import { OCI_MANIFEST } from '../registry/media-types.js';

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface SignRequest {
  readonly client: RegistryClient;
  readonly ref: ImageReference;
  readonly privateKey: KeyObject;
  readonly annotations: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface SignResult {
  readonly digest: Digest;
  readonly signatureTag: string;
  readonly payloadDigest: Digest;
  readonly manifestDigest: Digest;
  /** Signatures in the manifest after this one was added (including it). */
  readonly signatureCount: number;
  /** False when an identical signature was already attached. */
  readonly added: boolean;
}

interface LayerJson {
  mediaType: string;
  size: number;
  digest: string;
  annotations?: Record<string, string>;
}

export async function signImage(req: SignRequest): Promise<Result<SignResult, RegistryError>> {
  const repo = repositoryOf(req.ref);
  const options = req.signal ? { signal: req.signal } : {};
  let digest: Digest;
  if (req.ref.digest) {
    digest = req.ref.digest;
  } else {
    const resolved = await req.client.resolve(repo, req.ref.tag ?? 'latest', options);
    if (!resolved.ok) return resolved;
    digest = resolved.value.digest;
  }
  const payload = buildPayload({ dockerReference: repositoryName(repo), digest, annotations: { ...req.annotations } });
  const signature = signPayload(req.privateKey, payload);
  const payloadDigest = sha256Digest(payload);
  const tag = cosignSignatureTag(digest);

  const existing = await req.client.getManifest(repo, tag, options);
  let layers: LayerJson[] = [];
  if (existing.ok) {
    const raw = existing.value.json['layers'];
    if (Array.isArray(raw)) layers = raw.filter(isLayerJson);
  } else if (existing.error.code !== 'NOT_FOUND') {
    return existing;
  }

  // ECDSA signatures are randomised, so "already signed" means: a layer with this exact payload
  // whose signature verifies with our own public key.
  const duplicate = layers.some((l) => l.digest === payloadDigest && signedBy(l, payload, digest, req.privateKey));
  if (!duplicate) {
    layers.push({ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: payload.length, digest: payloadDigest, annotations: { [SIGNATURE_ANNOTATION]: signature } });
  }

  const pushedPayload = await req.client.pushBlob(repo, payload, options);
  if (!pushedPayload.ok) return pushedPayload;
  // Cosign writes a minimal image config listing the layers; registries validate that it exists.
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const pushedConfig = await req.client.pushBlob(repo, config, options);
  if (!pushedConfig.ok) return pushedConfig;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, size: config.length, digest: sha256Digest(config) },
      layers,
    }),
  );
  const pushed = await req.client.pushManifest(repo, tag, manifest, OCI_MANIFEST, options);
  if (!pushed.ok) return pushed;
  if (pushed.value !== sha256Digest(manifest)) {
    return err({ code: 'DIGEST_MISMATCH', message: `registry stored the signature manifest as ${pushed.value}, expected ${sha256Digest(manifest)}`, registry: repo.registry });
  }
  return ok({ digest, signatureTag: tag, payloadDigest, manifestDigest: pushed.value, signatureCount: layers.length, added: !duplicate });
}

function signedBy(layer: LayerJson, payload: Buffer, digest: Digest, privateKey: KeyObject): boolean {
  const own = parsePublicKey('self', publicKeyPemFor(privateKey));
  if (!own.ok) return false;
  const [check] = verifyCosignSignatures({
    imageDigest: digest,
    layers: [{ mediaType: layer.mediaType, digest: layer.digest as Digest, size: layer.size, annotations: layer.annotations ?? {}, payload }],
    keys: [own.value],
  });
  return check?.status === 'valid';
}

function isLayerJson(v: unknown): v is LayerJson {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return typeof l['mediaType'] === 'string' && typeof l['digest'] === 'string' && typeof l['size'] === 'number';
}
