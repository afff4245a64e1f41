// Verifies the layers of a cosign signature manifest (`sha256-<hex>.sig`) against trusted public
// keys. Pure: it receives the layer blobs already fetched and reports one SignatureCheck per layer;
// it never fetches and never decides admission (policy/ does, from these checks).
// Order matters for safety: blob integrity, then the signature over the exact blob bytes, and only
// then is the payload JSON parsed and its claims (digest, identity, annotations) believed.
import type { Digest } from '../../reference/types.js';
import type { TrustedKey } from '../../keys/types.js';
import type { SignatureCheck } from '../types.js';
import { decodeSignatureBase64, isPlausibleSignature, verifyWithKey } from './key-crypto.js';
import { normaliseRepository } from './identity.js';
import { quote } from '../../util/quote.js';
import { parsePayload } from './payload.js';
import { digestLike } from '../../reference/digest.js';
import { BUNDLE_ANNOTATION, verifyTlogEntry } from './tlog.js';
import { keyClaimedByTlog } from './claimed-key.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';

// A signature is at most a few hundred bytes (RSA-16384: 2 KiB); anything far larger is not one.
const MAX_SIGNATURE_BYTES = 8 * 1024;

export interface CosignSignatureLayer {
  mediaType: string;
  /** The layer descriptor's digest. */
  digest: Digest;
  size: number;
  annotations: Record<string, string>;
  /** The blob bytes. */
  payload: Buffer;
}

export interface CosignVerifyInput {
  /** The digest being admitted. */
  imageDigest: Digest;
  /** Normalised `registry/repository`, for the optional identity check. */
  imageRepository?: string;
  /**
   * 'ignore' (default, cosign's behaviour) or 'repository': the signed docker-reference must name the
   * same repository after normalisation (tag ignored; index.docker.io == docker.io; library/ prefix).
   */
  identityCheck?: 'ignore' | 'repository';
  layers: CosignSignatureLayer[];
  keys: TrustedKey[];
  /** optional.* values that must be present and equal. */
  requiredAnnotations?: Record<string, string>;
  rekorKeys?: TrustedKey[];
  /** When true the dev.sigstore.cosign/bundle SET must verify with a rekor key and its body must match. */
  requireTlog?: boolean;
}

/** One entry per layer, in layer order. */
export function verifyCosignSignatures(input: CosignVerifyInput): SignatureCheck[] {
  return input.layers.map((layer, index) => verifyLayer(input, layer, index + 1));
}

function invalid(
  reason: Extract<SignatureCheck, { status: 'invalid' }>['reason'],
  detail: string,
  signer?: string,
): SignatureCheck {
  return signer === undefined
    ? { status: 'invalid', system: 'cosign', reason, detail }
    : { status: 'invalid', system: 'cosign', reason, detail, signer };
}

