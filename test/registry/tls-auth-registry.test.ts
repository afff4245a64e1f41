// The client against a real docker-registry serving HTTPS (test CA) with htpasswd basic auth:
// credentials from a .dockerconfigjson, refusal without or with wrong credentials, and TLS trust.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RepositoryRef } from '../../src/reference/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RegistryClientOptions } from '../../src/registry/types.js';
import { REGISTRY_BINARY, haveTools, startRegistry } from '../support/registry-server.js';
import type { RunningRegistry } from '../support/registry-server.js';
import { OCI_MANIFEST, buildOciLayout, pushImage, sha256 } from '../support/oci-image.js';
import type { OciLayout } from '../support/oci-image.js';

const enabled = haveTools(REGISTRY_BINARY, 'skopeo', 'openssl', 'perl');
const USER = { username: 'ci-robot', password: 'correct horse battery staple' };

function dockerConfig(auths: Record<string, Record<string, string>>): string {
  return JSON.stringify({ auths });
}

(enabled ? describe : describe.skip)('RegistryClient against docker-registry with TLS and basic auth', () => {
  let workDir: string;
  let registry: RunningRegistry;
  let image: OciLayout;
  let app: RepositoryRef;
  const clients: RegistryClient[] = [];

  function makeClient(options: RegistryClientOptions): RegistryClient {
    const made = new RegistryClient(options);
    clients.push(made);
    return made;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'signet-tls-registry-'));
    registry = await startRegistry({ tls: true, basicAuth: USER });
    app = { registry: registry.host, repository: 'secure/app' };
    image = await buildOciLayout(join(workDir, 'app'), { seed: 'secure-app' });
    await pushImage(image, registry, 'secure/app:v1');
  });

  afterAll(async () => {
    for (const made of clients) await made.close();
    await registry?.stop();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  test.each([
    ['auth field', (host: string) => dockerConfig({ [host]: { auth: Buffer.from(`${USER.username}:${USER.password}`).toString('base64') } })],
    ['username and password fields', (host: string) => dockerConfig({ [host]: { username: USER.username, password: USER.password } })],
    ['URL-style key', (host: string) => dockerConfig({ [`https://${host}/v1/`]: { auth: Buffer.from(`${USER.username}:${USER.password}`).toString('base64') } })],
  ])('credentials from a dockerconfigjson (%s) open the registry', async (_form, config) => {
    const client = makeClient({ hosts: { [registry.host]: { caBundle: registry.caCertPem! } }, dockerConfigJson: config(registry.host) });
    const resolved = await client.resolve(app, 'v1');
    expect(resolved).toEqual({ ok: true, value: { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBytes.length } });
    // The first request learns the Basic challenge (401, then a retry); later ones send the credentials at once.
    expect(client.stats().requests).toBe(2);
    const layer = image.layerDigests[0]!;
    const blob = await client.getBlob(app, { digest: layer, size: image.blobs.get(layer)!.length });
    expect(blob.ok && blob.value.equals(image.blobs.get(layer)!)).toBe(true);
    expect(client.stats().requests).toBe(3);
  });

  test('pushing works with the same credentials', async () => {
    const client = makeClient({ hosts: { [registry.host]: { caBundle: registry.caCertPem!, credentials: USER } } });
    const bytes = Buffer.from('{"pushed":"over tls"}');
    expect(await client.pushBlob(app, bytes)).toEqual({ ok: true, value: { mediaType: 'application/octet-stream', digest: sha256(bytes), size: bytes.length } });
    const read = await client.getBlob(app, { digest: sha256(bytes) });
    expect(read.ok && read.value.equals(bytes)).toBe(true);
  });

  test('without credentials the registry is UNAUTHORIZED, after a single request', async () => {
    const client = makeClient({ hosts: { [registry.host]: { caBundle: registry.caCertPem! } } });
    const result = await client.resolve(app, 'v1');
    expect(result).toEqual({
      ok: false,
      error: { code: 'UNAUTHORIZED', registry: registry.host, status: 401, message: `registry ${registry.host} could not authenticate for manifest secure/app:v1: it requires credentials and none are configured for ${registry.host}` },
    });
    expect(client.stats().requests).toBe(1);
  });

  test('wrong credentials are UNAUTHORIZED, tried once, and never quoted', async () => {
    const client = makeClient({ hosts: { [registry.host]: { caBundle: registry.caCertPem!, credentials: { username: USER.username, password: 'not-the-password' } } } });
    const result = await client.getManifest(app, 'v1');
    expect(result).toEqual({
      ok: false,
      error: { code: 'UNAUTHORIZED', registry: registry.host, status: 401, message: `registry ${registry.host} answered 401 for manifest secure/app:v1 (unauthorized; the configured credentials were refused; UNAUTHORIZED authentication required)` },
    });
    expect(client.stats().requests).toBe(2);
    expect(JSON.stringify(result)).not.toContain('not-the-password');
    expect(JSON.stringify(result)).not.toContain(USER.username);
  });

  test('an identity token cannot answer a Basic challenge', async () => {
    const client = makeClient({ hosts: { [registry.host]: { caBundle: registry.caCertPem!, credentials: { identityToken: 'opaque-refresh-token' } } } });
    const result = await client.resolve(app, 'v1');
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${registry.host} could not authenticate for manifest secure/app:v1: it requires Basic credentials and only an identity token is configured`);
  });

  test('without the test CA the certificate is not trusted: UNREACHABLE', async () => {
    const client = makeClient({ hosts: { [registry.host]: { credentials: USER } } });
    const result = await client.resolve(app, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('UNREACHABLE');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${registry.host} failed TLS verification for manifest secure/app:v1 (UNABLE_TO_VERIFY_LEAF_SIGNATURE); configure caBundle for a private CA`);
  });

  test('a CA configured for another registry is not trusted for this one', async () => {
    const client = makeClient({ hosts: { 'other.registry.example:5000': { caBundle: registry.caCertPem! } } });
    const result = await client.resolve(app, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('UNREACHABLE');
    expect(result.ok ? '' : result.error.message).toContain(`registry ${registry.host} failed TLS verification`);
  });
});
