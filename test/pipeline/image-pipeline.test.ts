// Caches and coalescing against a real registry: counted in actual HTTP requests.
import { ImagePipeline } from '../../src/pipeline/image-pipeline.js';
import { RegistryClient } from '../../src/registry/client.js';
import { loadPolicyFile } from '../../src/policy/index.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { decryptPrivateKey } from '../../src/signatures/cosign/private-key.js';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const maybe = haveTools('docker-registry', 'skopeo') ? describe : describe.skip;

maybe('ImagePipeline caches and coalescing', () => {
  let fx: SignedRegistry;
  let policy: CompiledPolicy;
  beforeAll(async () => {
    fx = await startSignedRegistry();
    const loaded = await loadPolicyFile(fx.policyPath);
    if (!loaded.ok) throw new Error(loaded.error.message);
    policy = loaded.value;
  }, 60_000);
  afterAll(() => fx?.stop());

  const setup = (now?: () => number) => {
    const registry = new RegistryClient({ hosts: { [fx.registry.host]: { insecureHttp: true } } });
    const pipeline = new ImagePipeline({ registry, tagTtlMs: 1000, verdictTtlMs: 60_000, negativeTtlMs: 2000, ...(now ? { now } : {}) });
    return { registry, pipeline };
  };

  test('100 concurrent verifications of one image cost one resolution and one verification', async () => {
    const { registry, pipeline } = setup();
    const verdicts = await Promise.all(Array.from({ length: 100 }, () => pipeline.verify(fx.images.signed, policy, undefined, undefined)));
    expect(new Set(verdicts.map((v) => v.outcome))).toEqual(new Set(['allowed']));
    expect(registry.stats().byKind).toEqual({ manifest: 2, blob: 1 }); // tag resolve + .sig manifest, payload blob
    await pipeline.verify(fx.images.signed, policy, undefined, undefined);
    expect(registry.stats().requests).toBe(3);
    await registry.close();
  });

  test('a tag is resolved again after its TTL, but the verdict for the same digest is reused', async () => {
    let t = 1_000_000;
    const { registry, pipeline } = setup(() => t);
    await pipeline.verify(fx.images.signed, policy, undefined, undefined);
    t += 1500;
    const again = await pipeline.verify(fx.images.signed, policy, undefined, undefined);
    expect(again.outcome).toBe('allowed');
    expect(registry.stats().byKind).toEqual({ manifest: 3, blob: 1 });
    await registry.close();
  });

  test('a denial is cached only briefly: an image signed after being refused is admitted once the negative TTL passes', async () => {
    let t = 2_000_000;
    const { registry, pipeline } = setup(() => t);
    const image = `${fx.registry.host}/apps/unsigned:v1`;
    expect((await pipeline.verify(image, policy, undefined, undefined)).outcome).toBe('denied');
    const key = decryptPrivateKey(readFileSync(join(fx.dir, 'release.key'), 'utf8'), 'pw');
    const ref = parseReference(image);
    if (!key.ok || !ref.ok) throw new Error('fixture');
    expect((await signImage({ client: registry, ref: ref.value, privateKey: key.value, annotations: {} })).ok).toBe(true);
    expect((await pipeline.verify(image, policy, undefined, undefined)).outcome).toBe('denied'); // still cached
    t += 2500;
    const after = await pipeline.verify(image, policy, undefined, undefined);
    expect(after).toMatchObject({ outcome: 'allowed' });
    await registry.close();
  });

  test('cache-only answers exist once verified, and never outlive the tag or the verdict TTL', async () => {
    let t = 3_000_000;
    const { registry, pipeline } = setup(() => t);
    expect(pipeline.cached(fx.images.signed, policy, undefined)).toBeUndefined();
    await pipeline.verify(fx.images.signed, policy, undefined, undefined);
    expect(pipeline.cached(fx.images.signed, policy, undefined)?.outcome).toBe('allowed');
    expect(pipeline.cached(fx.images.signed, policy, undefined)?.outcome).toBe('allowed'); // served from the warm map
    t += 1500; // past the 1 s tag TTL: the tag must be resolved again before anything is answered
    expect(pipeline.cached(fx.images.signed, policy, undefined)).toBeUndefined();
    expect(registry.stats().requests).toBe(3);
    await registry.close();
  });

  test('registry failures are never cached', async () => {
    const registry = new RegistryClient({ hosts: { '127.0.0.1:9': { insecureHttp: true } } });
    const pipeline = new ImagePipeline({ registry });
    const down = await Promise.all([1, 2].map(() => pipeline.verify('127.0.0.1:9/apps/x:v1', policy, undefined, undefined)));
    expect(down[0]?.outcome).toBe('denied');
    expect(pipeline.size.verdicts).toBe(0);
    expect(pipeline.size.tags).toBe(0);
    await registry.close();
  });

  test('a different policy version does not reuse verdicts', async () => {
    const { registry, pipeline } = setup();
    await pipeline.verify(fx.images.signed, policy, undefined, undefined);
    const other = { ...policy, version: 'sha256:' + '0'.repeat(64) } as CompiledPolicy;
    await pipeline.verify(fx.images.signed, other, undefined, undefined);
    expect(registry.stats().byKind['blob']).toBe(2);
    await registry.close();
  });
});
