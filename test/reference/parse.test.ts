// Table tests for image reference parsing, formatting and digests: every accepted form with the
// fields it must produce, every rejected form with the message a user reads, and digest vectors from
// the SHA-2 standard and from real cosign/skopeo output.

import { readFileSync } from 'node:fs';
import {
  apiHostOf,
  digestOf,
  formatReference,
  parseDigest,
  parseReference,
  repositoryName,
  repositoryOf,
  sha256Digest,
  withDigest,
} from '../../src/reference/parse.js';
import type { Digest, ImageReference } from '../../src/reference/types.js';

const HEX64 = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
const SHA256 = `sha256:${HEX64}`;
const SHA384 = `sha384:${'ab'.repeat(48)}`;
const SHA512 = `sha512:${'0f'.repeat(64)}`;

function parsed(input: string): ImageReference {
  const result = parseReference(input);
  if (!result.ok) {
    throw new Error(`expected ${JSON.stringify(input)} to parse, got: ${result.error.message}`);
  }
  return result.value;
}

function rejection(input: string): { code: string; message: string; input: string } {
  const result = parseReference(input);
  if (result.ok) {
    throw new Error(`expected ${JSON.stringify(input)} to be rejected, got ${formatReference(result.value)}`);
  }
  return result.error;
}

function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

type Expected = [registry: string, repository: string, tag: string | undefined, digest: string | undefined];

const VALID: ReadonlyArray<[input: string, expected: Expected]> = [
  // Docker Hub short forms all name one repository.
  ['nginx', ['docker.io', 'library/nginx', 'latest', undefined]],
  ['nginx:1.25', ['docker.io', 'library/nginx', '1.25', undefined]],
  ['library/nginx', ['docker.io', 'library/nginx', 'latest', undefined]],
  ['docker.io/library/nginx', ['docker.io', 'library/nginx', 'latest', undefined]],
  ['docker.io/nginx', ['docker.io', 'library/nginx', 'latest', undefined]],
  ['index.docker.io/nginx', ['docker.io', 'library/nginx', 'latest', undefined]],
  ['index.docker.io/x/y', ['docker.io', 'x/y', 'latest', undefined]],
  ['bitnami/redis:7.2', ['docker.io', 'bitnami/redis', '7.2', undefined]],
  ['a/b/c/d', ['docker.io', 'a/b/c/d', 'latest', undefined]],
  // A port makes it another registry, so no library/ prefix (distribution compares the host string).
  ['docker.io:5000/nginx', ['docker.io:5000', 'nginx', 'latest', undefined]],
  // Registries: a dot, a colon or "localhost" in the first component.
  ['ghcr.io/org/team/app:v1.2.3', ['ghcr.io', 'org/team/app', 'v1.2.3', undefined]],
  ['registry:5000/ns/repo:tag', ['registry:5000', 'ns/repo', 'tag', undefined]],
  ['my-registry.example.com:443/team/app', ['my-registry.example.com:443', 'team/app', 'latest', undefined]],
  ['localhost/repo', ['localhost', 'repo', 'latest', undefined]],
  ['localhost:5000/a', ['localhost:5000', 'a', 'latest', undefined]],
  ['127.0.0.1:5000/a/b', ['127.0.0.1:5000', 'a/b', 'latest', undefined]],
  ['registry:65535/a', ['registry:65535', 'a', 'latest', undefined]],
  ['registry:1/a', ['registry:1', 'a', 'latest', undefined]],
  // IPv6 literals, written back in RFC 5952 form.
  ['[::1]:5000/repo', ['[::1]:5000', 'repo', 'latest', undefined]],
  ['[fe80::1]/x', ['[fe80::1]', 'x', 'latest', undefined]],
  ['[FE80:0:0:0:0:0:0:1]:5000/x', ['[fe80::1]:5000', 'x', 'latest', undefined]],
  ['[2001:db8:0:0:1:0:0:1]/x:t', ['[2001:db8::1:0:0:1]', 'x', 't', undefined]],
  // Without a "/" a colon starts a tag: this is a Docker Hub image with tag 5000, as in distribution.
  ['localhost:5000', ['docker.io', 'library/localhost', '5000', undefined]],
  // Digests: the tag is kept when given, and there is no default tag when a digest pins the image.
  [`repo@${SHA256}`, ['docker.io', 'library/repo', undefined, SHA256]],
  [`repo:tag@${SHA256}`, ['docker.io', 'library/repo', 'tag', SHA256]],
  [`127.0.0.1:5000/a/b@${SHA256}`, ['127.0.0.1:5000', 'a/b', undefined, SHA256]],
  [`[::1]:5000/a:v1@${SHA384}`, ['[::1]:5000', 'a', 'v1', SHA384]],
  [`ghcr.io/a@${SHA512}`, ['ghcr.io', 'a', undefined, SHA512]],
  // Path component separators and tag characters at the edges of the grammar.
  ['docker.io/a.b_c__d---e/f0', ['docker.io', 'a.b_c__d---e/f0', 'latest', undefined]],
  ['x/a.b_c__d---e', ['docker.io', 'x/a.b_c__d---e', 'latest', undefined]],
  ['nginx:_x', ['docker.io', 'library/nginx', '_x', undefined]],
  ['nginx:X.Y-z_', ['docker.io', 'library/nginx', 'X.Y-z_', undefined]],
  [`nginx:${'t'.repeat(128)}`, ['docker.io', 'library/nginx', 't'.repeat(128), undefined]],
  // A 64-hex repository is only an image ID when it stands alone.
  [`${HEX64}:v1`, ['docker.io', `library/${HEX64}`, 'v1', undefined]],
  // Exactly 255 characters of normalised name.
  [`example.com/${'a'.repeat(243)}`, ['example.com', 'a'.repeat(243), 'latest', undefined]],
];

