// Content digests: checks the text form `algorithm:hex` and computes digests over exact bytes.
// It accepts only the algorithms the OCI image spec registers, and only lower-case hex of the exact
// length, so one piece of content has exactly one digest string: a second spelling of the same digest
// could miss a cache entry, a pin or a signature lookup. It never hashes re-serialised data; callers
// pass the bytes they received.

import { createHash } from 'node:crypto';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { quote } from '../util/quote.js';
import type { Digest, ReferenceError } from './types.js';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

const HEX_LENGTH_BY_ALGORITHM: Readonly<Record<DigestAlgorithm, number>> = Object.freeze({
  sha256: 64,
  sha384: 96,
  sha512: 128,
});

const LOWER_HEX = /^[0-9a-f]*$/;

function isDigestAlgorithm(name: string): name is DigestAlgorithm {
  return Object.hasOwn(HEX_LENGTH_BY_ALGORITHM, name);
}

/**
 * Checks a digest and returns it branded, or a sentence saying what is wrong (without the
 * "invalid …" prefix, so that both parseDigest and parseReference can frame it).
 */
export function checkDigest(text: string): Result<Digest, string> {
  if (text.length === 0) {
    return err('digest is empty');
  }
  const colon = text.indexOf(':');
  if (colon < 0) {
    return err(`digest ${quote(text)} must have the form <algorithm>:<hex>, e.g. sha256:<64 hex characters>`);
  }
  const algorithm = text.slice(0, colon);
  const encoded = text.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm)) {
    return err(`digest algorithm ${quote(algorithm)} is not supported; use sha256, sha384 or sha512`);
  }
  const expectedLength = HEX_LENGTH_BY_ALGORITHM[algorithm];
  const requirement = `digest ${quote(text)} must be ${expectedLength} lower-case hex characters`;
  if (!LOWER_HEX.test(encoded)) {
    const offending = [...encoded].find((char) => !/[0-9a-f]/.test(char)) ?? '';
    const why = /[A-F]/.test(offending) ? 'upper-case hex is not accepted' : `${quote(offending)} is not a hex character`;
    return err(`${requirement} (${why})`);
  }
  if (encoded.length !== expectedLength) {
    return err(`${requirement} (it has ${encoded.length})`);
  }
  return ok(text as Digest);
}

/** Parses `algorithm:hex` (sha256, sha384 or sha512, lower-case hex of the exact length). */
export function parseDigest(input: string): Result<Digest, ReferenceError> {
  if (typeof input !== 'string') {
    return err({ code: 'INVALID_REFERENCE', message: 'invalid digest: a digest must be a string', input: String(input) });
  }
  const checked = checkDigest(input);
  if (!checked.ok) {
    return err({ code: 'INVALID_REFERENCE', message: `invalid digest ${quote(input)}: ${checked.error}`, input });
  }
  return checked;
}

/** The digest when `text` is a supported, well-formed digest (lower-case hex of the exact length), else undefined. */
export function asDigest(text: string): Digest | undefined {
  const checked = checkDigest(text);
  return checked.ok ? checked.value : undefined;
}

export function algorithmOf(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

/** Digest of the exact bytes given, in the algorithm asked for (sha256 unless told otherwise). */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  if (!isDigestAlgorithm(algorithm)) {
    // Unreachable from typed code; a programming error, so it throws rather than returning a value.
    throw new TypeError(`unsupported digest algorithm ${quote(String(algorithm))}`);
  }
  const hex = createHash(algorithm).update(bytes).digest('hex');
  return `${algorithm}:${hex}` as Digest;
}

/** `sha256:` + lower-case hex of SHA-256 over the exact bytes (what registries use for manifests and blobs). */
export function sha256Digest(bytes: Uint8Array): Digest {
  return digestOf(bytes, 'sha256');
}

/** Digest of `bytes` with the algorithm `like` names (whatever the rest of `like` is), or undefined for an unsupported algorithm. */
export function digestLike(like: string, bytes: Uint8Array): Digest | undefined {
  const algorithm = like.slice(0, like.indexOf(':'));
  return isDigestAlgorithm(algorithm) ? digestOf(bytes, algorithm) : undefined;
}

/** True when `bytes` hash to `digest` under the digest's own algorithm. */
export function matchesDigest(bytes: Uint8Array, digest: Digest): boolean {
  return digestOf(bytes, algorithmOf(digest)) === digest;
}

/**
 * The OCI referrers tag schema (`sha256-<hex>`): algorithm cut to 32 characters, encoded part to 64,
 * characters a tag may not hold replaced by `-`. No `.sig` suffix: that is cosign's own tag.
 */
export function referrersTagFor(digest: Digest): string {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon).slice(0, 32);
  const encoded = digest.slice(colon + 1).slice(0, 64);
  return `${algorithm}-${encoded}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}
