// The registry client over a shared store (real docker-registry, real redis-server): what one replica
// fetched, another reads without asking the registry; what the store holds is checked as if fetched,
// so a poisoned or forged entry costs a fetch and never changes an answer; credentials separate entries.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RegistryClient } from '../../src/registry/client.js';
import { RedisSharedStore } from '../../src/shared-cache/redis-store.js';
import { discoverCosignSignatures } from '../../src/discovery/cosign.js';
import { generateKeyPair, decryptPrivateKey } from '../../src/signatures/cosign/private-key.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { digestOf } from '../../src/reference/digest.js';
import { haveTools, startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { forgedSealedValue, startRedis, type RunningRedis } from '../support/redis-server.js';
import { pushTestImage, type PushedImage } from '../support/signers.js';

const maybe = haveTools('docker-registry', 'skopeo', 'redis-server') ? describe : describe.skip;

maybe('registry client with a shared store', () => {
  let registry: RunningRegistry;
  let redis: RunningRedis;
  let raw: Redis;
  let dir: string;
  let image: PushedImage;
  const key = randomBytes(32);
  const closers: (() => Promise<void>)[] = [];

  const replica = async (hmacKey = key): Promise<{ client: RegistryClient; store: RedisSharedStore }> => {
    const store = new RedisSharedStore({ url: redis.url, hmacKey, commandTimeoutMs: 200 });
    expect(await store.whenReady(5000)).toBe(true);
    const client = new RegistryClient({
      hosts: { [registry.host]: { insecureHttp: true } },
      shared: { store, tagTtlMs: 30_000, contentTtlMs: 600_000, waitMs: 300 },
    });
    closers.push(() => client.close(), () => store.close());
    return { client, store };
  };
  const settle = async (): Promise<void> => {
    // set() writes in the background.
    await new Promise((r) => setTimeout(r, 50));
  };
  /** What a review does for one image: resolve the tag, then the `.sig` discovery (tag, manifest, blobs). */
  const reviewOnce = async (client: RegistryClient) => {
    const resolved = await client.resolve(image.repo, 'v1');
    if (!resolved.ok) throw new Error(resolved.error.message);
    const found = await discoverCosignSignatures(client, image.repo, resolved.value.digest);
    if (!found.ok) throw new Error(found.error.message);
    return { digest: resolved.value.digest, payloads: found.value.layers.map((l) => l.payload.toString('utf8')) };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-shared-'));
    registry = await startRegistry();
    redis = await startRedis();
    raw = new Redis(redis.url);
    image = await pushTestImage(registry, dir, 'demo/app:v1');
    const signer = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    const pair = generateKeyPair('pw');
    const privateKey = decryptPrivateKey(pair.privateKeyPem, 'pw');
    const ref = parseReference(image.reference);
    if (!privateKey.ok || !ref.ok) throw new Error('fixture');
    expect((await signImage({ client: signer, ref: ref.value, privateKey: privateKey.value, annotations: {} })).ok).toBe(true);
    await signer.close();
  }, 60_000);

  beforeEach(async () => {
    await raw.flushall();
  });

  afterAll(async () => {
    for (const close of closers) await close().catch(() => undefined);
    raw?.disconnect();
    await redis?.close();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a second replica answers from the first one's fetches: zero registry requests, the same answers", async () => {
    const a = await replica();
    const b = await replica();
    const first = await reviewOnce(a.client);
    expect(first.digest).toBe(image.digest);
    expect(first.payloads).toHaveLength(1);
    expect(a.client.stats().requests).toBeGreaterThanOrEqual(3);
    await settle();
    const second = await reviewOnce(b.client);
    expect(second).toEqual(first);
    expect(b.client.stats().requests).toBe(0);
    expect(b.store.stats().hits).toBeGreaterThanOrEqual(3);
  });

  test('replicas missing at once: one fetches, the others wait for it', async () => {
    const replicas = await Promise.all([replica(), replica(), replica()]);
    const results = await Promise.all(replicas.map((r) => r.client.getManifest(image.repo, image.digest)));
    for (const result of results) expect(result.ok && result.value.digest).toBe(image.digest);
    const manifestRequests = replicas.map((r) => r.client.stats().byKind['manifest'] ?? 0);
    expect(manifestRequests.reduce((a, b) => a + b, 0)).toBe(1);
  });

  test('poisoned content (sealed with the right key, wrong bytes for the digest) is refetched, never served', async () => {
    const a = await replica();
    const b = await replica();
    expect((await a.client.getManifest(image.repo, image.digest)).ok).toBe(true);
    await settle();
    const name = `manifest\u0000anonymous\u0000${registry.host}/${image.repo.repository}@${image.digest}`;
    const other = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + '1'.repeat(64) + '","size":2},"layers":[]}');
    // Whoever holds the key could write this; the digest check still refuses it.
    a.store.set(name, Buffer.concat([Buffer.from(`${image.mediaType}\n`), other]), 60_000);
    await settle();
    const fetched = await b.client.getManifest(image.repo, image.digest);
    expect(fetched.ok && digestOf(fetched.value.bytes)).toBe(image.digest);
    expect(b.client.stats().byKind['manifest']).toBe(1);
  });

  test('a forged tag resolution (framed as sealed, but not with the key) is ignored: the tag is resolved at the registry', async () => {
    const b = await replica();
    const forged = `sha256:${'2'.repeat(64)}`;
    await raw.set(b.store.redisName(`manifest\u0000anonymous\u0000${registry.host}/${image.repo.repository}:v1`), forgedSealedValue(Buffer.from(`${image.mediaType}\n{"digest":"${forged}"}`)));
    const resolved = await b.client.resolve(image.repo, 'v1');
    expect(resolved.ok && resolved.value.digest).toBe(image.digest);
    expect(b.client.stats().byKind['manifest']).toBe(1);
  });

  test('another replica key, or other credentials, share nothing', async () => {
    const a = await replica();
    expect((await a.client.getManifest(image.repo, image.digest)).ok).toBe(true);
    await settle();
    const stranger = await replica(randomBytes(32));
    expect((await stranger.client.getManifest(image.repo, image.digest)).ok).toBe(true);
    expect(stranger.client.stats().byKind['manifest']).toBe(1);
    const withSecret = (await replica()).client.withCredentials(new Map([[registry.host, { username: 'team', password: 'pw' }]]));
    expect((await withSecret.getManifest(image.repo, image.digest)).ok).toBe(true);
    expect(withSecret.stats().byKind['manifest']).toBe(1);
  });

  test('Redis down: every answer comes from the registry, none fails', async () => {
    const a = await replica();
    await redis.stop();
    try {
      const review = await reviewOnce(a.client);
      expect(review.digest).toBe(image.digest);
      expect(a.store.stats().errors).toBeGreaterThan(0);
    } finally {
      await redis.restart();
      raw.disconnect();
      raw = new Redis(redis.url);
    }
  }, 30_000);
});
