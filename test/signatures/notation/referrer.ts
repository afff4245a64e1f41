// Attaches a Notation envelope made by a test (JWS or COSE bytes) to an image in the real registry,
// as `notation sign` stores it: an OCI 1.1 manifest with artifactType application/vnd.cncf.notary.signature,
// the empty config, the envelope as its only layer, the image as subject, listed in the
// `sha256-<hex>` referrers index tag (docker-registry 2.8 has no referrers API).
import type { RegistryClient } from '../../../src/registry/client.js';
import type { Digest } from '../../../src/reference/types.js';
import { addReferrer, NOTATION_ARTIFACT_TYPE, type PushedImage } from '../../support/signers.js';
import { OCI_MANIFEST, sha256 } from '../../support/oci-image.js';

const EMPTY_CONFIG = Buffer.from('{}');

async function must<T>(what: string, result: Promise<{ ok: true; value: T } | { ok: false; error: { message: string } }>): Promise<T> {
  const settled = await result;
  if (!settled.ok) throw new Error(`${what}: ${settled.error.message}`);
  return settled.value;
}

/** Returns the signature manifest's digest (what messages name as "signature sha256:…"). */
export async function attachNotationEnvelope(client: RegistryClient, image: PushedImage, envelope: Buffer, mediaType = 'application/jose+json'): Promise<Digest> {
  const layer = await must('pushing the envelope', client.pushBlob(image.repo, envelope));
  await must('pushing the empty config', client.pushBlob(image.repo, EMPTY_CONFIG));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: NOTATION_ARTIFACT_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY_CONFIG), size: EMPTY_CONFIG.length },
      layers: [{ mediaType, digest: layer.digest, size: envelope.length }],
      subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
      annotations: { 'org.opencontainers.image.created': new Date().toISOString() },
    }),
  );
  const digest = await must('pushing the signature manifest', client.pushManifest(image.repo, sha256(manifest), manifest, OCI_MANIFEST));
  await addReferrer(client, image, { mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType: NOTATION_ARTIFACT_TYPE });
  return digest;
}
