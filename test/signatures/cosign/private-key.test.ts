// Cosign key files and signing, checked against independent implementations: the openssl CLI
// verifies our signatures and reads our public keys; envelopes built here by hand (noble's
// libsodium-style secretbox API, node scrypt) decrypt. skopeo cannot serve as a cross-check: Debian
// built it with sigstore signing disabled (see /work/shared/docs/real-servers.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, scryptSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretbox } from '@noble/ciphers/salsa.js';
import type { Digest } from '../../../src/reference/types.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import {
  decryptPrivateKey,
  encryptPrivateKey,
  generateKeyPair,
  publicKeyPemFor,
  signPayload,
} from '../../../src/signatures/cosign/private-key.js';
import { buildPayload } from '../../../src/signatures/cosign/payload.js';

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'signet-cosign-key-'));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function tempFile(name: string, content: string | Buffer): string {
  const path = join(workDir, name);
  writeFileSync(path, content);
  return path;
}

function envelopeJson(pem: string): string {
  const body = pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----')).join('');
  return Buffer.from(body, 'base64').toString('utf8');
}

function pemWith(type: string, json: string): string {
  return `-----BEGIN ${type}-----\n${Buffer.from(json).toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${type}-----\n`;
}

/** Our own independent construction of an envelope (noble's libsodium-style API), for decrypt tests. */
function handMadeEnvelope(pkcs8: Buffer, password: string, n: number, type = 'ENCRYPTED SIGSTORE PRIVATE KEY'): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = scryptSync(password, salt, 32, { N: n, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
  const sealed = Buffer.from(secretbox(key, nonce).seal(pkcs8));
  const json = JSON.stringify({
    kdf: { name: 'scrypt', params: { N: n, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: sealed.toString('base64'),
  });
  return pemWith(type, json);
}

function sameKey(privateKey: KeyObject, publicPem: string): boolean {
  const fromPrivate = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return fromPrivate.equals(createPublicKey(publicPem).export({ type: 'spki', format: 'der' }));
}

describe('generateKeyPair / encryptPrivateKey', () => {
  const pair = generateKeyPair('correct horse');

  test('writes ENCRYPTED COSIGN PRIVATE KEY with the exact field order and N=32768, r=8, p=1', () => {
    expect(pair.privateKeyPem.startsWith('-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n')).toBe(true);
    expect(pair.privateKeyPem.endsWith('\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n')).toBe(true);
    const lines = pair.privateKeyPem.trim().split('\n').slice(1, -1);
    expect(lines.slice(0, -1).every((line) => line.length === 64)).toBe(true);
    const json = envelopeJson(pair.privateKeyPem);
    // Salt 32 bytes and nonce 24 bytes in padded standard base64; keys in go-tuf struct order.
    expect(json).toMatch(
      /^\{"kdf":\{"name":"scrypt","params":\{"N":32768,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]{43}="\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]{32}"\},"ciphertext":"[A-Za-z0-9+/]+={0,2}"\}$/,
    );
  });

  test('the public key PEM is SPKI that openssl reads as a P-256 key', () => {
    expect(pair.publicKeyPem.startsWith('-----BEGIN PUBLIC KEY-----\n')).toBe(true);
    const text = execFileSync('openssl', ['pkey', '-pubin', '-in', tempFile('gen.pub', pair.publicKeyPem), '-noout', '-text'], {
      timeout: 10_000,
    }).toString();
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(parsePublicKey('gen', pair.publicKeyPem)).toMatchObject({ ok: true, value: { algorithm: 'ecdsa-p256' } });
  });

  test('decrypts with the password to the private half of the public key', () => {
    const key = decryptPrivateKey(pair.privateKeyPem, 'correct horse');
    expect(key.ok).toBe(true);
    if (key.ok) expect(sameKey(key.value, pair.publicKeyPem)).toBe(true);
  });

  test('a wrong password -> BAD_PASSWORD', () => {
    expect(decryptPrivateKey(pair.privateKeyPem, 'Correct horse')).toEqual({
      ok: false,
      error: { code: 'BAD_PASSWORD', message: 'wrong password for the private key (or the key file is damaged)' },
    });
  });

  test('one flipped ciphertext bit -> BAD_PASSWORD (the Poly1305 tag fails)', () => {
    const envelope = JSON.parse(envelopeJson(pair.privateKeyPem)) as { ciphertext: string };
    const ciphertext = Buffer.from(envelope.ciphertext, 'base64');
    ciphertext[40] = (ciphertext[40] as number) ^ 0x01;
    const tampered = envelopeJson(pair.privateKeyPem).replace(envelope.ciphertext, ciphertext.toString('base64'));
    expect(decryptPrivateKey(pemWith('ENCRYPTED COSIGN PRIVATE KEY', tampered), 'correct horse')).toMatchObject({
      ok: false,
      error: { code: 'BAD_PASSWORD' },
    });
  });

  test('an empty password is allowed, as in cosign', () => {
    const emptyPair = generateKeyPair('');
    const key = decryptPrivateKey(emptyPair.privateKeyPem, '');
    expect(key.ok && sameKey(key.value, emptyPair.publicKeyPem)).toBe(true);
  });

  test('RSA, P-384 and Ed25519 PKCS#8 keys round-trip', () => {
    for (const pairOf of [
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      generateKeyPairSync('ed25519'),
    ]) {
      const pem = encryptPrivateKey(pairOf.privateKey.export({ type: 'pkcs8', format: 'der' }), 'pw');
      const key = decryptPrivateKey(pem, 'pw');
      expect(key.ok && sameKey(key.value, pairOf.publicKey.export({ type: 'spki', format: 'pem' }).toString())).toBe(true);
    }
  });

  test('refuses to encrypt something that is not PKCS#8', () => {
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'der' });
    expect(() => encryptPrivateKey(sec1, 'pw')).toThrow('encryptPrivateKey needs a PKCS#8 DER private key');
  });
});

describe('decryptPrivateKey: formats and refusals', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = p256.privateKey.export({ type: 'pkcs8', format: 'der' });
  const publicPem = p256.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const good = JSON.parse(envelopeJson(encryptPrivateKey(pkcs8, 'pw'))) as Record<string, Record<string, unknown>>;

  test.each([[65536], [131072]])('reads ENCRYPTED SIGSTORE PRIVATE KEY with N=%i (cosign ≥ 2.2)', (n) => {
    const key = decryptPrivateKey(handMadeEnvelope(pkcs8, 'pw', n), 'pw');
    expect(key.ok && sameKey(key.value, publicPem)).toBe(true);
  });

  test('reads a hand-made ENCRYPTED COSIGN PRIVATE KEY (independent construction)', () => {
    const key = decryptPrivateKey(handMadeEnvelope(pkcs8, 'pw', 32768, 'ENCRYPTED COSIGN PRIVATE KEY'), 'pw');
    expect(key.ok && sameKey(key.value, publicPem)).toBe(true);
  });

  function variant(edit: (envelope: Record<string, Record<string, unknown>>) => void): string {
    const copy = structuredClone(good);
    edit(copy);
    return pemWith('ENCRYPTED COSIGN PRIVATE KEY', JSON.stringify(copy));
  }

  test.each([
    ['N=16384', variant((e) => ((e['kdf'] as { params: { N: number } }).params.N = 16384)), 'encrypted private key has scrypt parameters other than N ∈ {32768, 65536, 131072}, r=8, p=1'],
    ['N=262144', variant((e) => ((e['kdf'] as { params: { N: number } }).params.N = 262144)), 'encrypted private key has scrypt parameters other than N ∈ {32768, 65536, 131072}, r=8, p=1'],
    ['r=16', variant((e) => ((e['kdf'] as { params: { r: number } }).params.r = 16)), 'encrypted private key has scrypt parameters other than N ∈ {32768, 65536, 131072}, r=8, p=1'],
    ['p=2', variant((e) => ((e['kdf'] as { params: { p: number } }).params.p = 2)), 'encrypted private key has scrypt parameters other than N ∈ {32768, 65536, 131072}, r=8, p=1'],
    ['another KDF', variant((e) => ((e['kdf'] as { name: string }).name = 'pbkdf2')), 'encrypted private key does not use the scrypt key derivation'],
    ['another cipher', variant((e) => ((e['cipher'] as { name: string }).name = 'aes-gcm')), 'encrypted private key does not use nacl/secretbox encryption'],
    ['a short nonce', variant((e) => ((e['cipher'] as { nonce: string }).nonce = 'AAAA')), 'encrypted private key nonce is not 24 bytes of base64'],
    ['no salt', variant((e) => delete (e['kdf'] as { salt?: string }).salt), 'encrypted private key has no valid salt'],
    ['a tiny ciphertext', variant((e) => ((e as unknown as { ciphertext: string }).ciphertext = 'AAAA')), 'encrypted private key has no valid ciphertext'],
    ['JSON with duplicate names', pemWith('ENCRYPTED COSIGN PRIVATE KEY', '{"kdf":{},"kdf":{}}'), 'encrypted private key is not valid JSON: duplicate member name "kdf" at offset 15'],
    ['not JSON', pemWith('ENCRYPTED COSIGN PRIVATE KEY', 'hello'), 'encrypted private key is not valid JSON: unexpected character "h" at offset 0'],
  ])('%s -> INVALID_KEY', (_label, pem, message) => {
    expect(decryptPrivateKey(pem, 'pw')).toEqual({ ok: false, error: { code: 'INVALID_KEY', message } });
  });

  test('an envelope around something that is not PKCS#8 -> INVALID_KEY', () => {
    const pem = handMadeEnvelope(Buffer.from('definitely not a key'), 'pw', 32768);
    expect(decryptPrivateKey(pem, 'pw')).toEqual({ ok: false, error: { code: 'INVALID_KEY', message: 'the decrypted private key is not a PKCS#8 key' } });
  });

  test.each([
    ['PKCS#8 PRIVATE KEY', p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['SEC1 EC PRIVATE KEY', p256.privateKey.export({ type: 'sec1', format: 'pem' }).toString()],
  ])('reads an unencrypted %s', (_label, pem) => {
    const key = decryptPrivateKey(pem, 'ignored');
    expect(key.ok && sameKey(key.value, publicPem)).toBe(true);
  });

  test.each([
    ['a public key', publicPem, 'this is a public key; signing needs the private key'],
    [
      'PKCS#8-encrypted (openssl) keys',
      p256.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString(),
      'PKCS#8-encrypted keys (ENCRYPTED PRIVATE KEY) are not supported; use a cosign key file or an unencrypted PRIVATE KEY',
    ],
    ['garbage', 'not a key', 'private key file has no PEM block'],
    ['an empty file', '', 'private key file has no PEM block'],
    [
      'a secp256k1 key',
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      'ECDSA curve secp256k1 is not supported; use P-256, P-384 or P-521',
    ],
    [
      'a 1024-bit RSA key',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      'RSA key is 1024 bits; at least 2048 are required',
    ],
    ['a corrupt PKCS#8 block', pemWith('PRIVATE KEY', 'garbage!'), 'the PRIVATE KEY block is not a valid PKCS8 private key'],
    ['a corrupt RSA PRIVATE KEY block', pemWith('RSA PRIVATE KEY', 'garbage!'), 'the RSA PRIVATE KEY block is not a valid PKCS1 private key'],
    ['two keys in one file', p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().repeat(2), 'private key file has 2 PEM blocks; expected one'],
    ['a certificate', pemWith('CERTIFICATE', 'x'), 'PEM type "CERTIFICATE" is not a private key format signet reads'],
    ['a huge file', 'x'.repeat(70_000), 'private key file is 70000 characters; a key is far smaller'],
    ['broken PEM', '-----BEGIN PRIVATE KEY-----\nAAAA\n', 'private key file: PEM block "PRIVATE KEY" started on line 1 has no END line'],
  ])('%s -> INVALID_KEY', (_label, pem, message) => {
    expect(decryptPrivateKey(pem, 'pw')).toEqual({ ok: false, error: { code: 'INVALID_KEY', message } });
  });
});

describe('signPayload, verified by the openssl CLI', () => {
  const payload = buildPayload({
    dockerReference: 'registry.example.com/app',
    digest: `sha256:${createHash('sha256').update('m').digest('hex')}` as Digest,
  });
  const payloadPath = () => tempFile('payload.json', payload);

  function opensslVerify(args: string[]): { ok: boolean; output: string } {
    const run = spawnSync('openssl', args, { timeout: 10_000 });
    return { ok: run.status === 0, output: `${run.stdout.toString()}${run.stderr.toString()}` };
  }

  test.each([
    ['P-256', 'sha256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['P-384', 'sha384', generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['P-521', 'sha512', generateKeyPairSync('ec', { namedCurve: 'P-521' })],
    ['RSA PKCS#1 v1.5', 'sha256', generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ])('%s: openssl dgst -%s -verify accepts the signature, and rejects it for other bytes', (label, hash, pair) => {
    const signature = Buffer.from(signPayload(pair.privateKey, payload), 'base64');
    const pub = tempFile(`${label}.pub`, publicKeyPemFor(pair.privateKey));
    const sig = tempFile(`${label}.sig`, signature);
    const good = opensslVerify(['dgst', `-${hash}`, '-verify', pub, '-signature', sig, payloadPath()]);
    expect(good).toEqual({ ok: true, output: 'Verified OK\n' });
    const otherPayload = tempFile('other.json', Buffer.concat([payload, Buffer.from(' ')]));
    const bad = opensslVerify(['dgst', `-${hash}`, '-verify', pub, '-signature', sig, otherPayload]);
    expect(bad.ok).toBe(false);
    expect(bad.output).toContain('Verification failure');
  });

  test('Ed25519: openssl pkeyutl -rawin verifies the pure Ed25519 signature', () => {
    const pair = generateKeyPairSync('ed25519');
    const sig = tempFile('ed.sig', Buffer.from(signPayload(pair.privateKey, payload), 'base64'));
    const pub = tempFile('ed.pub', publicKeyPemFor(pair.privateKey));
    const result = opensslVerify(['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', payloadPath(), '-sigfile', sig]);
    expect(result).toEqual({ ok: true, output: 'Signature Verified Successfully\n' });
  });

  test('refuses keys it cannot sign with as cosign', () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    expect(() => signPayload(k1, payload)).toThrow('signPayload: ECDSA curve secp256k1 is not supported');
    const publicOnly = generateKeyPairSync('ed25519').publicKey;
    expect(() => signPayload(publicOnly, payload)).toThrow('signPayload: not a private key');
  });
});
