// What our verifiers accept, checked independently by the openssl CLI over the same bytes: Notation
// JWS envelopes (the JWS signing input, RSASSA-PSS) and Sigstore DSSE envelopes (the DSSE
// pre-authentication encoding, ECDSA). Both must agree on the genuine samples and on tampered copies,
// so a verifier that checks the wrong bytes, or none, cannot pass here.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../../src/reference/types.js';
import { parseTrustedIdentities } from '../../src/signatures/notation/identity.js';
import { parseTrustStorePem, type NotationTrustPolicy } from '../../src/signatures/notation/trust.js';
import { verifyNotationSignatures, type NotationTarget } from '../../src/signatures/notation/verify.js';
import { compileIdentityRule } from '../../src/signatures/sigstore/identity.js';
import { parseTrustedRootJson } from '../../src/signatures/sigstore/trust-root.js';
import { verifySigstoreSignatures } from '../../src/signatures/sigstore/verify.js';
import { haveTools } from '../support/registry-server.js';

const NOTATION = join(import.meta.dirname, '../fixtures/conformance/notation-go');
const BUNDLES = join(import.meta.dirname, '../fixtures/conformance/cosign-sigstore-bundle');
const maybe = haveTools('openssl') ? describe : describe.skip;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'signet-openssl-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let serial = 0;
/** `openssl dgst -verify`: true for "Verified OK", false for "Verification failure"; anything else throws. */
function opensslVerifies(certificateDer: Buffer, data: Buffer, signature: Buffer, digest: string, sigopts: string[] = []): boolean {
  const n = serial++;
  const publicKey = join(dir, `key-${n}.pem`);
  writeFileSync(publicKey, new X509Certificate(certificateDer).publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, `data-${n}`), data);
  writeFileSync(join(dir, `sig-${n}`), signature);
  const args = ['dgst', `-${digest}`, ...sigopts.flatMap((o) => ['-sigopt', o]), '-verify', publicKey, '-signature', join(dir, `sig-${n}`), join(dir, `data-${n}`)];
  const run = spawnSync('openssl', args, { encoding: 'utf8', timeout: 10_000 });
  if (run.stdout.includes('Verified OK')) return true;
  if (run.stdout.includes('Verification failure')) return false;
  throw new Error(`openssl ${args.join(' ')}: ${run.stdout}${run.stderr}`);
}

const base64url = (text: string): Buffer => Buffer.from(text, 'base64url');

interface Jws {
  protected: string;
  payload: string;
  signature: string;
  header: { x5c: string[] };
}

maybe('Notation JWS envelopes: openssl and verifyNotationSignatures agree', () => {
  const TARGET: NotationTarget = {
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e' as Digest,
    size: 528,
  };
  const roots = parseTrustStorePem(readFileSync(join(NOTATION, 'truststore/NotationTestRoot.pem'), 'utf8'));
  const identities = parseTrustedIdentities(['*']);
  if (!roots.ok || !identities.ok) throw new Error('trust store fixture did not parse');
  const policy = (type: 'ca' | 'signingAuthority'): NotationTrustPolicy => ({
    trustStore: { type, name: 'notation-test', certificates: roots.value },
    trustedIdentities: identities.value,
    level: 'strict',
  });

  /** openssl over the JWS signing input (RFC 7515 §5.2: ASCII(protected '.' payload)) with the x5c leaf key. */
  function opensslOverJws(jws: Jws): boolean {
    const alg = (JSON.parse(base64url(jws.protected).toString('utf8')) as { alg: string }).alg;
    // PS256/PS384: RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash (RFC 7518 §3.5).
    const bits = { PS256: 256, PS384: 384 }[alg];
    if (bits === undefined) throw new Error(`sample uses ${alg}`);
    return opensslVerifies(
      Buffer.from(jws.header.x5c[0]!, 'base64'),
      Buffer.from(`${jws.protected}.${jws.payload}`, 'ascii'),
      base64url(jws.signature),
      `sha${bits}`,
      ['rsa_padding_mode:pss', `rsa_pss_saltlen:${bits / 8}`, `rsa_mgf1_md:sha${bits}`],
    );
  }

  async function ours(jws: Jws, type: 'ca' | 'signingAuthority'): Promise<{ status: string; reason?: string; detail?: string }> {
    const bytes = Buffer.from(JSON.stringify(jws));
    const [check] = await verifyNotationSignatures({
      target: TARGET,
      envelopes: [{ mediaType: 'application/jose+json', bytes, source: 'sample' }],
      policy: policy(type),
      now: new Date('2025-06-01T00:00:00Z'),
    });
    return check as { status: string; reason?: string; detail?: string };
  }

  const sample = (name: string): Jws => JSON.parse(readFileSync(join(NOTATION, name), 'utf8')) as Jws;

  test.each([
    ['ca_valid_sig_env.json', 'ca', true],
    ['sa_valid_sig_env.json', 'signingAuthority', true],
    ['ca_invalid_sig_env.json', 'ca', false],
    ['sa_invalid_sig_env.json', 'signingAuthority', false],
  ] as const)('%s: openssl says %p, and so does the verifier', async (name, type, genuine) => {
    const jws = sample(name);
    expect(opensslOverJws(jws)).toBe(genuine);
    expect(await ours(jws, type)).toMatchObject(genuine ? { status: 'valid' } : { status: 'invalid', reason: 'BAD_SIGNATURE' });
  });

  test('the expired samples are genuine signatures (openssl verifies them); the verifier refuses them for their expiry', async () => {
    for (const [name, type] of [['ca_expired_sig_env.json', 'ca'], ['sa_expired_sig_env.json', 'signingAuthority']] as const) {
      const jws = sample(name);
      expect(opensslOverJws(jws)).toBe(true);
      expect(await ours(jws, type)).toMatchObject({ status: 'invalid', detail: expect.stringContaining('signature expired at 2022-07-29T23:59:00.000Z') });
    }
  });

  test('jwsWithTimestamp (PS256) is a genuine signature by its own leaf', () => {
    expect(opensslOverJws(sample('jwsWithTimestamp.sig.json'))).toBe(true);
  });

  test('one bit changed in the signed payload: openssl and the verifier both refuse it', async () => {
    const jws = sample('ca_valid_sig_env.json');
    const payload = base64url(jws.payload);
    payload[payload.length - 3]! ^= 0x01;
    const tampered = { ...jws, payload: payload.toString('base64url') };
    expect(opensslOverJws(tampered)).toBe(false);
    expect(await ours(tampered, 'ca')).toMatchObject({ status: 'invalid' });
  });

  test('one bit changed in the protected header: both refuse it', async () => {
    const jws = sample('ca_valid_sig_env.json');
    const header = base64url(jws.protected).toString('utf8').replace('2020-11-09T07:00:00Z', '2020-11-09T07:00:01Z');
    const tampered = { ...jws, protected: Buffer.from(header).toString('base64url') };
    expect(opensslOverJws(tampered)).toBe(false);
    expect(await ours(tampered, 'ca')).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
  });
});

