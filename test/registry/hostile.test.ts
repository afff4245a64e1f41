// The client against a registry that misbehaves on purpose (test/support/hostile-registry.ts):
// behaviour a real registry never shows, so no real one can be used for these.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Digest, RepositoryRef } from '../../src/reference/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { hostileRegistryPerTest, startHostileRegistry } from '../support/hostile-registry.js';
import type { HostileRegistry } from '../support/hostile-registry.js';
import { freePort } from '../support/free-port.js';
import { haveTools } from '../support/registry-server.js';
import { makeCertificates } from '../support/tls.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const MIB = 1024 * 1024;

function sha256(bytes: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 },
    layers: [],
  }),
);
const manifestDigest = sha256(manifest);
const blob = Buffer.from('{"critical":{"type":"cosign container image signature"}}');
const blobDigest = sha256(blob);

const MANIFEST_PATH = '/v2/demo/app/manifests/v1';
const BLOB_PATH = `/v2/demo/app/blobs/${blobDigest}`;

function serveManifest(hostile: HostileRegistry, path = MANIFEST_PATH, headers: Record<string, string> = {}): void {
  hostile.on('GET', path, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': manifestDigest, ...headers }, body: manifest });
}

let hostile: HostileRegistry;
let client: RegistryClient;
let repo: RepositoryRef;
const { useClient } = hostileRegistryPerTest((setup) => ({ hostile, client, repo } = setup));
const extraServers: HostileRegistry[] = [];

afterEach(async () => {
  for (const server of extraServers.splice(0)) await server.close();
});

async function extraServer(): Promise<HostileRegistry> {
  const server = await startHostileRegistry();
  extraServers.push(server);
  return server;
}

describe('deadlines', () => {
  test('a registry that never answers gives TIMEOUT within the per-request deadline', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'stall' });
    await useClient({ requestTimeoutMs: 300 });
    const started = performance.now();
    const result = await client.getManifest(repo, 'v1');
    const elapsed = performance.now() - started;
    expect(result).toEqual({ ok: false, error: { code: 'TIMEOUT', registry: hostile.host, message: `registry ${hostile.host} did not answer manifest demo/app:v1 within 300 ms` } });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300 + 700);
  });

  test('headers followed by a stalled body give TIMEOUT, not a hang', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'stall-body', declaredLength: blob.length, firstBytes: blob.subarray(0, 10) });
    await useClient({ requestTimeoutMs: 300 });
    const started = performance.now();
    const result = await client.getBlob(repo, { digest: blobDigest });
    expect(performance.now() - started).toBeLessThan(300 + 700);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('TIMEOUT');
    expect(result.error.message).toBe(`registry ${hostile.host} did not answer blob demo/app@${blobDigest} within 300 ms`);
  });

  test("the caller's signal cuts a request short of the client's own timeout", async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'stall' });
    const started = performance.now();
    const result = await client.getManifest(repo, 'v1', { signal: AbortSignal.timeout(150) });
    expect(performance.now() - started).toBeLessThan(150 + 600);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('TIMEOUT');
    expect(result.error.message).toBe(`registry ${hostile.host} request for manifest demo/app:v1 was cancelled: the caller's deadline passed`);
  });

  test('an already-aborted caller signal sends nothing', async () => {
    const result = await client.getManifest(repo, 'v1', { signal: AbortSignal.abort() });
    expect(result.ok ? undefined : result.error.code).toBe('TIMEOUT');
    expect(hostile.requests).toHaveLength(0);
  });
});

