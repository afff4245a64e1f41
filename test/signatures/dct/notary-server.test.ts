// End to end through checkDct against the real Notary v1 service (notary-server + notary-signer,
// TLS from a test CA) and a real docker-registry: images pushed with skopeo, trust data written by
// the real `notary` CLI exactly as `docker trust` drives it, tags resolved through the registry
// client as the pipeline does. One notary pair and one registry serve every test of this file.
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDctVerifier } from '../../../src/signatures/dct/policy.js';
import type { CompiledDctVerifier, DctVerifierDocument } from '../../../src/signatures/dct/policy.js';
import { parseReference, repositoryOf } from '../../../src/reference/parse.js';
import type { Digest } from '../../../src/reference/types.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { checkDct, closeDctConnections } from '../../../src/pipeline/systems/dct.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import type { TrustedKey } from '../../../src/keys/types.js';
import { err, ok } from '../../../src/util/result.js';
import { freePort } from '../../support/free-port.js';
import { NOTARY_TOOLS, NotaryCli, startNotary } from '../../support/notary-server.js';
import type { DelegationSigner, RunningNotary } from '../../support/notary-server.js';
import { buildOciLayout, pushImage } from '../../support/oci-image.js';
import type { OciLayout } from '../../support/oci-image.js';
import { haveTools, startRegistry } from '../../support/registry-server.js';
import type { RunningRegistry } from '../../support/registry-server.js';

