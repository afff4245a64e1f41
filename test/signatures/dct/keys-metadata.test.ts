// TUF key objects (types, key IDs, refusals) and the RFC 3339 times of metadata expiry.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { keyIdOf, parseTufKey, verifyTufSignature } from '../../../src/signatures/dct/keys.js';
import { parseRfc3339 } from '../../../src/signatures/dct/metadata.js';
import { ecdsaKey, ed25519Key, keyEntry, rootCertificateKey, rsaKey } from './tuf-builder.js';

describe('parseTufKey', () => {
  test.each([
    ['ecdsa', () => ecdsaKey()],
    ['ed25519 (raw 32-byte public value)', () => ed25519Key()],
    ['rsa', () => rsaKey(2048, 'rsapss')],
  ])('%s keys parse with the key ID notary computes', (_name, make) => {
    const key = make();
    const parsed = parseTufKey(keyEntry(key));
    expect(parsed.ok && parsed.value.id).toBe(key.id);
    expect(parsed.ok && parsed.value.keytype).toBe(key.keytype);
  });

  test('ecdsa-x509 keys are base64 PEM certificates; their facts are kept', async () => {
    const key = await rootCertificateKey('registry.example.com/team/app');
    const parsed = parseTufKey(keyEntry(key));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.certificate?.commonNames).toEqual(['registry.example.com/team/app']);
    expect(parsed.value.id).toBe(keyIdOf('ecdsa-x509', key.publicB64));
  });

  test('the key ID is sha256 of the canonical key object with private: null', () => {
    const literal = '{"keytype":"ed25519","keyval":{"private":null,"public":"AAAA"}}';
    expect(keyIdOf('ed25519', 'AAAA')).toBe(createHash('sha256').update(literal).digest('hex'));
  });

  const ec = ecdsaKey();
  test.each([
    ['not an object', 'x', 'it is not an object'],
    ['an unknown keytype', { keytype: 'dsa', keyval: { public: 'AA==' } }, 'its keytype "dsa" is not one of ecdsa, ecdsa-x509, rsa, rsa-x509, ed25519'],
    ['no keyval', { keytype: 'ecdsa' }, 'it has no keyval object'],
    ['a private key', { keytype: 'ecdsa', keyval: { public: ec.publicB64, private: 'c2VjcmV0' } }, 'it carries a private key'],
    ['no public value', { keytype: 'ecdsa', keyval: { private: null } }, 'it has no public value'],
    ['non-canonical base64', { keytype: 'ecdsa', keyval: { public: `${ec.publicB64.slice(0, 10)}\n${ec.publicB64.slice(10)}` } }, 'its public value is not canonical standard base64'],
    ['an ecdsa keytype holding an RSA key', { keytype: 'ecdsa', keyval: { public: rsaKey(2048, 'rsapss').publicB64 } }, 'it holds a rsa key, not ECDSA'],
    ['garbage bytes', { keytype: 'rsa', keyval: { public: 'AAAA' } }, 'its public value is not a SubjectPublicKeyInfo'],
    ['a short Ed25519 value', { keytype: 'ed25519', keyval: { public: 'AAAA' } }, 'its Ed25519 public value is 3 bytes, not 32'],
    ['an x509 type without a certificate', { keytype: 'ecdsa-x509', keyval: { public: ec.publicB64 } }, 'its public value is not a PEM certificate'],
  ])('refuses %s', (_name, raw, message) => {
    expect(parseTufKey(raw as never)).toEqual({ ok: false, error: message });
  });

  test('an unsupported curve is refused', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const raw = { keytype: 'ecdsa', keyval: { public: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') } };
    expect(parseTufKey(raw)).toEqual({ ok: false, error: 'its ECDSA curve secp256k1 is not supported' });
  });
});

describe('verifyTufSignature', () => {
  test('raw r||s of the wrong length, and garbage, do not verify (and do not throw)', () => {
    const key = ecdsaKey();
    const message = Buffer.from('message');
    const good = key.sign(message);
    expect(verifyTufSignature(key.publicKey, 'ecdsa', message, good)).toBe(true);
    expect(verifyTufSignature(key.publicKey, 'ecdsa', message, good.subarray(1))).toBe(false);
    expect(verifyTufSignature(key.publicKey, 'ecdsa', message, Buffer.alloc(64))).toBe(false);
    const rsa = rsaKey(2048, 'rsapkcs1v15');
    expect(verifyTufSignature(rsa.publicKey, 'rsapkcs1v15', message, Buffer.alloc(600, 1))).toBe(false);
    expect(verifyTufSignature(rsa.publicKey, 'rsapss', message, rsa.sign(message))).toBe(false);
  });
});

describe('parseRfc3339', () => {
  test.each([
    ['2029-08-26T14:12:13.21926558+02:00', '2029-08-26T12:12:13.219Z'],
    ['2036-11-21T21:32:07.81299343Z', '2036-11-21T21:32:07.812Z'],
    ['2019-10-24T00:00:00Z', '2019-10-24T00:00:00.000Z'],
    ['2020-02-29T23:59:59-05:30', '2020-03-01T05:29:59.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseRfc3339(text)?.toISOString()).toBe(iso);
  });

  test.each(['2019-02-29T00:00:00Z', '2019-10-24 00:00:00Z', '2019-10-24T24:00:00Z', '2019-10-24T00:00:00', '2019-10-24T00:00:00.Z', '2019-10-24T00:00:00.1234567890Z', '2019-10-24t00:00:00z', '2019-10-24T00:00:00+24:00'])(
    '%s is refused',
    (text) => {
      expect(parseRfc3339(text)).toBeUndefined();
    },
  );
});
