// Cosign key files for `signet keygen` and `signet sign`: the scrypt + NaCl secretbox encrypted
// private key envelope that cosign and containers/image (skopeo) read, and signing a payload the way
// cosign does. Never used on the admission path; the server only ever holds public keys.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scryptSync, sign as cryptoSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { decodePem, decodeStrictBase64, encodePem } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { isJsonObject, parseStrictJsonBytes } from '../../util/strict-json.js';
import type { JsonObject, JsonValue } from '../../util/strict-json.js';

export interface PrivateKeyError {
  readonly code: 'BAD_PASSWORD' | 'INVALID_KEY';
  readonly message: string;
}

/** The PEM type every cosign version and containers/image v5.22 (skopeo 1.9) accept. */
export const COSIGN_PRIVATE_KEY_PEM = 'ENCRYPTED COSIGN PRIVATE KEY';
/** What cosign ≥ 2.2 writes; older containers/image rejects it, so we read it but never write it. */
export const SIGSTORE_PRIVATE_KEY_PEM = 'ENCRYPTED SIGSTORE PRIVATE KEY';

// N=32768 is the only cost go-tuf ≤ 0.5 (skopeo 1.9) accepts; go-securesystemslib also allows the larger two.
const WRITE_SCRYPT = { N: 32768, r: 8, p: 1 } as const;
const ACCEPTED_SCRYPT_N: readonly number[] = [32768, 65536, 131072];
// scrypt needs 128·N·r bytes: 128 MiB at N=131072; Node's 32 MiB default is too small even for N=32768.
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
const KEY_BYTES = 32;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const SECRETBOX_TAG_BYTES = 16;
const MAX_KEY_FILE_CHARS = 64 * 1024;

/** A fresh ECDSA P-256 key pair (cosign's default), the private key encrypted with `password`. */
export function generateKeyPair(password: string): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: encryptPrivateKey(privateKey.export({ type: 'pkcs8', format: 'der' }), password),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * PEM `ENCRYPTED COSIGN PRIVATE KEY` around compact JSON
 * `{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":…},"cipher":{"name":"nacl/secretbox","nonce":…},"ciphertext":…}`
 * (field order and padded standard base64 as Go's encoding/json writes the go-tuf structs).
 */
export function encryptPrivateKey(pkcs8Der: Buffer, password: string): string {
  try {
    createPrivateKey({ key: pkcs8Der, format: 'der', type: 'pkcs8' });
  } catch {
    // Encrypting something that is not a PKCS#8 key would produce a file no tool can use.
    throw new TypeError('encryptPrivateKey needs a PKCS#8 DER private key');
  }
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = deriveKey(password, salt, WRITE_SCRYPT.N);
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(pkcs8Der);
  const envelope =
    `{"kdf":{"name":"scrypt","params":{"N":${WRITE_SCRYPT.N},"r":${WRITE_SCRYPT.r},"p":${WRITE_SCRYPT.p}},"salt":"${salt.toString('base64')}"},` +
    `"cipher":{"name":"nacl/secretbox","nonce":"${nonce.toString('base64')}"},` +
    `"ciphertext":"${Buffer.from(ciphertext).toString('base64')}"}`;
  return encodePem(COSIGN_PRIVATE_KEY_PEM, Buffer.from(envelope, 'utf8'));
}

/**
 * Read a private key file: cosign's encrypted envelope (both PEM types), or for convenience an
 * unencrypted PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`.
 */
export function decryptPrivateKey(pem: string, password: string): Result<KeyObject, PrivateKeyError> {
  const invalid = (message: string): Result<KeyObject, PrivateKeyError> => err({ code: 'INVALID_KEY', message });

  if (pem.length > MAX_KEY_FILE_CHARS) return invalid(`private key file is ${pem.length} characters; a key is far smaller`);
  const decoded = decodePem(pem);
  if (!decoded.ok) return invalid(`private key file: ${decoded.error}`);
  const block = decoded.value[0];
  if (block === undefined) return invalid('private key file has no PEM block');
  if (decoded.value.length > 1) return invalid(`private key file has ${decoded.value.length} PEM blocks; expected one`);

  let key: KeyObject;
  switch (block.type) {
    case COSIGN_PRIVATE_KEY_PEM:
    case SIGSTORE_PRIVATE_KEY_PEM: {
      const opened = openEnvelope(block.der, password);
      if (!opened.ok) return opened;
      try {
        key = createPrivateKey({ key: opened.value, format: 'der', type: 'pkcs8' });
      } catch {
        return invalid('the decrypted private key is not a PKCS#8 key');
      }
      break;
    }
    case 'PRIVATE KEY':
    case 'EC PRIVATE KEY':
    case 'RSA PRIVATE KEY': {
      const type = block.type === 'PRIVATE KEY' ? 'pkcs8' : block.type === 'EC PRIVATE KEY' ? 'sec1' : 'pkcs1';
      try {
        key = createPrivateKey({ key: block.der, format: 'der', type });
      } catch {
        return invalid(`the ${block.type} block is not a valid ${type.toUpperCase()} private key`);
      }
      break;
    }
    case 'ENCRYPTED PRIVATE KEY':
      return invalid(
        'PKCS#8-encrypted keys (ENCRYPTED PRIVATE KEY) are not supported; use a cosign key file or an unencrypted PRIVATE KEY',
      );
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      return invalid('this is a public key; signing needs the private key');
    default:
      return invalid(`PEM type "${block.type}" is not a private key format signet reads`);
  }

  const problem = unsupportedKeyProblem(key);
  return problem === undefined ? ok(key) : invalid(problem);
}

/**
 * Sign `payload` as cosign does and return standard base64: ECDSA DER with the curve's hash
 * (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512), RSA PKCS#1 v1.5 SHA-256, pure Ed25519.
 */
export function signPayload(privateKey: KeyObject, payload: Buffer): string {
  const problem = unsupportedKeyProblem(privateKey);
  if (problem !== undefined) throw new TypeError(`signPayload: ${problem}`);
  let signature: Buffer;
  switch (privateKey.asymmetricKeyType) {
    case 'ec': {
      const curve = privateKey.asymmetricKeyDetails?.namedCurve;
      const hash = curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256';
      signature = cryptoSign(hash, payload, { key: privateKey, dsaEncoding: 'der' });
      break;
    }
    case 'rsa':
      signature = cryptoSign('sha256', payload, privateKey);
      break;
    default:
      signature = cryptoSign(null, payload, privateKey);
  }
  return signature.toString('base64');
}

/** The public half of a private key as PEM `PUBLIC KEY`, to publish next to a signature. */
export function publicKeyPemFor(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

function unsupportedKeyProblem(key: KeyObject): string | undefined {
  if (key.type !== 'private') return 'not a private key';
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      return ['prime256v1', 'secp384r1', 'secp521r1'].includes(curve)
        ? undefined
        : `ECDSA curve ${curve} is not supported; use P-256, P-384 or P-521`;
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits >= 2048 ? undefined : `RSA key is ${bits} bits; at least 2048 are required`;
    }
    case 'ed25519':
      return undefined;
    default:
      return `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported; use ECDSA, RSA or Ed25519`;
  }
}

