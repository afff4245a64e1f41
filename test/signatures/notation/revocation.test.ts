// Revocation of Notation signing chains, with real parts on loopback: certificates issued and revoked
// by `openssl ca`, a real OCSP responder (`openssl ocsp -port`, a delegated responder certificate),
// CRLs made by `openssl ca -gencrl` and served over HTTP, fetched by the product's HTTP fetcher
// (discovery/notation-revocation.ts); last, a revoked signature on an image in the real registry,
// judged by the pipeline's Notation check.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyNotationSignatures, type NotationTarget } from '../../../src/signatures/notation/verify.js';
import type { NotationTrustPolicy } from '../../../src/signatures/notation/trust.js';
import { RevocationCache, type RevocationMode } from '../../../src/signatures/notation/revocation.js';
import type { VerificationLevel } from '../../../src/signatures/notation/trust.js';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import { HttpRevocationFetcher } from '../../../src/discovery/notation-revocation.js';
import { checkNotation, closeNotationRevocation, REVOCATION_BUDGET_MS } from '../../../src/pipeline/systems/notation.js';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { RegistryClient } from '../../../src/registry/client.js';
import { haveTools, startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { pushTestImage } from '../../support/signers.js';
import { freePort } from '../../support/free-port.js';
import { OpensslPki, envelopeBytes, signNotationJws, type IssuedCertificate, type OpensslCa } from '../../support/openssl-pki.js';
import { startCrlServer, startOcspResponder, type RunningCrlServer, type RunningOcspResponder } from '../../support/revocation-servers.js';
import { attachNotationEnvelope } from './referrer.js';
import { certificateOf, makePki, trustPolicy } from './pki.js';
import { loadPolicyText } from '../../../src/policy/index.js';
import { readKeyFileFromDisk } from '../../../src/trust/policy-file.js';
import type { CompiledNotationVerifier } from '../../../src/signatures/notation/policy.js';

/** The YAML block after `<!-- tested-example: NAME -->` in docs/verifiers/notation.md. */
function docsExample(name: string): string {
  const markdown = readFileSync(new URL('../../../docs/verifiers/notation.md', import.meta.url), 'utf8');
  const match = new RegExp(`<!-- tested-example: ${name} -->\\n\`\`\`yaml\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(markdown);
  if (match?.[1] === undefined) throw new Error(`docs/verifiers/notation.md has no tested example "${name}"`);
  return `${match[1]}\n`;
}

const TARGET: NotationTarget = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'cd'.repeat(32)}` as Digest, size: 999 };

const available = haveTools('openssl', 'docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

maybe('revocation by OCSP and CRL (openssl CA, responder and CRLs on loopback)', () => {
  let dir: string;
  let root: OpensslCa;
  let ocsp: RunningOcspResponder;
  let timeless: RunningOcspResponder;
  let crls: RunningCrlServer;
  let downUrl: string;
  /** Accepts connections and never answers: a blackholed responder. */
  let silent: Server;
  const held: Socket[] = [];
  const leaves: Record<string, IssuedCertificate> = {};
  const fetcher = new HttpRevocationFetcher({ timeoutMs: 3000 });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-notation-revocation-'));
    const pki = new OpensslPki(dir);
    root = pki.rootCa('acme-root', '/C=US/ST=WA/O=Acme Rockets/CN=Acme Root');
    const responderPort = await freePort();
    const ocspUrl = `http://127.0.0.1:${responderPort}`;
    downUrl = `http://127.0.0.1:${await freePort()}`;
    crls = await startCrlServer();
    const crlUrl = crls.url('/acme.crl');
    const leaf = (name: string, options: { ocspUrl?: string; crlUrl?: string }): void => {
      leaves[name] = root.issue(name, `/C=US/ST=WA/O=Acme Rockets/CN=${name}`, { profile: 'codeSigning', ...options });
    };
    leaf('ocsp-good', { ocspUrl });
    leaf('ocsp-revoked', { ocspUrl });
    leaf('crl-good', { crlUrl });
    leaf('crl-revoked', { crlUrl });
    leaf('down', { ocspUrl: downUrl });
    leaf('down-then-crl', { ocspUrl: downUrl, crlUrl });
    leaf('no-urls', {});
    const timelessPort = await freePort();
    leaf('timeless', { ocspUrl: `http://127.0.0.1:${timelessPort}` });
    leaf('timeless-then-crl', { ocspUrl: `http://127.0.0.1:${timelessPort}`, crlUrl });
    silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    leaf('silent', { ocspUrl: `${silentUrl}/ocsp`, crlUrl: `${silentUrl}/a.crl` });
    const responder = root.issue('ocsp-responder', '/C=US/O=Acme Rockets/CN=Acme OCSP Responder', { profile: 'ocspSigning' });
    root.revoke(leaves['ocsp-revoked']!);
    root.revoke(leaves['crl-revoked']!, 'superseded');
    crls.serve('/acme.crl', root.crl());
    ocsp = await startOcspResponder({ ca: root, signer: responder, port: responderPort });
    timeless = await startOcspResponder({ ca: root, signer: responder, port: timelessPort, validMinutes: null });
  }, 60_000);

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await fetcher.close();
    await closeNotationRevocation();
    await ocsp?.stop();
    await timeless?.stop();
    await crls?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const policy = (options: { level?: VerificationLevel; revocation?: RevocationMode } = {}): NotationTrustPolicy => ({
    ...trustPolicy([root.certificate.der], { name: 'acme-ca', ...(options.level !== undefined ? { level: options.level } : {}) }),
    ...(options.revocation !== undefined ? { revocation: options.revocation } : {}),
  });
  const verify = async (name: string, trust: NotationTrustPolicy, cache = new RevocationCache()): Promise<SignatureCheck> => {
    const leaf = leaves[name]!;
    const bytes = envelopeBytes(signNotationJws({ key: leaf.keyPem, chain: [leaf, root.certificate], target: TARGET }));
    const [check] = await verifyNotationSignatures({ target: TARGET, envelopes: [{ mediaType: 'application/jose+json', bytes, source: 'signature sha256:test' }], policy: trust, now: new Date(), revocation: { fetcher, cache } });
    return check!;
  };
  const serial = (name: string): string => certificateOf(leaves[name]!.der).serialNumber;
  const signer = (name: string): string => `acme-ca (CN=${name})`;

  test('not revoked per OCSP (delegated responder) and per CRL: valid', async () => {
    expect(await verify('ocsp-good', policy())).toMatchObject({ status: 'valid', signer: signer('ocsp-good') });
    expect(await verify('crl-good', policy())).toMatchObject({ status: 'valid', signer: signer('crl-good') });
  });

  test('a certificate naming no responder and no CRL cannot be revoked: valid without any request', async () => {
    expect(await verify('no-urls', policy())).toMatchObject({ status: 'valid' });
  });

  test('revoked per OCSP: REVOKED under strict, naming the certificate, the time, the reason and the responder', async () => {
    const check = await verify('ocsp-revoked', policy());
    expect(check).toMatchObject({ status: 'invalid', reason: 'REVOKED', signer: signer('ocsp-revoked') });
    expect((check as { detail: string }).detail).toMatch(
      new RegExp(`^Notation signature sha256:test: certificate CN=ocsp-revoked \\(serial ${serial('ocsp-revoked')}\\) was revoked at \\S+Z \\(keyCompromise\\), according to OCSP responder ${ocsp.url.replace(/\./g, '\\.')}$`),
    );
  });

  test('revoked per CRL: REVOKED under strict', async () => {
    const check = await verify('crl-revoked', policy());
    expect(check).toMatchObject({ status: 'invalid', reason: 'REVOKED' });
    expect((check as { detail: string }).detail).toMatch(
      new RegExp(`^Notation signature sha256:test: certificate CN=crl-revoked \\(serial ${serial('crl-revoked')}\\) was revoked at \\S+Z \\(superseded\\), according to CRL ${crls.url('/acme.crl').replace(/\./g, '\\.')}$`),
    );
  });

  test('revoked, under permissive (revocation logged): valid, with a warning saying what is not enforced', async () => {
    const check = await verify('ocsp-revoked', policy({ level: 'permissive' }));
    expect(check).toMatchObject({ status: 'valid', signer: signer('ocsp-revoked') });
    expect((check as unknown as { warnings: string[] }).warnings).toEqual([expect.stringMatching(/^Notation signature sha256:test: certificate CN=ocsp-revoked \(serial \w+\) was revoked at .*\(not enforced: revocation log\)$/)]);
  });

  test('responder down: REVOCATION_UNKNOWN under strict (fails closed); valid with a warning under permissive; not even asked with revocation: skip', async () => {
    expect(await verify('down', policy())).toMatchObject({
      status: 'invalid',
      reason: 'REVOCATION_UNKNOWN',
      detail: `Notation signature sha256:test: the revocation status is unknown: certificate CN=down: OCSP responder ${downUrl} refused the connection for an OCSP request (ECONNREFUSED)`,
    });
    expect(await verify('down', policy({ level: 'permissive' }))).toMatchObject({ status: 'valid', warnings: [expect.stringContaining('the revocation status is unknown')] });
    const skipped = await verify('down', policy({ revocation: 'skip' }));
    expect(skipped).toMatchObject({ status: 'valid' });
    expect(skipped).not.toHaveProperty('warnings');
  });

  test('the air-gapped example of docs/verifiers/notation.md: revocation skip, so an unreachable responder does not matter', async () => {
    mkdirSync(join(dir, 'docs', 'notation'), { recursive: true });
    writeFileSync(join(dir, 'docs', 'notation', 'acme-root.pem'), root.certificate.certPem);
    const loaded = loadPolicyText(docsExample('notation-airgapped'), { baseDir: join(dir, 'docs'), sourceName: 'docs/verifiers/notation.md (notation-airgapped)', readKeyFile: readKeyFileFromDisk });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    const verifier = loaded.value.rules[0]!.verifiers[0] as CompiledNotationVerifier;
    expect(verifier).toMatchObject({ level: 'strict', revocation: 'skip' });
    expect(await verify('down', verifier)).toMatchObject({ status: 'valid', signer: signer('down') });
    expect(await verify('ocsp-revoked', { ...verifier, revocation: 'enforce' })).toMatchObject({ status: 'invalid', reason: 'REVOKED' });
  });

  test('a chain the policy does not trust (level audit) is never checked: its URLs are the signer\'s choice', async () => {
    const stranger = await makePki();
    const before = crls.requests('/acme.crl');
    const check = await verify('crl-revoked', trustPolicy([stranger.root], { name: 'other', level: 'audit' }));
    expect(check).toMatchObject({ status: 'valid', signer: 'CN=crl-revoked, not trusted by other (level audit)' });
    expect(check).not.toHaveProperty('warnings');
    expect(crls.requests('/acme.crl')).toBe(before);
  });

  test('a "good" OCSP answer without nextUpdate does not count (it could be an old one replayed): unknown, or the CRL decides', async () => {
    expect(await verify('timeless', policy())).toMatchObject({
      status: 'invalid',
      reason: 'REVOCATION_UNKNOWN',
      detail: expect.stringContaining('answered "good" without a nextUpdate, so how long it holds is unknown'),
    });
    expect(await verify('timeless-then-crl', policy())).toMatchObject({ status: 'valid' });
  });

  test('OCSP responder down, CRL reachable: the CRL answers (as notation-core-go falls back)', async () => {
    expect(await verify('down-then-crl', policy())).toMatchObject({ status: 'valid' });
  });

  test('answers are kept until nextUpdate: a second verification asks nobody', async () => {
    const cache = new RevocationCache();
    const before = crls.requests('/acme.crl');
    await verify('crl-good', policy(), cache);
    await verify('crl-revoked', policy(), cache);
    expect(crls.requests('/acme.crl')).toBe(before + 1);

    const ocspCache = new RevocationCache();
    expect(await verify('ocsp-good', policy(), ocspCache)).toMatchObject({ status: 'valid' });
    await ocsp.stop();
    // The responder is gone, yet its earlier answer still counts; without it the status is unknown.
    expect(await verify('ocsp-good', policy(), ocspCache)).toMatchObject({ status: 'valid' });
    expect(await verify('ocsp-good', policy(), new RevocationCache())).toMatchObject({ status: 'invalid', reason: 'REVOCATION_UNKNOWN' });
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

    test('responders that accept and never answer: REVOCATION_UNKNOWN within the revocation budget, long before the review would time out (which fail-open admits)', async () => {
      const image = await pushTestImage(registry, dir, 'apps/silent:1', 'notation-silent');
      const leaf = leaves['silent']!;
      await attachNotationEnvelope(client, image, envelopeBytes(signNotationJws({ key: leaf.keyPem, chain: [leaf, root.certificate], target: { mediaType: image.mediaType, digest: image.digest, size: image.size } })));
      const started = Date.now();
      const report = await checkNotation({ registry: client, repo: image.repo, digest: image.digest, now: new Date() } as never, { ...policy(), revocation: 'enforce' });
      const took = Date.now() - started;
      expect(report).toMatchObject({ ok: true, value: { checks: [{ status: 'invalid', reason: 'REVOCATION_UNKNOWN', detail: expect.stringContaining('the revocation status is unknown: certificate CN=silent') }] } });
      // The 3 s budget plus the registry's own requests; the review's budget is 8 s by default.
      expect(took).toBeGreaterThanOrEqual(REVOCATION_BUDGET_MS - 100);
      expect(took).toBeLessThan(REVOCATION_BUDGET_MS + 800); // without the shared budget: 2 s for OCSP, then 2 s for the CRL
    }, 60_000);

    test('a signature whose certificate is on the CRL is refused as REVOKED', async () => {
      const image = await pushTestImage(registry, dir, 'apps/revoked:1', 'notation-revoked');
      const leaf = leaves['crl-revoked']!;
      const signature = await attachNotationEnvelope(
        client,
        image,
        envelopeBytes(signNotationJws({ key: leaf.keyPem, chain: [leaf, root.certificate], target: { mediaType: image.mediaType, digest: image.digest, size: image.size } })),
      );
      const report = await checkNotation({ registry: client, repo: image.repo, digest: image.digest, now: new Date() } as never, { ...policy(), revocation: 'enforce' });
      expect(report).toMatchObject({ ok: true, value: { checks: [{ status: 'invalid', reason: 'REVOKED', detail: expect.stringContaining(`Notation signature ${signature}: certificate CN=crl-revoked`) }] } });
    }, 60_000);
  });
});
