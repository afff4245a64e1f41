// RFC 3161 timestamps on Notation JWS signatures, with real parts: CAs, signing and TSA
// certificates made by `openssl ca`, tokens made by `openssl ts -reply`, and (last) a timestamped
// signature attached as a referrer to an image in the real docker-registry and judged through the
// pipeline's Notation check. `now` is passed in, so "after the certificate expired" needs no waiting.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyNotationSignatures, type NotationTarget } from '../../../src/signatures/notation/verify.js';
import type { NotationTrustPolicy, VerifyTimestamp } from '../../../src/signatures/notation/trust.js';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import { checkNotation } from '../../../src/pipeline/systems/notation.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { haveTools, startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { pushTestImage } from '../../support/signers.js';
import { OpensslPki, envelopeBytes, signNotationJws, withTimestamp, type IssuedCertificate, type NotationJws, type OpensslCa } from '../../support/openssl-pki.js';
import { attachNotationEnvelope } from './referrer.js';
import { startCrlServer } from '../../support/revocation-servers.js';
import { HttpRevocationFetcher } from '../../../src/discovery/notation-revocation.js';
import { RevocationCache } from '../../../src/signatures/notation/revocation.js';
import { loadPolicyText } from '../../../src/policy/index.js';
import { readKeyFileFromDisk } from '../../../src/trust/policy-file.js';
import type { CompiledNotationVerifier } from '../../../src/signatures/notation/policy.js';
import { certificateOf, trustPolicy } from './pki.js';

const DOCS = new URL('../../../docs/verifiers/notation.md', import.meta.url);

