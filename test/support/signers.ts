// Puts signatures of every non-DCT system onto images in a real registry, the way the signing tools
// store them, so end-to-end tests can verify through the product path. It only writes: the
// envelopes, bundles and certificates come from the systems' own test builders
// (test/signatures/notation/pki.ts, test/signatures/sigstore/fake-sigstore.ts); classic cosign key
// signatures (`.sig`) come from `signet sign`. DCT signing needs the real notary CLI (support/notary-server.ts).
//
//   const image = await pushTestImage(registry, dir, 'team/app:v1');
//   await notationSign(client, image, pki);                           // like `notation sign`
//   await keyBundleSign(client, image, privateKey, 'release');        // like cosign v3 `sign --key`
//   await keylessSign(client, image, sigstore, leaf, 'bundle');       // like cosign v3 keyless
//   await keylessSign(client, image, sigstore, leaf, 'sig');          // like cosign v2 keyless (`.sig` tag)
//
// The registry (docker-registry 2.8) has no referrers API, so referrers are also listed in the
// `sha256-<hex>` index tag, as Notation and cosign maintain it on such registries.
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { referrersTagFor } from '../../src/reference/digest.js';
import type { RegistryClient } from '../../src/registry/client.js';
import { parseReference, repositoryName, repositoryOf } from '../../src/reference/parse.js';
import type { Digest, RepositoryRef } from '../../src/reference/types.js';
import { buildPayload } from '../../src/signatures/cosign/payload.js';
import { cosignSignatureTag } from '../../src/discovery/cosign.js';
import { signEnvelope, type Pki } from '../signatures/notation/pki.js';
import {
  cosignStatement,
  dsseBundle,
  keylessLayerAnnotations,
  makeCa,
  makeLeaf,
  makeRekor,
  trustedRootJson,
  type FakeCertificate,
  type FakeRekor,
} from '../signatures/sigstore/fake-sigstore.js';
import { buildOciLayout, pushImage, sha256, OCI_INDEX, OCI_MANIFEST, type OciLayout } from './oci-image.js';
import type { RunningRegistry } from './registry-server.js';

export const NOTATION_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
export const SIGSTORE_BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY_CONFIG_TYPE = 'application/vnd.oci.empty.v1+json';
const EMPTY_CONFIG = Buffer.from('{}');
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** An image pushed to the test registry, with what a signer needs to name it. */
export interface PushedImage {
  /** `host/repository:tag`, as a pod (or `signet verify`) would name it. */
  readonly reference: string;
  readonly repo: RepositoryRef;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  readonly layout: OciLayout;
}

/** Builds a one-layer image from `seed` (default: the repository and tag) and pushes it with skopeo. */
export async function pushTestImage(registry: RunningRegistry, dir: string, repoAndTag: string, seed = repoAndTag): Promise<PushedImage> {
  const layout = await buildOciLayout(join(dir, `layout-${seed.replace(/[^a-z0-9]+/gi, '-')}`), { seed });
  const digest = await pushImage(layout, registry, repoAndTag);
  const reference = `${registry.host}/${repoAndTag}`;
  const parsed = parseReference(reference);
  if (!parsed.ok) throw new Error(`test image reference ${reference}: ${parsed.error.message}`);
  return { reference, repo: repositoryOf(parsed.value), digest, mediaType: layout.mediaType, size: layout.manifestBytes.length, layout };
}

async function must<T>(what: string, result: Promise<{ ok: true; value: T } | { ok: false; error: { message: string } }>): Promise<T> {
  const settled = await result;
  if (!settled.ok) throw new Error(`${what}: ${settled.error.message}`);
  return settled.value;
}

/** Appends `descriptor` to the image's `sha256-<hex>` referrers index, creating it if needed. */
export async function addReferrer(client: RegistryClient, image: PushedImage, descriptor: Record<string, unknown>): Promise<void> {
  const tag = referrersTagFor(image.digest);
  const existing = await client.getManifest(image.repo, tag);
  if (!existing.ok && existing.error.code !== 'NOT_FOUND') throw new Error(`reading referrers index ${tag}: ${existing.error.message}`);
  const manifests = existing.ok && Array.isArray(existing.value.json['manifests']) ? (existing.value.json['manifests'] as unknown[]) : [];
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...manifests, descriptor] }));
  await must(`pushing referrers index ${tag}`, client.pushManifest(image.repo, tag, index, OCI_INDEX));
}

/**
 * Stores `blob` as an OCI 1.1 referrer of the image: a manifest with `artifactType`, an empty
 * config, the blob as its only layer and the image as `subject`. Returns the manifest digest.
 */
async function attachReferrer(
  client: RegistryClient,
  image: PushedImage,
  artifactType: string,
  layerMediaType: string,
  blob: Buffer,
  annotations: Record<string, string>,
): Promise<Digest> {
  const layer = await must('pushing the referrer blob', client.pushBlob(image.repo, blob));
  await must('pushing the empty config', client.pushBlob(image.repo, EMPTY_CONFIG));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: EMPTY_CONFIG_TYPE, digest: sha256(EMPTY_CONFIG), size: EMPTY_CONFIG.length },
      layers: [{ mediaType: layerMediaType, digest: layer.digest, size: blob.length }],
      subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
      annotations,
    }),
  );
  const digest = await must('pushing the referrer manifest', client.pushManifest(image.repo, sha256(manifest), manifest, OCI_MANIFEST));
  await addReferrer(client, image, { mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType, annotations });
  return digest;
}