describe('parseReference accepts', () => {
  test.each(VALID)('%s', (input, [registry, repository, tag, digest]) => {
    const reference = parsed(input);
    expect(reference).toEqual({ registry, repository, tag, digest });
    expect(Object.isFrozen(reference)).toBe(true);
    expect(parseReference(formatReference(reference))).toEqual({ ok: true, value: reference });
  });
});

const INVALID: ReadonlyArray<[input: string, message: string]> = [
  ['', 'invalid image reference "": it is empty'],
  [' nginx', 'invalid image reference " nginx": it must not contain whitespace'],
  ['nginx\n', 'invalid image reference "nginx\\n": it must not contain whitespace'],
  ['ngi nx:1', 'it must not contain whitespace'],
  ['https://ghcr.io/a/b', 'it must not start with a URL scheme ("https://")'],
  ['oci://x/y', 'it must not start with a URL scheme ("oci://")'],
  ['nginx/', 'it must not end with "/"'],
  ['ghcr.io/a/', 'it must not end with "/"'],
  ['/nginx', 'it must not start with "/"'],
  ['a//b', 'it has an empty path component ("//")'],
  ['nginx:', 'tag after ":" is empty'],
  ['nginx@', 'digest after "@" is empty'],
  [`nginx:@${SHA256}`, 'tag after ":" is empty'],
  [':v1', 'repository name is empty'],
  [`@${SHA256}`, 'repository name is empty'],
  [`a@${SHA256}@${SHA256}`, 'it has 2 "@" characters; only one is allowed'],
  ['a@b@c@d', 'it has 3 "@" characters'],
  ['registry:abc/repo', 'port "abc" of registry "registry:abc" must be numeric'],
  ['registry:5000:6000/repo', 'port "5000:6000" of registry "registry:5000:6000" must be numeric'],
  ['registry:/repo', 'registry "registry:" has ":" without a port number'],
  ['registry:0/repo', 'port "0" of registry "registry:0" must be a number from 1 to 65535 without leading zeros'],
  ['registry:65536/repo', 'port "65536" of registry "registry:65536" must be a number from 1 to 65535'],
  ['registry:05000/repo', 'port "05000" of registry "registry:05000" must be a number from 1 to 65535 without leading zeros'],
  ['registry:99999999999999999999/repo', 'must be a number from 1 to 65535'],
  [':5000/repo', 'registry ":5000" has an empty host name'],
  ['a..b/c', 'registry host "a..b" is not a valid host name: it has an empty label'],
  ['-bad.example.com/c', 'registry host "-bad.example.com" is not a valid host name: it has the invalid label "-bad"'],
  ['bad_host.example.com/c', 'it has the invalid label "bad_host"'],
  ['example.com./c', 'registry host "example.com." is not a valid host name: it has an empty label'],
  // Repository names must be lower case.
  ['Nginx', 'invalid image reference "Nginx": repository name must be lower case: "Nginx"'],
  ['MyApp:1.0', 'repository name must be lower case: "MyApp"'],
  ['docker.io/MyApp', 'repository name must be lower case: "MyApp"'],
  ['ghcr.io/org/My_App', 'repository name must be lower case: "org/My_App"'],
  ['org/MyApp', 'repository name must be lower case: "org/MyApp"'],
  // An upper-case first component is a registry host (distribution's rule), and hosts must be lower case.
  ['MyOrg/app', 'registry host "MyOrg" must be lower case; a first path component with upper-case letters is read as a registry host'],
  ['Registry.Example.com/app', 'registry host "Registry.Example.com" must be lower case'],
  ['LOCALHOST:5000/app', 'registry host "LOCALHOST" must be lower case'],
  // Path components.
  ['a_-b', 'path component "a_-b" is invalid: it must be lower-case letters and digits, separated by'],
  ['-nginx', 'path component "-nginx" is invalid'],
  ['nginx-', 'path component "nginx-" is invalid'],
  ['ngi..nx', 'path component "ngi..nx" is invalid'],
  ['a___b', 'path component "a___b" is invalid'],
  ['ghcr.io/.hidden', 'path component ".hidden" is invalid'],
  ['ngïnx', 'path component "ngïnx" is invalid'],
  // Tags.
  ['nginx:-x', 'tag "-x" is invalid: it must start with a letter, digit or "_"'],
  ['nginx:.x', 'tag ".x" is invalid'],
  ['nginx:a+b', 'tag "a+b" is invalid'],
  ['repo:tag:more', 'tag "tag:more" is invalid'],
  [`nginx:${'t'.repeat(129)}`, `tag "${'t'.repeat(129)}" is 129 characters long; at most 128 are allowed`],
  // Digests.
  ['nginx@sha256:abc', 'invalid image reference "nginx@sha256:abc": digest "sha256:abc" must be 64 lower-case hex characters (it has 3)'],
  [`nginx@sha256:${HEX64}00`, 'must be 64 lower-case hex characters (it has 66)'],
  [`nginx@sha256:${HEX64.toUpperCase()}`, 'must be 64 lower-case hex characters (upper-case hex is not accepted)'],
  [`nginx@sha256:${HEX64.slice(0, 63)}g`, 'must be 64 lower-case hex characters ("g" is not a hex character)'],
  [`nginx@sha384:${HEX64}`, `digest "sha384:${HEX64}" must be 96 lower-case hex characters (it has 64)`],
  [`nginx@sha512:${HEX64}`, 'must be 128 lower-case hex characters (it has 64)'],
  [`nginx@md5:${'a'.repeat(32)}`, 'digest algorithm "md5" is not supported; use sha256, sha384 or sha512'],
  [`nginx@SHA256:${HEX64}`, 'digest algorithm "SHA256" is not supported'],
  [`nginx@${HEX64}`, `digest "${HEX64}" must have the form <algorithm>:<hex>`],
  // IPv6.
  ['[::1]:5000', 'registry "[::1]:5000" must be followed by "/" and a repository name'],
  ['[::1/x', 'registry "[::1" has "[" without a closing "]"'],
  ['[zz::1]/x', 'registry "[zz::1]" has an invalid IPv6 address "zz::1"'],
  ['[1:2:3:4:5:6:7:8:9]/x', 'has an invalid IPv6 address "1:2:3:4:5:6:7:8:9"'],
  ['[::1]x/y', 'registry "[::1]x" has unexpected text "x" after "]"'],
  ['[::1]:abc/y', 'port "abc" of registry "[::1]:abc" must be numeric'],
  // Other.
  [`${HEX64}`, 'a 64-character hex string is an image ID, not a repository name'],
  [`example.com/${'a'.repeat(244)}`, 'is 256 characters long; at most 255 are allowed'],
  ['a'.repeat(250), 'is 268 characters long; at most 255 are allowed'],
];

