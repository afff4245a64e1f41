// The sentences the Notation verifier puts in a denial, each driven by a real envelope or certificate
// made with the throw-away PKI (pki.ts) or openssl: the envelope's shape, the protected header, the
// signed payload, the certificate chain rules, trustedIdentities and trust stores.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { sign as nodeSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import type { NotationTrustPolicy } from '../../../src/signatures/notation/trust.js';
import { parseTrustStorePem } from '../../../src/signatures/notation/trust.js';
import { parseTrustedIdentities, parseDistinguishedName } from '../../../src/signatures/notation/identity.js';
import { checkChain, parseCertificate } from '../../../src/signatures/notation/certificates.js';
import { verifyNotationSignatures, type NotationTarget } from '../../../src/signatures/notation/verify.js';
import { certificateOf, editJson, editMember, issue, makeKey, makePki, protectedHeaderFor, signEnvelope, trustPolicy, NOW, type EnvelopeOptions, type Issued, type Pki } from './pki.js';

const TARGET: NotationTarget = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'cd'.repeat(32)}` as Digest, size: 321 };
const WHERE = 'Notation signature sha256:messages';

let pki: Pki;
let policy: NotationTrustPolicy;

beforeAll(async () => {
  pki = await makePki();
  policy = trustPolicy([pki.root]);
});

async function verifyOne(bytes: Buffer, trust: NotationTrustPolicy = policy): Promise<SignatureCheck> {
  const [check] = await verifyNotationSignatures({ target: TARGET, envelopes: [{ mediaType: 'application/jose+json', bytes, source: 'signature sha256:messages' }], policy: trust, now: NOW });
  if (check === undefined) throw new Error('no check returned');
  return check;
}

const sign = (options: Partial<EnvelopeOptions> = {}): Promise<Buffer> => signEnvelope({ signer: pki.leaf, chain: pki.chain, target: TARGET, ...options });

/** A correctly signed envelope over arbitrary payload bytes (signEnvelope always writes JSON). */
function signRawPayload(payload: Buffer): Buffer {
  const header = protectedHeaderFor({ signer: pki.leaf, chain: pki.chain, target: TARGET });
  const protectedText = Buffer.from(JSON.stringify(header)).toString('base64url');
  const payloadText = payload.toString('base64url');
  const signature = nodeSign('sha256', Buffer.from(`${protectedText}.${payloadText}`, 'ascii'), { key: pki.leaf.key.privateKey, dsaEncoding: 'ieee-p1363' });
  const x5c = pki.chain.map((issued) => issued.der.toString('base64'));
  return Buffer.from(JSON.stringify({ payload: payloadText, protected: protectedText, header: { x5c }, signature: signature.toString('base64url') }));
}

describe('the JWS envelope and its protected header (MALFORMED, before the signature is believed)', () => {
  const SCHEME = 'io.cncf.notary.signingScheme';
  test.each<[string, () => Promise<Buffer>, string]>([
    ['an envelope that is a JSON array', async () => Buffer.from('[1]'), 'the JWS envelope is not a JSON object'],
    [
      'an envelope with a general-serialization member',
      async () => editJson(await sign(), (json) => (json['signatures'] = [])),
      'the JWS envelope has the member "signatures"; Notation uses the flattened JSON serialization with payload, protected, header and signature only',
    ],
    ['a numeric payload member', async () => editJson(await sign(), (json) => (json['payload'] = 1)), 'the JWS envelope must have string payload, protected and signature members'],
    ['a padded protected member', async () => editJson(await sign(), (json) => (json['protected'] = `${String(json['protected'])}=`)), 'the JWS protected member is not unpadded base64url'],
    [
      'no unprotected header',
      async () => editJson(await sign(), (json) => delete json['header']),
      'the JWS envelope has no unprotected header object (it carries the x5c certificate chain)',
    ],
    ['a protected header that is a JSON array', async () => editMember(await sign(), 'protected', () => Buffer.from('[1]')), 'the JWS protected header is not a JSON object'],
    ['a protected header with b64', () => sign({ manual: true, protectedExtra: { b64: false } }), 'the JWS protected header has "b64"; Notation payloads are always base64url-encoded'],
    [
      'a header both protected and unprotected',
      () => sign({ manual: true, protectedExtra: { 'io.cncf.notary.signingAgent': 'evil/1.0' } }),
      'the header "io.cncf.notary.signingAgent" appears both protected and unprotected',
    ],
    ['an empty crit list', () => sign({ manual: true, crit: [] }), `the JWS protected header must have a non-empty "crit" list naming ${SCHEME}`],
    ['a crit list naming a header twice', () => sign({ manual: true, crit: [SCHEME, SCHEME] }), 'the JWS "crit" list names a header twice'],
    [
      'an unknown critical header',
      () => sign({ manual: true, protectedExtra: { 'com.example.policy': 'x' }, crit: [SCHEME, 'com.example.policy'] }),
      'the signature marks "com.example.policy" as critical, which Signet does not understand, so it cannot be verified safely',
    ],
    [
      'the signingAuthority scheme without an authentic signing time',
      () => sign({ manual: true, scheme: 'notary.x509.signingAuthority', authenticSigningTime: null }),
      'the notary.x509.signingAuthority signing scheme requires io.cncf.notary.authenticSigningTime',
    ],
    ['a signing time in month 13', () => sign({ manual: true, signingTime: '2025-13-01T00:00:00Z' }), 'io.cncf.notary.signingTime is "2025-13-01T00:00:00Z", not a valid time'],
    ['an empty x5c chain', async () => editJson(await sign(), (json) => ((json['header'] as Record<string, unknown>)['x5c'] = [])), 'the JWS unprotected header has no x5c certificate chain'],
    ['an x5c entry that is not base64', async () => editJson(await sign(), (json) => ((json['header'] as Record<string, unknown>)['x5c'] = ['not*base64'])), 'x5c[0] is not standard base64 (DER certificate)'],
  ])('%s', async (_name, make, detail) => {
    expect(await verifyOne(await make())).toEqual({ status: 'invalid', system: 'notation', reason: 'MALFORMED', detail: `${WHERE}: ${detail}` });
  });

  test('a payload or signature that verifies but is not unpadded base64url', async () => {
    // The signing input is the text as sent, so a padded payload member still verifies when signed padded.
    const header = protectedHeaderFor({ signer: pki.leaf, chain: pki.chain, target: TARGET });
    const protectedText = Buffer.from(JSON.stringify(header)).toString('base64url');
    let unpadded = '';
    for (let n = 0; unpadded.length % 4 === 0; n++) unpadded = Buffer.from(JSON.stringify({ targetArtifact: { ...TARGET, annotations: { n: 'x'.repeat(n) } } })).toString('base64url');
    const payloadText = `${unpadded}${'='.repeat(4 - (unpadded.length % 4))}`;
    const signature = nodeSign('sha256', Buffer.from(`${protectedText}.${payloadText}`, 'ascii'), { key: pki.leaf.key.privateKey, dsaEncoding: 'ieee-p1363' });
    const bytes = Buffer.from(JSON.stringify({ payload: payloadText, protected: protectedText, header: { x5c: pki.chain.map((i) => i.der.toString('base64')) }, signature: signature.toString('base64url') }));
    expect(payloadText.endsWith('=')).toBe(true);
    expect(await verifyOne(bytes)).toEqual({ status: 'invalid', system: 'notation', reason: 'MALFORMED', detail: `${WHERE}: the JWS payload or signature is not unpadded base64url` });
  });
});

describe('the signed payload (checked after the signature verified)', () => {
  test.each<[string, Buffer, string]>([
    ['bytes that are not JSON', Buffer.from('{"targetArtifact":'), 'the signed payload is not valid JSON: '],
    ['a JSON string', Buffer.from('"hello"'), 'the signed payload is not a JSON object'],
    ['no targetArtifact', Buffer.from('{"subject":{}}'), 'the signed payload has no targetArtifact descriptor'],
    ['a targetArtifact without mediaType', Buffer.from(JSON.stringify({ targetArtifact: { digest: TARGET.digest, size: TARGET.size } })), 'the signed targetArtifact has no mediaType'],
    [
      'annotations that are a list',
      Buffer.from(JSON.stringify({ targetArtifact: { ...TARGET, annotations: ['a'] } })),
      'the signed targetArtifact annotations are not an object',
    ],
  ])('%s', async (_name, payload, detail) => {
    const check = await verifyOne(signRawPayload(payload));
    expect(check).toMatchObject({ status: 'invalid', system: 'notation', reason: 'MALFORMED' });
    expect((check as { detail: string }).detail).toContain(`${WHERE}: ${detail}`);
  });
});

describe('the certificate chain', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-notation-messages-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A self-signed DER certificate made by openssl with a key WebCrypto cannot make. */
  const opensslCertificate = (name: string, keyArgs: string[], digest: string[] = ['-sha256']): Buffer => {
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.der`);
    execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key], { stdio: 'pipe' });
    execFileSync('openssl', ['req', '-x509', '-new', '-key', key, ...digest, '-subj', `/C=US/ST=WA/O=Acme/CN=${name}`, '-days', '36500', '-outform', 'DER', '-out', cert,
      '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=codeSigning', '-addext', 'basicConstraints=critical,CA:FALSE'], { stdio: 'pipe' });
    return readFileSync(cert);
  };

  test('an oversized certificate is refused before parsing', () => {
    expect(parseCertificate(Buffer.alloc(16 * 1024 + 1))).toEqual({ ok: false, error: 'is 16385 bytes, more than any real certificate (limit 16384)' });
  });

  test('a certificate that repeats an extension', async () => {
    const eku = new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]);
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=twice', key: await makeKey('ec-p256'), issuer: pki.intermediate, extraExtensions: [eku] });
    expect(parseCertificate(leaf.der)).toEqual({ ok: false, error: 'repeats the extension 2.5.29.37' });
  });

  test('a signing key on a curve Notation does not allow: named in the key problem and in the verifier\'s denial', async () => {
    const der = opensslCertificate('k1', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1']);
    const certificate = parseCertificate(der);
    expect(certificate.ok && certificate.value.key).toEqual({ kind: 'unsupported', description: 'ECDSA on curve secp256k1' });
    expect(checkChain([certificateOf(der)])).toEqual({
      ok: false,
      error: { reason: 'UNTRUSTED_SIGNER', detail: 'signing certificate CN=k1 has a ECDSA on curve secp256k1; only RSA (2048 bits or more) and ECDSA P-256/P-384/P-521 are allowed' },
    });
    const bytes = editJson(await sign(), (json) => ((json['header'] as Record<string, unknown>)['x5c'] = [der.toString('base64')]));
    expect(await verifyOne(bytes)).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'BAD_SIGNATURE',
      detail: `${WHERE}: the signing certificate CN=k1 has a ECDSA on curve secp256k1 key, which Notation does not allow (RSA 2048/3072/4096, ECDSA P-256/P-384/P-521)`,
    });
  });

  test('a certificate signed with an algorithm without a hash (Ed25519)', () => {
    const der = opensslCertificate('ed', ['-algorithm', 'ED25519'], []);
    expect(checkChain([certificateOf(der)])).toEqual({ ok: false, error: { reason: 'UNTRUSTED_SIGNER', detail: 'signing certificate CN=ed is signed with an algorithm Signet does not recognise' } });
  });

  test.each<[string, () => Promise<Issued[]>, string | (() => string)]>([
    ['no certificates at all', async () => [], 'the signature carries no certificate chain (x5c is empty)'],
    [
      'a chain without its root',
      async () => [pki.leaf, pki.intermediate],
      () => `the certificate chain is incomplete: it ends with CN=${pki.intermediate.certificate.subjectName.getField('CN')[0]} (issued by ${pki.root.certificate.subject}), which is not a self-signed root; the signature must carry the whole chain up to the root`,
    ],
    [
      'a leaf signed with SHA-1',
      async () => [await issue({ subject: 'C=US, ST=WA, O=Acme, CN=sha1', key: await makeKey('ec-p256'), issuer: pki.intermediate, signatureHash: 'SHA-1' }), pki.intermediate, pki.root],
      'signing certificate CN=sha1 is signed with SHA-1, which the Notary Project signing scheme does not allow',
    ],
    [
      'a 1024-bit RSA leaf',
      async () => [await issue({ subject: 'C=US, ST=WA, O=Acme, CN=small', key: await makeKey('rsa-1024'), issuer: pki.intermediate }), pki.intermediate, pki.root],
      'signing certificate CN=small has an RSA-1024 key; at least 2048 bits are required',
    ],
    [
      'a leaf without key usage',
      async () => [await issue({ subject: 'C=US, ST=WA, O=Acme, CN=noku', key: await makeKey('ec-p256'), issuer: pki.intermediate, keyUsage: null }), pki.intermediate, pki.root],
      'signing certificate CN=noku has no key usage extension; it must have a critical key usage with digitalSignature',
    ],
    [
      'a leaf that may sign certificates',
      async () => [
        await issue({ subject: 'C=US, ST=WA, O=Acme, CN=certsign', key: await makeKey('ec-p256'), issuer: pki.intermediate, keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign }),
        pki.intermediate,
        pki.root,
      ],
      'signing certificate CN=certsign key usage allows signing certificates or CRLs, which a signing certificate must not',
    ],
    [
      'an intermediate that is not a CA',
      async () => {
        const notCa = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=not a ca', key: await makeKey('ec-p256'), issuer: pki.root, ca: false, keyUsage: x509.KeyUsageFlags.keyCertSign });
        return [await issue({ subject: 'C=US, ST=WA, O=Acme, CN=leaf', key: await makeKey('ec-p256'), issuer: notCa }), notCa, pki.root];
      },
      'CA certificate CN=not a ca is not marked as a CA (basic constraints CA:TRUE), so it cannot issue certificates',
    ],
    [
      'an intermediate whose key usage is not critical',
      async () => {
        const ca = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=soft ca', key: await makeKey('ec-p256'), issuer: pki.root, ca: true, keyUsageCritical: false });
        return [await issue({ subject: 'C=US, ST=WA, O=Acme, CN=leaf', key: await makeKey('ec-p256'), issuer: ca }), ca, pki.root];
      },
      'CA certificate CN=soft ca must have a critical key usage extension with keyCertSign',
    ],
  ])('%s', async (_name, chain, detail) => {
    const certificates = (await chain()).map(certificateOf);
    const result = checkChain(certificates);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.detail).toBe(typeof detail === 'string' ? detail : detail());
  });
});