describe('size caps', () => {
  test('a Content-Length over the cap is refused before the body is read', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'endless', declaredLength: 1024 * MIB });
    const result = await client.getBlob(repo, { digest: blobDigest });
    expect(result).toEqual({
      ok: false,
      error: { code: 'TOO_LARGE', registry: hostile.host, status: 200, message: `registry ${hostile.host} announced ${1024 * MIB} bytes for blob demo/app@${blobDigest}, over the ${MIB}-byte limit; not read` },
    });
    // Only what loopback socket buffers absorbed before the client hung up, far from the gigabyte offered.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hostile.endlessBytesSent).toBeLessThan(64 * MIB);
  });

  test('an endless chunked body is cut off just past the cap', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'endless' });
    const result = await client.getBlob(repo, { digest: blobDigest }, { maxBytes: 256 * 1024 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('TOO_LARGE');
    expect(result.error.message).toBe(`registry ${hostile.host} sent more than the 262144-byte limit for blob demo/app@${blobDigest}; stopped reading`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hostile.endlessBytesSent).toBeLessThan(64 * MIB);
  });

  test('a manifest over maxManifestBytes is TOO_LARGE', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'endless', headers: { 'content-type': OCI_MANIFEST } });
    await useClient({ maxManifestBytes: 64 * 1024 });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('TOO_LARGE');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} sent more than the 65536-byte limit for manifest demo/app:v1; stopped reading`);
  });

  test('a descriptor size over the cap is refused without a request', async () => {
    const result = await client.getBlob(repo, { digest: blobDigest, size: 2 * MIB });
    expect(result.ok ? undefined : result.error.code).toBe('TOO_LARGE');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} not asked for blob demo/app@${blobDigest}: its descriptor says ${2 * MIB} bytes, over the ${MIB}-byte limit`);
    expect(hostile.requests).toHaveLength(0);
  });

  test('a Content-Length that lies (body ends early) is BAD_CONTENT', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'truncated', declaredLength: blob.length + 100, body: blob });
    const result = await client.getBlob(repo, { digest: blobDigest });
    expect(result.ok ? undefined : result.error.code).toBe('BAD_CONTENT');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} closed the connection after ${blob.length} of ${blob.length + 100} announced bytes for blob demo/app@${blobDigest}`);
  });

  test('a Content-Length that disagrees with the descriptor size is DIGEST_MISMATCH before reading', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'respond', body: blob });
    const result = await client.getBlob(repo, { digest: blobDigest, size: blob.length - 1 });
    expect(result.ok ? undefined : result.error.code).toBe('DIGEST_MISMATCH');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} announced ${blob.length} bytes for blob demo/app@${blobDigest} but its descriptor says ${blob.length - 1}`);
  });
});

describe('digests', () => {
  test('a Docker-Content-Digest header that disagrees with the body is DIGEST_MISMATCH', async () => {
    const lie = sha256('something else');
    serveManifest(hostile, MANIFEST_PATH, { 'docker-content-digest': lie });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('DIGEST_MISMATCH');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} sent Docker-Content-Digest ${lie} for manifest demo/app:v1, which does not match the content`);
  });

  test('by tag, the digest is computed from the body (header absent)', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok && result.value.digest).toBe(manifestDigest);
    expect(result.ok && result.value.bytes.equals(manifest)).toBe(true);
  });

  test('a manifest fetched by digest whose body hashes differently is DIGEST_MISMATCH', async () => {
    const asked = sha256('the manifest we wanted');
    serveManifest(hostile, `/v2/demo/app/manifests/${asked}`, { 'docker-content-digest': asked });
    const result = await client.getManifest(repo, asked);
    expect(result.ok ? undefined : result.error.code).toBe('DIGEST_MISMATCH');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} sent content for manifest demo/app@${asked} that hashes to ${manifestDigest}`);
  });

  test('a blob whose body does not hash to the requested digest is DIGEST_MISMATCH', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'respond', body: Buffer.from('{"critical":{"type":"cosign container image signaturE"}}') });
    const result = await client.getBlob(repo, { digest: blobDigest, size: blob.length });
    expect(result.ok ? undefined : result.error.code).toBe('DIGEST_MISMATCH');
    expect(result.ok ? '' : result.error.message).toMatch(new RegExp(`^registry ${hostile.host} sent content for blob demo/app@${blobDigest} that hashes to sha256:[0-9a-f]{64}$`));
  });
});