describe('parseReference rejects', () => {
  test.each(INVALID)('%j', (input, message) => {
    const error = rejection(input);
    expect(error.code).toBe('INVALID_REFERENCE');
    expect(error.input).toBe(input);
    expect(error.message).toContain(message);
    expect(error.message.startsWith(`invalid image reference ${JSON.stringify(input).slice(0, 20)}`)).toBe(true);
  });

  test('a non-string from untyped JSON is a value, not a crash', () => {
    const result = parseReference(42 as unknown as string);
    expect(result).toEqual({
      ok: false,
      error: { code: 'INVALID_REFERENCE', message: 'invalid image reference: it must be a string', input: '42' },
    });
  });

  test('control characters are escaped in the message', () => {
    const error = rejection('ngi\u0007nx');
    expect(error.message).toContain('"ngi\\u0007nx"');
    expect(error.message).not.toContain('\u0007');
  });

  test('a huge input gives a short message', () => {
    const input = `${'a/'.repeat(50_000)}b`;
    const error = rejection(input);
    expect(error.message).toContain('characters long; at most 255 are allowed');
    expect(error.message.length).toBeLessThan(600);
    expect(error.input).toBe(input);
  });
});

describe('formatReference', () => {
  test.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    [`127.0.0.1:5000/a/b@${SHA256}`, `127.0.0.1:5000/a/b@${SHA256}`],
    [`nginx:1.25@${SHA256}`, `docker.io/library/nginx:1.25@${SHA256}`],
    ['index.docker.io/x/y:v2', 'docker.io/x/y:v2'],
    ['[0:0::1]:5000/a', '[::1]:5000/a:latest'],
  ])('%s -> %s', (input, canonical) => {
    expect(formatReference(parsed(input))).toBe(canonical);
  });
});

