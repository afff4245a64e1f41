// Fills the benchmark registry with signed images quickly: manifests and blobs pushed with the
// project's RegistryClient and signed with signImage (the `signet sign` code path), because a skopeo
// process per image would dominate the run for a thousand images. A few images go through skopeo
// (pushImage), so the set also holds what a real tool writes.
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryClient } from '../src/registry/client.js';
import { parseReference, repositoryOf, sha256Digest } from '../src/reference/parse.js';
import type { Digest } from '../src/reference/types.js';
import { signImage } from '../src/signing/sign.js';
import { buildOciLayout, pushImage, tinyTar, OCI_CONFIG, OCI_LAYER_TAR, OCI_MANIFEST } from '../test/support/oci-image.js';
import type { RunningRegistry } from '../test/support/registry-server.js';

export interface SignedImage {
  /** `HOST/REPO:TAG`, what a pod spec names. */
  readonly reference: string;
  readonly digest: Digest;
}

export class ImageFactory {
  readonly #client: RegistryClient;
  readonly #host: string;
  readonly #key: KeyObject;
  /** One layer and config per repository, pushed once (every image in it differs by its manifest). */
  readonly #bases = new Map<string, Promise<{ layer: Buffer; config: Buffer }>>();

  /** `host` is the registry name the webhook will see (the proxy's host:port). */
  constructor(client: RegistryClient, host: string, privateKey: KeyObject) {
    this.#client = client;
    this.#host = host;
    this.#key = privateKey;
  }

  /** Pushes a distinct image as `repository:tag` (its manifest carries `seed`) and attaches a cosign signature. */
  async pushSigned(repository: string, tag: string, seed: string): Promise<SignedImage> {
    const repo = this.#repo(`${repository}:${tag}`);
    const base = await this.#base(repository);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: sha256Digest(base.config), size: base.config.length },
        layers: [{ mediaType: OCI_LAYER_TAR, digest: sha256Digest(base.layer), size: base.layer.length }],
        annotations: { 'dev.signet.bench.seed': seed },
      }),
    );
    const pushed = await this.#client.pushManifest(repo, tag, manifest, OCI_MANIFEST);
    if (!pushed.ok) throw new Error(`pushing ${repository}:${tag}: ${pushed.error.message}`);
    await this.#sign(repository, pushed.value);
    return { reference: `${this.#host}/${repository}:${tag}`, digest: pushed.value };
  }

  /** Pushes an image with skopeo (`skopeo copy` from an OCI layout) and signs it. */
  async pushSignedWithSkopeo(registry: RunningRegistry, repository: string, tag: string, seed: string): Promise<SignedImage> {
    const dir = await mkdtemp(join(tmpdir(), 'signet-bench-layout-'));
    try {
      const layout = await buildOciLayout(dir, { seed });
      const digest = await pushImage(layout, registry, `${repository}:${tag}`);
      await this.#sign(repository, digest);
      return { reference: `${this.#host}/${repository}:${tag}`, digest };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #sign(repository: string, digest: Digest): Promise<void> {
    const ref = parseReference(`${this.#host}/${repository}@${digest}`);
    if (!ref.ok) throw new Error(`bad reference for ${repository}: ${ref.error.message}`);
    const signed = await signImage({ client: this.#client, ref: ref.value, privateKey: this.#key, annotations: {} });
    if (!signed.ok) throw new Error(`signing ${repository}@${digest}: ${signed.error.message}`);
  }

  #repo(nameAndTag: string) {
    const ref = parseReference(`${this.#host}/${nameAndTag}`);
    if (!ref.ok) throw new Error(`bad reference ${nameAndTag}: ${ref.error.message}`);
    return repositoryOf(ref.value);
  }

  #base(repository: string): Promise<{ layer: Buffer; config: Buffer }> {
    let base = this.#bases.get(repository);
    if (base === undefined) {
      base = (async () => {
        const repo = this.#repo(repository);
        const layer = tinyTar('app.txt', Buffer.from(`benchmark image for ${repository}\n`, 'utf8'));
        const config = Buffer.from(
          JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { 'dev.signet.bench.repository': repository } }, rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }),
        );
        for (const blob of [layer, config]) {
          const pushed = await this.#client.pushBlob(repo, blob);
          if (!pushed.ok) throw new Error(`pushing a blob to ${repository}: ${pushed.error.message}`);
        }
        return { layer, config };
      })();
      this.#bases.set(repository, base);
    }
    return base;
  }
}

/** Runs `work` over `items` with at most `limit` in flight; results in input order. */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