const available = haveTools(...NOTARY_TOOLS, 'docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

function trustedKey(name: string, pem: string): TrustedKey {
  const parsed = parsePublicKey(name, pem);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

maybe('Docker Content Trust against a real notary server', () => {
  let notary: RunningNotary;
  let registry: RunningRegistry;
  let cli: NotaryCli;
  let client: RegistryClient;
  let dir: string;
  let layouts: Record<'one' | 'two', OciLayout>;
  let signers: Record<'present' | 'absent', DelegationSigner>;
  const verifiers: CompiledDctVerifier[] = [];
  const gun = (repository: string): string => `${registry.host}/${repository}`;

  function compile(overrides: Partial<DctVerifierDocument> = {}, keys: TrustedKey[] = [trustedKey('release-root', cli.rootPublicKeyPem)]): CompiledDctVerifier {
    const compiled = compileDctVerifier(
      { type: 'dct', server: notary.url, caBundle: { pem: notary.caCertPem }, rootKeys: keys.map((k) => k.name), ...overrides },
      { readFile: () => err('no files in this test'), keys: new Map(keys.map((k) => [k.name, k])) },
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    verifiers.push(compiled.value);
    return compiled.value;
  }

  /** What the pipeline does before calling a system: parse, resolve the tag through the registry, then check. */
  async function check(image: string, verifier: CompiledDctVerifier, now = new Date()) {
    const parsed = parseReference(image);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const ref = parsed.value;
    const repo = repositoryOf(ref);
    let digest = ref.digest;
    if (digest === undefined) {
      const resolved = await client.resolve(repo, ref.tag ?? 'latest');
      if (!resolved.ok) throw new Error(resolved.error.message);
      digest = resolved.value.digest;
    }
    return checkDct({ ref, repo, digest, registry: client, now }, verifier);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-dct-e2e-'));
    [notary, registry] = await Promise.all([startNotary(), startRegistry()]);
    client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    cli = await NotaryCli.create(notary);
    layouts = {
      one: await buildOciLayout(join(dir, 'one'), { seed: 'dct-one' }),
      two: await buildOciLayout(join(dir, 'two'), { seed: 'dct-two' }),
    };
    for (const target of ['demo/app:v1', 'demo/app:moved', 'demo/app:unsigned', 'demo/app:toplevel', 'demo/plain:v1', 'demo/declared:v1', 'demo/nodct:v1', 'demo/pinned:v1']) {
      await pushImage(layouts.one, registry, target);
    }

    // demo/app: signed through targets/releases, as `docker trust sign` does once a signer exists.
    const app = gun('demo/app');
    await cli.initRepository(app);
    await cli.addDelegation(app, 'targets/releases', await cli.makeSigner('ci'));
    await cli.sign(app, 'v1', layouts.one.manifestBytes, ['targets/releases']);
    await cli.sign(app, 'moved', layouts.one.manifestBytes, ['targets/releases']);
    await cli.sign(app, 'toplevel', layouts.one.manifestBytes);
    // The tag is pushed again after signing: the registry now serves other bytes under it.
    await pushImage(layouts.two, registry, 'demo/app:moved');

    // demo/plain: no delegations, signed with the repository's targets key.
    await cli.initRepository(gun('demo/plain'));
    await cli.sign(gun('demo/plain'), 'v1', layouts.one.manifestBytes);

    // demo/declared: a signer was added but never signed; the tag is in targets.
    await cli.initRepository(gun('demo/declared'));
    await cli.addDelegation(gun('demo/declared'), 'targets/releases', await cli.makeSigner('idle'));
    await cli.sign(gun('demo/declared'), 'v1', layouts.one.manifestBytes);

    // demo/pinned: targets/releases lists two signers; only "present" has its key on this machine,
    // so only it signs (`notary delegation add` without `key import` for "absent").
    const pinned = gun('demo/pinned');
    signers = { present: await cli.makeSigner('present'), absent: await cli.makeSigner('absent') };
    await cli.initRepository(pinned);
    await cli.notary('delegation', 'add', pinned, 'targets/releases', signers.absent.certPath, '--all-paths');
    await cli.addDelegation(pinned, 'targets/releases', signers.present);
    await cli.sign(pinned, 'v1', layouts.one.manifestBytes, ['targets/releases']);
  }, 120_000);

  afterAll(async () => {
    for (const verifier of verifiers) await closeDctConnections(verifier);
    await cli?.cleanup();
    await Promise.all([notary?.stop(), registry?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a tag signed through targets/releases is valid; the digest is what `notary lookup` reports', async () => {
    const image = `${gun('demo/app')}:v1`;
    const report = await check(image, compile());
    expect(report.ok).toBe(true);
    if (!report.ok) return;
    const lookup = await cli.notary('lookup', gun('demo/app'), 'v1');
    // `notary lookup` prints "v1 sha256:<hex> <size>" with the hex digest it published.
    expect(lookup).toContain(`${layouts.one.manifestDigest.slice('sha256:'.length)} ${layouts.one.manifestBytes.length}`);
    expect(report.value.checks).toEqual([
      { status: 'valid', system: 'dct', signer: 'targets/releases', digest: layouts.one.manifestDigest, annotations: {}, validUntil: expect.any(String) },
    ]);
    // The server-managed timestamp expires first, 14 days out.
    const [valid] = report.value.checks;
    const validUntil = valid?.status === 'valid' ? Date.parse(valid.validUntil ?? '') : NaN;
    expect(validUntil - Date.now()).toBeGreaterThan(13 * 86_400_000);
    expect(validUntil - Date.now()).toBeLessThan(15 * 86_400_000);
    expect(report.value.lookedAt).toBe(`tag v1 in targets/releases, then targets of ${gun('demo/app')} on ${notary.url}`);
  });

  test('requiring targets/releases explicitly gives the same answer; a digest-only reference is searched for', async () => {
    const required = compile({ delegations: ['releases'] });
    const tagged = await check(`${gun('demo/app')}:v1`, required);
    expect(tagged.ok && tagged.value.checks.map((c) => c.status === 'valid' && c.signer)).toEqual(['targets/releases']);
    const byDigest = await check(`${gun('demo/app')}@${layouts.one.manifestDigest}`, required);
    expect(byDigest.ok && byDigest.value.checks[0]).toMatchObject({ status: 'valid', signer: 'targets/releases', digest: layouts.one.manifestDigest });
    expect(byDigest.ok && byDigest.value.lookedAt).toBe(`digest ${layouts.one.manifestDigest} in targets/releases of ${gun('demo/app')} on ${notary.url}`);
  });

  test('a tag signed with the targets key of a repository without delegations is valid, signer "targets"', async () => {
    const report = await check(`${gun('demo/plain')}:v1`, compile());
    expect(report.ok && report.value.checks).toEqual([
      { status: 'valid', system: 'dct', signer: 'targets', digest: layouts.one.manifestDigest, annotations: {}, validUntil: expect.any(String) },
    ]);
  });

  test('a declared but never used targets/releases falls back to targets; requiring it does not', async () => {
    const fallback = await check(`${gun('demo/declared')}:v1`, compile());
    expect(fallback.ok && fallback.value.checks[0]).toMatchObject({ status: 'valid', signer: 'targets' });
    const required = await check(`${gun('demo/declared')}:v1`, compile({ delegations: ['targets/releases'] }));
    expect(required.ok && required.value.checks).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'UNTRUSTED_SIGNER',
        detail: `the policy requires the delegation targets/releases of ${gun('demo/declared')}, which is declared but has never signed anything (snapshot does not list it)`,
      },
    ]);
  });

  test('a required delegation the repository does not have fails', async () => {
    const report = await check(`${gun('demo/app')}:v1`, compile({ delegations: ['targets/releases', 'targets/qa'] }));
    expect(report.ok && report.value.checks).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'UNTRUSTED_SIGNER',
        detail: `the policy requires the delegation targets/qa, but the targets metadata of ${gun('demo/app')} declares only targets/releases`,
      },
    ]);
    const plain = await check(`${gun('demo/plain')}:v1`, compile({ delegations: ['targets/releases'] }));
    expect(plain.ok && plain.value.checks[0]?.status === 'invalid' && plain.value.checks[0].detail).toBe(
      `the policy requires the delegation targets/releases, but the targets metadata of ${gun('demo/plain')} declares no delegations`,
    );
  });

  test('an unsigned tag gives no checks, and says where it looked', async () => {
    const report = await check(`${gun('demo/app')}:unsigned`, compile());
    expect(report).toEqual(ok({ checks: [], lookedAt: `tag unsigned in targets/releases, then targets of ${gun('demo/app')} on ${notary.url}` }));
    const strict = await check(`${gun('demo/app')}:unsigned`, compile({ delegations: ['targets/releases'] }));
    expect(strict).toEqual(ok({ checks: [], lookedAt: `tag unsigned in targets/releases of ${gun('demo/app')} on ${notary.url}` }));
  });

  test("a tag signed only with the targets key, in a repository with targets/releases: allowed in Docker's order, denied when only releases counts", async () => {
    const image = `${gun('demo/app')}:toplevel`;
    // What `docker pull` with content trust would do: releases does not list it, targets does.
    expect(await cli.notary('lookup', gun('demo/app'), 'toplevel')).toContain(layouts.one.manifestDigest.slice('sha256:'.length));
    const docker = await check(image, compile());
    expect(docker.ok && docker.value.checks).toEqual([
      { status: 'valid', system: 'dct', signer: 'targets', digest: layouts.one.manifestDigest, annotations: {}, validUntil: expect.any(String) },
    ]);
    const strict = await check(image, compile({ delegations: ['targets/releases'] }));
    expect(strict.ok && strict.value.checks).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'UNTRUSTED_SIGNER',
        detail: `tag toplevel of ${gun('demo/app')} is signed only in the top-level targets role, which this rule excludes: its delegations option requires targets/releases (without it, Docker's order would accept targets)`,
      },
    ]);
  });

  describe('pinned delegation keys', () => {
    const pinnedImage = (): string => `${gun('demo/pinned')}:v1`;
    // A pin needs the role required (delegations): in Docker's order it would protect nothing.
    const pin = (signer: DelegationSigner): CompiledDctVerifier =>
      compile({ delegationKeys: { 'targets/releases': [{ pem: readFileSync(signer.certPath, 'utf8') }] }, delegations: ['targets/releases'] });
    /** The key IDs the CLI published for targets/releases, read back from its own copy of targets.json. */
    async function releasesKeyIds(repository: string): Promise<string[]> {
      const targets = JSON.parse(await cli.readTrustFile(`tuf/${gun(repository)}/metadata/targets.json`)) as {
        signed: { delegations: { roles: { name: string; keyids: string[] }[] } };
      };
      return targets.signed.delegations.roles.find((role) => role.name === 'targets/releases')?.keyids ?? [];
    }

    test('the key that signed targets/releases, pinned by its certificate, is accepted', async () => {
      const report = await check(pinnedImage(), pin(signers.present));
      expect(report.ok && report.value.checks).toEqual([expect.objectContaining({ status: 'valid', signer: 'targets/releases', digest: layouts.one.manifestDigest })]);
    });

    test('a key targets/releases does not list is refused, naming the role and its keys', async () => {
      const [ci] = await releasesKeyIds('demo/app');
      const report = await check(`${gun('demo/app')}:v1`, pin(signers.present));
      expect(report.ok && report.value.checks).toEqual([
        {
          status: 'invalid',
          system: 'dct',
          reason: 'UNTRUSTED_SIGNER',
          detail: `the delegation targets/releases of ${gun('demo/app')} is signed with the key(s) ${ci?.slice(0, 12)}…, none of them the pinned delegationKeys.targets/releases[0] (CN=present): its signers were changed by whoever holds the targets key, or the policy pins the wrong key`,
        },
      ]);
    });

    test('a key targets/releases lists but that did not sign is refused, naming the key that did', async () => {
      const ids = await releasesKeyIds('demo/pinned');
      expect(ids).toHaveLength(2);
      // notary signed with the one key it holds, present's: its ID is the one whose certificate names it.
      const targets = JSON.parse(await cli.readTrustFile(`tuf/${gun('demo/pinned')}/metadata/targets.json`)) as {
        signed: { delegations: { keys: Record<string, { keyval: { public: string } }> } };
      };
      const signedBy = ids.filter((id) => new X509Certificate(Buffer.from(targets.signed.delegations.keys[id]?.keyval.public ?? '', 'base64')).subject === 'CN=present');
      expect(signedBy).toHaveLength(1);
      const report = await check(pinnedImage(), pin(signers.absent));
      expect(report.ok && report.value.checks).toEqual([
        {
          status: 'invalid',
          system: 'dct',
          reason: 'UNTRUSTED_SIGNER',
          detail: `metadata targets/releases of ${gun('demo/pinned')} has 0 valid signature(s) by its pinned key(s) delegationKeys.targets/releases[0] (CN=absent), 1 required; it is signed by the key(s) ${signedBy[0]?.slice(0, 12)}…, which the policy does not pin for targets/releases`,
        },
      ]);
    });
  });

  test('a repository the notary server has never heard of is unsigned', async () => {
    const report = await check(`${gun('demo/nodct')}:v1`, compile());
    expect(report).toEqual(ok({ checks: [], lookedAt: `Docker Content Trust data of ${gun('demo/nodct')} on ${notary.url} (the server has none for this repository)` }));
  });

  test('a tag pushed again after signing is a digest mismatch that names both digests', async () => {
    const report = await check(`${gun('demo/app')}:moved`, compile());
    expect(report.ok && report.value.checks).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'DIGEST_MISMATCH',
        signer: 'targets/releases',
        detail: `Docker Content Trust (targets/releases of ${gun('demo/app')}) says tag moved is ${layouts.one.manifestDigest} but the registry serves ${layouts.two.manifestDigest} for it (was the tag pushed again after signing?)`,
      },
    ]);
  });

  test('a pod pinning tag@digest to other bytes than the signed ones is a mismatch', async () => {
    const report = await check(`${gun('demo/app')}:v1@${layouts.two.manifestDigest}`, compile());
    expect(report.ok && report.value.checks[0]).toMatchObject({
      reason: 'DIGEST_MISMATCH',
      detail: `Docker Content Trust (targets/releases of ${gun('demo/app')}) says tag v1 is ${layouts.one.manifestDigest} but the pod pins ${layouts.two.manifestDigest}`,
    });
  });

  test('metadata past its expiry is refused: the server-managed timestamp lasts 14 days', async () => {
    const later = new Date(Date.now() + 30 * 86_400_000);
    const report = await check(`${gun('demo/app')}:v1`, compile(), later);
    expect(report.ok).toBe(true);
    const [first] = report.ok ? report.value.checks : [];
    expect(first).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
    expect(first?.status === 'invalid' && first.detail).toMatch(
      new RegExp(`^metadata timestamp of ${gun('demo/app').replace(/\./g, '\\.')} expired at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(now ${later.toISOString().replace(/\./g, '\\.')}\\)`),
    );
  });

  test('a pinned root key that did not sign the root makes the signer untrusted', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const report = await check(`${gun('demo/app')}:v1`, compile({}, [trustedKey('stranger-root', stranger)]));
    expect(report.ok && report.value.checks).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'UNTRUSTED_SIGNER',
        detail: `root metadata of ${gun('demo/app')} is not signed by the pinned root key stranger-root; it was signed by another root key (wrong key pinned, or the trust data is not the owner's)`,
      },
    ]);
  });

  test('pinning the root certificate the CLI published works as well as pinning the key', async () => {
    // The certificate the CLI generated for this GUN, read from its own copy of what it published.
    const root = JSON.parse(await cli.readTrustFile(`tuf/${gun('demo/app')}/metadata/root.json`)) as {
      signed: { keys: Record<string, { keytype: string; keyval: { public: string } }>; roles: { root: { keyids: string[] } } };
    };
    const rootKeyId = root.signed.roles.root.keyids[0] as string;
    const certificate = Buffer.from(root.signed.keys[rootKeyId]?.keyval.public ?? '', 'base64').toString('utf8');
    expect(certificate).toContain('-----BEGIN CERTIFICATE-----');
    const compiled = compileDctVerifier(
      { type: 'dct', server: notary.url, caBundle: { pem: notary.caCertPem }, rootKeys: [{ pem: certificate }] },
      { readFile: () => err('unused'), keys: new Map() },
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    verifiers.push(compiled.value);
    expect(compiled.value.rootKeys[0]?.name).toBe(`rootKeys[0] (CN=${gun('demo/app')})`);
    const report = await check(`${gun('demo/app')}:v1`, compiled.value);
    expect(report.ok && report.value.checks[0]).toMatchObject({ status: 'valid', signer: 'targets/releases' });
  });

  test('without the CA bundle the TLS certificate is refused: an error, not "unsigned"', async () => {
    const report = await check(`${gun('demo/app')}:v1`, compile({ caBundle: undefined }));
    expect(report.ok).toBe(false);
    if (report.ok) return;
    expect(report.error.code).toBe('UNREACHABLE');
    expect(report.error.message).toMatch(
      new RegExp(`^notary server ${notary.host.replace(/\./g, '\\.')} failed TLS verification for trust metadata \\w+\\.json of ${gun('demo/app').replace(/\./g, '\\.')} \\(\\w+\\); configure caBundle for a private CA$`),
    );
  });

  test('a notary server that is down is an error (UNREACHABLE), never "unsigned"', async () => {
    const port = await freePort();
    const down = compileDctVerifier(
      { type: 'dct', server: `https://127.0.0.1:${port}`, rootKeys: ['release-root'] },
      { readFile: () => err('unused'), keys: new Map([['release-root', trustedKey('release-root', cli.rootPublicKeyPem)]]) },
    );
    if (!down.ok) throw new Error(JSON.stringify(down.error));
    verifiers.push(down.value);
    const report = await check(`${gun('demo/app')}:v1`, down.value);
    expect(report.ok).toBe(false);
    if (report.ok) return;
    expect(report.error).toMatchObject({ code: 'UNREACHABLE', registry: `127.0.0.1:${port}` });
    expect(report.error.message).toMatch(new RegExp(`^notary server 127\\.0\\.0\\.1:${port} refused the connection for trust metadata \\w+\\.json of .+ \\(ECONNREFUSED\\)$`));
  });

  test('a digest the trust data does not know is not signed, even when the registry has it', async () => {
    const unknown = `sha256:${'0'.repeat(64)}` as Digest;
    const report = await check(`${gun('demo/app')}@${unknown}`, compile());
    expect(report.ok && report.value.checks).toEqual([]);
  });
});
