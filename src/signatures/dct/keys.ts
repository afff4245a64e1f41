// TUF keys and signatures as Notary v1 writes them: turns a `{keytype, keyval}` object from root or
// targets metadata into a usable public key with its recomputed key ID, and checks one signature
// with the algorithm its `method` names. Pure and total: anything odd is a reason, never a throw,
// and a signature that cannot be checked does not verify.
import { X509Certificate, constants, createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { decodePem, decodeStrictBase64 } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { isJsonObject } from '../../util/strict-json.js';
import type { JsonValue } from '../../util/strict-json.js';
import { canonicalJson } from './canonical-json.js';

export type TufKeyType = 'ecdsa' | 'ecdsa-x509' | 'rsa' | 'rsa-x509' | 'ed25519';

const KEY_TYPES: readonly TufKeyType[] = ['ecdsa', 'ecdsa-x509', 'rsa', 'rsa-x509', 'ed25519'];
const MIN_RSA_BITS = 2048;
// ECDSA signatures are raw r||s; each half is as long as the curve's coordinates.
const ECDSA_HALF_BYTES: Readonly<Record<string, number>> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };
// Notary signs certificates' keys for roles; a public key or certificate is a few KiB at most.
const MAX_PUBLIC_BYTES = 16 * 1024;

export interface CertificateFacts {
  /** Every CN in the subject (notary requires exactly one, equal to the GUN, for root certificates). */
  readonly commonNames: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface TufKey {
  /** Hex sha256 of the canonical `{keytype, keyval:{private:null, public}}`, recomputed here. */
  readonly id: string;
  readonly keytype: TufKeyType;
  readonly publicKey: KeyObject;
  /** SPKI DER of `publicKey`, so one key listed twice (as a key and as a certificate) counts once. */
  readonly spki: Buffer;
  /** Set for the -x509 key types. */
  readonly certificate?: CertificateFacts;
}

/** Parses one key object; the error is a short phrase ("its public value is not base64"). */
export function parseTufKey(raw: JsonValue | undefined): Result<TufKey, string> {
  if (!isJsonObject(raw)) return err('it is not an object');
  const keytype = raw['keytype'];
  const keyval = raw['keyval'];
  if (typeof keytype !== 'string' || !(KEY_TYPES as readonly string[]).includes(keytype)) {
    return err(`its keytype ${JSON.stringify(keytype ?? null)} is not one of ${KEY_TYPES.join(', ')}`);
  }
  if (!isJsonObject(keyval)) return err('it has no keyval object');
  if (keyval['private'] !== null && keyval['private'] !== undefined) return err('it carries a private key');
  const publicText = keyval['public'];
  if (typeof publicText !== 'string' || publicText.length === 0) return err('it has no public value');
  if (publicText.length > (MAX_PUBLIC_BYTES * 4) / 3 + 4) return err('its public value is too large');
  const publicBytes = decodeStrictBase64(publicText);
  // Notary hashes the re-encoded bytes, so only the canonical base64 text has the ID it claims.
  if (publicBytes === undefined || publicBytes.toString('base64') !== publicText) {
    return err('its public value is not canonical standard base64');
  }
  const type = keytype as TufKeyType;
  const material = publicKeyOf(type, publicBytes);
  if (!material.ok) return material;
  const id = keyIdOf(type, publicText);
  const spki = material.value.key.export({ type: 'spki', format: 'der' });
  return ok(
    material.value.certificate === undefined
      ? { id, keytype: type, publicKey: material.value.key, spki }
      : { id, keytype: type, publicKey: material.value.key, spki, certificate: material.value.certificate },
  );
}

/** Notary's key ID: sha256 over the canonical JSON of the key with `private: null`. */
export function keyIdOf(keytype: string, publicBase64: string): string {
  const canonical = canonicalJson({ keytype, keyval: { private: null, public: publicBase64 } });
  // Two strings and a null always have a canonical form.
  if (!canonical.ok) throw new Error(`unreachable: ${canonical.error}`);
  return createHash('sha256').update(canonical.value).digest('hex');
}

function publicKeyOf(type: TufKeyType, bytes: Buffer): Result<{ key: KeyObject; certificate?: CertificateFacts }, string> {
  switch (type) {
    case 'ecdsa':
    case 'rsa': {
      let key: KeyObject;
      try {
        key = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
      } catch {
        return err('its public value is not a SubjectPublicKeyInfo');
      }
      const problem = algorithmProblem(type === 'ecdsa' ? 'ec' : 'rsa', key);
      return problem === undefined ? ok({ key }) : err(problem);
    }
    case 'ed25519': {
      if (bytes.length !== 32) return err(`its Ed25519 public value is ${bytes.length} bytes, not 32`);
      try {
        return ok({ key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') }, format: 'jwk' }) });
      } catch {
        return err('its Ed25519 public value is not a valid point');
      }
    }
    case 'ecdsa-x509':
    case 'rsa-x509': {
      const certificate = parseCertificatePem(bytes.toString('latin1'));
      if (!certificate.ok) return certificate;
      const key = certificate.value.publicKey;
      const problem = algorithmProblem(type === 'ecdsa-x509' ? 'ec' : 'rsa', key);
      return problem === undefined ? ok({ key, certificate: certificateFacts(certificate.value) }) : err(problem);
    }
  }
}

/** Exactly one PEM CERTIFICATE block, parsed. Used for metadata keys and for pinned root certificates. */
export function parseCertificatePem(text: string): Result<X509Certificate, string> {
  const blocks = decodePem(text);
  if (!blocks.ok) return err(`its certificate PEM is invalid: ${blocks.error}`);
  const block = blocks.value[0];
  if (block === undefined || block.type !== 'CERTIFICATE') return err('its public value is not a PEM certificate');
  if (blocks.value.length > 1) return err(`its public value holds ${blocks.value.length} PEM blocks, not one certificate`);
  try {
    return ok(new X509Certificate(block.der));
  } catch {
    return err('its certificate cannot be parsed');
  }
}

export function certificateFacts(certificate: X509Certificate): CertificateFacts {
  const commonNames = certificate.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
  return { commonNames, notBefore: certificate.validFromDate, notAfter: certificate.validToDate };
}

/** Why `key` cannot be used as a key of `family`, or undefined when it can. */
export function algorithmProblem(family: 'ec' | 'rsa' | 'any', key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (family !== 'any' && type !== family) return `it holds a ${type ?? 'unknown'} key, not ${family === 'ec' ? 'ECDSA' : 'RSA'}`;
  switch (type) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      return ECDSA_HALF_BYTES[curve] === undefined ? `its ECDSA curve ${curve} is not supported` : undefined;
    }
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits < MIN_RSA_BITS ? `its RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required` : undefined;
    }
    case 'ed25519':
      return undefined;
    default:
      return `its ${type ?? 'unknown'} key type is not supported`;
  }
}

