// Pure helpers: digests, the referrers tag, descriptors, Link headers, manifest media types.

import type { Digest } from '../../src/reference/types.js';
import { asDigest, digestOf, matchesDigest, referrersTagFor } from '../../src/reference/digest.js';
import { checkManifestBody, classifyManifestType } from '../../src/registry/media-types.js';
import { indexDescriptors, nextLinkOf, parseDescriptor } from '../../src/registry/referrers.js';

const HEX = 'a'.repeat(64);

describe('digests', () => {
  test('the OCI empty descriptor bytes {} hash to the documented digest', () => {
    expect(digestOf(Buffer.from('{}'))).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });

  test('sha512 digests are checked with their own algorithm', () => {
    const bytes = Buffer.from('payload');
    const digest = digestOf(bytes, 'sha512');
    expect(asDigest(digest)).toBe(digest);
    expect(matchesDigest(bytes, digest)).toBe(true);
    expect(matchesDigest(Buffer.from('other'), digest)).toBe(false);
  });

  test.each([`sha256:${HEX.toUpperCase()}`, `sha256:${HEX}0`, `md5:${HEX}`, HEX, 'sha256:', `sha256:${'g'.repeat(64)}`])('%s is not a digest', (text) => {
    expect(asDigest(text)).toBeUndefined();
  });

  test('the referrers tag is algorithm-hex with no suffix', () => {
    expect(referrersTagFor(`sha256:${HEX}` as Digest)).toBe(`sha256-${HEX}`);
    expect(referrersTagFor(`sha512:${'b'.repeat(128)}` as Digest)).toBe(`sha512-${'b'.repeat(64)}`);
  });
});

describe('descriptors', () => {
  const good = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${HEX}`, size: 12, artifactType: 'x/y', annotations: { a: 'b' } };

  test('a complete descriptor is accepted as is', () => {
    expect(parseDescriptor(good)).toEqual({ ok: true, value: good });
  });

  test.each([
    [{ ...good, size: -1 }, `descriptor sha256:${HEX} has an invalid size`],
    [{ ...good, size: 1.5 }, `descriptor sha256:${HEX} has an invalid size`],
    [{ ...good, digest: 'sha256:nope' }, 'a descriptor has a missing or malformed digest'],
    [{ ...good, mediaType: 7 }, 'a descriptor has no mediaType'],
    [{ ...good, artifactType: 1 }, `descriptor sha256:${HEX} has a non-string artifactType`],
    [{ ...good, annotations: { a: 1 } }, `descriptor sha256:${HEX} has a non-string annotation "a"`],
    ['text', 'a descriptor is not an object'],
  ])('%j is refused', (value, message) => {
    expect(parseDescriptor(value)).toEqual({ ok: false, error: message });
  });

  test('an index without manifests is refused; an empty one is fine', () => {
    expect(indexDescriptors({ schemaVersion: 2 })).toEqual({ ok: false, error: 'the index has no manifests array' });
    expect(indexDescriptors({ schemaVersion: 2, manifests: [] })).toEqual({ ok: true, value: [] });
  });

  test('an annotation named __proto__ stays data', () => {
    const parsed = parseDescriptor(JSON.parse(`{"mediaType":"a/b","digest":"sha256:${HEX}","size":1,"annotations":{"__proto__":"x"}}`));
    expect(parsed.ok && Object.getPrototypeOf(parsed.value.annotations)).toBe(Object.prototype);
    expect(parsed.ok && Object.keys(parsed.value.annotations ?? {})).toEqual(['__proto__']);
  });
});

describe('Link headers', () => {
  test.each([
    ['</v2/a/referrers/x?last=1>; rel="next"', '/v2/a/referrers/x?last=1'],
    ['<https://r/prev>; rel="prev", <https://r/next>; rel=next', 'https://r/next'],
    ['<https://r/n>; title="a, b"; rel="last next"', 'https://r/n'],
    ['<https://r/prev>; rel="prev"', undefined],
    [undefined, undefined],
    ['garbage', undefined],
  ])('%s -> %s', (header, expected) => {
    expect(nextLinkOf(header)).toBe(expected);
  });
});

describe('manifest media types', () => {
  test('parameters and case are ignored; schema1 and others are told apart', () => {
    expect(classifyManifestType('Application/VND.oci.image.index.v1+json; charset=utf-8')).toEqual({ kind: 'accepted', mediaType: 'application/vnd.oci.image.index.v1+json' });
    expect(classifyManifestType('application/vnd.docker.distribution.manifest.v1+prettyjws')).toEqual({ kind: 'schema1' });
    expect(classifyManifestType(undefined)).toEqual({ kind: 'other', mediaType: '' });
  });

  test('body checks', () => {
    const type = 'application/vnd.oci.image.manifest.v1+json';
    expect(checkManifestBody(Buffer.from('{"schemaVersion":2}'), type).kind).toBe('ok');
    expect(checkManifestBody(Buffer.from('{"schemaVersion":1}'), type)).toEqual({ kind: 'schema1' });
    expect(checkManifestBody(Buffer.from('[]'), type)).toEqual({ kind: 'bad', reason: 'body is not a JSON object' });
    expect(checkManifestBody(Buffer.from('{"schemaVersion":"2"}'), type)).toEqual({ kind: 'bad', reason: 'schemaVersion is "2", expected 2' });
  });
});