function verifyLayer(input: CosignVerifyInput, layer: CosignSignatureLayer, position: number): SignatureCheck {
  const where = `signature layer ${position}`;
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
    return invalid('WRONG_TYPE', `${where} has media type ${quote(layer.mediaType)}, not a cosign simple-signing payload`);
  }

  const blobDigest = digestLike(layer.digest, layer.payload);
  if (blobDigest === undefined) return invalid('MALFORMED', `${where} has an unsupported digest ${quote(layer.digest)}`);
  if (blobDigest !== layer.digest || layer.payload.length !== layer.size) {
    return invalid(
      'PAYLOAD_MISMATCH',
      `${where} payload is ${layer.payload.length} bytes with digest ${blobDigest}, but the manifest lists ${layer.size} bytes with digest ${layer.digest}`,
    );
  }

  const signatureText = layer.annotations[SIGNATURE_ANNOTATION];
  if (signatureText === undefined) return invalid('MALFORMED', `${where} has no ${SIGNATURE_ANNOTATION} annotation`);
  const signature = decodeSignatureBase64(signatureText);
  if (signature === undefined || signature.length === 0) {
    return invalid('MALFORMED', `${where} ${SIGNATURE_ANNOTATION} annotation is not standard base64`);
  }
  if (signature.length > MAX_SIGNATURE_BYTES) {
    return invalid('MALFORMED', `${where} signature is ${signature.length} bytes, too large to be a signature`);
  }

  const signer = input.keys.find((key) => verifyWithKey(key, layer.payload, signature));
  if (signer === undefined) return unverified(input.keys, layer, signature);

  if (input.requireTlog === true) {
    const tlog = verifyTlogEntry({
      bundleText: layer.annotations[BUNDLE_ANNOTATION],
      payload: layer.payload,
      signature,
      signer,
      rekorKeys: input.rekorKeys ?? [],
    });
    if (!tlog.ok) return invalid(tlog.error.reason, tlog.error.detail, signer.name);
  }

  const payload = parsePayload(layer.payload);
  if (!payload.ok) return invalid(payload.error.reason, payload.error.detail, signer.name);
  const claims = payload.value;

  if (claims.dockerManifestDigest !== input.imageDigest) {
    return invalid(
      'DIGEST_MISMATCH',
      `signature is for ${claims.dockerManifestDigest} but the image is ${input.imageDigest}`,
      signer.name,
    );
  }

  if ((input.identityCheck ?? 'ignore') === 'repository') {
    const problem = identityProblem(claims.dockerReference, input.imageRepository);
    if (problem !== undefined) return invalid('IDENTITY_MISMATCH', problem, signer.name);
  }

  const annotations = stringAnnotations(claims.optional);
  for (const [name, wanted] of Object.entries(input.requiredAnnotations ?? {})) {
    const found = claims.optional === null || !Object.hasOwn(claims.optional, name) ? undefined : claims.optional[name];
    if (found === undefined) {
      return invalid(
        'MISSING_ANNOTATION',
        `signature lacks the required annotation ${name}=${quote(wanted)}`,
        signer.name,
      );
    }
    if (found !== wanted) {
      return invalid(
        'MISSING_ANNOTATION',
        `signature annotation ${name} is ${quote(found)} but the policy requires ${quote(wanted)}`,
        signer.name,
      );
    }
  }

  return { status: 'valid', system: 'cosign', signer: signer.name, digest: input.imageDigest, annotations };
}

/** Why no trusted key verified: garbage, a keyless certificate we do not evaluate, or another signer. */
function unverified(keys: readonly TrustedKey[], layer: CosignSignatureLayer, signature: Buffer): SignatureCheck {
  const tried = keys.length === 0 ? 'none; no trusted keys were given' : keys.map((key) => key.name).join(', ');
  if (!isPlausibleSignature(signature)) {
    return invalid('BAD_SIGNATURE', `signature is not a well-formed ECDSA (DER), RSA or Ed25519 signature (tried: ${tried})`);
  }
  const claimed = keyClaimedByTlog(layer.annotations[BUNDLE_ANNOTATION], keys);
  if (claimed !== undefined) {
    return invalid(
      'BAD_SIGNATURE',
      `signature does not verify with trusted key ${claimed.name}, the key its transparency-log entry names: the signature or its payload was most likely altered after signing`,
    );
  }
  if (layer.annotations[CERTIFICATE_ANNOTATION] !== undefined) {
    return invalid(
      'UNTRUSTED_SIGNER',
      `signed with a certificate (keyless or PKI), which key-based trust does not check, and not by a trusted key (tried: ${tried})`,
    );
  }
  return invalid('UNTRUSTED_SIGNER', `signed, but not by a trusted key (tried: ${tried}); made with another key, or altered after signing`);
}

function identityProblem(signedReference: string, imageRepository: string | undefined): string | undefined {
  if (imageRepository === undefined) return 'identity check requested, but the image repository was not given';
  const image = normaliseRepository(imageRepository);
  if (!image.ok) return `identity check requested, but the image repository ${quote(imageRepository)} is not valid: ${image.error}`;
  const signed = normaliseRepository(signedReference);
  if (!signed.ok) {
    return `signature names the image ${quote(signedReference)}, which is not a valid reference (${signed.error})`;
  }
  if (signed.value !== image.value) {
    return `signature is for repository ${signed.value} but the image is from ${image.value}`;
  }
  return undefined;
}

/** The string-valued optional fields; other JSON types (e.g. containers/image's numeric timestamp) are left out. */
function stringAnnotations(optional: Record<string, unknown> | null): Record<string, string> {
  if (optional === null) return {};
  return Object.fromEntries(
    Object.entries(optional).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
