// The digest helpers the verifiers and the referrers fallback use: asDigest, digestLike, matchesDigest,
// algorithmOf and the referrers tag schema.
import { algorithmOf, asDigest, digestLike, matchesDigest, referrersTagFor } from '../../src/reference/digest.js';
import type { Digest } from '../../src/reference/types.js';

const bytes = new TextEncoder().encode('abc');
const SHA256_ABC = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' as Digest;
const SHA512_ABC = ('sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f') as Digest;

test('asDigest: the digest when well formed, undefined otherwise', () => {
  expect(asDigest(SHA256_ABC)).toBe(SHA256_ABC);
  expect(asDigest(SHA256_ABC.toUpperCase())).toBeUndefined();
  expect(asDigest('sha256:abc')).toBeUndefined();
  expect(asDigest('')).toBeUndefined();
});

test('algorithmOf: the part before the colon', () => {
  expect(algorithmOf(SHA256_ABC)).toBe('sha256');
  expect(algorithmOf(SHA512_ABC)).toBe('sha512');
});

test('digestLike hashes with the algorithm its model names, whatever the rest; an unknown algorithm gives undefined', () => {
  expect(digestLike('sha256:anything', bytes)).toBe(SHA256_ABC);
  expect(digestLike(`sha512:${'0'.repeat(128)}`, bytes)).toBe(SHA512_ABC);
  expect(digestLike('md5:900150983cd24fb0d6963f7d28e17f72', bytes)).toBeUndefined();
  expect(digestLike('sha256', bytes)).toBeUndefined();
  expect(digestLike('', bytes)).toBeUndefined();
});

test('matchesDigest: true only for the digest of these exact bytes, under its own algorithm', () => {
  expect(matchesDigest(bytes, SHA256_ABC)).toBe(true);
  expect(matchesDigest(bytes, SHA512_ABC)).toBe(true);
  expect(matchesDigest(new TextEncoder().encode('abd'), SHA256_ABC)).toBe(false);
  expect(matchesDigest(bytes, `sha256:${'0'.repeat(64)}` as Digest)).toBe(false);
});

test('referrersTagFor: <alg>-<hex>, the algorithm cut to 32 and the hex to 64 characters, other characters replaced by -', () => {
  expect(referrersTagFor(SHA256_ABC)).toBe('sha256-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  expect(referrersTagFor(SHA512_ABC)).toBe(`sha512-${SHA512_ABC.slice(7, 7 + 64)}`);
  // The schema is defined for any algorithm a registry may use, not only the three we accept.
  expect(referrersTagFor(`${'a'.repeat(40)}+b64:${'x'.repeat(70)}` as Digest)).toBe(`${'a'.repeat(32)}-${'x'.repeat(64)}`);
  expect(referrersTagFor('sha256+b64u:ab/cd=' as Digest)).toBe('sha256-b64u-ab-cd-');
});
