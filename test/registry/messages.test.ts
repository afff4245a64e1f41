// The sentences the registry client puts in its errors, each driven into its case for real: bad
// arguments refused before any request, and what a real registry never does served by the hostile
// one (test/support/hostile-registry.ts): odd statuses, broken auth challenges and token endpoints,
// unusable redirects and next-page links, referrers fallback tags of the wrong kind, broken HTTP.
import { createHash } from 'node:crypto';
import type { Digest, RepositoryRef } from '../../src/reference/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { credentialsFromSecret } from '../../src/kube/pull-secrets.js';
import { deadlineSignal } from '../../src/registry/limits.js';
import type { RegistryError } from '../../src/registry/types.js';
import { hostileRegistryPerTest, type HostileRegistry } from '../support/hostile-registry.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

const sha256 = (bytes: Buffer | string): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
const SUBJECT = sha256('subject');
const SUBJECT_TAG = SUBJECT.replace(':', '-');

let hostile: HostileRegistry;
let client: RegistryClient;
let repo: RepositoryRef;
hostileRegistryPerTest((setup) => ({ hostile, client, repo } = setup));

function failure<T>(result: { ok: true; value: T } | { ok: false; error: RegistryError }): RegistryError {
  if (result.ok) throw new Error('expected a RegistryError');
  return result.error;
}

describe('arguments refused before any request', () => {
  test.each<[string, () => Promise<{ ok: true; value: unknown } | { ok: false; error: RegistryError }>, string, string]>([
    ['a tag with a space', () => client.resolve(repo, 'bad tag'), 'UNSUPPORTED', 'cannot resolve manifest demo/app:bad tag: not a valid tag'],
    ['a manifest reference that is neither tag nor digest', () => client.getManifest(repo, 'md5:abc'), 'UNSUPPORTED', 'cannot fetch manifest demo/app:md5:abc: not a valid tag or supported digest'],
    ['a blob digest of an unsupported algorithm', () => client.getBlob(repo, { digest: 'md5:abc' as Digest }), 'UNSUPPORTED', 'cannot fetch blob demo/app@md5:abc: not a supported digest'],
    ['a blob cap of zero bytes', () => client.getBlob(repo, { digest: SUBJECT }, { maxBytes: 0 }), 'UNSUPPORTED', `cannot fetch blob demo/app@${SUBJECT}: maxBytes 0 is not a positive byte count`],
    ['referrers of an unsupported digest', () => client.referrers(repo, 'md5:abc' as Digest), 'UNSUPPORTED', 'cannot list referrers of demo/app@md5:abc: not a supported digest'],
    ['a push to an invalid tag', () => client.pushManifest(repo, 'bad tag', Buffer.from('{}'), OCI_MANIFEST), 'UNSUPPORTED', 'cannot push manifest push demo/app:bad tag: not a valid tag or supported digest'],
    ['a push with an invalid media type', () => client.pushManifest(repo, 'v1', Buffer.from('{}'), 'not a media type'), 'UNSUPPORTED', 'cannot push manifest push demo/app:v1: invalid media type'],
    ['a push by a digest the bytes do not have', () => client.pushManifest(repo, SUBJECT, Buffer.from('{}'), OCI_MANIFEST), 'DIGEST_MISMATCH', `not pushed: the manifest bytes do not hash to ${SUBJECT}`],
    ['an invalid registry host', () => client.getManifest({ registry: 'bad host', repository: 'demo/app' }, 'v1'), 'UNSUPPORTED', 'is not a valid registry host name (asked for repository demo/app)'],
  ])('%s', async (_name, call, code, detail) => {
    const error = failure(await call());
    expect(error.code).toBe(code);
    expect(error.message).toBe(`registry ${error.registry} ${detail}`);
    expect(hostile.requests).toHaveLength(0);
  });

  test('a negative redirect limit is a configuration error', () => {
    expect(() => new RegistryClient({ maxRedirects: -1 })).toThrow('maxRedirects must be a non-negative integer');
  });
});

describe('statuses', () => {
  test.each([
    [413, 'TOO_LARGE', 'request too large'],
    [405, 'UNSUPPORTED', 'operation not supported by this registry'],
  ])('%d', async (status, code, note) => {
    hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'respond', status, body: '' });
    const error = failure(await client.getManifest(repo, 'v1'));
    expect(error).toEqual({ code, registry: hostile.host, status, message: `registry ${hostile.host} answered ${status} for manifest demo/app:v1 (${note})` });
  });

  test('a 429 without Retry-After holds the host back, and the refusal says so', async () => {
    hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'respond', status: 429, body: '' });
    const first = failure(await client.getManifest(repo, 'v1', { signal: deadlineSignal(300) }));
    expect(first.message).toBe(`registry ${hostile.host} answered 429 for manifest demo/app:v1 (rate limited; no Retry-After given)`);
    const again = failure(await client.getManifest(repo, 'v1', { signal: deadlineSignal(300) }));
    expect(again.code).toBe('RATE_LIMITED');
    expect(again.message).toMatch(new RegExp(`^registry ${hostile.host} not asked for manifest demo/app:v1: ${hostile.host} answered 429 without Retry-After; its back-off ends in \\d+\\.\\d s, \\d+\\.\\d s left before the deadline$`));
    expect(hostile.requestsTo('/v2/demo/app/manifests/v1')).toHaveLength(1);
  });
});

