// The signature algorithms cosign-style signatures use, keyed by the trusted key's algorithm:
// ECDSA (ASN.1 DER), RSA PKCS#1 v1.5 or PSS with SHA-256, and pure Ed25519. Shared by payload
// signatures and Rekor SignedEntryTimestamps. Never throws: a signature that cannot be checked
// simply does not verify.
import { constants, verify as cryptoVerify } from 'node:crypto';
import type { TrustedKey } from '../../keys/types.js';

/** Standard base64 (padded) of a signature annotation. Go's decoder skips CR/LF, so we do too. */
export function decodeSignatureBase64(text: string): Buffer | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

/**
 * Whether `signature` over `message` verifies with `key`.
 * ECDSA hashes by curve (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512: what cosign ≥ 2.4 signs), and
 * for P-384/P-521 also accepts SHA-256, because containers/image (skopeo, podman) and older cosign
 * sign and verify every key type with SHA-256. RSA accepts PKCS#1 v1.5 (cosign and containers/image)
 * and PSS (some KMS-backed signers) with SHA-256. Ed25519 is pure Ed25519 (RFC 8032, what
 * containers/image uses); Ed25519ph, which current cosign uses by default, cannot be verified with
 * Node 24's crypto (`crypto.verify` refuses a digest for Ed25519 and only offers Ed25519ctx contexts).
 */
export function verifyWithKey(key: TrustedKey, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (key.algorithm) {
      case 'ecdsa-p256':
        return cryptoVerify('sha256', message, { key: key.key, dsaEncoding: 'der' }, signature);
      case 'ecdsa-p384':
        return (
          cryptoVerify('sha384', message, { key: key.key, dsaEncoding: 'der' }, signature) ||
          cryptoVerify('sha256', message, { key: key.key, dsaEncoding: 'der' }, signature)
        );
      case 'ecdsa-p521':
        return (
          cryptoVerify('sha512', message, { key: key.key, dsaEncoding: 'der' }, signature) ||
          cryptoVerify('sha256', message, { key: key.key, dsaEncoding: 'der' }, signature)
        );
      case 'rsa':
        return (
          cryptoVerify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, signature) ||
          cryptoVerify(
            'sha256',
            message,
            { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
            signature,
          )
        );
      case 'ed25519':
        return cryptoVerify(null, message, key.key, signature);
      default: {
        const unknown: never = key.algorithm;
        return unknown;
      }
    }
  } catch {
    // OpenSSL errors on odd inputs (e.g. an RSA signature longer than the modulus) mean "does not verify".
    return false;
  }
}

/**
 * Whether `signature` could be a signature of any algorithm cosign uses: a DER SEQUENCE of two
 * INTEGERs (ECDSA), 64 bytes (Ed25519), or an RSA modulus size from 2048 to 16384 bits. Used only to
 * tell garbage apart from "signed by a key we do not trust" in messages; it never makes anything valid.
 */
export function isPlausibleSignature(signature: Uint8Array): boolean {
  if (isDerEcdsaSignature(signature) || signature.length === 64) return true;
  return signature.length >= 256 && signature.length <= 2048;
}

function isDerEcdsaSignature(bytes: Uint8Array): boolean {
  const sequence = readDer(bytes, 0, 0x30);
  if (sequence === undefined || sequence.end !== bytes.length) return false;
  const r = readDer(bytes, sequence.start, 0x02);
  if (r === undefined) return false;
  const s = readDer(bytes, r.end, 0x02);
  return s !== undefined && s.end === sequence.end && r.end > r.start && s.end > s.start;
}

/** One DER TLV with the expected tag at `offset` (short or long definite length), else undefined. */
function readDer(bytes: Uint8Array, offset: number, tag: number): { start: number; end: number } | undefined {
  if (bytes[offset] !== tag) return undefined;
  const first = bytes[offset + 1];
  if (first === undefined) return undefined;
  let length = first;
  let start = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 2) return undefined;
    length = 0;
    for (let index = 0; index < count; index++) {
      const byte = bytes[start + index];
      if (byte === undefined) return undefined;
      length = length * 256 + byte;
    }
    start += count;
  }
  const end = start + length;
  return end <= bytes.length ? { start, end } : undefined;
}