describe('manifest media types', () => {
  test('schema1 by Content-Type is UNSUPPORTED', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': SCHEMA1 }, body: '{"schemaVersion":1,"name":"demo/app","tag":"v1"}' });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('UNSUPPORTED');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} served manifest demo/app:v1 as a Docker schema1 manifest, which is deprecated and not supported`);
  });

  test('a schema1 body under a v2 Content-Type is UNSUPPORTED', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }, body: '{"schemaVersion":1,"name":"demo/app"}' });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('UNSUPPORTED');
  });

  test('a body mediaType that differs from Content-Type is BAD_CONTENT', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': `${OCI_INDEX}; charset=utf-8` }, body: manifest });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('BAD_CONTENT');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} served an invalid manifest demo/app:v1: body mediaType "${OCI_MANIFEST}" differs from Content-Type ${OCI_INDEX}`);
  });

  test('Content-Type parameters are ignored', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': `${OCI_MANIFEST}; charset=utf-8` }, body: manifest });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok && result.value.mediaType).toBe(OCI_MANIFEST);
  });

  test('a non-manifest Content-Type is BAD_CONTENT', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': 'text/html' }, body: '<html></html>' });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('BAD_CONTENT');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${hostile.host} served manifest demo/app:v1 with Content-Type text/html, which is not an OCI or Docker v2 manifest type`);
  });

  test('a body that is not JSON is BAD_CONTENT', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: 'not json' });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} served an invalid manifest demo/app:v1: body is not JSON`);
  });
});

describe('tag resolution', () => {
  test('HEAD mode reads digest, size and type from the headers', async () => {
    hostile.on('HEAD', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': manifestDigest }, body: manifest });
    await useClient({}, { resolveWith: 'HEAD' });
    const result = await client.resolve(repo, 'v1');
    expect(result).toEqual({ ok: true, value: { mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length } });
    expect(client.stats()).toEqual({ requests: 1, byKind: { 'manifest-head': 1 } });
  });

  test('HEAD mode falls back to GET and hashes the body when Docker-Content-Digest is missing', async () => {
    hostile.on('HEAD', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
    await useClient({}, { resolveWith: 'HEAD' });
    const result = await client.resolve(repo, 'v1');
    expect(result).toEqual({ ok: true, value: { mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length } });
    expect(client.stats().byKind).toEqual({ 'manifest-head': 1, manifest: 1 });
  });

  test('HEAD mode refuses a malformed Docker-Content-Digest', async () => {
    hostile.on('HEAD', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': 'sha256:ABC' }, body: manifest });
    await useClient({}, { resolveWith: 'HEAD' });
    const result = await client.resolve(repo, 'v1');
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} sent a malformed Docker-Content-Digest for manifest demo/app:v1`);
  });

  test('GET resolution of a schema1 tag is UNSUPPORTED', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': SCHEMA1 }, body: '{"schemaVersion":1}' });
    const result = await client.resolve(repo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('UNSUPPORTED');
  });
});