describe('authentication', () => {
  const challenge = (value: string | undefined): void => {
    hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'respond', status: 401, headers: value === undefined ? {} : { 'www-authenticate': value }, body: '' });
  };
  const authFailure = async (): Promise<string> => {
    const error = failure(await client.getManifest(repo, 'v1'));
    expect(error.code).toBe('UNAUTHORIZED');
    return error.message;
  };

  test.each<[string, (origin: string) => string | undefined, string]>([
    ['a Bearer realm that is not a URL', () => 'Bearer realm="not a url",service="x"', 'its Bearer challenge names an invalid token realm'],
    ['a Bearer realm with user information', (origin) => `Bearer realm="${origin.replace('://', '://user:pw@')}/token",service="x"`, 'its token realm URL embeds user information'],
    ['a 401 without a challenge', () => undefined, 'no usable WWW-Authenticate challenge'],
    ['a challenge of another scheme', () => 'Negotiate abc', 'unsupported auth scheme negotiate'],
  ])('%s', async (_name, value, why) => {
    challenge(value(hostile.origin));
    expect(await authFailure()).toBe(`registry ${hostile.host} could not authenticate for manifest demo/app:v1: ${why}`);
  });

  describe('token endpoint answers', () => {
    beforeEach(() => challenge(`Bearer realm="${hostile.origin}/token",service="hostile"`));

    test.each<[string, string, string]>([
      ['not JSON', 'token please', `its token endpoint ${'HOST'} answered with something other than JSON`],
      ['JSON without a token', '{"expires_in":60}', `its token endpoint ${'HOST'} returned no token`],
      ['a token that cannot go in a header', '{"token":"abc\\r\\nX-Injected: 1"}', `its token endpoint ${'HOST'} returned a token with characters not allowed in a header`],
    ])('%s', async (_name, body, why) => {
      hostile.on('GET', '/token', { kind: 'respond', headers: { 'content-type': 'application/json' }, body });
      expect(await authFailure()).toBe(`registry ${hostile.host} could not authenticate for manifest demo/app:v1: ${why.replace('HOST', hostile.host)}`);
    });

    test('an endless token response is cut off', async () => {
      hostile.on('GET', '/token', { kind: 'endless', headers: { 'content-type': 'application/json' }, limitBytes: 4 * 1024 * 1024 });
      const error = failure(await client.getManifest(repo, 'v1'));
      expect(error.code).toBe('TOO_LARGE');
      expect(error.message).toMatch(new RegExp(`^registry ${hostile.host} sent a token response over \\d+ bytes for a token for manifest demo/app:v1 from ${hostile.origin}/token$`));
    });
  });
});

describe('redirects, pages and referrers fallback tags', () => {
  test('a redirect to a location that is not a URL', async () => {
    hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'respond', status: 307, headers: { location: 'http://[not-an-address/' }, body: '' });
    const error = failure(await client.getManifest(repo, 'v1'));
    expect(error).toMatchObject({ code: 'BAD_CONTENT', message: `registry ${hostile.host} redirected manifest demo/app:v1 to an invalid location` });
  });

  test('a next-page link that is not a URL', async () => {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }));
    hostile.on('GET', `/v2/demo/app/referrers/${SUBJECT}`, { kind: 'respond', headers: { 'content-type': OCI_INDEX, link: '<http://[not-an-address/>; rel="next"' }, body: index });
    const error = failure(await client.referrers(repo, SUBJECT));
    expect(error).toMatchObject({ code: 'BAD_CONTENT', message: `registry ${hostile.host} sent an invalid next-page link for referrers of demo/app@${SUBJECT}` });
  });

  test('a referrers fallback tag holding an image manifest', async () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256('{}'), size: 2 }, layers: [] }));
    hostile.on('GET', `/v2/demo/app/manifests/${SUBJECT_TAG}`, { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
    const error = failure(await client.referrers(repo, SUBJECT));
    expect(error).toMatchObject({
      code: 'BAD_CONTENT',
      message: `registry ${hostile.host} holds a ${OCI_MANIFEST} under ${SUBJECT_TAG}, not an OCI image index`,
    });
  });

  test('a referrers fallback tag whose descriptor annotations are not an object', async () => {
    const bad = { mediaType: OCI_MANIFEST, digest: sha256('referrer'), size: 10, annotations: ['x'] };
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [bad] }));
    hostile.on('GET', `/v2/demo/app/manifests/${SUBJECT_TAG}`, { kind: 'respond', headers: { 'content-type': OCI_INDEX }, body: index });
    const error = failure(await client.referrers(repo, SUBJECT));
    const what = `referrers of demo/app@${SUBJECT} (fallback tag demo/app:${SUBJECT_TAG})`;
    expect(error).toMatchObject({
      code: 'BAD_CONTENT',
      message: `registry ${hostile.host} holds an invalid referrers index for ${what}: descriptor ${bad.digest} has annotations that are not an object`,
    });
  });

  test('an upload started without a Location', async () => {
    hostile.on('POST', '/v2/demo/app/blobs/uploads/', { kind: 'respond', status: 202, body: '' });
    const bytes = Buffer.from('blob');
    const error = failure(await client.pushBlob(repo, bytes));
    expect(error).toMatchObject({ code: 'SERVER_ERROR', message: `registry ${hostile.host} answered 202 for blob upload demo/app@${sha256(bytes)} without a usable upload Location` });
  });
});

