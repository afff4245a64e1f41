// Turns operator-supplied PEM text into TrustedKeys, once, when the policy is loaded, so the request
// path never parses PEM. Accepts only the public-key forms cosign accepts and explains every refusal
// in words an operator can act on. Also holds the small strict PEM codec other key code shares.
import { createHash, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import type { KeyAlgorithm, TrustedKey } from './types.js';

export interface InvalidKeyError {
  readonly code: 'INVALID_KEY';
  readonly message: string;
}

export interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
}

// Far above any real key (an RSA-16384 SPKI PEM is under 3 KiB); keeps hostile ConfigMaps cheap.
const MAX_PEM_CHARS = 64 * 1024;
const MIN_RSA_BITS = 2048;

const CURVE_ALGORITHMS: Readonly<Record<string, KeyAlgorithm>> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
  secp521r1: 'ecdsa-p521',
};

const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * Parse one trusted public key. Accepted: PEM `PUBLIC KEY` (SPKI) holding ECDSA P-256/P-384/P-521,
 * RSA of at least 2048 bits, or Ed25519; and PEM `RSA PUBLIC KEY` (PKCS#1).
 */
export function parsePublicKey(name: string, pem: string): Result<TrustedKey, InvalidKeyError> {
  const invalid = (detail: string): Result<TrustedKey, InvalidKeyError> =>
    err({ code: 'INVALID_KEY', message: `key ${name}: ${detail}` });

  if (pem.length > MAX_PEM_CHARS) return invalid(`PEM text is ${pem.length} characters; a public key is far smaller`);
  // Checked before any decoding so the mistake is named even when the private key block is itself odd.
  if (PRIVATE_KEY_MARKER.test(pem)) {
    return err({ code: 'INVALID_KEY', message: `key ${name} is a private key; give the public key` });
  }
  if (/^\s*(ssh-(rsa|ed25519)|ecdsa-sha2-)/.test(pem)) {
    return invalid('this is an OpenSSH public key; convert it with `ssh-keygen -e -m PKCS8 -f <file>`');
  }

  const decoded = decodePem(pem);
  if (!decoded.ok) return invalid(decoded.error);
  const blocks = decoded.value;
  const block = blocks[0];
  if (block === undefined) return invalid('no PEM block found; expected "-----BEGIN PUBLIC KEY-----"');
  if (blocks.length > 1) return invalid(`found ${blocks.length} PEM blocks; give exactly one public key per key entry`);

  let key: KeyObject;
  switch (block.type) {
    case 'PUBLIC KEY':
      try {
        key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
      } catch {
        return invalid('the PUBLIC KEY block is not a valid SubjectPublicKeyInfo structure');
      }
      break;
    case 'RSA PUBLIC KEY':
      try {
        key = createPublicKey({ key: block.der, format: 'der', type: 'pkcs1' });
      } catch {
        return invalid('the RSA PUBLIC KEY block is not a valid PKCS#1 RSAPublicKey structure');
      }
      break;
    case 'CERTIFICATE':
      return invalid('this is a certificate, not a public key; extract the key with `openssl x509 -pubkey -noout -in <file>`');
    default:
      return invalid(`PEM type "${block.type}" is not supported; expected "PUBLIC KEY" or "RSA PUBLIC KEY"`);
  }

  const algorithm = keyAlgorithm(key);
  if (!algorithm.ok) return invalid(algorithm.error);

  const spkiDer = key.export({ type: 'spki', format: 'der' });
  return ok(
    Object.freeze({
      name,
      key,
      algorithm: algorithm.value,
      fingerprint: `sha256:${createHash('sha256').update(spkiDer).digest('hex')}`,
    }),
  );
}

/** The SPKI DER of a trusted key, for comparing against keys that other documents embed. */
export function spkiDer(key: TrustedKey): Buffer {
  return key.key.export({ type: 'spki', format: 'der' });
}

function keyAlgorithm(key: KeyObject): Result<KeyAlgorithm, string> {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      const algorithm = CURVE_ALGORITHMS[curve];
      return algorithm === undefined
        ? err(`ECDSA curve ${curve} is not supported; use P-256, P-384 or P-521`)
        : ok(algorithm);
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits < MIN_RSA_BITS ? err(`RSA key is ${bits} bits; at least ${MIN_RSA_BITS} are required`) : ok('rsa');
    }
    case 'ed25519':
      return ok('ed25519');
    case 'rsa-pss':
      return err('RSA-PSS-restricted keys (id-RSASSA-PSS) are not supported; export the key as a plain RSA key (rsaEncryption)');
    default:
      return err(`key type ${key.asymmetricKeyType ?? 'unknown'} is not supported; use ECDSA (P-256/P-384/P-521), RSA or Ed25519`);
  }
}

/**
 * Strict PEM decoding (RFC 7468 "strict" profile): only whitespace outside blocks, no headers,
 * standard padded base64 inside. Returns the blocks in order (none for text with no BEGIN line at
 * all), or one sentence saying what is wrong.
 */
export function decodePem(text: string): Result<PemBlock[], string> {
  // Text without any BEGIN line is "no blocks"; callers know which block they expected and say so.
  if (!text.includes('-----BEGIN ')) return ok([]);
  const lines = text.replace(/\r\n?/g, '\n').split('\n').map((line) => line.trim());
  const blocks: PemBlock[] = [];
  let open: { type: string; body: string[]; startLine: number } | undefined;

  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    const lineNumber = index + 1;
    if (open === undefined) {
      if (line === '') continue;
      const begin = /^-----BEGIN ([A-Z0-9]+(?: [A-Z0-9]+)*)-----$/.exec(line);
      if (begin === null) return err(`unexpected text outside a PEM block on line ${lineNumber}`);
      open = { type: begin[1] as string, body: [], startLine: lineNumber };
      continue;
    }
    if (line.startsWith('-----END ')) {
      if (line !== `-----END ${open.type}-----`) {
        return err(`PEM block "${open.type}" started on line ${open.startLine} ends with "${line}"`);
      }
      const der = decodeStrictBase64(open.body.join(''));
      if (der === undefined || der.length === 0) {
        return err(`PEM block "${open.type}" does not contain valid base64`);
      }
      blocks.push({ type: open.type, der });
      open = undefined;
      continue;
    }
    if (line.includes(':')) return err(`PEM block "${open.type}" has headers, which are not supported`);
    open.body.push(line);
  }
  if (open !== undefined) return err(`PEM block "${open.type}" started on line ${open.startLine} has no END line`);
  return ok(blocks);
}

/** PEM with 64-character lines, as Go's encoding/pem writes it (so files match what cosign produces). */
export function encodePem(type: string, der: Uint8Array): string {
  const body = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let offset = 0; offset < body.length; offset += 64) lines.push(body.slice(offset, offset + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard alphabet, padded; anything else (including stray characters Buffer would skip) is undefined. */
export function decodeStrictBase64(text: string): Buffer | undefined {
  return STRICT_BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}