describe('connections', () => {
  test('sequential GETs reuse a keep-alive connection', async () => {
    serveManifest(hostile);
    const connectionsAfter: number[] = [];
    for (let i = 0; i < 20; i++) {
      const result = await client.resolve(repo, 'v1');
      expect(result.ok).toBe(true);
      connectionsAfter.push(hostile.connections);
    }
    expect(hostile.requests).toHaveLength(20);
    // undici's pool may open one extra connection while its first one is still settling in (the request
    // right after a pool's very first response); from then on every request reuses an open connection.
    expect(hostile.connections).toBeLessThanOrEqual(2);
    expect(connectionsAfter.slice(2).every((count) => count === connectionsAfter[1])).toBe(true);
  });

  test('undici opens a new connection for every HEAD (why GET is the default)', async () => {
    hostile.on('HEAD', MANIFEST_PATH, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST, 'docker-content-digest': manifestDigest }, body: manifest });
    await useClient({}, { resolveWith: 'HEAD' });
    for (let i = 0; i < 3; i++) expect((await client.resolve(repo, 'v1')).ok).toBe(true);
    expect(hostile.connections).toBe(3);
  });

  test('a closed port is UNREACHABLE, quickly', async () => {
    const port = await freePort();
    const closed: RepositoryRef = { registry: `127.0.0.1:${port}`, repository: 'demo/app' };
    const local = new RegistryClient({ hosts: { [closed.registry]: { insecureHttp: true } } });
    const started = performance.now();
    const result = await local.getManifest(closed, 'v1');
    await local.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result).toEqual({ ok: false, error: { code: 'UNREACHABLE', registry: closed.registry, message: `registry ${closed.registry} refused the connection for manifest demo/app:v1 (ECONNREFUSED)` } });
  });

  test('plain http is never used for a registry not configured insecureHttp', async () => {
    serveManifest(hostile);
    const strict = new RegistryClient({ requestTimeoutMs: 2000 });
    const result = await strict.getManifest(repo, 'v1');
    await strict.close();
    // The client spoke TLS to a plain-http port; the handshake fails and nothing is fetched.
    expect(result.ok ? undefined : result.error.code).toBe('UNREACHABLE');
    expect(result.ok ? '' : result.error.message).toMatch(new RegExp(`^registry ${hostile.host} (failed TLS verification|connection failed) for manifest demo/app:v1`));
    expect(hostile.requests).toHaveLength(0);
  });
});

