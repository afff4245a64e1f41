// Notation COSE_Sign1 envelopes (application/cose): notation-go's own envelope over its alpine OCI
// layout, pushed to the real docker-registry with its signature attached as a referrer and judged by
// the pipeline's Notation check; its timestamped envelopes with the GlobalSign TSA root; and
// envelopes made here with an openssl-made chain, valid, tampered and from an untrusted root.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { encode, decode, Tag } from 'cbor2';
import { sign as nodeSign, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import { verifyNotationSignatures, type NotationTarget } from '../../../src/signatures/notation/verify.js';
import type { NotationTrustPolicy } from '../../../src/signatures/notation/trust.js';
import { checkNotation } from '../../../src/pipeline/systems/notation.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { parseReference, repositoryOf } from '../../../src/reference/parse.js';
import { haveTools, startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { pushImage, type OciLayout } from '../../support/oci-image.js';
import type { PushedImage } from '../../support/signers.js';
import { OpensslPki, type IssuedCertificate, type OpensslCa } from '../../support/openssl-pki.js';
import { attachNotationEnvelope } from './referrer.js';
import { certificateOf, makePki, trustPolicy, type Pki } from './pki.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures');
const cose = (file: string): Buffer => readFileSync(join(FIXTURES, 'notation-cose', file));
/** The `v2` manifest of the layout, which cose_signature.sig signs. */
const ALPINE: NotationTarget = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0' as Digest, size: 481 };

interface Decoded {
  readonly protectedBytes: Uint8Array;
  readonly unprotected: Map<unknown, unknown>;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

function decodeCose(bytes: Buffer): Decoded {
  const [protectedBytes, unprotected, payload, signature] = (decode(bytes, { preferMap: true }) as Tag).contents as [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array];
  return { protectedBytes, unprotected, payload, signature };
}

/** cbor2 writes a Node Buffer as an object; byte strings must be plain Uint8Array. */
const plain = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function encodeCose(parts: Decoded): Buffer {
  const unprotected = new Map([...parts.unprotected].map(([key, value]) => [key, Array.isArray(value) ? value.map((entry: Uint8Array) => plain(entry)) : value instanceof Uint8Array ? plain(value) : value]));
  return Buffer.from(encode(new Tag(18, [plain(parts.protectedBytes), unprotected, plain(parts.payload), plain(parts.signature)])));
}

/** The envelope's own last x5chain certificate, as a trust store root. */
function ownRoot(bytes: Buffer): Buffer {
  const chain = decodeCose(bytes).unprotected.get(33) as Uint8Array[];
  return Buffer.from(chain[chain.length - 1]!);
}

function targetOf(bytes: Buffer): NotationTarget {
  const { targetArtifact } = JSON.parse(Buffer.from(decodeCose(bytes).payload).toString('utf8')) as { targetArtifact: { mediaType: string; digest: string; size: number } };
  return { mediaType: targetArtifact.mediaType, digest: targetArtifact.digest as Digest, size: targetArtifact.size };
}

async function verify(bytes: Buffer, policy: NotationTrustPolicy, target: NotationTarget, now = new Date('2025-06-01T00:00:00Z')): Promise<SignatureCheck> {
  const [check] = await verifyNotationSignatures({ target, envelopes: [{ mediaType: 'application/cose', bytes, source: 'signature sample' }], policy, now });
  return check!;
}

interface CoseOptions {
  /** PEM (openssl-made) or a key object (webcrypto-made test PKI). */
  readonly key: string | KeyObject;
  readonly chain: readonly Buffer[];
  readonly target: NotationTarget;
  /** Protected header entries to set (undefined removes one). */
  readonly headers?: ReadonlyMap<unknown, unknown>;
  /** Send the payload detached (nil). */
  readonly detached?: boolean;
}

/** A COSE_Sign1 as notation-go makes it, ES256. */
function signCose(options: CoseOptions): Buffer {
  const header = new Map<unknown, unknown>([
    [1, -7],
    [2, ['io.cncf.notary.signingScheme']],
    [3, 'application/vnd.cncf.notary.payload.v1+json'],
    ['io.cncf.notary.signingScheme', 'notary.x509'],
    ['io.cncf.notary.signingTime', new Tag(1, Math.floor(Date.now() / 1000))],
  ]);
  for (const [name, value] of options.headers ?? []) {
    if (value === undefined) header.delete(name);
    else header.set(name, value);
  }
  const protectedBytes = encode(header);
  const payload = new Uint8Array(Buffer.from(JSON.stringify({ targetArtifact: options.target })));
  const toBeSigned = encode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  const key = typeof options.key === 'string' ? createPrivateKey(options.key) : options.key;
  const signature = nodeSign('sha256', toBeSigned, { key, dsaEncoding: 'ieee-p1363' });
  const unprotected = new Map<unknown, unknown>([
    [33, options.chain.map((der) => plain(der))],
    ['io.cncf.notary.signingAgent', 'signet-tests/1.0'],
  ]);
  return Buffer.from(encode(new Tag(18, [protectedBytes, unprotected, options.detached === true ? null : payload, plain(signature)])));
}

describe('COSE headers (test PKI)', () => {
  let pki: Pki;
  let policy: NotationTrustPolicy;
  const cases = (): readonly [string, CoseOptions, string][] => {
    const base = { key: pki.leaf.key.privateKey, chain: pki.chain.map((c) => c.der), target: ALPINE };
    return [
      ['EdDSA (alg -8)', { ...base, headers: new Map([[1, -8]]) }, 'the COSE algorithm -8 is not one Notation allows (PS256, PS384, PS512, ES256, ES384, ES512)'],
      ['no crit', { ...base, headers: new Map([[2, undefined]]) }, 'the COSE protected header must have a non-empty crit list naming io.cncf.notary.signingScheme'],
      [
        'an unknown critical header',
        { ...base, headers: new Map<unknown, unknown>([[2, ['io.cncf.notary.signingScheme', 'io.example.policy']], ['io.example.policy', 'x']]) },
        'the signature marks "io.example.policy" as critical, which Signet does not understand, so it cannot be verified safely',
      ],
      ['an expiry not listed in crit', { ...base, headers: new Map<unknown, unknown>([['io.cncf.notary.expiry', new Tag(1, 4_000_000_000)]]) }, 'the protected header has io.cncf.notary.expiry but does not list it in crit'],
      ['a signing time that is text', { ...base, headers: new Map<unknown, unknown>([['io.cncf.notary.signingTime', '2025-01-01T00:00:00Z']]) }, 'io.cncf.notary.signingTime is not a CBOR epoch time (tag 1)'],
      ['another content type', { ...base, headers: new Map([[3, 'application/json']]) }, 'the COSE content type is "application/json", not application/vnd.cncf.notary.payload.v1+json'],
      ['a detached payload', { ...base, detached: true }, 'the COSE payload is detached or not a byte string; Notation embeds it'],
    ];
  };

  beforeAll(async () => {
    pki = await makePki();
    policy = trustPolicy([pki.root]);
  });

  test('a well-formed envelope is valid; an expired one (tag 1 expiry in the past) is refused at strict', async () => {
    const base = { key: pki.leaf.key.privateKey, chain: pki.chain.map((c) => c.der), target: ALPINE };
    expect(await verify(signCose(base), policy, ALPINE)).toMatchObject({ status: 'valid', signer: 'test-ca (CN=signet test signer)' });
    const expired = signCose({ ...base, headers: new Map<unknown, unknown>([[2, ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry']], ['io.cncf.notary.expiry', new Tag(1, 1_700_000_000)]]) });
    expect(await verify(expired, policy, ALPINE)).toMatchObject({ reason: 'BAD_SIGNATURE', detail: 'Notation signature sample: signature expired at 2023-11-14T22:13:20.000Z; sign the image again' });
  });

  test('each malformed header is MALFORMED with its sentence', async () => {
    for (const [what, options, sentence] of cases()) {
      const check = await verify(signCose(options), policy, ALPINE);
      expect({ what, check }).toEqual({ what, check: { status: 'invalid', system: 'notation', reason: 'MALFORMED', detail: `Notation signature sample: ${sentence}` } });
    }
  });
});

describe('hostile CBOR', () => {
  test('a huge bignum in the unprotected header is refused at once, not converted (it held the event loop for a minute)', async () => {
    // COSE_Sign1 by hand: tag 18, [bstr protected {1: -7}, {99: tag 2 bignum of 200 KB}, bstr, bstr].
    const size = 200_000;
    const bignum = Buffer.alloc(6 + size, 0xff);
    bignum.set([0xc2, 0x5a, (size >>> 24) & 255, (size >>> 16) & 255, (size >>> 8) & 255, size & 255]);
    const protectedHeader = Buffer.from([0xa1, 0x01, 0x26]);
    const bytes = Buffer.concat([Buffer.from([0xd2, 0x84, 0x40 + protectedHeader.length]), protectedHeader, Buffer.from([0xa1, 0x18, 99]), bignum, Buffer.from([0x41, 0x00, 0x41, 0x00])]);
    const started = performance.now();
    const check = await verify(bytes, trustPolicy([]), ALPINE);
    expect(check).toMatchObject({ status: 'invalid', reason: 'MALFORMED', detail: expect.stringContaining('the COSE envelope is not valid CBOR') });
    // Refused in milliseconds; a conversion would have taken seconds (no assertion on the machine's speed beyond that).
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('notation-go COSE envelopes', () => {
  test('cose_signature.sig: valid for the alpine manifest, signed by its self-signed CN=alpine certificate', async () => {
    const bytes = cose('cose_signature.sig');
    expect(await verify(bytes, trustPolicy([ownRoot(bytes)], { name: 'alpine' }), ALPINE)).toMatchObject({ status: 'valid', signer: 'alpine (CN=alpine)', digest: ALPINE.digest });
  });

  test('cose_signature.sig with one payload byte changed: BAD_SIGNATURE (the envelope was altered)', async () => {
    const parts = decodeCose(cose('cose_signature.sig'));
    const payload = Buffer.from(parts.payload);
    payload[payload.indexOf('481')] = '5'.charCodeAt(0);
    const tampered = encodeCose({ ...parts, payload });
    expect(await verify(tampered, trustPolicy([ownRoot(cose('cose_signature.sig'))], { name: 'alpine' }), ALPINE)).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'BAD_SIGNATURE',
      detail: 'Notation signature sample: the signature does not verify with the key of its signing certificate CN=alpine (the envelope was altered)',
    });
  });

  test('cose_signature.sig against another trust store: UNTRUSTED_SIGNER', async () => {
    const other = readFileSync(join(FIXTURES, 'notation-timestamp/TestTimestamp.crt'));
    expect(await verify(cose('cose_signature.sig'), trustPolicy([new X509Certificate(other).raw], { name: 'other' }), ALPINE)).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: 'Notation signature sample: signed by CN=alpine, whose chain ends at CN=alpine, which is not a certificate of the trust store other',
    });
  });

  test.each(['coseWithTimestamp.sig', 'coseExpiredWithTimestamp.sig'])('%s: valid with the GlobalSign tsa trust store (verifyTimestamp always)', async (file) => {
    const bytes = cose(file);
    // Offline: the GlobalSign TSA chain's revocation check is turned off (see PROVENANCE.md).
    const policy = {
      ...trustPolicy([ownRoot(bytes)], { name: 'valid-trust-store' }),
      tsaTrustStore: { name: 'test-timestamp', certificates: [certificateOf(readFileSync(join(FIXTURES, 'notation-timestamp/globalsignRoot.cer')))] },
      revocation: 'skip' as const,
    };
    const check = await verify(bytes, policy, targetOf(bytes));
    expect(check).toMatchObject({ status: 'valid' });
    expect(check).not.toHaveProperty('validUntil');
  });
});

const available = haveTools('openssl', 'docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

maybe('COSE envelopes in the real registry, judged by the pipeline check', () => {
  let dir: string;
  let registry: RunningRegistry;
  let client: RegistryClient;
  let root: OpensslCa;
  let stranger: OpensslCa;
  let leaf: IssuedCertificate;
  let strangerLeaf: IssuedCertificate;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-notation-cose-'));
    registry = await startRegistry();
    client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    const pki = new OpensslPki(join(dir, 'pki'));
    root = pki.rootCa('acme-root', '/C=US/ST=WA/O=Acme Rockets/CN=Acme Root');
    stranger = pki.rootCa('stranger-root', '/C=US/ST=WA/O=Stranger/CN=Stranger Root');
    leaf = root.issue('signer', '/C=US/ST=WA/O=Acme Rockets/CN=cose signer', { profile: 'codeSigning' });
    strangerLeaf = stranger.issue('stranger', '/C=US/ST=WA/O=Stranger/CN=stranger signer', { profile: 'codeSigning' });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function pushAlpine(repository: string): Promise<PushedImage> {
    const layout = { layoutDir: join(FIXTURES, 'notation-cose/oci-layout'), refName: 'v2', platformManifests: [], manifestDigest: ALPINE.digest } as unknown as OciLayout;
    const digest = await pushImage(layout, registry, `${repository}:v2`);
    const reference = `${registry.host}/${repository}:v2`;
    const parsed = parseReference(reference);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return { reference, repo: repositoryOf(parsed.value), digest, mediaType: ALPINE.mediaType, size: ALPINE.size, layout };
  }

  test("notation-go's envelope over its own layout, pushed with skopeo: valid", async () => {
    const image = await pushAlpine('library/alpine');
    expect(image.digest).toBe(ALPINE.digest);
    await attachNotationEnvelope(client, image, cose('cose_signature.sig'), 'application/cose');
    const report = await checkNotation({ registry: client, repo: image.repo, digest: image.digest, now: new Date() } as never, trustPolicy([ownRoot(cose('cose_signature.sig'))], { name: 'alpine' }));
    expect(report).toMatchObject({ ok: true, value: { checks: [{ status: 'valid', signer: 'alpine (CN=alpine)' }] } });
  }, 60_000);

  test('COSE made with an openssl chain: valid from the trusted root; UNTRUSTED_SIGNER from another; BAD_SIGNATURE when altered', async () => {
    const image = await pushAlpine('acme/alpine');
    const good = await attachNotationEnvelope(client, image, signCose({ key: leaf.keyPem, chain: [leaf.der, root.certificate.der], target: ALPINE }), 'application/cose');
    const foreign = await attachNotationEnvelope(client, image, signCose({ key: strangerLeaf.keyPem, chain: [strangerLeaf.der, stranger.certificate.der], target: ALPINE }), 'application/cose');
    const parts = decodeCose(signCose({ key: leaf.keyPem, chain: [leaf.der, root.certificate.der], target: ALPINE }));
    const signature = Buffer.from(parts.signature);
    signature[5]! ^= 0x01;
    const altered = await attachNotationEnvelope(client, image, encodeCose({ ...parts, signature }), 'application/cose');

    const report = await checkNotation({ registry: client, repo: image.repo, digest: image.digest, now: new Date() } as never, trustPolicy([root.certificate.der], { name: 'acme-ca' }));
    if (!report.ok) throw new Error(report.error.message);
    const bySignature = (digest: string): SignatureCheck | undefined => report.value.checks.find((check) => check.status === 'valid' ? digest === good : check.detail.includes(digest));
    expect(bySignature(good)).toMatchObject({ status: 'valid', signer: 'acme-ca (CN=cose signer)' });
    expect(bySignature(foreign)).toMatchObject({
      reason: 'UNTRUSTED_SIGNER',
      detail: `Notation signature ${foreign}: signed by CN=stranger signer, whose chain ends at CN=Stranger Root, which is not a certificate of the trust store acme-ca`,
    });
    expect(bySignature(altered)).toMatchObject({
      reason: 'BAD_SIGNATURE',
      detail: `Notation signature ${altered}: the signature does not verify with the key of its signing certificate CN=cose signer (the envelope was altered)`,
    });
    expect(report.value.checks).toHaveLength(3);
  }, 60_000);
});