/** Parse and open the JSON envelope; returns the PKCS#8 DER. */
function openEnvelope(json: Buffer, password: string): Result<Buffer, PrivateKeyError> {
  const invalid = (message: string): Result<Buffer, PrivateKeyError> =>
    err({ code: 'INVALID_KEY', message: `encrypted private key ${message}` });

  const parsed = parseStrictJsonBytes(json);
  if (!parsed.ok) return invalid(`is not valid JSON: ${parsed.error}`);
  const envelope = parsed.value;
  const kdf = field(envelope, 'kdf');
  const params = field(kdf, 'params');
  const cipher = field(envelope, 'cipher');
  if (field(kdf, 'name') !== 'scrypt') return invalid('does not use the scrypt key derivation');
  const n = field(params, 'N');
  if (typeof n !== 'number' || !ACCEPTED_SCRYPT_N.includes(n) || field(params, 'r') !== 8 || field(params, 'p') !== 1) {
    return invalid(`has scrypt parameters other than N ∈ {${ACCEPTED_SCRYPT_N.join(', ')}}, r=8, p=1`);
  }
  if (field(cipher, 'name') !== 'nacl/secretbox') return invalid('does not use nacl/secretbox encryption');
  const salt = base64Field(kdf, 'salt');
  const nonce = base64Field(cipher, 'nonce');
  const ciphertext = base64Field(envelope, 'ciphertext');
  if (salt === undefined || salt.length === 0) return invalid('has no valid salt');
  if (nonce === undefined || nonce.length !== NONCE_BYTES) return invalid(`nonce is not ${NONCE_BYTES} bytes of base64`);
  if (ciphertext === undefined || ciphertext.length <= SECRETBOX_TAG_BYTES) return invalid('has no valid ciphertext');

  const key = deriveKey(password, salt, n);
  try {
    return ok(Buffer.from(xsalsa20poly1305(key, nonce).decrypt(ciphertext)));
  } catch {
    // Poly1305 cannot tell a wrong password from a damaged file; the password is by far the likelier.
    return err({ code: 'BAD_PASSWORD', message: 'wrong password for the private key (or the key file is damaged)' });
  }
}

function deriveKey(password: string, salt: Buffer, n: number): Buffer {
  return scryptSync(Buffer.from(password, 'utf8'), salt, KEY_BYTES, { N: n, r: 8, p: 1, maxmem: SCRYPT_MAXMEM });
}

function field(value: JsonValue | undefined, name: string): JsonValue | undefined {
  return isJsonObject(value) && Object.hasOwn(value, name) ? (value as JsonObject)[name] : undefined;
}

function base64Field(value: JsonValue | undefined, name: string): Buffer | undefined {
  const text = field(value, name);
  return typeof text === 'string' ? decodeStrictBase64(text) : undefined;
}