describe('redirects', () => {
  test('a redirect loop stops at maxRedirects with TOO_MANY_REDIRECTS', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'redirect', location: BLOB_PATH });
    const result = await client.getBlob(repo, { digest: blobDigest });
    expect(result).toEqual({
      ok: false,
      error: { code: 'TOO_MANY_REDIRECTS', registry: hostile.host, status: 307, message: `registry ${hostile.host} redirected blob demo/app@${blobDigest} more than 3 times (last hop ${hostile.host})` },
    });
    expect(hostile.requests).toHaveLength(4);
  });

  test('a redirect to another origin does not carry the Authorization header; same-origin hops do', async () => {
    const storage = await extraServer();
    hostile.requireBearer({ token: 'registry-token' });
    hostile.on('GET', BLOB_PATH, { kind: 'redirect', location: '/v2/demo/app/blobs/same-origin-hop' });
    hostile.on('GET', '/v2/demo/app/blobs/same-origin-hop', { kind: 'redirect', location: `${storage.origin}/bucket/blob?signature=abc` });
    storage.on('GET', '/bucket/blob', { kind: 'respond', body: blob });
    const result = await client.getBlob(repo, { digest: blobDigest, size: blob.length });
    expect(result.ok && result.value.equals(blob)).toBe(true);
    const hops = hostile.requests.filter((r) => r.path.startsWith('/v2/demo/app/blobs/') && r.headers.authorization !== undefined);
    expect(hops.map((r) => [r.path, r.headers.authorization])).toEqual([
      [BLOB_PATH, 'Bearer registry-token'],
      ['/v2/demo/app/blobs/same-origin-hop', 'Bearer registry-token'],
    ]);
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]?.path).toBe('/bucket/blob?signature=abc');
    expect(storage.requests[0]?.headers.authorization).toBeUndefined();
  });

  test('a redirect without Location is SERVER_ERROR', async () => {
    hostile.on('GET', BLOB_PATH, { kind: 'respond', status: 302 });
    const result = await client.getBlob(repo, { digest: blobDigest });
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} answered 302 for blob demo/app@${blobDigest} without a Location header`);
  });
});

describe('status codes', () => {
  test('429 is RATE_LIMITED and the message carries Retry-After', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', status: 429, headers: { 'retry-after': '7', 'content-type': 'application/json' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' });
    const result = await client.getManifest(repo, 'v1');
    expect(result).toEqual({
      ok: false,
      error: { code: 'RATE_LIMITED', registry: hostile.host, status: 429, message: `registry ${hostile.host} answered 429 for manifest demo/app:v1 (rate limited; retry after 7; TOOMANYREQUESTS slow down)` },
    });
  });

  test.each([
    [403, 'DENIED', 'access denied'],
    [404, 'NOT_FOUND', 'not found'],
    [500, 'SERVER_ERROR', 'server error'],
    [503, 'SERVER_ERROR', 'server error'],
    [418, 'SERVER_ERROR', 'unexpected status'],
  ])('%i is %s', async (status, code, words) => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', status });
    const result = await client.getManifest(repo, 'v1');
    expect(result).toEqual({ ok: false, error: { code, registry: hostile.host, status, message: `registry ${hostile.host} answered ${status} for manifest demo/app:v1 (${words})` } });
  });

  test('a server error body is quoted safely and briefly', async () => {
    const noisy = JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `bad\u0000\u001b[31mthing${'x'.repeat(500)}` }] });
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', status: 500, body: noisy });
    const result = await client.getManifest(repo, 'v1');
    const message = result.ok ? '' : result.error.message;
    expect(message.startsWith(`registry ${hostile.host} answered 500 for manifest demo/app:v1 (server error; UNKNOWN bad??[31mthing`)).toBe(true);
    expect(message.length).toBeLessThan(400);
  });
});

describe('bearer token flow', () => {
  test('the token is fetched once and reused from the cache', async () => {
    hostile.requireBearer({ token: 'tok-1', service: 'hostile-service' });
    serveManifest(hostile);
    const first = await client.getManifest(repo, 'v1');
    expect(first.ok).toBe(true);
    expect(hostile.requestsTo('/token')).toHaveLength(1);
    const tokenUrl = new URL(hostile.requestsTo('/token')[0]!.path, hostile.origin);
    expect(tokenUrl.searchParams.get('service')).toBe('hostile-service');
    expect(tokenUrl.searchParams.getAll('scope')).toEqual(['repository:demo/app:pull']);
    expect(hostile.requestsTo('/token')[0]!.headers.authorization).toBeUndefined();

    const second = await client.getManifest(repo, 'v1');
    expect(second.ok).toBe(true);
    expect(hostile.requestsTo('/token')).toHaveLength(1);
    expect(hostile.requestsTo(MANIFEST_PATH).map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer tok-1', 'Bearer tok-1']);
    expect(client.stats()).toEqual({ requests: 4, byKind: { manifest: 3, token: 1 } });
  });

  test('an expired token is fetched again', async () => {
    hostile.requireBearer({ token: 'short-lived', expiresIn: 1 });
    serveManifest(hostile);
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    // 1 s lifetime minus a quarter safety margin: stale after 750 ms.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    expect(hostile.requestsTo('/token')).toHaveLength(2);
  });

  test('a cached token that is refused is dropped and replaced once', async () => {
    hostile.requireBearer({ token: 'old' });
    serveManifest(hostile);
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    hostile.requireBearer({ token: 'new' });
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    expect(hostile.requestsTo(MANIFEST_PATH).map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer old', 'Bearer old', 'Bearer new']);
    expect(hostile.requestsTo('/token')).toHaveLength(2);
  });

  test('a token the registry keeps refusing gives UNAUTHORIZED after one retry', async () => {
    hostile.requireBearer({ token: 'accepted', realm: `${hostile.origin}/wrong-token` });
    hostile.on('GET', '/wrong-token', { kind: 'respond', headers: { 'content-type': 'application/json' }, body: '{"access_token":"refused"}' });
    serveManifest(hostile);
    const result = await client.getManifest(repo, 'v1');
    expect(result).toEqual({
      ok: false,
      error: { code: 'UNAUTHORIZED', registry: hostile.host, status: 401, message: `registry ${hostile.host} answered 401 for manifest demo/app:v1 (unauthorized; no credentials configured for ${hostile.host}; UNAUTHORIZED authentication required)` },
    });
    expect(hostile.requestsTo(MANIFEST_PATH)).toHaveLength(2);
    expect(hostile.requestsTo('/wrong-token')).toHaveLength(1);
  });

  test('credentials go to a token realm on the same origin, never over http to another host', async () => {
    const otherRealm = await extraServer();
    otherRealm.on('GET', '/token', { kind: 'respond', body: '{"token":"third-party"}' });
    hostile.requireBearer({ token: 'third-party', realm: `${otherRealm.origin}/token` });
    serveManifest(hostile);
    await useClient({}, { credentials: { username: 'alice', password: 's3cret' } });
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    expect(otherRealm.requests).toHaveLength(1);
    expect(otherRealm.requests[0]!.headers.authorization).toBeUndefined();

    hostile.requireBearer({ token: 'own', basicUser: { username: 'alice', password: 's3cret' } });
    await useClient({}, { credentials: { username: 'alice', password: 's3cret' } });
    expect((await client.getManifest(repo, 'v1')).ok).toBe(true);
    expect(hostile.requestsTo('/token')[0]!.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  });

  test('refused credentials at the token endpoint are UNAUTHORIZED and the message holds no secret', async () => {
    hostile.requireBearer({ token: 'own', basicUser: { username: 'alice', password: 'right' } });
    serveManifest(hostile);
    await useClient({}, { credentials: { username: 'alice', password: 'wrong-password' } });
    const result = await client.getManifest(repo, 'v1');
    expect(result).toEqual({
      ok: false,
      error: { code: 'UNAUTHORIZED', registry: hostile.host, status: 401, message: `registry ${hostile.host} token endpoint ${hostile.host} refused a token request with the configured credentials (401) for manifest demo/app:v1` },
    });
    expect(JSON.stringify(result)).not.toMatch(/wrong-password|alice/);
  });

  test('push access asks for a pull,push scope', async () => {
    hostile.requireBearer({ token: 'push-token' });
    hostile.on('PUT', '/v2/demo/app/manifests/v9', { kind: 'respond', status: 201, headers: { 'docker-content-digest': manifestDigest } });
    const result = await client.pushManifest(repo, 'v9', manifest, OCI_MANIFEST);
    expect(result).toEqual({ ok: true, value: manifestDigest });
    const tokenUrl = new URL(hostile.requestsTo('/token')[0]!.path, hostile.origin);
    expect(tokenUrl.searchParams.get('scope')).toBe('repository:demo/app:pull,push');
  });

  test('a challenge without a realm is UNAUTHORIZED', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', status: 401, headers: { 'www-authenticate': 'Bearer service="x"' } });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} could not authenticate for manifest demo/app:v1: its Bearer challenge names no token realm`);
  });

  test('a Basic challenge without configured credentials is UNAUTHORIZED naming the registry', async () => {
    hostile.on('GET', MANIFEST_PATH, { kind: 'respond', status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } });
    const result = await client.getManifest(repo, 'v1');
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} could not authenticate for manifest demo/app:v1: it requires credentials and none are configured for ${hostile.host}`);
    expect(hostile.requests).toHaveLength(1);
  });
});

describe('referrers API', () => {
  const subject = manifestDigest;
  const referrersPath = `/v2/demo/app/referrers/${subject}`;
  const descriptor = (n: number, artifactType: string) => ({ mediaType: OCI_MANIFEST, digest: sha256(`referrer ${n}`), size: 100 + n, artifactType, annotations: { n: String(n) } });
  const page = (descriptors: unknown[]) => JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors });

  test('follows Link pagination and filters client-side when the registry did not', async () => {
    hostile.on('GET', referrersPath, { kind: 'respond', headers: { 'content-type': OCI_INDEX, link: `</v2/demo/app/referrers-page-2?n=2>; rel="next"` }, body: page([descriptor(1, 'application/a'), descriptor(2, 'application/b')]) });
    hostile.on('GET', '/v2/demo/app/referrers-page-2', { kind: 'respond', headers: { 'content-type': OCI_INDEX }, body: page([descriptor(3, 'application/a')]) });
    const all = await client.referrers(repo, subject);
    expect(all.ok && all.value.map((d) => d.annotations?.['n'])).toEqual(['1', '2', '3']);
    const onlyA = await client.referrers(repo, subject, { artifactType: 'application/a' });
    expect(onlyA.ok && onlyA.value).toEqual([descriptor(1, 'application/a'), descriptor(3, 'application/a')]);
    expect(hostile.requestsTo(referrersPath).map((r) => r.path)).toEqual([referrersPath, `${referrersPath}?artifactType=application%2Fa`]);
  });

  test('filters even when the registry claims it filtered', async () => {
    hostile.on('GET', referrersPath, { kind: 'respond', headers: { 'content-type': OCI_INDEX, 'oci-filters-applied': 'artifactType' }, body: page([descriptor(1, 'application/a'), descriptor(2, 'application/b')]) });
    const result = await client.referrers(repo, subject, { artifactType: 'application/b' });
    expect(result.ok && result.value.map((d) => d.artifactType)).toEqual(['application/b']);
  });

  test('more than 10 pages is TOO_LARGE, not a silently shortened list', async () => {
    hostile.on('GET', referrersPath, { kind: 'respond', headers: { 'content-type': OCI_INDEX, link: `<${referrersPath}>; rel="next"` }, body: page([descriptor(1, 'application/a')]) });
    const result = await client.referrers(repo, subject);
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} has more than 10 pages of referrers of demo/app@${subject}`);
    expect(hostile.requestsTo(referrersPath)).toHaveLength(10);
  });

  test('a next link to another origin is BAD_CONTENT', async () => {
    hostile.on('GET', referrersPath, { kind: 'respond', headers: { 'content-type': OCI_INDEX, link: '<https://elsewhere.example/next>; rel="next"' }, body: page([]) });
    const result = await client.referrers(repo, subject);
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} sent a next-page link for referrers of demo/app@${subject} to another host (elsewhere.example)`);
  });

  test('a malformed descriptor makes the list BAD_CONTENT', async () => {
    hostile.on('GET', referrersPath, { kind: 'respond', headers: { 'content-type': OCI_INDEX }, body: page([{ mediaType: OCI_MANIFEST, digest: 'sha256:XYZ', size: 1 }]) });
    const result = await client.referrers(repo, subject);
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${hostile.host} answered referrers of demo/app@${subject} with an invalid index: a descriptor has a missing or malformed digest`);
  });

  test.each([400, 405, 501])('a %i from the endpoint falls back to the referrers tag', async (status) => {
    hostile.on('GET', referrersPath, { kind: 'respond', status });
    hostile.on('GET', `/v2/demo/app/manifests/sha256-${subject.slice(7)}`, { kind: 'respond', headers: { 'content-type': OCI_INDEX }, body: page([descriptor(5, 'application/a')]) });
    const result = await client.referrers(repo, subject);
    expect(result.ok && result.value).toEqual([descriptor(5, 'application/a')]);
  });

  test('a fallback tag that is not an index is BAD_CONTENT', async () => {
    hostile.on('GET', `/v2/demo/app/manifests/sha256-${subject.slice(7)}`, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
    const result = await client.referrers(repo, subject);
    expect(result.ok ? undefined : result.error.code).toBe('BAD_CONTENT');
  });
});

