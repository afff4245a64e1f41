// Deterministic tiny OCI images for tests, written by hand as an OCI image layout (oci-layout,
// index.json, blobs/sha256/...), and pushed to a test registry with the real skopeo. The same seed
// always gives the same bytes and digests, so tests can compute expectations themselves.
//
//   const image = await buildOciLayout(dir, { seed: 'app-v1' });                       // one image
//   const multi = await buildOciLayout(dir2, { seed: 'multi', platforms: [{ os: 'linux', architecture: 'amd64' },
//                                                                          { os: 'linux', architecture: 'arm64' }] });
//   const digest = await pushImage(image, registry, 'demo/app:v1');                     // skopeo copy, checked
//   await corruptBlob(registry, image.layerDigests[0]!);                                 // flip stored bytes

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../../src/reference/types.js';
import type { BasicAuthUser, RunningRegistry } from './registry-server.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface PlatformManifest {
  readonly platform: Platform;
  readonly digest: Digest;
  readonly bytes: Buffer;
}

export interface OciLayout {
  readonly layoutDir: string;
  /** The `org.opencontainers.image.ref.name` of the top-level entry in index.json (use as `oci:DIR:NAME`). */
  readonly refName: string;
  /** Digest of the top-level manifest: the index for a multi-arch image, else the image manifest. */
  readonly manifestDigest: Digest;
  readonly manifestBytes: Buffer;
  readonly mediaType: string;
  /** One per platform for a multi-arch image; empty for a single image. */
  readonly platformManifests: readonly PlatformManifest[];
  readonly configDigests: readonly Digest[];
  readonly layerDigests: readonly Digest[];
  /** Every blob and manifest written, by digest. */
  readonly blobs: ReadonlyMap<Digest, Buffer>;
}

