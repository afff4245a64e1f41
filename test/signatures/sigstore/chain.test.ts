// Certificate path rules (chain.ts) on certificates generated for each rule, and the certificate
// reader (certificate.ts) on malformed input.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { parseCertificateDer, parseCertificatesPem } from '../../../src/signatures/sigstore/certificate.js';
import type { ParsedCertificate } from '../../../src/signatures/sigstore/certificate.js';
import { verifyCertificatePath } from '../../../src/signatures/sigstore/chain.js';
import type { CertificateAuthority } from '../../../src/signatures/sigstore/chain.js';
import { makeCa, makeLeaf } from './fake-sigstore.js';
import type { CertificateOptions, FakeCertificate } from './fake-sigstore.js';

const NOW = new Date();
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

function parsed(certificate: FakeCertificate): ParsedCertificate {
  const result = parseCertificateDer(certificate.der);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function authority(...anchors: FakeCertificate[]): CertificateAuthority {
  return { name: 'test CA', certificates: anchors.map(parsed), validFor: { start: new Date(0), end: undefined } };
}

let root: FakeCertificate;

beforeAll(async () => {
  root = await makeCa('O=signet, CN=root');
});

async function pathThrough(intermediateOptions: CertificateOptions, leafOptions: Parameters<typeof makeLeaf>[1] = {}) {
  const intermediate = await makeCa('O=signet, CN=intermediate', root, intermediateOptions);
  const leaf = await makeLeaf(intermediate, { email: 'dev@example.com', ...leafOptions });
  return verifyCertificatePath(parsed(leaf), [parsed(intermediate)], [authority(root)], NOW);
}

describe('verifyCertificatePath', () => {
  test('leaf → intermediate (from the signature) → trusted root: accepted, path leaf first, validUntil the earliest expiry', async () => {
    const intermediate = await makeCa('O=signet, CN=intermediate', root);
    const leaf = await makeLeaf(intermediate, { email: 'dev@example.com' });
    const result = verifyCertificatePath(parsed(leaf), [parsed(intermediate)], [authority(root)], NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.path.map((certificate) => certificate.label)).toEqual(['dev@example.com', 'CN=intermediate, O=signet', 'CN=root, O=signet']);
    expect(result.value.validUntil).toEqual(parsed(leaf).notAfter);
  });

  test('a trusted intermediate is an anchor on its own', async () => {
    const intermediate = await makeCa('O=signet, CN=intermediate', root);
    const leaf = await makeLeaf(intermediate, { email: 'dev@example.com' });
    expect(verifyCertificatePath(parsed(leaf), [], [authority(intermediate)], NOW)).toMatchObject({ ok: true });
  });

  test.each([
    [{ ca: false }, { pathLength: undefined }, 'the CA certificate "CN=intermediate, O=signet" is not a CA (basicConstraints cA is not set)'],
    [{ keyUsage: x509.KeyUsageFlags.digitalSignature }, {}, 'the CA certificate "CN=intermediate, O=signet" may not sign certificates (keyUsage lacks keyCertSign)'],
    [{ extendedKeyUsages: [SERVER_AUTH] }, {}, 'the CA certificate "CN=intermediate, O=signet" is restricted to purposes other than code signing (extendedKeyUsage)'],
    [{ extensions: [new x509.Extension('1.2.3.4', true, Buffer.from([0x05, 0x00]))] }, {}, 'the CA certificate "CN=intermediate, O=signet" has critical extensions this verifier does not implement (1.2.3.4)'],
  ] as const)('issuer rule %#: %j', async (options, _unused, message) => {
    expect(await pathThrough(options as CertificateOptions)).toEqual({ ok: false, error: message });
  });

  test('an expired intermediate at the checked time', async () => {
    const result = await pathThrough({ notBefore: new Date(NOW.getTime() - 48 * 3600_000), notAfter: new Date(NOW.getTime() - 3600_000) });
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/^the CA certificate "CN=intermediate, O=signet" is valid from .* so it was not valid at /) });
  });

  test.each([
    [{ extendedKeyUsages: [SERVER_AUTH] }, 'the signing certificate "dev@example.com" is not for code signing (its extendedKeyUsage lacks codeSigning)'],
    [{ keyUsage: x509.KeyUsageFlags.keyEncipherment }, 'the signing certificate "dev@example.com" does not allow digital signatures (keyUsage)'],
    [{ extensions: [new x509.Extension('1.2.3.5', true, Buffer.from([0x05, 0x00]))] }, 'the signing certificate "dev@example.com" has critical extensions this verifier does not implement (1.2.3.5)'],
  ] as const)('leaf rule %#', async (leafOptions, message) => {
    expect(await pathThrough({}, leafOptions as Parameters<typeof makeLeaf>[1])).toEqual({ ok: false, error: message });
  });

  test('a leaf without EKU and key usage (allowed by RFC 5280, as the containers/image PKI sample is) is accepted', async () => {
    expect(await pathThrough({}, { extendedKeyUsages: null, keyUsage: null })).toMatchObject({ ok: true });
  });

  test('pathLenConstraint 0 on the intermediate forbids a second intermediate below it', async () => {
    const first = await makeCa('O=signet, CN=first', root, { pathLength: 0 });
    const second = await makeCa('O=signet, CN=second', first);
    const leaf = await makeLeaf(second, { email: 'dev@example.com' });
    expect(verifyCertificatePath(parsed(leaf), [parsed(second), parsed(first)], [authority(root)], NOW)).toEqual({
      ok: false,
      error: 'the CA certificate "CN=first, O=signet" allows 0 intermediate(s) below it, but the chain has 1',
    });
  });

  test('an impostor CA with the right name but another key', async () => {
    const intermediate = await makeCa('O=signet, CN=intermediate', root);
    const impostor = await makeCa('O=signet, CN=intermediate', root);
    const leaf = await makeLeaf(intermediate, { email: 'dev@example.com' });
    expect(verifyCertificatePath(parsed(leaf), [parsed(impostor)], [authority(root)], NOW)).toEqual({
      ok: false,
      error: `the certificate "dev@example.com" names "CN=intermediate, O=signet" as its issuer, but that CA's key did not sign it`,
    });
    // With the real one also present, the search goes on past the impostor.
    expect(verifyCertificatePath(parsed(leaf), [parsed(impostor), parsed(intermediate)], [authority(root)], NOW)).toMatchObject({ ok: true });
  });

  test('a chain longer than four intermediates is not followed', async () => {
    let issuer = root;
    const chain: FakeCertificate[] = [];
    for (let depth = 0; depth < 6; depth++) {
      issuer = await makeCa(`O=signet, CN=level ${depth}`, issuer);
      chain.unshift(issuer);
    }
    const leaf = await makeLeaf(issuer, { email: 'dev@example.com' });
    expect(verifyCertificatePath(parsed(leaf), chain.map(parsed), [authority(root)], NOW)).toEqual({
      ok: false,
      error: 'the chain is longer than 4 intermediates without reaching a trusted CA',
    });
  });

  test('many certificates with one name and one key (each signs all others) cannot make the search explode', async () => {
    const loop = await makeCa('O=signet, CN=loop');
    const copies = [loop];
    for (let index = 1; index < 8; index++) copies.push(await makeCa('O=signet, CN=loop', loop, { keys: loop.keys }));
    const leaf = await makeLeaf(loop, { email: 'dev@example.com' });
    const started = process.hrtime.bigint();
    expect(verifyCertificatePath(parsed(leaf), copies.map(parsed), [authority(root)], NOW)).toEqual({
      ok: false,
      error: "the signature's chain offers too many candidate issuers (searched 64 without finding a path to a trusted CA)",
    });
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });

  test('an authority whose window excludes the time is not used', async () => {
    const leaf = await makeLeaf(root, { email: 'dev@example.com' });
    const retired: CertificateAuthority = { ...authority(root), validFor: { start: new Date(0), end: new Date(NOW.getTime() - 1000) } };
    expect(verifyCertificatePath(parsed(leaf), [], [retired], NOW)).toEqual({
      ok: false,
      error: `no trusted certificate authority was valid at ${NOW.toISOString()} (the trust root's validity windows exclude it)`,
    });
  });
});