describe('input checks', () => {
  test.each([
    [{ registry: 'bad host/x', repository: 'demo/app' }, 'is not a valid registry host name'],
    [{ registry: '127.0.0.1:5000', repository: '../etc' }, 'not a valid repository name'],
    [{ registry: '127.0.0.1:5000', repository: 'Demo/App' }, 'not a valid repository name'],
  ])('%j is refused without a request', async (badRepo, words) => {
    const result = await client.getManifest(badRepo, 'v1');
    expect(result.ok ? undefined : result.error.code).toBe('UNSUPPORTED');
    expect(result.ok ? '' : result.error.message).toContain(words);
    expect(client.stats().requests).toBe(0);
  });

  test('a reference that is neither a tag nor a supported digest is refused', async () => {
    for (const ref of ['v1/../x', 'md5:abc', `sha256:${'A'.repeat(64)}`, '']) {
      const result = await client.getManifest(repo, ref);
      expect(result.ok ? undefined : result.error.code).toBe('UNSUPPORTED');
    }
    expect(client.stats().requests).toBe(0);
  });

  test('a bad maxBytes or descriptor size is refused without a request', async () => {
    for (const call of [
      () => client.getBlob(repo, { digest: blobDigest }, { maxBytes: 0 }),
      () => client.getBlob(repo, { digest: blobDigest }, { maxBytes: Number.NaN }),
      () => client.getBlob(repo, { digest: blobDigest, size: -1 }),
      () => client.getBlob(repo, { digest: 'sha256:short' as Digest }),
    ]) {
      const result = await call();
      expect(result.ok ? undefined : result.error.code).toBe('UNSUPPORTED');
    }
    expect(client.stats().requests).toBe(0);
  });

  test('invalid options throw at construction', () => {
    expect(() => new RegistryClient({ maxBlobBytes: 0 })).toThrow('maxBlobBytes must be a positive integer');
    expect(() => new RegistryClient({ dockerConfigJson: '{"auths":{"x":{"auth":"bm9jb2xvbg=="}}}' })).toThrow('invalid registry credentials: dockerconfigjson entry for "x": "auth" is not base64 of user:password');
  });
});

