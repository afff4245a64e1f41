// parsePublicKey: every accepted key form, and every refusal with the message an operator reads.
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePublicKey } from '../../src/keys/keys.js';

const FIXTURE_KEYS = new URL('../fixtures/conformance/containers-image-cosign/keys/', import.meta.url);

function spkiPem(type: 'ec' | 'rsa' | 'ed25519' | 'ed448' | 'x25519' | 'rsa-pss', options: Record<string, unknown> = {}): string {
  const { publicKey } = generateKeyPairSync(type as 'ec', options as { namedCurve: string });
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

function message(name: string, pem: string): string {
  const result = parsePublicKey(name, pem);
  if (result.ok) throw new Error(`expected ${name} to be rejected`);
  expect(result.error.code).toBe('INVALID_KEY');
  return result.error.message;
}

/** sha256 of the DER openssl itself writes for the key: an independent fingerprint. */
function opensslFingerprint(pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'signet-keys-'));
  try {
    writeFileSync(join(dir, 'key.pem'), pem);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', join(dir, 'key.pem'), '-outform', 'DER'], { timeout: 10_000 });
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der, timeout: 10_000 }).toString();
    return `sha256:${digest.slice(0, 64)}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('accepted keys', () => {
  test.each([
    ['ECDSA P-256', () => spkiPem('ec', { namedCurve: 'P-256' }), 'ecdsa-p256'],
    ['ECDSA P-384', () => spkiPem('ec', { namedCurve: 'P-384' }), 'ecdsa-p384'],
    ['ECDSA P-521', () => spkiPem('ec', { namedCurve: 'P-521' }), 'ecdsa-p521'],
    ['RSA 2048 SPKI', () => spkiPem('rsa', { modulusLength: 2048 }), 'rsa'],
    ['Ed25519', () => spkiPem('ed25519'), 'ed25519'],
  ])('%s PUBLIC KEY', (_label, make, algorithm) => {
    const pem = make();
    const result = parsePublicKey('release', pem);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.name).toBe('release');
    expect(result.value.algorithm).toBe(algorithm);
    expect(result.value.key.type).toBe('public');
    expect(result.value.fingerprint).toBe(opensslFingerprint(pem));
    expect(Object.isFrozen(result.value)).toBe(true);
  });

  test('cosign.pub written by cosign', () => {
    const pem = readFileSync(new URL('cosign.pub', FIXTURE_KEYS), 'utf8');
    const result = parsePublicKey('cosign', pem);
    expect(result).toMatchObject({ ok: true, value: { algorithm: 'ecdsa-p256', fingerprint: opensslFingerprint(pem) } });
  });

  test('RSA PUBLIC KEY (PKCS#1) is accepted and fingerprinted over its SPKI form', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(pkcs1).toContain('-----BEGIN RSA PUBLIC KEY-----');
    const fromPkcs1 = parsePublicKey('legacy', pkcs1);
    expect(fromPkcs1).toMatchObject({ ok: true, value: { algorithm: 'rsa', fingerprint: opensslFingerprint(spki) } });
  });

  test('CRLF line endings and surrounding blank lines are fine', () => {
    const pem = spkiPem('ec', { namedCurve: 'P-256' });
    expect(parsePublicKey('windows', `\r\n\r\n${pem.replace(/\n/g, '\r\n')}\r\n  \n`)).toMatchObject({ ok: true });
  });
});

describe('rejected input', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  test.each([
    ['PKCS#8 PRIVATE KEY', p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['SEC1 EC PRIVATE KEY', p256.privateKey.export({ type: 'sec1', format: 'pem' }).toString()],
    ['PKCS#1 RSA PRIVATE KEY', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
    ['a cosign key file', '-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n'],
    ['a private key after a public key', spkiPem('ec', { namedCurve: 'P-256' }) + p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
  ])('%s: says it is a private key', (_label, pem) => {
    expect(message('release', pem)).toBe('key release is a private key; give the public key');
  });

  test('RSA below 2048 bits', () => {
    expect(message('weak', spkiPem('rsa', { modulusLength: 1024 }))).toBe('key weak: RSA key is 1024 bits; at least 2048 are required');
  });

  test('an ECDSA curve cosign does not use', () => {
    expect(message('k1', spkiPem('ec', { namedCurve: 'secp256k1' }))).toBe(
      'key k1: ECDSA curve secp256k1 is not supported; use P-256, P-384 or P-521',
    );
  });

  test.each([
    ['Ed448', () => spkiPem('ed448'), 'key other: key type ed448 is not supported; use ECDSA (P-256/P-384/P-521), RSA or Ed25519'],
    ['X25519', () => spkiPem('x25519'), 'key other: key type x25519 is not supported; use ECDSA (P-256/P-384/P-521), RSA or Ed25519'],
    [
      'RSA-PSS restricted',
      () => spkiPem('rsa-pss', { modulusLength: 2048 }),
      'key other: RSA-PSS-restricted keys (id-RSASSA-PSS) are not supported; export the key as a plain RSA key (rsaEncryption)',
    ],
  ])('%s', (_label, make, expected) => {
    expect(message('other', make())).toBe(expected);
  });

  test.each([
    ['garbage', 'hello world', 'key g: no PEM block found; expected "-----BEGIN PUBLIC KEY-----"'],
    ['empty', '', 'key g: no PEM block found; expected "-----BEGIN PUBLIC KEY-----"'],
    ['bad base64', '-----BEGIN PUBLIC KEY-----\nMFkw!!!\n-----END PUBLIC KEY-----\n', 'key g: PEM block "PUBLIC KEY" does not contain valid base64'],
    ['an empty block', '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n', 'key g: PEM block "PUBLIC KEY" does not contain valid base64'],
    ['not SPKI inside', '-----BEGIN PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END PUBLIC KEY-----\n', 'key g: the PUBLIC KEY block is not a valid SubjectPublicKeyInfo structure'],
    ['no END line', '-----BEGIN PUBLIC KEY-----\naGVsbG8=\n', 'key g: PEM block "PUBLIC KEY" started on line 1 has no END line'],
    ['mismatched END', '-----BEGIN PUBLIC KEY-----\naGVsbG8=\n-----END CERTIFICATE-----\n', 'key g: PEM block "PUBLIC KEY" started on line 1 ends with "-----END CERTIFICATE-----"'],
    ['headers', '-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\naGVsbG8=\n-----END PUBLIC KEY-----\n', 'key g: PEM block "PUBLIC KEY" has headers, which are not supported'],
    ['an unknown type', '-----BEGIN SOMETHING-----\naGVsbG8=\n-----END SOMETHING-----\n', 'key g: PEM type "SOMETHING" is not supported; expected "PUBLIC KEY" or "RSA PUBLIC KEY"'],
    ['an OpenSSH key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3 user@host', 'key g: this is an OpenSSH public key; convert it with `ssh-keygen -e -m PKCS8 -f <file>`'],
    ['too much text', 'x'.repeat(70_000), 'key g: PEM text is 70000 characters; a public key is far smaller'],
  ])('%s', (_label, pem, expected) => {
    expect(message('g', pem)).toBe(expected);
  });

  test('text after the block', () => {
    expect(message('g', spkiPem('ed25519') + 'trailing words\n')).toMatch(/^key g: unexpected text outside a PEM block on line \d+$/);
  });

  test('two public keys in one entry', () => {
    expect(message('two', spkiPem('ed25519') + spkiPem('ed25519'))).toBe('key two: found 2 PEM blocks; give exactly one public key per key entry');
  });

  test('an SPKI key inside an RSA PUBLIC KEY block', () => {
    const spkiDer = createPublicKey(spkiPem('rsa', { modulusLength: 2048 })).export({ type: 'spki', format: 'der' });
    const pem = `-----BEGIN RSA PUBLIC KEY-----\n${spkiDer.toString('base64')}\n-----END RSA PUBLIC KEY-----\n`;
    expect(message('mixed', pem)).toBe('key mixed: the RSA PUBLIC KEY block is not a valid PKCS#1 RSAPublicKey structure');
  });

  test('a certificate', () => {
    const pem = readFileSync(new URL('fulcio_v1.crt.pem', FIXTURE_KEYS), 'utf8');
    expect(message('fulcio', pem)).toBe(
      'key fulcio: this is a certificate, not a public key; extract the key with `openssl x509 -pubkey -noout -in <file>`',
    );
  });
});