/**
 * Whether `signature` over `message` verifies with `key` under the signature's `method` (compared
 * case-insensitively, as notary does): `ecdsa` (SHA-256, raw r||s of exactly twice the coordinate
 * size), `eddsa` (Ed25519), `rsapss` (SHA-256, salt 32) or `rsapkcs1v15` (SHA-256).
 * A method that does not fit the key's algorithm does not verify.
 */
export function verifyTufSignature(key: KeyObject, method: string, message: Buffer, signature: Buffer): boolean {
  if (algorithmProblem('any', key) !== undefined) return false;
  try {
    switch (method.toLowerCase()) {
      case 'ecdsa': {
        if (key.asymmetricKeyType !== 'ec') return false;
        const half = ECDSA_HALF_BYTES[key.asymmetricKeyDetails?.namedCurve ?? ''];
        if (half === undefined || signature.length !== 2 * half) return false;
        return cryptoVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
      }
      case 'eddsa':
        return key.asymmetricKeyType === 'ed25519' && signature.length === 64 && cryptoVerify(null, message, key, signature);
      case 'rsapss':
        return (
          key.asymmetricKeyType === 'rsa' &&
          cryptoVerify('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)
        );
      case 'rsapkcs1v15':
        return key.asymmetricKeyType === 'rsa' && cryptoVerify('sha256', message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      default:
        return false;
    }
  } catch {
    // OpenSSL rejects some malformed inputs by throwing; for us that is simply "does not verify".
    return false;
  }
}
