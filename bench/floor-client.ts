// The cold-path floor: the least work any cosign key check of a tag reference can do against this
// registry. Three keep-alive GETs with undici (tag → manifest, `.sig` manifest, payload blob), the
// digest checks, one ECDSA verify with a key parsed once. No policy, no parsing beyond what the
// format forces, no error handling beyond failing loudly; the webhook's cold latency is compared with it.
import { createHash, verify, type KeyObject } from 'node:crypto';
import { Pool } from 'undici';

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const TIMEOUT_MS = 10_000;

export class FloorClient {
  readonly #pool: Pool;
  readonly #key: KeyObject;

  /** `origin` is the registry (here the logging proxy, the same path the webhook takes). */
  constructor(origin: string, publicKey: KeyObject) {
    this.#pool = new Pool(origin, { connections: 1, pipelining: 1, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    this.#key = publicKey;
  }

  /** Opens the keep-alive connection, so measurements never include a TCP connect. */
  async warm(): Promise<void> {
    await this.#get('/v2/', {});
  }

  /** The three round trips and the verify for `repository:tag`; throws unless the signature is valid. */
  async verifyTag(repository: string, tag: string): Promise<void> {
    const manifest = await this.#get(`/v2/${repository}/manifests/${tag}`, { accept: MANIFEST_ACCEPT });
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    const signatures = await this.#get(`/v2/${repository}/manifests/${digest.replace(':', '-')}.sig`, { accept: MANIFEST_ACCEPT });
    const layer = (JSON.parse(signatures.toString('utf8')) as { layers: { digest: string; annotations: Record<string, string> }[] }).layers[0];
    if (layer === undefined) throw new Error(`${repository}:${tag} has no signature layer`);
    const payload = await this.#get(`/v2/${repository}/blobs/${layer.digest}`, {});
    if (`sha256:${createHash('sha256').update(payload).digest('hex')}` !== layer.digest) throw new Error('payload does not match its digest');
    const signature = Buffer.from(layer.annotations[SIGNATURE_ANNOTATION] ?? '', 'base64');
    if (!verify('sha256', payload, this.#key, signature)) throw new Error(`signature of ${repository}:${tag} does not verify`);
    const claimed = (JSON.parse(payload.toString('utf8')) as { critical: { image: { 'docker-manifest-digest': string } } }).critical.image['docker-manifest-digest'];
    if (claimed !== digest) throw new Error(`signature of ${repository}:${tag} is for ${claimed}, not ${digest}`);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #get(path: string, headers: Record<string, string>): Promise<Buffer> {
    const response = await this.#pool.request({ method: 'GET', path, headers });
    const body = Buffer.from(await response.body.arrayBuffer());
    if (response.statusCode !== 200) throw new Error(`GET ${path} answered ${response.statusCode}`);
    return body;
  }
}
