// checkSigstore end to end against the real docker-registry: images pushed by skopeo, Sigstore
// bundles attached as OCI 1.1 referrers the way cosign v3 does it (manifest with artifactType and
// subject, plus the `sha256-<hex>` referrers index tag, since this registry has no referrers API),
// and a keyless cosign `.sig` signature; then what checkSigstore reports for each.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { RegistryClient as RegistryClientType } from '../../../src/registry/client.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { parseReference, repositoryOf } from '../../../src/reference/parse.js';
import type { Digest, RepositoryRef } from '../../../src/reference/types.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import { buildPayload } from '../../../src/signatures/cosign/payload.js';
import type { CheckTarget } from '../../../src/pipeline/systems/check.js';
import { MAX_BUNDLE_REFERRERS, checkSigstore } from '../../../src/pipeline/systems/sigstore.js';
import { compileIdentityRule } from '../../../src/signatures/sigstore/identity.js';
import { trustRootFromPem } from '../../../src/signatures/sigstore/trust-root.js';
import type { CompiledSigstoreVerifier } from '../../../src/signatures/sigstore/policy.js';
import { startRegistry, haveTools, type RunningRegistry } from '../../support/registry-server.js';
import { buildOciLayout, pushImage, sha256 } from '../../support/oci-image.js';
import { freePort } from '../../support/free-port.js';
import { cosignStatement, dsseBundle, keylessLayerAnnotations, makeCa, makeLeaf, makeRekor } from '../../signatures/sigstore/fake-sigstore.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';
const ACTIONS = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1';