const tlsTools = haveTools('openssl');
(tlsTools ? describe : describe.skip)('https registry rules', () => {
  let certDir: string;
  let secure: HostileRegistry;
  let caBundle: string;

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'signet-hostile-tls-'));
    const certs = await makeCertificates(certDir);
    caBundle = certs.caCert;
    secure = await startHostileRegistry({ tls: { cert: await readFile(certs.certPath, 'utf8'), key: await readFile(certs.keyPath, 'utf8') } });
  });
  afterAll(async () => {
    await secure.close();
    await rm(certDir, { recursive: true, force: true });
  });

  test('a token realm over plain http is refused for an https registry', async () => {
    const plainRealm = await extraServer();
    plainRealm.on('GET', '/token', { kind: 'respond', body: '{"token":"t"}' });
    secure.requireBearer({ token: 't', realm: `${plainRealm.origin}/token` });
    const local = new RegistryClient({ hosts: { [secure.host]: { caBundle, credentials: { username: 'alice', password: 'pw' } } } });
    const result = await local.getManifest({ registry: secure.host, repository: 'demo/app' }, 'v1');
    await local.close();
    expect(result.ok ? undefined : result.error.message).toBe(`registry ${secure.host} could not authenticate for manifest demo/app:v1: its token realm http://${plainRealm.host} is not https (allowed only for registries configured insecureHttp)`);
    expect(plainRealm.requests).toHaveLength(0);
  });

  test('a redirect from https to plain http is refused', async () => {
    const plain = await extraServer();
    secure.requireBearer(undefined);
    secure.on('GET', BLOB_PATH, { kind: 'redirect', location: `${plain.origin}/blob` });
    const local = new RegistryClient({ hosts: { [secure.host]: { caBundle } } });
    const result = await local.getBlob({ registry: secure.host, repository: 'demo/app' }, { digest: blobDigest });
    await local.close();
    expect(result.ok ? undefined : result.error.code).toBe('UNSUPPORTED');
    expect(result.ok ? '' : result.error.message).toBe(`registry ${secure.host} refused to send blob demo/app@${blobDigest} to http://${plain.host}: only https is allowed unless the registry is configured insecureHttp`);
    expect(plain.requests).toHaveLength(0);
  });

  test('without the CA bundle the certificate is not trusted: UNREACHABLE', async () => {
    const local = new RegistryClient({ requestTimeoutMs: 2000 });
    const result = await local.getManifest({ registry: secure.host, repository: 'demo/app' }, 'v1');
    await local.close();
    expect(result.ok ? undefined : result.error.code).toBe('UNREACHABLE');
    expect(result.ok ? '' : result.error.message).toMatch(/failed TLS verification for manifest demo\/app:v1 \([A-Z_]+\); configure caBundle for a private CA$/);
  });
});
