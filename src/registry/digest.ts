// Content addressing inside the registry client: hashing exact bytes and checking digest strings.
// Kept local to src/registry so the client does not depend on the reference parser.

import { createHash } from 'node:crypto';
import type { Digest } from '../reference/types.js';

const HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** The digest string when `text` is a supported, well-formed digest (lower-case hex only), else undefined. */
export function asDigest(text: string): Digest | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const algorithm = text.slice(0, colon);
  const encoded = text.slice(colon + 1);
  const length = HEX_LENGTH[algorithm];
  if (length === undefined || encoded.length !== length || !/^[0-9a-f]+$/.test(encoded)) return undefined;
  return text as Digest;
}

export function algorithmOf(digest: Digest): string {
  return digest.slice(0, digest.indexOf(':'));
}

/** Digest of the exact bytes with the given algorithm (sha256 unless told otherwise). */
export function digestOf(bytes: Uint8Array, algorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
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