describe('repositories and digests on references', () => {
  test('repositoryOf drops tag and digest; repositoryName joins registry and path', () => {
    const repository = repositoryOf(parsed(`nginx:1.25@${SHA256}`));
    expect(repository).toEqual({ registry: 'docker.io', repository: 'library/nginx' });
    expect(repositoryName(repository)).toBe('docker.io/library/nginx');
    expect(repositoryName(repositoryOf(parsed('[::1]:5000/a/b')))).toBe('[::1]:5000/a/b');
  });

  test('withDigest pins the digest and keeps the tag', () => {
    const digest = sha256Digest(bytesOf('{}'));
    const pinned = withDigest(parsed('ghcr.io/org/app:v1'), digest);
    expect(pinned).toEqual({ registry: 'ghcr.io', repository: 'org/app', tag: 'v1', digest });
    expect(formatReference(pinned)).toBe(`ghcr.io/org/app:v1@${SHA256}`);
    const repinned = withDigest(pinned, digestOf(bytesOf('abc'), 'sha256'));
    expect(repinned.digest).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(repinned.tag).toBe('v1');
  });

  test('withDigest on a digest-only reference keeps the tag undefined', () => {
    const pinned = withDigest(parsed(`a@${SHA256}`), digestOf(bytesOf(''), 'sha512'));
    expect(pinned.tag).toBeUndefined();
    expect(parseReference(formatReference(pinned))).toEqual({ ok: true, value: pinned });
  });

  test('apiHostOf maps only Docker Hub', () => {
    expect(apiHostOf('docker.io')).toBe('registry-1.docker.io');
    expect(apiHostOf(parsed('nginx').registry)).toBe('registry-1.docker.io');
    expect(apiHostOf('ghcr.io')).toBe('ghcr.io');
    expect(apiHostOf('localhost:5000')).toBe('localhost:5000');
    expect(apiHostOf('[::1]:5000')).toBe('[::1]:5000');
  });
});