/** The YAML block after `<!-- tested-example: NAME -->` in docs/verifiers/notation.md. */
function docsExample(name: string): string {
  const match = new RegExp(`<!-- tested-example: ${name} -->\\n\`\`\`yaml\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(readFileSync(DOCS, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`docs/verifiers/notation.md has no tested example "${name}"`);
  return `${match[1]}\n`;
}

const TARGET: NotationTarget = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'ab'.repeat(32)}` as Digest, size: 1234 };
const DAY = 86400_000;

const available = haveTools('openssl', 'docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

maybe('RFC 3161 timestamps (openssl CA, TSA and tokens)', () => {
  let dir: string;
  let pki: OpensslPki;
  let root: OpensslCa;
  let tsaRoot: OpensslCa;
  let otherTsaRoot: OpensslCa;
  let tsa: IssuedCertificate;
  let strangerTsa: IssuedCertificate;
  let expiredTsa: IssuedCertificate;
  /** Valid from an hour ago for one day: expired when `now` is two days on. */
  let shortLeaf: IssuedCertificate;
  /** Valid only from tomorrow: any timestamp made today is before it. */
  let futureLeaf: IssuedCertificate;
  const started = Date.now();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-notation-ts-'));
    pki = new OpensslPki(dir);
    root = pki.rootCa('acme-root', '/C=US/ST=WA/O=Acme Rockets/CN=Acme Root');
    tsaRoot = pki.rootCa('tsa-root', '/C=US/O=Stamps Inc/CN=Stamps Root');
    otherTsaRoot = pki.rootCa('other-tsa-root', '/C=US/O=Elsewhere/CN=Elsewhere Root');
    tsa = tsaRoot.issue('tsa', '/C=US/O=Stamps Inc/CN=Stamps TSA', { profile: 'timeStamping' });
    expiredTsa = tsaRoot.issue('expired-tsa', '/C=US/O=Stamps Inc/CN=Expired TSA', { profile: 'timeStamping', notBefore: new Date(started - 2 * DAY), notAfter: new Date(started - DAY) });
    strangerTsa = otherTsaRoot.issue('stranger-tsa', '/C=US/O=Elsewhere/CN=Elsewhere TSA', { profile: 'timeStamping' });
    shortLeaf = root.issue('short', '/C=US/ST=WA/O=Acme Rockets/CN=short-lived signer', { profile: 'codeSigning', notAfter: new Date(started + DAY) });
    futureLeaf = root.issue('future', '/C=US/ST=WA/O=Acme Rockets/CN=future signer', {
      profile: 'codeSigning',
      notBefore: new Date(started + DAY),
      notAfter: new Date(started + 3 * DAY),
    });
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const policy = (options: { tsa?: OpensslCa | null; verifyTimestamp?: VerifyTimestamp } = {}): NotationTrustPolicy => {
    const base = trustPolicy([root.certificate.der], { name: 'acme-ca' });
    const store = options.tsa === null ? undefined : (options.tsa ?? tsaRoot);
    return {
      ...base,
      ...(store !== undefined ? { tsaTrustStore: { name: 'stamps', certificates: [certificateOf(store.certificate.der)] } } : {}),
      ...(options.verifyTimestamp !== undefined ? { verifyTimestamp: options.verifyTimestamp } : {}),
    };
  };
  const signed = (leaf: IssuedCertificate): NotationJws => signNotationJws({ key: leaf.keyPem, chain: [leaf, root.certificate], target: TARGET });
  const stamped = (jws: NotationJws, by: IssuedCertificate = tsa, chain: readonly IssuedCertificate[] = [by, tsaRoot.certificate]): NotationJws =>
    withTimestamp(jws, pki.timestamp(jws.signature, by, chain));
  const verify = async (jws: NotationJws, trust: NotationTrustPolicy, now: Date): Promise<SignatureCheck> => {
    const [check] = await verifyNotationSignatures({ target: TARGET, envelopes: [{ mediaType: 'application/jose+json', bytes: envelopeBytes(jws), source: 'signature sha256:test' }], policy: trust, now });
    return check!;
  };
  const later = (): Date => new Date(started + 2 * DAY);
  const valid = { status: 'valid', signer: 'acme-ca (CN=short-lived signer)' };

  test('a timestamped signature whose chain is valid now: valid (verifyTimestamp always)', async () => {
    const check = await verify(stamped(signed(shortLeaf)), policy(), new Date());
    expect({ check, detail: (check as { detail?: string }).detail }).toMatchObject({ check: valid });
  });

  test('after the signing certificate expired, a trusted timestamp inside its validity keeps it valid (always and afterCertExpiry); the verdict is not limited by the certificate', async () => {
    const jws = stamped(signed(shortLeaf));
    for (const verifyTimestamp of ['always', 'afterCertExpiry'] as const) {
      const check = await verify(jws, policy({ verifyTimestamp }), later());
      expect(check).toMatchObject(valid);
      expect(check).not.toHaveProperty('validUntil');
    }
  });

  test('after expiry without a timestamp: TIMESTAMP_INVALID saying so (afterCertExpiry)', async () => {
    expect(await verify(signed(shortLeaf), policy({ verifyTimestamp: 'afterCertExpiry' }), later())).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'TIMESTAMP_INVALID',
      detail: `Notation signature sha256:test: certificate CN=short-lived signer expired at ${certificateOf(shortLeaf.der).notAfter.toISOString()}, before now (${later().toISOString()}), and the signature carries no RFC 3161 timestamp to show it was made while the chain was valid`,
      signer: 'acme-ca (CN=short-lived signer)',
    });
  });

  test('afterCertExpiry while the chain is valid: no timestamp needed, and the verdict lasts until the certificate expires', async () => {
    const check = await verify(signed(shortLeaf), policy({ verifyTimestamp: 'afterCertExpiry' }), new Date());
    expect(check).toMatchObject({ ...valid, validUntil: certificateOf(shortLeaf.der).notAfter.toISOString() });
  });

  test('always: a signature without a timestamp is refused even while its chain is valid (as notation verify does)', async () => {
    expect(await verify(signed(shortLeaf), policy(), new Date())).toMatchObject({
      reason: 'TIMESTAMP_INVALID',
      detail: 'Notation signature sha256:test: the policy requires an RFC 3161 timestamp from the tsa trust store stamps (verifyTimestamp: always), but the signature carries none',
    });
  });

  test('without a tsa trust store the timestamp is not used, and the expiry message says why', async () => {
    expect(await verify(stamped(signed(shortLeaf)), policy({ tsa: null }), later())).toMatchObject({
      reason: 'BAD_SIGNATURE',
      detail: `Notation signature sha256:test: certificate CN=short-lived signer expired at ${certificateOf(shortLeaf.der).notAfter.toISOString()}, before now (${later().toISOString()}); its RFC 3161 timestamp is not used because the policy names no tsaTrustStore`,
    });
  });

  test('a timestamp by a TSA outside the tsa trust store: TIMESTAMP_INVALID naming the TSA and the store', async () => {
    const jws = stamped(signed(shortLeaf), strangerTsa, [strangerTsa, otherTsaRoot.certificate]);
    expect(await verify(jws, policy(), later())).toMatchObject({
      reason: 'TIMESTAMP_INVALID',
      detail: 'Notation signature sha256:test: the RFC 3161 timestamp is signed by CN=Elsewhere TSA, whose chain ends at CN=Elsewhere Root, which is not in the tsa trust store stamps',
    });
  });

  test('a timestamp made before the signing certificate is valid: TIMESTAMP_INVALID', async () => {
    const jws = stamped(signNotationJws({ key: futureLeaf.keyPem, chain: [futureLeaf, root.certificate], target: TARGET }));
    const check = await verify(jws, policy(), new Date(started + 2 * DAY));
    expect(check).toMatchObject({ reason: 'TIMESTAMP_INVALID' });
    expect((check as { detail: string }).detail).toMatch(
      new RegExp(`^Notation signature sha256:test: the RFC 3161 timestamp \\S+ \\(±1000 ms\\) may be before certificate CN=future signer is valid \\(from ${certificateOf(futureLeaf.der).notBefore.toISOString().replace(/\./g, '\\.')}\\)$`),
    );
  });

  test('a timestamp copied from another signature: TIMESTAMP_INVALID (message imprint)', async () => {
    const other = stamped(signed(shortLeaf));
    const jws = withTimestamp(signed(shortLeaf), Buffer.from(String(other.json.header['io.cncf.notary.timestampSignature']), 'base64'));
    expect(await verify(jws, policy(), later())).toMatchObject({
      reason: 'TIMESTAMP_INVALID',
      detail: 'Notation signature sha256:test: the RFC 3161 timestamp is for other content: its message imprint is not the hash of this signature value (a timestamp copied from another signature)',
    });
  });

  test('an altered token: TIMESTAMP_INVALID, never valid', async () => {
    const jws = stamped(signed(shortLeaf));
    const token = Buffer.from(String(jws.json.header['io.cncf.notary.timestampSignature']), 'base64');
    // The last bytes are the TSA's signature value.
    token[token.length - 5]! ^= 0x01;
    const check = await verify(withTimestamp(jws, token), policy(), later());
    expect(check).toMatchObject({ reason: 'TIMESTAMP_INVALID', detail: 'Notation signature sha256:test: the RFC 3161 timestamp does not verify with the key of its TSA certificate CN=Stamps TSA (the token was altered)' });
  });

  test('a token made after its TSA certificate expired: TIMESTAMP_INVALID', async () => {
    const jws = stamped(signed(shortLeaf), expiredTsa, [expiredTsa, tsaRoot.certificate]);
    const check = await verify(jws, policy(), later());
    const tsaCertificate = certificateOf(expiredTsa.der);
    expect(check).toMatchObject({ reason: 'TIMESTAMP_INVALID' });
    expect((check as { detail: string }).detail).toMatch(
      new RegExp(
        `^Notation signature sha256:test: the RFC 3161 timestamp was made at \\S+, outside the validity of its TSA certificate CN=Expired TSA \\(${tsaCertificate.notBefore.toISOString()} to ${tsaCertificate.notAfter.toISOString()}\\)$`.replace(/\./g, '\\.'),
      ),
    );
  });

  test("a timestamp whose authority's certificate is revoked (CRL) does not count: REVOKED at strict, a warning with revocation log", async () => {
    const crls = await startCrlServer();
    const fetcher = new HttpRevocationFetcher({ timeoutMs: 3000 });
    try {
      const revokedTsa = tsaRoot.issue('revoked-tsa', '/C=US/O=Stamps Inc/CN=Revoked TSA', { profile: 'timeStamping', crlUrl: crls.url('/stamps.crl') });
      tsaRoot.revoke(revokedTsa);
      // Valid past `later()`, the time these checks run at (a CRL past its nextUpdate is stale).
      crls.serve('/stamps.crl', tsaRoot.crl(72));
      const jws = stamped(signed(shortLeaf), revokedTsa, [revokedTsa, tsaRoot.certificate]);
      const judge = async (trust: NotationTrustPolicy): Promise<SignatureCheck> => {
        const [check] = await verifyNotationSignatures({
          target: TARGET,
          envelopes: [{ mediaType: 'application/jose+json', bytes: envelopeBytes(jws), source: 'signature sha256:test' }],
          policy: trust,
          now: later(),
          revocation: { fetcher, cache: new RevocationCache() },
        });
        return check!;
      };
      const revokedAt = tsaRoot.revokedAt(revokedTsa).toISOString();
      const detail = `Notation signature sha256:test: the timestamping authority's certificate CN=Revoked TSA (serial ${certificateOf(revokedTsa.der).serialNumber}) was revoked at ${revokedAt} (keyCompromise), according to CRL ${crls.url('/stamps.crl')}`;
      expect(await judge(policy())).toMatchObject({ status: 'invalid', reason: 'REVOKED', detail });
      expect(await judge({ ...policy(), revocation: 'log' })).toMatchObject({ status: 'valid', warnings: [`${detail} (not enforced: revocation log)`] });
    } finally {
      await fetcher.close();
      await crls.stop();
    }
  });

  test('permissive does not look at time, so neither expiry nor a missing timestamp matters', async () => {
    expect(await verify(signed(shortLeaf), { ...policy(), level: 'permissive' }, later())).toMatchObject(valid);
  });

  describe('attached to an image in the real registry, judged by the pipeline check', () => {
    let registry: RunningRegistry;
    let client: RegistryClient;

    beforeAll(async () => {
      registry = await startRegistry();
      client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    }, 60_000);

    afterAll(async () => {
      await client?.close();
      await registry?.stop();
    });

    test('an expired leaf with a timestamp is admitted under afterCertExpiry, the same leaf without one is not', async () => {
      const image = await pushTestImage(registry, dir, 'apps/stamped:1', 'notation-timestamp');
      const target = { mediaType: image.mediaType, digest: image.digest, size: image.size };
      const withStamp = signNotationJws({ key: shortLeaf.keyPem, chain: [shortLeaf, root.certificate], target });
      await attachNotationEnvelope(client, image, envelopeBytes(stamped(withStamp)));
      const bare = await attachNotationEnvelope(client, image, envelopeBytes(signNotationJws({ key: shortLeaf.keyPem, chain: [shortLeaf, root.certificate], target })));

      const report = await checkNotation({ registry: client, repo: image.repo, digest: image.digest, now: later() } as never, policy({ verifyTimestamp: 'afterCertExpiry' }));
      if (!report.ok) throw new Error(report.error.message);
      const statuses = report.value.checks.map((check) => (check.status === 'valid' ? 'valid' : `${check.reason}: ${check.detail}`));
      expect(statuses.sort()).toEqual(
        [
          'valid',
          `TIMESTAMP_INVALID: Notation signature ${bare}: certificate CN=short-lived signer expired at ${certificateOf(shortLeaf.der).notAfter.toISOString()}, before now (${later().toISOString()}), and the signature carries no RFC 3161 timestamp to show it was made while the chain was valid`,
        ].sort(),
      );
    }, 60_000);

    test('the example of docs/verifiers/notation.md compiles and judges the same way', async () => {
      mkdirSync(join(dir, 'docs', 'notation'), { recursive: true });
      writeFileSync(join(dir, 'docs', 'notation', 'acme-root.pem'), root.certificate.certPem);
      writeFileSync(join(dir, 'docs', 'notation', 'tsa-root.pem'), tsaRoot.certificate.certPem);
      const loaded = loadPolicyText(docsExample('notation-timestamp'), { baseDir: join(dir, 'docs'), sourceName: 'docs/verifiers/notation.md (notation-timestamp)', readKeyFile: readKeyFileFromDisk });
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
      const verifier = loaded.value.rules[0]!.verifiers[0] as CompiledNotationVerifier;
      expect(verifier).toMatchObject({ type: 'notation', tsaTrustStore: { name: 'acme-tsa' }, verifyTimestamp: 'afterCertExpiry' });

      const image = await pushTestImage(registry, dir, 'apps/docs:1', 'notation-timestamp-docs');
      const target = { mediaType: image.mediaType, digest: image.digest, size: image.size };
      await attachNotationEnvelope(client, image, envelopeBytes(stamped(signNotationJws({ key: shortLeaf.keyPem, chain: [shortLeaf, root.certificate], target }))));
      const report = await checkNotation({ registry: client, repo: image.repo, digest: image.digest, now: later() } as never, verifier);
      expect(report).toMatchObject({ ok: true, value: { checks: [{ status: 'valid', signer: 'acme-ca (CN=short-lived signer)' }] } });
    }, 60_000);
  });
});