/** Signs the image's descriptor with the PKI's leaf and stores the JWS as `notation sign` does. */
export async function notationSign(client: RegistryClient, image: PushedImage, pki: Pki): Promise<Digest> {
  const envelope = await signEnvelope({ signer: pki.leaf, chain: pki.chain, target: { mediaType: image.mediaType, digest: image.digest, size: image.size } });
  return attachReferrer(client, image, NOTATION_ARTIFACT_TYPE, 'application/jose+json', envelope, {
    'org.opencontainers.image.created': new Date().toISOString(),
  });
}

/** Stores a Sigstore bundle as the referrer cosign v3 attaches. */
export function attachSigstoreBundle(client: RegistryClient, image: PushedImage, bundle: Buffer): Promise<Digest> {
  return attachReferrer(client, image, SIGSTORE_BUNDLE_TYPE, SIGSTORE_BUNDLE_TYPE, bundle, {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
  });
}

/** cosign v3 `sign --key`: a DSSE bundle over the cosign statement for this digest, signed with the key. */
export function keyBundleSign(client: RegistryClient, image: PushedImage, privateKey: KeyObject, hint: string): Promise<Digest> {
  const statement = cosignStatement(image.digest, { name: repositoryName(image.repo) });
  return attachSigstoreBundle(client, image, dsseBundle({ statement, signingKey: privateKey, publicKeyHint: hint }));
}

/**
 * Adds one layer to the image's cosign `sha256-<hex>.sig` manifest, keeping the layers already
 * there (cosign appends; `signet sign` does too), so key and keyless signatures can share the tag.
 */
export async function appendSigLayer(client: RegistryClient, image: PushedImage, payload: Buffer, annotations: Record<string, string>): Promise<void> {
  const tag = cosignSignatureTag(image.digest);
  const existing = await client.getManifest(image.repo, tag);
  if (!existing.ok && existing.error.code !== 'NOT_FOUND') throw new Error(`reading ${tag}: ${existing.error.message}`);
  const layers: { readonly digest: string }[] = existing.ok && Array.isArray(existing.value.json['layers']) ? [...(existing.value.json['layers'] as { digest: string }[])] : [];
  const pushedPayload = await must('pushing the signed payload', client.pushBlob(image.repo, payload));
  const layer = { mediaType: SIMPLE_SIGNING, digest: pushedPayload.digest, size: payload.length, annotations };
  layers.push(layer);
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) } }));
  const pushedConfig = await must('pushing the signature config', client.pushBlob(image.repo, config));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: pushedConfig.digest, size: config.length },
      layers,
    }),
  );
  await must(`pushing ${tag}`, client.pushManifest(image.repo, tag, manifest, OCI_MANIFEST));
}

/** A private Sigstore: a Fulcio-like root and intermediate, a Rekor log key, and its TrustedRoot JSON. */
export interface TestSigstore {
  readonly root: FakeCertificate;
  readonly intermediate: FakeCertificate;
  readonly rekor: FakeRekor;
  /** `trusted_root.json` for this instance: what a `keyless` policy entry's trustedRoot.file holds. */
  readonly trustedRootJson: string;
  /** A ten-minute-style signing certificate for an OIDC identity, as Fulcio would issue it. */
  issue(identity: { readonly issuer: string; readonly subject: string }): Promise<FakeCertificate>;
}

export async function makeTestSigstore(name = 'signet test'): Promise<TestSigstore> {
  const root = await makeCa(`O=${name}, CN=${name} fulcio root`);
  const intermediate = await makeCa(`O=${name}, CN=${name} fulcio intermediate`, root);
  const rekor = makeRekor();
  return {
    root,
    intermediate,
    rekor,
    trustedRootJson: trustedRootJson({ chain: [intermediate, root], rekor }),
    issue: (identity) => makeLeaf(intermediate, { uri: identity.subject, oidcIssuer: identity.issuer }),
  };
}

/**
 * Keyless signing with `leaf`, logged in the instance's Rekor: `form: 'bundle'` attaches a Sigstore
 * bundle referrer (cosign v3); `form: 'sig'` appends a `.sig` layer with certificate, chain and
 * Rekor bundle annotations (cosign v2).
 */
export async function keylessSign(client: RegistryClient, image: PushedImage, sigstore: TestSigstore, leaf: FakeCertificate, form: 'bundle' | 'sig'): Promise<void> {
  if (form === 'bundle') {
    const statement = cosignStatement(image.digest, { name: repositoryName(image.repo) });
    await attachSigstoreBundle(client, image, dsseBundle({ statement, signingKey: leaf.privateKey, certificate: leaf, rekor: sigstore.rekor }));
    return;
  }
  const payload = buildPayload({ dockerReference: repositoryName(image.repo), digest: image.digest });
  await appendSigLayer(client, image, payload, keylessLayerAnnotations({ payload, leaf, chain: [sigstore.intermediate], rekor: sigstore.rekor }));
}