const available = haveTools('docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

function must<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) throw new Error(`test setup failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

/** Pushes `bytes` as a cosign v3 bundle referrer of `subject` and records it in the `sha256-<hex>` index tag. */
async function attachBundle(client: RegistryClientType, repo: RepositoryRef, subject: { digest: Digest; size: number }, bytes: Buffer, note = ''): Promise<Digest> {
  const layer = must(await client.pushBlob(repo, bytes));
  const config = must(await client.pushBlob(repo, Buffer.from('{}')));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_TYPE,
      config: { mediaType: EMPTY_CONFIG, digest: config.digest, size: config.size },
      layers: [{ mediaType: BUNDLE_TYPE, digest: layer.digest, size: layer.size }],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
      annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1', note },
    }),
  );
  const digest = must(await client.pushManifest(repo, sha256(manifest), manifest, OCI_MANIFEST));
  await addToReferrersIndex(client, repo, subject.digest, { mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType: BUNDLE_TYPE });
  return digest;
}

async function addToReferrersIndex(client: RegistryClientType, repo: RepositoryRef, subject: Digest, descriptor: Record<string, unknown>): Promise<void> {
  const tag = subject.replace(':', '-');
  const existing = await client.getManifest(repo, tag);
  const manifests = existing.ok ? (existing.value.json['manifests'] as unknown[]) : [];
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...manifests, descriptor] }));
  must(await client.pushManifest(repo, tag, index, OCI_INDEX));
}

/** A classic cosign signature manifest (`sha256-<hex>.sig`) with one simple-signing layer. */
async function attachSigLayer(client: RegistryClientType, repo: RepositoryRef, subject: Digest, payload: Buffer, annotations: Record<string, string>): Promise<void> {
  const layer = must(await client.pushBlob(repo, payload));
  const configBytes = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
  const config = must(await client.pushBlob(repo, configBytes));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: layer.digest, size: layer.size, annotations }],
    }),
  );
  must(await client.pushManifest(repo, `${subject.replace(':', '-')}.sig`, manifest, OCI_MANIFEST));
}

maybe('checkSigstore against a real registry', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  let dir: string;
  const digests: Record<string, Digest> = {};
  const sizes: Record<string, number> = {};
  const release = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const releaseKey = must(parsePublicKey('release', release.publicKey.export({ type: 'spki', format: 'pem' }).toString()));
  const cosignEntry = { type: 'cosign' as const, keys: [releaseKey] };
  let keyless: CompiledSigstoreVerifier;
  let dangling: Digest;

  const image = (name: string): string => `${registry.host}/sig/${name}:v1`;
  const target = (name: string, overrides: Partial<CheckTarget> = {}): CheckTarget => {
    const ref = must(parseReference(image(name)));
    return { ref, repo: repositoryOf(ref), digest: digests[name] as Digest, registry: client, now: new Date(), ...overrides };
  };
  const repoOf = (name: string): RepositoryRef => repositoryOf(must(parseReference(image(name))));
  const subject = (name: string) => ({ digest: digests[name] as Digest, size: sizes[name] as number });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-sigstore-'));
    registry = await startRegistry();
    client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    for (const name of ['keybundle', 'unsigned', 'otherdigest', 'keyless', 'hostile', 'many']) {
      const layout = await buildOciLayout(join(dir, name), { seed: `sigstore-${name}` });
      digests[name] = await pushImage(layout, registry, `sig/${name}:v1`);
      sizes[name] = layout.manifestBytes.length;
    }

    // cosign v3 `sign --key`: a DSSE bundle signed by the release key, for this image and for another one.
    const signedBy = (key: typeof release.privateKey, digest: Digest) =>
      dsseBundle({ statement: cosignStatement(digest, { name: `${registry.host}/sig/x` }), signingKey: key, publicKeyHint: 'release' });
    await attachBundle(client, repoOf('keybundle'), subject('keybundle'), signedBy(release.privateKey, digests['keybundle'] as Digest));
    await attachBundle(client, repoOf('otherdigest'), subject('otherdigest'), signedBy(release.privateKey, digests['keybundle'] as Digest));

    // Keyless: a private Fulcio and Rekor; one classic `.sig` signature and one bundle.
    const root = await makeCa('O=signet, CN=fulcio root');
    const intermediate = await makeCa('O=signet, CN=fulcio intermediate', root);
    const leaf = await makeLeaf(intermediate, { uri: WORKFLOW, oidcIssuer: ACTIONS });
    const rekor = makeRekor();
    keyless = {
      type: 'keyless',
      threshold: 1,
      identityNames: ['GitHub release workflow'],
      trust: {
        kind: 'keyless',
        trustRoot: must(trustRootFromPem({ certificates: intermediate.pem + root.pem, rekorKeys: rekor.publicKeyPem })),
        identities: [must(compileIdentityRule({ issuer: ACTIONS, subject: WORKFLOW }))],
        requireRekor: true,
      },
    };
    const payload = buildPayload({ dockerReference: `${registry.host}/sig/keyless`, digest: digests['keyless'] as Digest });
    await attachSigLayer(client, repoOf('keyless'), digests['keyless'] as Digest, payload, keylessLayerAnnotations({ payload, leaf, chain: [intermediate], rekor }));
    await attachBundle(client, repoOf('keyless'), subject('keyless'), dsseBundle({ statement: cosignStatement(digests['keyless'] as Digest), signingKey: leaf.privateKey, certificate: leaf, rekor }));

    // Hostile referrers: a bundle far over the size cap, and an index entry whose manifest was deleted
    // afterwards (the registry does not update the fallback index; nothing but the pusher does).
    await attachBundle(client, repoOf('hostile'), subject('hostile'), Buffer.alloc(300 * 1024, 0x20));
    dangling = await attachBundle(client, repoOf('hostile'), subject('hostile'), signedBy(release.privateKey, digests['hostile'] as Digest));
    const deleted = await request(`${registry.url}/v2/sig/hostile/manifests/${dangling}`, { method: 'DELETE' });
    await deleted.body.dump();
    expect(deleted.statusCode).toBe(202);

    // More referrers than are ever examined (each manifest differs by an annotation).
    for (let index = 0; index <= MAX_BUNDLE_REFERRERS; index++) {
      await attachBundle(client, repoOf('many'), subject('many'), signedBy(stranger.privateKey, digests['many'] as Digest), `copy ${index}`);
    }
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a key-based bundle referrer (found through the sha256-<hex> tag fallback) is valid for the cosign key entry', async () => {
    const report = must(await checkSigstore(target('keybundle'), cosignEntry));
    expect(report).toEqual({
      checks: [{ status: 'valid', system: 'cosign', signer: 'release', digest: digests['keybundle'], annotations: {} }],
      lookedAt: `Sigstore bundle referrers of ${digests['keybundle']} in ${registry.host}/sig/keybundle`,
    });
  });

  test('the same bundle under keyless trust: UNTRUSTED_SIGNER, since it is signed with a key', async () => {
    const report = must(await checkSigstore(target('keybundle'), keyless));
    expect(report.checks).toEqual([
      expect.objectContaining({ status: 'invalid', reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('is signed with a key (hint "release"), not a certificate') }),
    ]);
    expect(report.lookedAt).toBe(`tag ${(digests['keybundle'] as string).replace(':', '-')}.sig and Sigstore bundle referrers of ${digests['keybundle']} in ${registry.host}/sig/keybundle`);
  });

  test('an unsigned image: no checks at all, for either kind of trust', async () => {
    expect(must(await checkSigstore(target('unsigned'), cosignEntry)).checks).toEqual([]);
    expect(must(await checkSigstore(target('unsigned'), keyless)).checks).toEqual([]);
  });

  test('a bundle for another digest attached to this image: DIGEST_MISMATCH', async () => {
    expect(must(await checkSigstore(target('otherdigest'), cosignEntry)).checks).toEqual([
      {
        status: 'invalid',
        system: 'cosign',
        reason: 'DIGEST_MISMATCH',
        signer: 'release',
        detail: `signature is for ${digests['keybundle']} but the image is ${digests['otherdigest']}`,
      },
    ]);
  });

  test('keyless: the `.sig` signature and the bundle are both valid for the workflow identity', async () => {
    const report = must(await checkSigstore(target('keyless'), keyless));
    const valid = { status: 'valid', system: 'cosign', signer: `${ACTIONS} ${WORKFLOW}`, digest: digests['keyless'], annotations: {} };
    expect(report.checks).toEqual([valid, valid]);
  });

  test('keyless signatures do not count for a key entry (its own `.sig` layers are the cosign verifier\'s)', async () => {
    expect(must(await checkSigstore(target('keyless'), cosignEntry)).checks).toEqual([
      expect.objectContaining({ status: 'invalid', reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('is signed with a certificate (keyless)') }),
    ]);
  });

  test('an oversized bundle and a dangling referrer are reported as unusable, not fetched or trusted', async () => {
    const checks = must(await checkSigstore(target('hostile'), cosignEntry)).checks;
    expect(checks).toHaveLength(2);
    expect(checks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ status: 'invalid', reason: 'MALFORMED', detail: expect.stringMatching(/bundle blob sha256:[0-9a-f]{64}: .*over the 262144-byte limit/) }),
        expect.objectContaining({ status: 'invalid', reason: 'MALFORMED', detail: expect.stringMatching(new RegExp(`^Sigstore bundle referrer ${dangling}: .*not found`, 'i')) }),
      ]),
    );
  });

  test(`at most ${MAX_BUNDLE_REFERRERS} referrers are examined, and the rest is said`, async () => {
    const checks = must(await checkSigstore(target('many'), cosignEntry)).checks;
    expect(checks).toHaveLength(MAX_BUNDLE_REFERRERS + 1);
    expect(checks[0]).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      detail: `${MAX_BUNDLE_REFERRERS + 1} Sigstore bundles refer to ${digests['many']}; only the first ${MAX_BUNDLE_REFERRERS} were examined`,
    });
    expect(checks.slice(1).every((check) => check.status === 'invalid' && check.reason === 'UNTRUSTED_SIGNER')).toBe(true);
  });

  test('a registry that cannot be reached is an error, never "unsigned"', async () => {
    const port = await freePort();
    const ref = must(parseReference(`127.0.0.1:${port}/sig/keybundle@${digests['keybundle']}`));
    const offline = new RegistryClient({ hosts: { [`127.0.0.1:${port}`]: { insecureHttp: true } }, requestTimeoutMs: 2000 });
    try {
      const result = await checkSigstore({ ref, repo: repositoryOf(ref), digest: digests['keybundle'] as Digest, registry: offline, now: new Date() }, keyless);
      expect(result).toMatchObject({ ok: false, error: { code: 'UNREACHABLE' } });
    } finally {
      await offline.close();
    }
  });

  test("the caller's deadline stops the lookup with an error", async () => {
    const result = await checkSigstore(target('keybundle', { signal: AbortSignal.abort() }), cosignEntry);
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
  });
});