interface Bundle {
  verificationMaterial: { certificate: { rawBytes: string } };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
}

maybe('Sigstore DSSE envelopes: openssl and verifySigstoreSignatures agree', () => {
  const bundleText = readFileSync(join(BUNDLES, 'oci-attestation.sigstore.json'), 'utf8');
  const subject = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4' as Digest;
  const parsedRoot = parseTrustedRootJson(readFileSync(join(BUNDLES, 'trusted_root_pgi.json'), 'utf8'));
  const parsedIdentity = compileIdentityRule({ issuer: 'https://github.com/login/oauth', subject: 'cody@soyland.com' });
  if (!parsedRoot.ok || !parsedIdentity.ok) throw new Error('trust fixture did not parse');
  const trustRoot = parsedRoot.value;
  const cody = parsedIdentity.value;

  /** DSSE v1 pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (lengths in ASCII decimal, bytes). */
  function pae(payloadType: string, body: Buffer): Buffer {
    const type = Buffer.from(payloadType, 'utf8');
    return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
  }

  function opensslOverDsse(bundle: Bundle): boolean {
    const envelope = bundle.dsseEnvelope;
    return opensslVerifies(
      Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'),
      pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')),
      Buffer.from(envelope.signatures[0]!.sig, 'base64'),
      'sha256',
    );
  }

  function ours(bundle: Bundle): { status: string; reason?: string } {
    const [check] = verifySigstoreSignatures({
      imageDigest: subject,
      trust: { kind: 'keyless', trustRoot, identities: [cody], requireRekor: true },
      layers: [],
      bundles: [{ source: 'bundle', bytes: Buffer.from(JSON.stringify(bundle)) }],
      predicateTypes: ['https://cosign.sigstore.dev/attestation/v1'],
      now: new Date(),
    });
    return check as { status: string; reason?: string };
  }

  test('the genuine bundle: openssl verifies the PAE with the leaf key, and the verifier accepts it', () => {
    const bundle = JSON.parse(bundleText) as Bundle;
    expect(opensslOverDsse(bundle)).toBe(true);
    expect(ours(bundle)).toMatchObject({ status: 'valid' });
  });

  test('openssl over the raw payload instead of the PAE fails: the signature covers the encoding, type included', () => {
    const bundle = JSON.parse(bundleText) as Bundle;
    const raw = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    expect(opensslVerifies(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'), raw, Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64'), 'sha256')).toBe(false);
  });

  test('another payloadType over the same payload: openssl refuses the PAE, and so does the verifier', () => {
    const bundle = JSON.parse(bundleText) as Bundle;
    bundle.dsseEnvelope.payloadType = 'application/vnd.in-toto+jsoN';
    expect(opensslOverDsse(bundle)).toBe(false);
    expect(ours(bundle)).toMatchObject({ status: 'invalid' });
  });

  test('one bit changed in the signature: both refuse it', () => {
    const bundle = JSON.parse(bundleText) as Bundle;
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 2]! ^= 0x01;
    bundle.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    expect(opensslOverDsse(bundle)).toBe(false);
    expect(ours(bundle)).toMatchObject({ status: 'invalid' });
  });
});