describe('digests', () => {
  // FIPS 180-2 / NIST example vectors, and the OCI empty descriptor from formats.md 1.3.
  test.each([
    ['sha256', '{}', `sha256:${HEX64}`],
    ['sha256', 'abc', 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['sha384', '', 'sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b'],
    ['sha512', '', 'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e'],
    ['sha512', 'abc', 'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'],
  ] as const)('%s(%j)', (algorithm, text, expected) => {
    expect(digestOf(bytesOf(text), algorithm)).toBe(expected);
    expect(parseDigest(expected)).toEqual({ ok: true, value: expected });
  });

  test('sha256Digest of {} is the OCI empty descriptor digest', () => {
    expect(sha256Digest(bytesOf('{}'))).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });

  test('sha256Digest hashes the exact bytes a real signer hashed', () => {
    // The manifest and payload come from cosign/skopeo output (fixtures/PROVENANCE.md).
    const manifest = readFileSync(new URL('./fixtures/cosign-signed-manifest.json', import.meta.url));
    const payload = JSON.parse(readFileSync(new URL('./fixtures/cosign-signed-payload.json', import.meta.url), 'utf8')) as {
      critical: { image: { 'docker-manifest-digest': string }; identity: { 'docker-reference': string } };
    };
    const signedDigest = payload.critical.image['docker-manifest-digest'];
    expect(parseDigest(signedDigest).ok).toBe(true);
    expect(sha256Digest(manifest)).toBe(signedDigest);
    // Re-serialising the JSON changes the bytes and therefore the digest.
    const reserialised = bytesOf(JSON.stringify(JSON.parse(manifest.toString('utf8'))));
    expect(sha256Digest(reserialised)).not.toBe(signedDigest);
    expect(parsed(payload.critical.identity['docker-reference'])).toEqual({
      registry: '192.168.64.2:5000',
      repository: 'cosign-signed/key-1',
      tag: 'latest',
      digest: undefined,
    });
  });

  test('a manifest changed after signing does not hash to the signed digest', () => {
    const manifest = readFileSync(new URL('./fixtures/modified-manifest.json', import.meta.url));
    const payload = JSON.parse(readFileSync(new URL('./fixtures/modified-manifest-payload.json', import.meta.url), 'utf8')) as {
      critical: { image: { 'docker-manifest-digest': string } };
    };
    expect(sha256Digest(manifest)).not.toBe(payload.critical.image['docker-manifest-digest']);
  });

  test.each([
    ['', 'invalid digest "": digest is empty'],
    ['sha256', 'invalid digest "sha256": digest "sha256" must have the form <algorithm>:<hex>'],
    ['sha256:abc', 'invalid digest "sha256:abc": digest "sha256:abc" must be 64 lower-case hex characters (it has 3)'],
    [`sha256:${HEX64.toUpperCase()}`, 'must be 64 lower-case hex characters (upper-case hex is not accepted)'],
    [`sha256:${HEX64} `, '(" " is not a hex character)'],
    [`sha256:${'a'.repeat(96)}`, 'must be 64 lower-case hex characters (it has 96)'],
    [`sha384:${'a'.repeat(64)}`, 'must be 96 lower-case hex characters (it has 64)'],
    [`sha512:${'a'.repeat(127)}`, 'must be 128 lower-case hex characters (it has 127)'],
    [`sha1:${'a'.repeat(40)}`, 'digest algorithm "sha1" is not supported; use sha256, sha384 or sha512'],
    [`:${HEX64}`, 'digest algorithm "" is not supported'],
    [`sha256+b64u:${HEX64}`, 'digest algorithm "sha256+b64u" is not supported'],
    [`toString:${HEX64}`, 'digest algorithm "toString" is not supported'],
    [`__proto__:${HEX64}`, 'digest algorithm "__proto__" is not supported'],
  ])('parseDigest rejects %j', (input, message) => {
    const result = parseDigest(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('INVALID_REFERENCE');
      expect(result.error.input).toBe(input);
      expect(result.error.message).toContain(message);
      expect(result.error.message.startsWith(`invalid digest ${JSON.stringify(input)}: `)).toBe(true);
    }
  });

  test('parseDigest rejects a non-string with a value', () => {
    expect(parseDigest(undefined as unknown as string)).toEqual({
      ok: false,
      error: { code: 'INVALID_REFERENCE', message: 'invalid digest: a digest must be a string', input: 'undefined' },
    });
  });

  test('digestOf refuses an algorithm outside its type', () => {
    expect(() => digestOf(bytesOf(''), 'md5' as unknown as 'sha256')).toThrow('unsupported digest algorithm "md5"');
  });

  test('a Digest from parseDigest is accepted where the brand is required', () => {
    const result = parseDigest(SHA256);
    if (!result.ok) throw new Error(result.error.message);
    const digest: Digest = result.value;
    expect(withDigest(parsed('nginx'), digest).digest).toBe(SHA256);
  });
});
