// The client against the real docker-registry (CNCF distribution 2.8) over plain http on loopback,
// with images pushed by skopeo. Covers resolution in both modes, manifests, blobs, corruption on disk,
// the referrers tag fallback (2.8 has no referrers API) and pushing.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest, RepositoryRef } from '../../src/reference/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RegistryHostConfig } from '../../src/registry/types.js';
import { REGISTRY_BINARY, clientHostConfig, haveTools, startRegistry } from '../support/registry-server.js';
import type { RunningRegistry } from '../support/registry-server.js';
import { OCI_INDEX, OCI_MANIFEST, buildOciLayout, corruptBlob, pushImage, rewriteStoredBlob, sha256 } from '../support/oci-image.js';
import type { OciLayout } from '../support/oci-image.js';
import { freePort } from '../support/free-port.js';

const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';
const enabled = haveTools(REGISTRY_BINARY, 'skopeo', 'openssl', 'perl');

(enabled ? describe : describe.skip)('RegistryClient against docker-registry', () => {
  let workDir: string;
  let registry: RunningRegistry;
  let client: RegistryClient;
  let image: OciLayout;
  let multi: OciLayout;
  let app: RepositoryRef;
  let multiRepo: RepositoryRef;
  const extraClients: RegistryClient[] = [];

  function clientWith(config: RegistryHostConfig): RegistryClient {
    const made = new RegistryClient({ hosts: { [registry.host]: { ...clientHostConfig(registry), ...config } } });
    extraClients.push(made);
    return made;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'signet-real-registry-'));
    registry = await startRegistry();
    client = new RegistryClient({ hosts: { [registry.host]: clientHostConfig(registry) } });
    app = { registry: registry.host, repository: 'demo/app' };
    multiRepo = { registry: registry.host, repository: 'demo/multi' };
    image = await buildOciLayout(join(workDir, 'app'), { seed: 'real-app' });
    multi = await buildOciLayout(join(workDir, 'multi'), {
      seed: 'real-multi',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    });
    await Promise.all([pushImage(image, registry, 'demo/app:v1'), pushImage(multi, registry, 'demo/multi:v1')]);
  });

  afterAll(async () => {
    for (const extra of extraClients) await extra.close();
    await client?.close();
    await registry?.stop();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  describe('resolve', () => {
    test('GET mode: one manifest GET gives digest, media type and size of the image', async () => {
      const local = clientWith({ resolveWith: 'GET' });
      const result = await local.resolve(app, 'v1');
      expect(result).toEqual({ ok: true, value: { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBytes.length } });
      expect(local.stats()).toEqual({ requests: 1, byKind: { manifest: 1 } });
    });

    test('HEAD mode: the same descriptor from the headers, no GET', async () => {
      const local = clientWith({ resolveWith: 'HEAD' });
      const result = await local.resolve(app, 'v1');
      expect(result).toEqual({ ok: true, value: { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifestBytes.length } });
      expect(local.stats()).toEqual({ requests: 1, byKind: { 'manifest-head': 1 } });
    });

    test.each(['GET', 'HEAD'] as const)('%s mode: a multi-arch tag resolves to the index digest, not a platform', async (mode) => {
      const result = await clientWith({ resolveWith: mode }).resolve(multiRepo, 'v1');
      expect(result).toEqual({ ok: true, value: { mediaType: OCI_INDEX, digest: multi.manifestDigest, size: multi.manifestBytes.length } });
      expect(multi.platformManifests.map((p) => p.digest)).not.toContain(multi.manifestDigest);
    });

    test.each(['GET', 'HEAD'] as const)('%s mode: an unknown tag is NOT_FOUND', async (mode) => {
      const result = await clientWith({ resolveWith: mode }).resolve(app, 'no-such-tag');
      expect(result.ok ? undefined : result.error.code).toBe('NOT_FOUND');
      // HEAD answers carry no body, so only GET can quote the registry's error code.
      const detail = mode === 'GET' ? '; MANIFEST_UNKNOWN manifest unknown' : '';
      expect(result.ok ? '' : result.error.message).toBe(`registry ${registry.host} answered 404 for manifest demo/app:no-such-tag (not found${detail})`);
    });
  });

  describe('manifests and blobs', () => {
    test('getManifest by tag and by digest returns the exact pushed bytes', async () => {
      const byTag = await client.getManifest(app, 'v1');
      const byDigest = await client.getManifest(app, image.manifestDigest);
      for (const result of [byTag, byDigest]) {
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.value.digest).toBe(image.manifestDigest);
        expect(result.value.mediaType).toBe(OCI_MANIFEST);
        expect(result.value.bytes.equals(image.manifestBytes)).toBe(true);
        expect(result.value.json['layers']).toEqual([{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: image.layerDigests[0], size: image.blobs.get(image.layerDigests[0]!)!.length }]);
      }
    });

    test('an index and its platform manifests are fetched by digest', async () => {
      const index = await client.getManifest(multiRepo, multi.manifestDigest);
      expect(index.ok && index.value.mediaType).toBe(OCI_INDEX);
      const listed = index.ok ? (index.value.json['manifests'] as Array<{ digest: string }>).map((m) => m.digest) : [];
      expect(listed).toEqual(multi.platformManifests.map((p) => p.digest));
      for (const platform of multi.platformManifests) {
        const fetched = await client.getManifest(multiRepo, platform.digest);
        expect(fetched.ok && fetched.value.bytes.equals(platform.bytes)).toBe(true);
      }
    });

    test('getBlob returns config and layer bytes verified against their digests', async () => {
      for (const digest of [image.configDigests[0]!, image.layerDigests[0]!]) {
        const expected = image.blobs.get(digest)!;
        const result = await client.getBlob(app, { digest, size: expected.length });
        expect(result.ok && result.value.equals(expected)).toBe(true);
      }
    });

    test('a descriptor size that disagrees with what the registry holds is DIGEST_MISMATCH', async () => {
      const digest = image.configDigests[0]!;
      const actual = image.blobs.get(digest)!.length;
      const result = await client.getBlob(app, { digest, size: actual + 1 });
      expect(result).toEqual({
        ok: false,
        error: { code: 'DIGEST_MISMATCH', registry: registry.host, status: 200, message: `registry ${registry.host} announced ${actual} bytes for blob demo/app@${digest} but its descriptor says ${actual + 1}` },
      });
    });

    test('a blob over maxBytes is TOO_LARGE without being read', async () => {
      const digest = image.layerDigests[0]!;
      const result = await client.getBlob(app, { digest }, { maxBytes: 100 });
      expect(result.ok ? undefined : result.error.message).toBe(`registry ${registry.host} announced ${image.blobs.get(digest)!.length} bytes for blob demo/app@${digest}, over the 100-byte limit; not read`);
    });

    test('unknown repository, manifest digest and blob are NOT_FOUND', async () => {
      const missing = sha256(Buffer.from('never pushed'));
      const noRepo = await client.getManifest({ registry: registry.host, repository: 'nobody/here' }, 'v1');
      expect(noRepo.ok ? '' : noRepo.error.message).toBe(`registry ${registry.host} answered 404 for manifest nobody/here:v1 (not found; MANIFEST_UNKNOWN manifest unknown)`);
      const noManifest = await client.getManifest(app, missing);
      expect(noManifest.ok ? '' : noManifest.error.message).toBe(`registry ${registry.host} answered 404 for manifest demo/app@${missing} (not found; MANIFEST_UNKNOWN manifest unknown)`);
      const noBlob = await client.getBlob(app, { digest: missing });
      expect(noBlob.ok ? undefined : noBlob.error.code).toBe('NOT_FOUND');
      expect(noBlob.ok ? '' : noBlob.error.message).toBe(`registry ${registry.host} answered 404 for blob demo/app@${missing} (not found; BLOB_UNKNOWN blob unknown to registry)`);
    });
  });

  describe('corrupted storage', () => {
    let victim: OciLayout;
    const victimRepo = (): RepositoryRef => ({ registry: registry.host, repository: 'demo/victim' });

    beforeAll(async () => {
      victim = await buildOciLayout(join(workDir, 'victim'), { seed: 'to-be-corrupted' });
      await pushImage(victim, registry, 'demo/victim:v1');
    });

    test('a stored blob changed on disk is DIGEST_MISMATCH', async () => {
      const digest = victim.layerDigests[0]!;
      const size = victim.blobs.get(digest)!.length;
      expect((await client.getBlob(victimRepo(), { digest, size })).ok).toBe(true);
      await corruptBlob(registry, digest);
      const result = await client.getBlob(victimRepo(), { digest, size });
      expect(result.ok ? undefined : result.error.code).toBe('DIGEST_MISMATCH');
      expect(result.ok ? '' : result.error.message).toMatch(new RegExp(`^registry ${registry.host} sent content for blob demo/victim@${digest} that hashes to sha256:[0-9a-f]{64}$`));
    });

    test('a stored manifest changed on disk is DIGEST_MISMATCH by digest and by tag', async () => {
      // Still valid JSON (the registry parses manifests before serving them), but not the bytes that were pushed.
      await rewriteStoredBlob(registry, victim.manifestDigest, (old) => Buffer.from(JSON.stringify({ ...JSON.parse(old.toString('utf8')), annotations: { tampered: 'yes' } })));
      const byDigest = await client.getManifest(victimRepo(), victim.manifestDigest);
      expect(byDigest.ok ? undefined : byDigest.error.code).toBe('DIGEST_MISMATCH');
      // By tag, the registry still sends the true digest in Docker-Content-Digest; our hash of the body disagrees.
      const byTag = await client.getManifest(victimRepo(), 'v1');
      expect(byTag.ok ? undefined : byTag.error.code).toBe('DIGEST_MISMATCH');
      expect(byTag.ok ? '' : byTag.error.message).toBe(`registry ${registry.host} sent Docker-Content-Digest ${victim.manifestDigest} for manifest demo/victim:v1, which does not match the content`);
    });
  });

  describe('pushing and referrers (tag-schema fallback: 2.8 has no referrers API)', () => {
    async function pushArtifact(repo: RepositoryRef, subject: { digest: Digest; size: number; mediaType: string }, artifactType: string, payload: string): Promise<{ digest: Digest; size: number }> {
      const config = await client.pushBlob(repo, Buffer.from('{}'));
      const layer = await client.pushBlob(repo, Buffer.from(payload));
      if (!config.ok || !layer.ok) throw new Error('blob push failed');
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType,
          config: { mediaType: EMPTY_CONFIG, digest: config.value.digest, size: config.value.size },
          layers: [{ mediaType: 'application/vnd.dev.signet.test+json', digest: layer.value.digest, size: layer.value.size }],
          subject,
        }),
      );
      const pushed = await client.pushManifest(repo, sha256(manifest), manifest, OCI_MANIFEST);
      if (!pushed.ok) throw new Error(pushed.error.message);
      return { digest: pushed.value, size: manifest.length };
    }

    test('pushBlob then getBlob round-trips; a second push only checks existence', async () => {
      const bytes = Buffer.from('{"payload":"round trip"}');
      const local = clientWith({});
      const first = await local.pushBlob(app, bytes);
      expect(first).toEqual({ ok: true, value: { mediaType: 'application/octet-stream', digest: sha256(bytes), size: bytes.length } });
      expect(local.stats().byKind).toEqual({ 'blob-head': 1, 'blob-upload': 2 });
      const again = await local.pushBlob(app, bytes);
      expect(again.ok).toBe(true);
      expect(local.stats().byKind).toEqual({ 'blob-head': 2, 'blob-upload': 2 });
      const read = await local.getBlob(app, { digest: sha256(bytes), size: bytes.length });
      expect(read.ok && read.value.equals(bytes)).toBe(true);
    });

    test('pushManifest by tag round-trips through resolve and getManifest', async () => {
      const config = await client.pushBlob(app, Buffer.from('{}'));
      expect(config.ok).toBe(true);
      if (!config.ok) return;
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: EMPTY_CONFIG, digest: config.value.digest, size: 2 }, layers: [] }));
      const pushed = await client.pushManifest(app, 'pushed', manifest, OCI_MANIFEST);
      expect(pushed).toEqual({ ok: true, value: sha256(manifest) });
      expect(await client.resolve(app, 'pushed')).toEqual({ ok: true, value: { mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length } });
    });

    test('the registry refuses a manifest whose blobs are missing, and says why', async () => {
      const missing = sha256(Buffer.from('missing config'));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: EMPTY_CONFIG, digest: missing, size: 14 }, layers: [] }));
      const result = await client.pushManifest(app, 'broken', manifest, OCI_MANIFEST);
      expect(result.ok ? undefined : result.error.code).toBe('BAD_CONTENT');
      expect(result.ok ? '' : result.error.message).toBe(`registry ${registry.host} answered 400 for manifest push demo/app:broken (request rejected as invalid; MANIFEST_BLOB_UNKNOWN blob unknown to registry)`);
    });

    test('referrers come from the sha256-<hex> index tag, filtered by artifactType', async () => {
      const subject = { digest: image.manifestDigest, size: image.manifestBytes.length, mediaType: OCI_MANIFEST };
      const signature = await pushArtifact(app, subject, 'application/vnd.dev.signet.signature', 'signature payload');
      const sbom = await pushArtifact(app, subject, 'application/vnd.dev.signet.sbom', 'sbom payload');
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            { mediaType: OCI_MANIFEST, digest: signature.digest, size: signature.size, artifactType: 'application/vnd.dev.signet.signature', annotations: { 'dev.signet.kind': 'signature' } },
            { mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.dev.signet.sbom' },
          ],
        }),
      );
      const tag = `sha256-${image.manifestDigest.slice('sha256:'.length)}`;
      expect((await client.pushManifest(app, tag, index, OCI_INDEX)).ok).toBe(true);

      const local = clientWith({});
      const all = await local.referrers(app, image.manifestDigest);
      expect(all).toEqual({
        ok: true,
        value: [
          { mediaType: OCI_MANIFEST, digest: signature.digest, size: signature.size, artifactType: 'application/vnd.dev.signet.signature', annotations: { 'dev.signet.kind': 'signature' } },
          { mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.dev.signet.sbom' },
        ],
      });
      // One try of the API (404 from 2.8), then the tag.
      expect(local.stats().byKind).toEqual({ referrers: 1, manifest: 1 });

      const signatures = await local.referrers(app, image.manifestDigest, { artifactType: 'application/vnd.dev.signet.signature' });
      expect(signatures.ok && signatures.value.map((d) => d.digest)).toEqual([signature.digest]);

      // The referrer is a real manifest whose subject is the image.
      const referrer = await local.getManifest(app, signature.digest);
      expect(referrer.ok && referrer.value.json['subject']).toEqual(subject);
    });

    test('a digest with no referrers gives an empty list', async () => {
      const result = await client.referrers(multiRepo, multi.manifestDigest);
      expect(result).toEqual({ ok: true, value: [] });
    });
  });

  test('a registry that is down is UNREACHABLE within a second', async () => {
    const port = await freePort();
    const down = `127.0.0.1:${port}`;
    const local = new RegistryClient({ hosts: { [down]: { insecureHttp: true } } });
    extraClients.push(local);
    const started = performance.now();
    const result = await local.resolve({ registry: down, repository: 'demo/app' }, 'v1');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result).toEqual({ ok: false, error: { code: 'UNREACHABLE', registry: down, message: `registry ${down} refused the connection for manifest demo/app:v1 (ECONNREFUSED)` } });
  });
});
