// The pure Notation verifier on envelopes made here with a throw-away PKI (pki.ts): every rule of
// the envelope, the chain, the trust policy and the levels, each failure with its reason and the
// sentence a developer reads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import type { NotationTrustPolicy } from '../../../src/signatures/notation/trust.js';
import { verifyNotationSignatures, type NotationTarget } from '../../../src/signatures/notation/verify.js';
import { FAR_FUTURE, LEAF_SUBJECT, NOW, editMember, issue, makeKey, makePki, signEnvelope, trustPolicy, type EnvelopeOptions, type Pki } from './pki.js';

const TARGET: NotationTarget = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'ab'.repeat(32)}` as Digest,
  size: 1234,
};
const CODE_SIGNING = x509.ExtendedKeyUsage.codeSigning;

async function verifyOne(bytes: Buffer, policy: NotationTrustPolicy, options: { target?: NotationTarget; now?: Date; mediaType?: string } = {}): Promise<SignatureCheck> {
  const [check] = await verifyNotationSignatures({
    target: options.target ?? TARGET,
    envelopes: [{ mediaType: options.mediaType ?? 'application/jose+json', bytes, source: 'signature sha256:test' }],
    policy,
    now: options.now ?? NOW,
  });
  if (check === undefined) throw new Error('no check returned');
  return check;
}

let pki: Pki;
let policy: NotationTrustPolicy;
const sign = (options: Partial<EnvelopeOptions> = {}): Promise<Buffer> => signEnvelope({ signer: pki.leaf, chain: pki.chain, target: TARGET, ...options });

beforeAll(async () => {
  pki = await makePki();
  policy = trustPolicy([pki.root]);
});

describe('valid signatures', () => {
  test('root → intermediate → leaf (ES256): valid, named by store and leaf CN, with signed annotations', async () => {
    const bytes = await sign({ target: { ...TARGET, annotations: { 'org.opencontainers.image.source': 'https://example.test/app' } } });
    expect(await verifyOne(bytes, policy)).toEqual({
      status: 'valid',
      system: 'notation',
      signer: 'test-ca (CN=signet test signer)',
      digest: TARGET.digest,
      annotations: { 'org.opencontainers.image.source': 'https://example.test/app' },
      validUntil: FAR_FUTURE.toISOString(),
    });
  });

  test('validUntil is the earliest of the signature expiry and every chain certificate expiry', async () => {
    const expiring = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=short-lived', key: await makeKey('ec-p256'), issuer: pki.intermediate, notAfter: new Date('2026-03-01T00:00:00Z') });
    const viaLeaf = await signEnvelope({ signer: expiring, chain: [expiring, pki.intermediate, pki.root], target: TARGET, expiry: '2027-01-01T00:00:00Z' });
    expect(await verifyOne(viaLeaf, policy)).toMatchObject({ status: 'valid', validUntil: '2026-03-01T00:00:00.000Z' });
    const viaExpiry = await sign({ expiry: '2025-12-24T18:00:00Z' });
    expect(await verifyOne(viaExpiry, policy)).toMatchObject({ status: 'valid', validUntil: '2025-12-24T18:00:00.000Z' });
  });

  test.each(['ec-p384', 'ec-p521', 'rsa-2048'] as const)('a %s signing key with its algorithm is valid', async (kind) => {
    const leaf = await issue({ subject: `C=US, ST=WA, O=Acme, CN=${kind}`, key: await makeKey(kind), issuer: pki.intermediate });
    const bytes = await signEnvelope({ signer: leaf, chain: [leaf, pki.intermediate, pki.root], target: TARGET });
    expect(await verifyOne(bytes, policy)).toMatchObject({ status: 'valid', signer: `test-ca (CN=${kind})` });
  });

  test('a leaf without an extended key usage extension is allowed', async () => {
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=no-eku', key: await makeKey('ec-p256'), issuer: pki.intermediate, extendedKeyUsages: null });
    const bytes = await signEnvelope({ signer: leaf, chain: [leaf, pki.intermediate, pki.root], target: TARGET });
    expect(await verifyOne(bytes, policy)).toMatchObject({ status: 'valid' });
  });

  test('each envelope gets its own check, in order', async () => {
    const good = await sign();
    const [first, second, third] = await verifyNotationSignatures({
      target: TARGET,
      envelopes: [
        { mediaType: 'application/jose+json', bytes: good, source: 'signature one' },
        { mediaType: 'application/cose', bytes: Buffer.alloc(0), source: 'signature two' },
        { mediaType: 'application/jose+json', bytes: Buffer.from('not json'), source: 'signature three' },
      ],
      policy,
      now: NOW,
    });
    expect(first).toMatchObject({ status: 'valid' });
    expect(second).toMatchObject({ reason: 'MALFORMED', detail: expect.stringContaining('signature two') });
    expect(third).toMatchObject({ reason: 'MALFORMED', detail: expect.stringContaining('signature three') });
  });
});

describe('envelope and algorithm', () => {
  test('a COSE envelope that is not COSE_Sign1 is malformed, not skipped', async () => {
    expect(await verifyOne(Buffer.from([0xd2, 0x84]), policy, { mediaType: 'application/cose' })).toMatchObject({
      status: 'invalid',
      system: 'notation',
      reason: 'MALFORMED',
      detail: expect.stringMatching(/^Notation signature sha256:test: the COSE envelope is not valid CBOR \(/),
    });
    // A JWS served as COSE.
    expect(await verifyOne(await sign(), policy, { mediaType: 'application/cose' })).toMatchObject({ reason: 'MALFORMED', detail: expect.stringContaining('the COSE envelope is not') });
  });

  test('another envelope media type is malformed', async () => {
    expect(await verifyOne(await sign(), policy, { mediaType: 'application/json' })).toMatchObject({
      reason: 'MALFORMED',
      detail: 'Notation signature sha256:test has envelope media type "application/json", not application/jose+json or application/cose',
    });
  });

  test('alg must match the leaf key: an ES384 header over a P-256 key is refused', async () => {
    const bytes = await sign({ alg: 'ES384', manual: true });
    expect(await verifyOne(bytes, policy)).toMatchObject({
      reason: 'BAD_SIGNATURE',
      detail: 'Notation signature sha256:test: signed with ES384, but the ECDSA P-256 key of CN=signet test signer requires ES256',
    });
  });

  test('an RSA-1024 signing key is refused', async () => {
    const weak = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=weak', key: await makeKey('rsa-1024'), issuer: pki.intermediate });
    const bytes = await signEnvelope({ signer: weak, chain: [weak, pki.intermediate, pki.root], target: TARGET, manual: true });
    expect(await verifyOne(bytes, policy)).toMatchObject({ reason: 'BAD_SIGNATURE', detail: expect.stringContaining('has a RSA-1024 key, which Notation does not allow') });
  });

  test.each([
    ['an unknown critical header', { protectedExtra: { 'io.example.policy': 'x' }, crit: ['io.cncf.notary.signingScheme', 'io.example.policy'] }, 'marks "io.example.policy" as critical, which Signet does not understand'],
    ['an expiry not listed in crit', { expiry: '2030-01-01T00:00:00Z', crit: ['io.cncf.notary.signingScheme'] }, 'has io.cncf.notary.expiry but does not list it in "crit"'],
    ['crit naming an absent header', { crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'] }, 'names "io.cncf.notary.expiry", which the protected header does not contain'],
    ['no crit at all', { crit: [] }, 'must have a non-empty "crit" list'],
    [
      'a verification plugin',
      { protectedExtra: { 'io.cncf.notary.verificationPlugin': 'com.example.plugin' }, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin'] },
      'requires the Notation verification plugin "com.example.plugin"; Signet does not run verification plugins',
    ],
    ['another content type', { cty: 'application/json' }, 'the JWS content type (cty) is "application/json", not application/vnd.cncf.notary.payload.v1+json'],
    ['an unknown signing scheme', { protectedExtra: { 'io.cncf.notary.signingScheme': 'notary.default.x509' } }, 'the signing scheme "notary.default.x509" is not notary.x509'],
    ['notary.x509 without signingTime', { signingTime: null }, 'the notary.x509 signing scheme requires io.cncf.notary.signingTime'],
    ['signingAuthority without authenticSigningTime', { scheme: 'notary.x509.signingAuthority', authenticSigningTime: null }, 'requires io.cncf.notary.authenticSigningTime'],
    ['an expiry that is not RFC 3339', { expiry: 'tomorrow' }, 'io.cncf.notary.expiry is "tomorrow", not an RFC 3339 time'],
    ['the b64 header', { protectedExtra: { b64: true }, crit: ['io.cncf.notary.signingScheme', 'b64'] }, 'has "b64"'],
  ] as const)('%s is malformed', async (_what, options, detail) => {
    const bytes = await sign({ ...(options as Partial<EnvelopeOptions>), manual: true });
    const check = await verifyOne(bytes, policy);
    expect(check).toMatchObject({ status: 'invalid', reason: 'MALFORMED' });
    expect(check).toHaveProperty('detail', expect.stringContaining(detail));
  });

  test('a protected header with a duplicated member is malformed (two readers could disagree)', async () => {
    const bytes = editMember(await sign(), 'protected', (decoded) => Buffer.from(decoded.toString('utf8').replace('{', '{"cty":"text/plain",'), 'utf8'));
    expect(await verifyOne(bytes, policy)).toMatchObject({ reason: 'MALFORMED', detail: expect.stringContaining('the JWS protected header is not valid JSON') });
  });

  test.each([
    ['no x5c', (json: Record<string, unknown>) => void ((json['header'] as Record<string, unknown>)['x5c'] = undefined), 'has no x5c certificate chain'],
    ['x5c with URL-safe base64', (json: Record<string, unknown>) => void ((json['header'] as { x5c: string[] }).x5c[0] = '-_-_'), 'x5c[0] is not standard base64'],
    ['x5c with garbage DER', (json: Record<string, unknown>) => void ((json['header'] as { x5c: string[] }).x5c[0] = 'AAAA'), 'x5c[0] is not a valid DER X.509 certificate'],
    ['eleven certificates', (json: Record<string, unknown>) => {
      const header = json['header'] as { x5c: string[] };
      header.x5c = Array.from({ length: 11 }, () => header.x5c[0]!);
    }, 'the x5c chain has 11 certificates; at most 10'],
    ['no unprotected header', (json: Record<string, unknown>) => void delete json['header'], 'has no unprotected header object'],
    ['a numeric payload', (json: Record<string, unknown>) => void (json['payload'] = 7), 'must have string payload, protected and signature members'],
  ])('%s is malformed', async (_what, change, detail) => {
    const json = JSON.parse((await sign()).toString('utf8')) as Record<string, unknown>;
    change(json);
    const check = await verifyOne(Buffer.from(JSON.stringify(json)), policy);
    expect(check).toMatchObject({ status: 'invalid', reason: 'MALFORMED' });
    expect(check).toHaveProperty('detail', expect.stringContaining(detail));
  });

  test('an envelope that is not JSON, or JSON but not an object, is malformed', async () => {
    expect(await verifyOne(Buffer.from('{"payload":'), policy)).toMatchObject({ reason: 'MALFORMED', detail: expect.stringContaining('the JWS envelope is not valid JSON') });
    expect(await verifyOne(Buffer.from('[]'), policy)).toMatchObject({ reason: 'MALFORMED', detail: expect.stringContaining('not a JSON object') });
  });

  test('a signed payload without a proper targetArtifact is malformed (checked after the signature)', async () => {
    for (const [payload, detail] of [
      [{ subject: TARGET }, 'has no targetArtifact descriptor'],
      [{ targetArtifact: { ...TARGET, digest: 'sha256:ABC' } }, 'digest "sha256:ABC" is not a valid digest'],
      [{ targetArtifact: { ...TARGET, size: -1 } }, 'size -1 is not a byte count'],
      [{ targetArtifact: { ...TARGET, annotations: { a: 1 } } }, 'annotation "a" is not a string'],
    ] as const) {
      const check = await verifyOne(await sign({ payload }), policy);
      expect(check).toMatchObject({ reason: 'MALFORMED' });
      expect(check).toHaveProperty('detail', expect.stringContaining(detail));
    }
  });
});

describe('certificate chain', () => {
  const leafWith = async (options: Partial<Parameters<typeof issue>[0]>): Promise<Buffer> => {
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=odd leaf', key: await makeKey('ec-p256'), issuer: pki.intermediate, ...options });
    return signEnvelope({ signer: leaf, chain: [leaf, pki.intermediate, pki.root], target: TARGET });
  };

  test.each([
    ['a serverAuth EKU', { extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth] }, 'has the extended key usage serverAuth; only codeSigning is allowed'],
    ['codeSigning with timeStamping', { extendedKeyUsages: [CODE_SIGNING, x509.ExtendedKeyUsage.timeStamping] }, 'has the extended key usage timeStamping'],
    ['an EKU without codeSigning', { extendedKeyUsages: ['1.3.6.1.4.1.99999.1'] }, 'has an extended key usage without codeSigning'],
    ['CA:TRUE', { ca: true }, 'is a CA certificate; signatures must be made with a non-CA certificate'],
    ['no key usage', { keyUsage: null }, 'has no key usage extension'],
    ['a non-critical key usage', { keyUsageCritical: false }, 'has a key usage extension that is not marked critical'],
    ['key usage without digitalSignature', { keyUsage: x509.KeyUsageFlags.keyEncipherment }, 'key usage lacks digitalSignature'],
    ['key usage with keyCertSign', { keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign }, 'allows signing certificates or CRLs'],
    ['a SHA-1 certificate signature', { signatureHash: 'SHA-1' }, 'is signed with SHA-1'],
    [
      'an unknown critical extension',
      { extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.2', true, new Uint8Array([0x05, 0x00]))] },
      'has critical extensions Signet does not evaluate (1.3.6.1.4.1.99999.2)',
    ],
  ])('a signing certificate with %s is not trusted', async (_what, options, detail) => {
    const check = await verifyOne(await leafWith(options as Partial<Parameters<typeof issue>[0]>), policy);
    expect(check).toMatchObject({ status: 'invalid', reason: 'UNTRUSTED_SIGNER' });
    expect(check).toHaveProperty('detail', expect.stringContaining(detail));
    expect(check).not.toHaveProperty('signer');
  });

  test('an intermediate that is not a CA cannot issue', async () => {
    const notCa = await issue({ subject: 'C=US, O=Acme, CN=not a ca', key: await makeKey('ec-p256'), issuer: pki.root, ca: false, keyUsage: x509.KeyUsageFlags.keyCertSign });
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=leaf', key: await makeKey('ec-p256'), issuer: notCa });
    const check = await verifyOne(await signEnvelope({ signer: leaf, chain: [leaf, notCa, pki.root], target: TARGET }), policy);
    expect(check).toMatchObject({ reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('CA certificate CN=not a ca is not marked as a CA') });
  });

  test('path length: a root allowing no intermediate cannot anchor one', async () => {
    const root = await issue({ subject: 'C=US, O=Acme, CN=strict root', key: await makeKey('ec-p256'), ca: true, pathLength: 0 });
    const intermediate = await issue({ subject: 'C=US, O=Acme, CN=inter', key: await makeKey('ec-p256'), issuer: root, ca: true });
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=leaf', key: await makeKey('ec-p256'), issuer: intermediate });
    const check = await verifyOne(await signEnvelope({ signer: leaf, chain: [leaf, intermediate, root], target: TARGET }), trustPolicy([root]));
    expect(check).toMatchObject({ reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('CA certificate CN=strict root allows 0 intermediate CA certificate(s) below it, but the chain has 1') });
  });

  test('a CA whose key usage lacks keyCertSign cannot issue', async () => {
    const root = await issue({ subject: 'C=US, O=Acme, CN=odd root', key: await makeKey('ec-p256'), ca: true, keyUsage: x509.KeyUsageFlags.digitalSignature });
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=leaf', key: await makeKey('ec-p256'), issuer: root });
    const check = await verifyOne(await signEnvelope({ signer: leaf, chain: [leaf, root], target: TARGET }), trustPolicy([root]));
    expect(check).toMatchObject({ reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('CA certificate CN=odd root key usage lacks keyCertSign') });
  });

  test('the intermediate missing: out of order / incomplete', async () => {
    const check = await verifyOne(await sign({ chain: [pki.leaf, pki.root] }), policy);
    expect(check).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('the certificate chain is out of order or incomplete: CN=signet test signer was issued by C=US, O=Acme Rockets, CN=signet test intermediate, but the next certificate is C=US, O=Acme Rockets, CN=signet test root'),
    });
  });

  test('an impostor intermediate with the same name but another key: the chain does not verify', async () => {
    const impostor = await issue({ subject: pki.intermediate.certificate.subject, key: await makeKey('ec-p256'), issuer: pki.root, ca: true, pathLength: 0 });
    const check = await verifyOne(await sign({ chain: [pki.leaf, impostor, pki.root] }), policy);
    expect(check).toMatchObject({
      reason: 'BAD_SIGNATURE',
      detail: expect.stringContaining('certificate CN=signet test signer in the chain is not signed by its issuer CN=signet test intermediate'),
    });
  });

  test('the root removed: incomplete chain', async () => {
    const check = await verifyOne(await sign({ chain: [pki.leaf, pki.intermediate] }), policy);
    expect(check).toMatchObject({ reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('it ends with CN=signet test intermediate (issued by C=US, O=Acme Rockets, CN=signet test root), which is not a self-signed root') });
  });
});

describe('trust store and identities', () => {
  test('a chain ending in another root is not trusted', async () => {
    const other = await makePki();
    const check = await verifyOne(await sign(), trustPolicy([other.root], { name: 'other-ca' }));
    expect(check).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'UNTRUSTED_SIGNER',
      detail: 'Notation signature sha256:test: signed by CN=signet test signer, whose chain ends at CN=signet test root, which is not a certificate of the trust store other-ca',
    });
  });

  test('a look-alike root (same name, other key) is not trusted: the DER must be equal', async () => {
    const lookAlike = await makePki('ec-p256');
    const forged = await signEnvelope({ signer: lookAlike.leaf, chain: lookAlike.chain, target: TARGET });
    expect(await verifyOne(forged, policy)).toMatchObject({ reason: 'UNTRUSTED_SIGNER' });
  });

  test('an intermediate in the trust store does not anchor a chain (only its last certificate counts)', async () => {
    const check = await verifyOne(await sign(), trustPolicy([pki.intermediate]));
    expect(check).toMatchObject({ reason: 'UNTRUSTED_SIGNER' });
  });

  test('identities: any listed subject that is a subset of the leaf subject admits', async () => {
    const identities = ['x509.subject: C=US, ST=WA, O=Someone Else', 'x509.subject: C=US, ST=WA, O=Acme Rockets, OU=Builds'];
    expect(await verifyOne(await sign(), trustPolicy([pki.root], { identities }))).toMatchObject({ status: 'valid' });
  });

  test('identities: a differing value refuses, naming the leaf subject and the identities', async () => {
    const check = await verifyOne(await sign(), trustPolicy([pki.root], { identities: ['x509.subject: C=US, ST=WA, O=Acme Rockets, OU=Releases'] }));
    expect(check).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: `Notation signature sha256:test: signed by "${LEAF_SUBJECT}", which matches none of the trusted identities ("C=US, ST=WA, O=Acme Rockets, OU=Releases")`,
    });
  });

  test('identities: a leaf subject repeating an attribute cannot be matched', async () => {
    const leaf = await issue({ subject: 'C=US, ST=WA, O=Acme Rockets, OU=a, OU=b, CN=two ous', key: await makeKey('ec-p256'), issuer: pki.intermediate });
    const bytes = await signEnvelope({ signer: leaf, chain: [leaf, pki.intermediate, pki.root], target: TARGET });
    expect(await verifyOne(bytes, trustPolicy([pki.root], { identities: ['x509.subject: C=US, ST=WA, O=Acme Rockets'] }))).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: expect.stringContaining('repeats an attribute or has a multi-valued attribute'),
    });
    // "*" does not look at the subject at all.
    expect(await verifyOne(bytes, policy)).toMatchObject({ status: 'valid' });
  });
});

describe('hostile input', () => {
  test('a common name with a line break cannot forge a line in messages', async () => {
    // The name is built from its JSON form so that the common name holds a raw line break.
    const named = await issue({
      subject: new x509.Name([{ C: ['US'] }, { ST: ['WA'] }, { O: ['Acme'] }, { CN: ['evil\nALLOW everything'] }]).toString(),
      key: await makeKey('ec-p256'),
      issuer: pki.intermediate,
    });
    const bytes = await signEnvelope({ signer: named, chain: [named, pki.intermediate, pki.root], target: TARGET });
    const check = await verifyOne(bytes, policy);
    expect(check).toMatchObject({ status: 'valid', signer: 'test-ca (CN=evil\\u000aALLOW everything)' });
  });

  test('changing any byte of the signed parts never yields a valid check', async () => {
    const valid = await sign();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('payload' as const, 'protected' as const, 'signature' as const), fc.nat(), fc.integer({ min: 1, max: 255 }), async (member, at, xor) => {
        const tampered = editMember(valid, member, (decoded) => {
          const copy = Buffer.from(decoded);
          const index = at % copy.length;
          copy[index] = copy[index]! ^ xor;
          return copy;
        });
        const check = await verifyOne(tampered, policy);
        expect(check.status).toBe('invalid');
      }),
      { numRuns: 150 },
    );
  });

  test('arbitrary corruption of the envelope bytes gives a check, never an exception', async () => {
    const valid = await sign();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (edits) => {
        const copy = Buffer.from(valid);
        for (const [at, value] of edits) copy[at % copy.length] = value;
        const check = await verifyOne(copy, policy);
        expect(['valid', 'invalid']).toContain(check.status);
      }),
      { numRuns: 150 },
    );
  });
});

describe('signed target', () => {
  test('a signature for another image is a digest mismatch from the trusted signer', async () => {
    const other = { ...TARGET, digest: `sha256:${'cd'.repeat(32)}` as Digest };
    expect(await verifyOne(await sign({ target: other }), policy)).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'DIGEST_MISMATCH',
      detail: `Notation signature sha256:test is for ${other.digest} but the image is ${TARGET.digest}`,
      signer: 'test-ca (CN=signet test signer)',
    });
  });
});

describe('time and levels', () => {
  test('an expired signing certificate: refused under strict (trusted signer named), admitted under permissive', async () => {
    const old = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=old', key: await makeKey('ec-p256'), issuer: pki.intermediate, notAfter: new Date('2024-01-01T00:00:00Z') });
    const bytes = await signEnvelope({ signer: old, chain: [old, pki.intermediate, pki.root], target: TARGET, signingTime: '2023-06-01T00:00:00Z' });
    expect(await verifyOne(bytes, policy)).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'BAD_SIGNATURE',
      detail: 'Notation signature sha256:test: certificate CN=old expired at 2024-01-01T00:00:00.000Z, before now (2025-06-01T12:00:00.000Z); the signature carries no RFC 3161 timestamp',
      signer: 'test-ca (CN=old)',
    });
    const permissive = await verifyOne(bytes, trustPolicy([pki.root], { level: 'permissive' }));
    expect(permissive).toMatchObject({ status: 'valid', signer: 'test-ca (CN=old)' });
    expect(permissive).not.toHaveProperty('validUntil');
  });

  test('a certificate not yet valid is refused under strict', async () => {
    const early = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=early', key: await makeKey('ec-p256'), issuer: pki.intermediate, notBefore: new Date('2030-01-01T00:00:00Z') });
    const bytes = await signEnvelope({ signer: early, chain: [early, pki.intermediate, pki.root], target: TARGET });
    expect(await verifyOne(bytes, policy)).toMatchObject({ reason: 'BAD_SIGNATURE', detail: expect.stringContaining('certificate CN=early is not valid until 2030-01-01T00:00:00.000Z, after now') });
  });

  test('signingAuthority: the chain must be valid at the authentic signing time, not now', async () => {
    const old = await issue({ subject: 'C=US, ST=WA, O=Acme, CN=sa-old', key: await makeKey('ec-p256'), issuer: pki.intermediate, notAfter: new Date('2024-01-01T00:00:00Z') });
    const chain = [old, pki.intermediate, pki.root];
    const store = trustPolicy([pki.root], { type: 'signingAuthority', name: 'acme-sa' });
    const inTime = await signEnvelope({ signer: old, chain, target: TARGET, scheme: 'notary.x509.signingAuthority', authenticSigningTime: '2023-06-01T00:00:00Z' });
    const valid = await verifyOne(inTime, store);
    expect(valid).toMatchObject({ status: 'valid', signer: 'acme-sa (CN=sa-old)' });
    expect(valid).not.toHaveProperty('validUntil');
    const late = await signEnvelope({ signer: old, chain, target: TARGET, scheme: 'notary.x509.signingAuthority', authenticSigningTime: '2024-06-01T00:00:00Z' });
    expect(await verifyOne(late, store)).toMatchObject({
      reason: 'BAD_SIGNATURE',
      detail: expect.stringContaining('certificate CN=sa-old expired at 2024-01-01T00:00:00.000Z, before the authentic signing time (2024-06-01T00:00:00.000Z)'),
      signer: 'acme-sa (CN=sa-old)',
    });
  });

  test('expiry: now at or after it is refused under strict, ignored under permissive', async () => {
    const bytes = await sign({ expiry: NOW.toISOString() });
    expect(await verifyOne(bytes, policy)).toMatchObject({ reason: 'BAD_SIGNATURE', detail: `Notation signature sha256:test: signature expired at ${NOW.toISOString()}; sign the image again` });
    expect(await verifyOne(bytes, trustPolicy([pki.root], { level: 'permissive' }))).toMatchObject({ status: 'valid' });
  });

  test('permissive still enforces trust', async () => {
    const other = await makePki();
    expect(await verifyOne(await sign(), trustPolicy([other.root], { level: 'permissive' }))).toMatchObject({ reason: 'UNTRUSTED_SIGNER' });
  });

  test('audit: an intact signature from an untrusted chain counts, named as untrusted; integrity and target still enforced', async () => {
    const other = await makePki();
    const audit = trustPolicy([other.root], { level: 'audit', name: 'other-ca' });
    expect(await verifyOne(await sign(), audit)).toMatchObject({ status: 'valid', signer: 'CN=signet test signer, not trusted by other-ca (level audit)' });
    expect(await verifyOne(await sign(), trustPolicy([pki.root], { level: 'audit' }))).toMatchObject({ status: 'valid', signer: 'test-ca (CN=signet test signer)' });
    const altered = editMember(await sign(), 'signature', (bytes) => Buffer.from(bytes.map((byte, index) => (index === 3 ? byte ^ 1 : byte))));
    expect(await verifyOne(altered, audit)).toMatchObject({ reason: 'BAD_SIGNATURE' });
    const elsewhere = await sign({ target: { ...TARGET, size: 1 } });
    const mismatch = await verifyOne(elsewhere, audit);
    expect(mismatch).toMatchObject({ reason: 'DIGEST_MISMATCH' });
    // An untrusted party's claims are not attributed to anyone.
    expect(mismatch).not.toHaveProperty('signer');
  });
});