describe('certificate reading', () => {
  test('bytes that are not a certificate', () => {
    expect(parseCertificateDer(Buffer.from('30030201', 'hex'))).toMatchObject({ ok: false, error: expect.stringMatching(/^is not a valid X\.509 certificate/) });
  });

  test('an oversized certificate is refused before parsing', () => {
    expect(parseCertificateDer(Buffer.alloc(20_000))).toEqual({ ok: false, error: 'is 20000 bytes, larger than any real certificate' });
  });

  test('a v2 issuer extension that is not a UTF8String', async () => {
    const leaf = await makeLeaf(root, { email: 'dev@example.com', extensions: [new x509.Extension('1.3.6.1.4.1.57264.1.8', false, Buffer.from('raw text'))] });
    expect(parseCertificateDer(leaf.der)).toEqual({
      ok: false,
      error: 'has an OIDC issuer extension (1.3.6.1.4.1.57264.1.8) that is not a UTF8String',
    });
  });

  test('the same extension twice is refused (it could be read two ways)', async () => {
    const leaf = await makeLeaf(root, { email: 'dev@example.com', oidcIssuerV1: 'https://a.example', extensions: [new x509.Extension('1.3.6.1.4.1.57264.1.1', false, Buffer.from('https://b.example'))] });
    expect(parseCertificateDer(leaf.der)).toMatchObject({ ok: false, error: expect.stringContaining('1.3.6.1.4.1.57264.1.1 twice') });
  });

  test('all alternative names are read: e-mail, URI and DNS', async () => {
    const leaf = await makeLeaf(root, { email: 'dev@example.com', uri: 'https://example.com/ci', dns: 'build.example.com' });
    expect(parsed(leaf).subjectAlternativeNames).toEqual([
      { type: 'email', value: 'dev@example.com' },
      { type: 'uri', value: 'https://example.com/ci' },
      { type: 'dns', value: 'build.example.com' },
    ]);
  });

  test('PEM texts: other block types, too many certificates, and non-PEM text are refused with the reason', async () => {
    expect(parseCertificatesPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 4)).toEqual({ ok: false, error: 'block 1 is a PUBLIC KEY, not a CERTIFICATE' });
    expect(parseCertificatesPem(root.pem + root.pem, 1)).toEqual({ ok: false, error: 'holds 2 certificates; at most 1 are accepted' });
    expect(parseCertificatesPem('hello', 4)).toEqual({ ok: false, error: 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----")' });
  });
});
