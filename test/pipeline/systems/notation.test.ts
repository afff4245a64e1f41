// checkNotation end to end against a real docker-registry (2.8: no referrers API, so the client uses
// the `sha256-<hex>` referrers tag): images pushed with skopeo, Notation signatures made here the way
// `notation sign` stores them (signature manifest with subject and artifactType, one JWS layer, and
// the referrers index tag updated), then verified through the adapter.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../../src/registry/client.js';
import { referrersTagFor } from '../../../src/reference/digest.js';
import { parseReference, repositoryOf } from '../../../src/reference/parse.js';
import type { Digest, RepositoryRef } from '../../../src/reference/types.js';
import type { CheckTarget } from '../../../src/pipeline/systems/check.js';
import { checkNotation, MAX_NOTATION_SIGNATURES } from '../../../src/pipeline/systems/notation.js';
import type { NotationTrustPolicy } from '../../../src/signatures/notation/trust.js';
import type { NotationTarget } from '../../../src/signatures/notation/verify.js';
import { freePort } from '../../support/free-port.js';
import { buildOciLayout, corruptBlob, pushImage, OCI_INDEX, OCI_MANIFEST, type OciLayout } from '../../support/oci-image.js';
import { clientHostConfig, haveTools, startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { makePki, signEnvelope, trustPolicy, type Pki } from '../../signatures/notation/pki.js';

const NOTARY = 'application/vnd.cncf.notary.signature';
const EMPTY = Buffer.from('{}');
const available = haveTools('docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

maybe('checkNotation against a real registry', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  let dir: string;
  let pki: Pki;
  let policy: NotationTrustPolicy;
  const images: Record<string, { layout: OciLayout; digest: Digest; repo: RepositoryRef }> = {};
  const envelopeDigests: Record<string, Digest> = {};

  const sha256 = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
  const descriptorOf = (name: string): NotationTarget => {
    const image = images[name]!;
    return { mediaType: image.layout.mediaType, digest: image.digest, size: image.layout.manifestBytes.length };
  };

  async function must<T>(result: Promise<{ ok: true; value: T } | { ok: false; error: { message: string } }>): Promise<T> {
    const settled = await result;
    if (!settled.ok) throw new Error(settled.error.message);
    return settled.value;
  }

  /** Stores an envelope as `notation sign` does: blob, signature manifest (by digest), referrers index tag. */
  async function attach(
    name: string,
    envelope: Buffer,
    options: { legacy?: boolean; layerMediaType?: string; extraLayer?: boolean; subject?: NotationTarget } = {},
  ): Promise<Digest> {
    const { repo } = images[name]!;
    const subject = options.subject ?? descriptorOf(name);
    const envelopeDescriptor = await must(client.pushBlob(repo, envelope));
    await must(client.pushBlob(repo, EMPTY));
    const layer = { mediaType: options.layerMediaType ?? 'application/jose+json', digest: envelopeDescriptor.digest, size: envelope.length };
    const annotations = { 'org.opencontainers.image.created': new Date().toISOString() };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        ...(options.legacy === true ? {} : { artifactType: NOTARY }),
        config: { mediaType: options.legacy === true ? NOTARY : 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY), size: 2 },
        layers: options.extraLayer === true ? [layer, { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY), size: 2 }] : [layer],
        subject,
        annotations,
      }),
    );
    const manifestDigest = await must(client.pushManifest(repo, sha256(manifest), manifest, OCI_MANIFEST));

    // docker-registry 2.8 has no referrers API: maintain the `sha256-<hex>` index, as Notation does there.
    const tag = referrersTagFor(images[name]!.digest);
    const existing = await client.getManifest(repo, tag);
    const manifests = existing.ok ? (existing.value.json['manifests'] as unknown[]) : [];
    manifests.push({ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, ...(options.legacy === true ? {} : { artifactType: NOTARY }), annotations });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    await must(client.pushManifest(repo, tag, index, OCI_INDEX));
    envelopeDigests[name] = envelopeDescriptor.digest;
    return manifestDigest;
  }

  const targetOf = (name: string, overrides: Partial<CheckTarget> = {}): CheckTarget => {
    const image = images[name]!;
    const ref = parseReference(`${registry.host}/${image.repo.repository}@${image.digest}`);
    if (!ref.ok) throw new Error(ref.error.message);
    return { ref: ref.value, repo: image.repo, digest: image.digest, registry: client, now: new Date(), ...overrides };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-notation-'));
    registry = await startRegistry();
    client = new RegistryClient({ hosts: { [registry.host]: clientHostConfig(registry) } });
    pki = await makePki();
    policy = trustPolicy([pki.root], { name: 'acme-ca' });

    for (const name of ['app', 'other', 'unsigned', 'legacy', 'cose', 'corrupt', 'layers', 'moved', 'many', 'sbom']) {
      const layout = await buildOciLayout(join(dir, name), { seed: `notation-${name}` });
      const digest = await pushImage(layout, registry, `notation/${name}:v1`);
      const ref = parseReference(`${registry.host}/notation/${name}:v1`);
      if (!ref.ok) throw new Error(ref.error.message);
      images[name] = { layout, digest, repo: repositoryOf(ref.value) };
    }
    const signFor = (name: string, signingTime?: string): Promise<Buffer> =>
      signEnvelope({ signer: pki.leaf, chain: pki.chain, target: descriptorOf(name), ...(signingTime !== undefined ? { signingTime } : {}) });

    await attach('app', await signFor('app'));
    // A valid signature of "other", attached to "moved" (subject = moved): what copying signatures around looks like.
    await attach('moved', await signFor('other'), { subject: descriptorOf('moved') });
    await attach('legacy', await signFor('legacy'), { legacy: true });
    await attach('cose', Buffer.from([0xd2, 0x84, 0x40]), { layerMediaType: 'application/cose' });
    await attach('corrupt', await signFor('corrupt'));
    await corruptBlob(registry, envelopeDigests['corrupt']!);
    await attach('layers', await signFor('layers'), { extraLayer: true });
    for (let index = 0; index <= MAX_NOTATION_SIGNATURES; index++) {
      await attach('many', await signFor('many', `2025-01-01T00:00:${String(index).padStart(2, '0')}Z`));
    }
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a signed image: valid, from the trust store, with the descriptor learned from the registry', async () => {
    const report = await must(checkNotation(targetOf('app'), policy));
    expect(report.checks).toEqual([
      { status: 'valid', system: 'notation', signer: 'acme-ca (CN=signet test signer)', digest: images['app']!.digest, annotations: {}, validUntil: '2100-01-01T00:00:00.000Z' },
    ]);
    expect(report.lookedAt).toBe(`referrers of ${images['app']!.digest} in ${registry.host}/notation/app (artifact type ${NOTARY})`);
  });

  test('a signed image with the descriptor given by the pipeline; a wrong size there is a digest mismatch', async () => {
    const { mediaType, size } = descriptorOf('app');
    expect(await must(checkNotation(targetOf('app', { descriptor: { mediaType, size } }), policy))).toMatchObject({ checks: [{ status: 'valid' }] });
    const wrong = await must(checkNotation(targetOf('app', { descriptor: { mediaType, size: size + 1 } }), policy));
    expect(wrong.checks).toMatchObject([{ status: 'invalid', reason: 'DIGEST_MISMATCH', detail: expect.stringContaining(`but the registry serves it as ${size + 1} bytes`) }]);
  });

  test('an unsigned image: no checks, and where we looked', async () => {
    const report = await must(checkNotation(targetOf('unsigned'), policy));
    expect(report).toEqual({ checks: [], lookedAt: `referrers of ${images['unsigned']!.digest} in ${registry.host}/notation/unsigned (artifact type ${NOTARY})` });
  });

  test('a signature made for another image: digest mismatch naming both digests', async () => {
    const report = await must(checkNotation(targetOf('moved'), policy));
    expect(report.checks).toEqual([
      {
        status: 'invalid',
        system: 'notation',
        reason: 'DIGEST_MISMATCH',
        detail: expect.stringContaining(`is for ${images['other']!.digest} but the image is ${images['moved']!.digest}`),
        signer: 'acme-ca (CN=signet test signer)',
      },
    ]);
  });

  test('a signer the policy does not trust', async () => {
    const stranger = await makePki();
    const report = await must(checkNotation(targetOf('app'), trustPolicy([stranger.root], { name: 'other-ca' })));
    expect(report.checks).toMatchObject([{ status: 'invalid', reason: 'UNTRUSTED_SIGNER', detail: expect.stringContaining('not a certificate of the trust store other-ca') }]);
  });

  test('the legacy form (no artifactType; config media type = signature type) is found and verified', async () => {
    const report = await must(checkNotation(targetOf('legacy'), policy));
    expect(report.checks).toMatchObject([{ status: 'valid', signer: 'acme-ca (CN=signet test signer)' }]);
  });

  test('a COSE envelope that is cut short is fetched and reported as malformed', async () => {
    const report = await must(checkNotation(targetOf('cose'), policy));
    expect(report.checks).toMatchObject([{ status: 'invalid', reason: 'MALFORMED', detail: expect.stringContaining(': the COSE envelope is not valid CBOR') }]);
  });

  test('an envelope whose stored bytes changed: payload mismatch', async () => {
    const report = await must(checkNotation(targetOf('corrupt'), policy));
    expect(report.checks).toMatchObject([{ status: 'invalid', reason: 'PAYLOAD_MISMATCH', detail: expect.stringContaining(`envelope "${envelopeDigests['corrupt']}"`) }]);
  });

  test('a signature manifest with two layers is malformed', async () => {
    const report = await must(checkNotation(targetOf('layers'), policy));
    expect(report.checks).toMatchObject([{ status: 'invalid', reason: 'MALFORMED', detail: expect.stringContaining('must have exactly one layer (the envelope), but has 2') }]);
  });

  test(`at most ${MAX_NOTATION_SIGNATURES} signatures are examined, and the rest are reported`, async () => {
    const report = await must(checkNotation(targetOf('many'), policy));
    expect(report.checks).toHaveLength(MAX_NOTATION_SIGNATURES + 1);
    expect(report.checks[0]).toMatchObject({
      reason: 'MALFORMED',
      detail: `${MAX_NOTATION_SIGNATURES + 1} Notation signature candidates are attached to ${images['many']!.digest}; only the first ${MAX_NOTATION_SIGNATURES} were examined (remove stale signatures)`,
    });
    expect(report.checks.slice(1).every((check) => check.status === 'valid')).toBe(true);
  });

  test('other referrers are ignored; one listed as a signature whose subject is another image is not counted', async () => {
    const { repo } = images['sbom']!;
    const sbomBytes = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    const sbomBlob = await must(client.pushBlob(repo, sbomBytes));
    await must(client.pushBlob(repo, EMPTY));
    const sbom = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/spdx+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY), size: 2 },
        layers: [{ mediaType: 'application/spdx+json', digest: sbomBlob.digest, size: sbomBytes.length }],
        subject: descriptorOf('sbom'),
      }),
    );
    const sbomDigest = await must(client.pushManifest(repo, sha256(sbom), sbom, OCI_MANIFEST));
    const index = (entries: unknown[]): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
    const tag = referrersTagFor(images['sbom']!.digest);
    await must(client.pushManifest(repo, tag, index([{ mediaType: OCI_MANIFEST, digest: sbomDigest, size: sbom.length, artifactType: 'application/spdx+json' }]), OCI_INDEX));
    expect(await must(checkNotation(targetOf('sbom'), policy))).toMatchObject({ checks: [] });

    // A signature manifest of "app" copied into this repository and listed here: its subject gives it away.
    const appSignature = await client.referrers(images['app']!.repo, images['app']!.digest);
    const appManifest = await must(client.getManifest(images['app']!.repo, appSignature.ok ? appSignature.value[0]!.digest : ''));
    const layer = (appManifest.json['layers'] as { digest: Digest; size: number }[])[0]!;
    await must(client.pushBlob(repo, await must(client.getBlob(images['app']!.repo, layer))));
    const copied = await must(client.pushManifest(repo, appManifest.digest, appManifest.bytes, OCI_MANIFEST));
    await must(
      client.pushManifest(
        repo,
        tag,
        index([
          { mediaType: OCI_MANIFEST, digest: sbomDigest, size: sbom.length, artifactType: 'application/spdx+json' },
          { mediaType: OCI_MANIFEST, digest: copied, size: appManifest.bytes.length, artifactType: NOTARY },
        ]),
        OCI_INDEX,
      ),
    );
    const report = await must(checkNotation(targetOf('sbom'), policy));
    expect(report.checks).toEqual([
      {
        status: 'invalid',
        system: 'notation',
        reason: 'WRONG_TYPE',
        detail: `Notation signature ${copied} is listed among the referrers of ${images['sbom']!.digest} but its subject is "${images['app']!.digest}"`,
      },
    ]);
  });

  test('a registry that cannot be reached is an error, never "unsigned"', async () => {
    const port = await freePort();
    const closed = new RegistryClient({ hosts: { [`127.0.0.1:${port}`]: { insecureHttp: true } }, requestTimeoutMs: 2000 });
    try {
      const target = targetOf('app', { registry: closed, repo: { registry: `127.0.0.1:${port}`, repository: 'notation/app' } });
      const result = await checkNotation(target, policy);
      expect(result).toMatchObject({ ok: false, error: { code: 'UNREACHABLE' } });
    } finally {
      await closed.close();
    }
  });

  test('an expired deadline is an error', async () => {
    const result = await checkNotation(targetOf('app', { signal: AbortSignal.abort() }), policy);
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
  });
});