describe('broken HTTP', () => {
  const raw = (text: string): void => {
    hostile.on('GET', '/v2/demo/app/manifests/v1', {
      kind: 'handler',
      handle: (_request, response) => {
        response.socket?.end(text);
      },
    });
  };

  test('a body longer than its Content-Length', async () => {
    raw(`HTTP/1.1 200 OK\r\nContent-Type: ${OCI_MANIFEST}\r\nContent-Length: 2\r\nTransfer-Encoding: identity\r\n\r\n{}{}{}`);
    const error = failure(await client.getManifest(repo, 'v1'));
    expect(error).toMatchObject({ code: 'BAD_CONTENT', message: `registry ${hostile.host} sent a body for manifest demo/app:v1 whose length differs from its Content-Length` });
  });

  test('oversized response headers', async () => {
    raw(`HTTP/1.1 200 OK\r\nX-Padding: ${'a'.repeat(128 * 1024)}\r\nContent-Length: 0\r\n\r\n`);
    const error = failure(await client.getManifest(repo, 'v1'));
    expect(error).toMatchObject({ code: 'BAD_CONTENT', message: `registry ${hostile.host} sent oversized response headers for manifest demo/app:v1` });
  });

  // undici 8's HTTPParserError carries no `code` for a reply that is not HTTP at all; it must still be
  // BAD_CONTENT, not a failed connection.
  test('a response that is not HTTP is a malformed HTTP response (BAD_CONTENT)', async () => {
    raw('SSH-2.0-OpenSSH_9.6\r\n\r\n');
    const error = failure(await client.getManifest(repo, 'v1'));
    expect(error.code).toBe('BAD_CONTENT');
    expect(error.message).toMatch(new RegExp(`^registry ${hostile.host} sent a malformed HTTP response for manifest demo/app:v1 \\(HPE_[A-Z_]+\\)$`));
  });

  test('a connection closed before any answer', async () => {
    hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'handler', handle: (_request, response) => response.socket?.destroy() });
    const error = failure(await client.getManifest(repo, 'v1'));
    expect(error.code).toBe('UNREACHABLE');
    expect(error.message).toMatch(new RegExp(`^registry ${hostile.host} connection failed for manifest demo/app:v1 \\([A-Z_]+\\)$`));
  });

  test('a host name that does not resolve', async () => {
    const nowhere = new RegistryClient({ requestTimeoutMs: 5000, hosts: { 'registry.invalid': { insecureHttp: true } } });
    try {
      const error = failure(await nowhere.getManifest({ registry: 'registry.invalid', repository: 'demo/app' }, 'v1'));
      expect(error.code).toBe('UNREACHABLE');
      expect(error.message).toMatch(/^registry registry\.invalid host name could not be resolved for manifest demo\/app:v1 \((ENOTFOUND|EAI_AGAIN)\)$/);
    } finally {
      await nowhere.close();
    }
  });
});

describe('pull secrets', () => {
  test.each([
    [{ type: 'kubernetes.io/dockercfg', data: {} }, 'it has no .dockercfg key'],
    [{ type: 'kubernetes.io/dockercfg', data: { '.dockercfg': Buffer.from('["a"]').toString('base64') } }, '.dockercfg must be a JSON object'],
  ])('%j', (secret, message) => {
    expect(credentialsFromSecret(secret)).toEqual({ ok: false, error: message });
  });
});