export function sha256(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

/** A one-file ustar archive, byte-for-byte reproducible (fixed mode, owner and mtime). */
export function tinyTar(fileName: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512, 0);
  const put = (text: string, offset: number, length: number): void => {
    header.write(text.slice(0, length), offset, length, 'ascii');
  };
  const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, '0')}\0`;
  put(fileName, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8); // checksum is computed with this field as spaces
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  put(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Writes a deterministic image (config + one layer per platform) as an OCI layout in `dir`. */
export async function buildOciLayout(dir: string, options: { seed: string; platforms?: readonly Platform[]; refName?: string }): Promise<OciLayout> {
  const refName = options.refName ?? 'latest';
  const blobs = new Map<Digest, Buffer>();
  const add = (bytes: Buffer): Digest => {
    const digest = sha256(bytes);
    blobs.set(digest, bytes);
    return digest;
  };
  const platforms = options.platforms ?? [];
  const imagePlatforms: Platform[] = platforms.length > 0 ? [...platforms] : [{ os: 'linux', architecture: 'amd64' }];

  const built = imagePlatforms.map((platform) => {
    const layer = tinyTar('seed.txt', Buffer.from(`${options.seed} ${platform.os}/${platform.architecture}${platform.variant !== undefined ? `/${platform.variant}` : ''}\n`, 'utf8'));
    const layerDigest = add(layer);
    const config = json({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
      config: { Labels: { 'dev.signet.test.seed': options.seed } },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
    });
    const configDigest = add(config);
    const manifest = json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER_TAR, digest: layerDigest, size: layer.length }],
    });
    return { platform, manifest, manifestDigest: add(manifest), configDigest, layerDigest };
  });

  let top: { bytes: Buffer; digest: Digest; mediaType: string };
  if (platforms.length > 0) {
    const index = json({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: built.map((b) => ({ mediaType: OCI_MANIFEST, digest: b.manifestDigest, size: b.manifest.length, platform: b.platform })),
    });
    top = { bytes: index, digest: add(index), mediaType: OCI_INDEX };
  } else {
    const only = built[0]!;
    top = { bytes: only.manifest, digest: only.manifestDigest, mediaType: OCI_MANIFEST };
  }

  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  for (const [digest, bytes] of blobs) await writeFile(join(blobDir, digest.slice('sha256:'.length)), bytes);
  await writeFile(join(dir, 'oci-layout'), json({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    json({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: top.mediaType, digest: top.digest, size: top.bytes.length, annotations: { 'org.opencontainers.image.ref.name': refName } }],
    }),
  );

  return {
    layoutDir: dir,
    refName,
    manifestDigest: top.digest,
    manifestBytes: top.bytes,
    mediaType: top.mediaType,
    platformManifests: platforms.length > 0 ? built.map((b) => ({ platform: b.platform, digest: b.manifestDigest, bytes: b.manifest })) : [],
    configDigests: built.map((b) => b.configDigest),
    layerDigests: built.map((b) => b.layerDigest),
    blobs,
  };
}

function skopeoTransportFlags(registry: RunningRegistry, side: 'dest' | 'src' | 'inspect', creds: BasicAuthUser | undefined): string[] {
  const prefix = side === 'inspect' ? '' : `${side}-`;
  const flags = registry.certDir !== undefined ? [`--${prefix}cert-dir`, registry.certDir] : [`--${prefix}tls-verify=false`];
  if (creds !== undefined) flags.push(`--${prefix}creds`, `${creds.username}:${creds.password}`);
  return flags;
}

function skopeo(label: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('skopeo', args, { encoding: 'buffer', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      // The arguments may hold test credentials, so the error carries only the label and what skopeo said.
      if (error !== null) reject(new Error(`skopeo ${label} failed: ${stderr.toString('utf8').trim() || 'no error output'}`));
      else resolve(stdout);
    });
  });
}

/**
 * Copies the layout to `registry` as `repoAndTag` (e.g. `demo/app:v1`) with `skopeo copy --preserve-digests`
 * (all platforms of an index), then reads the manifest back with `skopeo inspect --raw` and checks its
 * digest. Returns the pushed top-level digest. Credentials default to the registry's basic-auth user.
 */
export async function pushImage(layout: OciLayout, registry: RunningRegistry, repoAndTag: string, options: { creds?: BasicAuthUser } = {}): Promise<Digest> {
  const creds = options.creds ?? registry.basicAuth;
  const scratch = await mkdtemp(join(tmpdir(), 'signet-skopeo-'));
  try {
    const policy = join(scratch, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const destination = `docker://${registry.host}/${repoAndTag}`;
    await skopeo(`copy to ${destination}`, [
      '--policy', policy, 'copy', '--quiet', '--preserve-digests',
      ...(layout.platformManifests.length > 0 ? ['--all'] : []),
      ...skopeoTransportFlags(registry, 'dest', creds),
      `oci:${layout.layoutDir}:${layout.refName}`, destination,
    ]);
    const raw = await skopeo(`inspect ${destination}`, ['--policy', policy, 'inspect', '--raw', ...skopeoTransportFlags(registry, 'inspect', creds), destination]);
    const pushed = sha256(raw);
    if (pushed !== layout.manifestDigest) throw new Error(`pushed ${repoAndTag} reads back as ${pushed}, expected ${layout.manifestDigest}`);
    return pushed;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Where the filesystem driver keeps a blob's bytes. */
export function storedBlobPath(registry: RunningRegistry, digest: Digest): string {
  const hex = digest.slice('sha256:'.length);
  return join(registry.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/** Replaces a stored blob's bytes with `change(old)`, behind the registry's back (it keeps serving the file). */
export async function rewriteStoredBlob(registry: RunningRegistry, digest: Digest, change: (old: Buffer) => Buffer): Promise<void> {
  const path = storedBlobPath(registry, digest);
  await writeFile(path, change(await readFile(path)));
}

/**
 * Flips every bit of the first byte of a stored blob: same size, different hash. For a manifest use
 * rewriteStoredBlob with a change that keeps valid JSON: the registry parses manifests before serving them.
 */
export async function corruptBlob(registry: RunningRegistry, digest: Digest): Promise<void> {
  await rewriteStoredBlob(registry, digest, (old) => {
    if (old.length === 0) throw new Error(`stored blob ${digest} is empty; nothing to corrupt`);
    const bytes = Buffer.from(old);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    return bytes;
  });
}