describe('trust policy and trust store', () => {
  test('a signing certificate subject with a repeated attribute cannot be matched against trustedIdentities', async () => {
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme, O=Other, CN=double', key: await makeKey('ec-p256'), issuer: pki.intermediate });
    const bytes = await signEnvelope({ signer: leaf, chain: [leaf, pki.intermediate, pki.root], target: TARGET });
    const check = await verifyOne(bytes, trustPolicy([pki.root], { identities: ['x509.subject: C=US, ST=WA, O=Acme'] }));
    expect(check).toMatchObject({ status: 'invalid', system: 'notation', reason: 'UNTRUSTED_SIGNER' });
    expect((check as { detail: string }).detail).toContain(
      `the signing certificate subject "${leaf.certificate.subject}" repeats an attribute or has a multi-valued attribute, so it cannot be matched against trustedIdentities`,
    );
  });

  test('an empty trustedIdentities list', () => {
    expect(parseTrustedIdentities([])).toEqual({ ok: false, error: [{ index: 0, message: 'list at least one identity, or "*" to trust every signer the trust store vouches for' }] });
  });

  test.each([
    ['C=US, ST=WA, O=a+OU=b', 'distinguished name "C=US, ST=WA, O=a+OU=b" has a multi-valued attribute ("+"), which is not supported'],
    ['C=US, ST=WA, O=acme\\', '"C=US, ST=WA, O=acme\\\\" ends with an unfinished "\\" escape'],
    ['C=US, O=\\ffx', 'attribute O: a \\hh escape is not valid UTF-8'],
    ['C=US, O=\\ff\\,', 'attribute O: a \\hh escape is not valid UTF-8'],
    ['C=US, O=\\ff', 'attribute O: a \\hh escape is not valid UTF-8'],
  ])('distinguished name %s', (text, message) => {
    expect(parseDistinguishedName(text)).toEqual({ ok: false, error: message });
  });

  test('a trust store with more roots than allowed', () => {
    const pem = pki.root.certificate.toString('pem');
    expect(parseTrustStorePem(Array.from({ length: 65 }, () => pem).join('\n'))).toEqual({ ok: false, error: 'holds 65 certificates; a trust store holds at most 64 roots' });
  });
});
