// Caches and coalescing against a real registry: counted in actual HTTP requests.
import { ImagePipeline } from '../../src/pipeline/image-pipeline.js';
import { RegistryClient } from '../../src/registry/client.js';
import { loadPolicyText } from '../../src/policy/index.js';
import { loadPolicyFile, readKeyFileFromDisk } from '../../src/trust/policy-file.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { decryptPrivateKey, generateKeyPair } from '../../src/signatures/cosign/private-key.js';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { buildOciLayout, pushImage } from '../support/oci-image.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { startHostileRegistry } from '../support/hostile-registry.js';
import { join } from 'node:path';
import { cachedLayered, verifyLayered } from '../../src/pipeline/layered.js';
import { loadTenantPolicyText } from '../../src/policy/tenants.js';
import { composeTrust } from '../../src/trust/compose.js';

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

  test('a different policy version does not reuse verdicts, but reuses the signatures fetched for the digest', async () => {
    const { registry, pipeline } = setup();
    const first = await pipeline.verify(fx.images.signed, policy, undefined, undefined);
    const other = { ...policy, version: 'sha256:' + '0'.repeat(64) } as CompiledPolicy;
    const second = await pipeline.verify(fx.images.signed, other, undefined, undefined);
    expect(second).toMatchObject({ outcome: 'allowed', digest: first.digest });
    expect(second).not.toBe(first); // decided again under the other policy
    expect(registry.stats().byKind).toEqual({ manifest: 2, blob: 1 }); // nothing fetched twice
    expect(pipeline.size.signatures).toBe(1);
    await registry.close();
  });

  test('two policies verifying one digest at once fetch its signatures once', async () => {
    const { registry, pipeline } = setup();
    const other = { ...policy, version: 'sha256:' + '1'.repeat(64) } as CompiledPolicy;
    const verdicts = await Promise.all([policy, other, policy, other].map((p) => pipeline.verify(fx.images.signed, p, undefined, undefined)));
    expect(verdicts.map((v) => v.outcome)).toEqual(['allowed', 'allowed', 'allowed', 'allowed']);
    expect(registry.stats().byKind).toEqual({ manifest: 2, blob: 1 });
    await registry.close();
  });

  test('cached signatures live as long as a tag: after the tag TTL a new policy fetches them again', async () => {
    let t = 4_000_000;
    const { registry, pipeline } = setup(() => t);
    await pipeline.verify(fx.images.signed, policy, undefined, undefined);
    t += 1500; // past the 1 s tag TTL
    const other = { ...policy, version: 'sha256:' + '2'.repeat(64) } as CompiledPolicy;
    expect((await pipeline.verify(fx.images.signed, other, undefined, undefined)).outcome).toBe('allowed');
    // The tag and the .sig manifest again; the payload blob again too (it is only cached with its manifest).
    expect(registry.stats().byKind).toEqual({ manifest: 4, blob: 2 });
    await registry.close();
  });

  test('an image without signatures leaves nothing in the signature cache', async () => {
    const { registry, pipeline } = setup();
    const image = `${fx.registry.host}/apps/never-signed:v1`;
    await pushImage(await buildOciLayout(join(fx.dir, 'layout-never-signed'), { seed: 'pipeline-never-signed' }), fx.registry, 'apps/never-signed:v1');
    expect(await pipeline.verify(image, policy, undefined, undefined)).toMatchObject({ outcome: 'denied', code: 'UNSIGNED' });
    expect(pipeline.size.signatures).toBe(0);
    await registry.close();
  });
  describe('cluster and tenant layers (verifyLayered, cachedLayered)', () => {
    const NAMESPACE = 'team-a';
    const scope = { namespace: NAMESPACE, labels: {} };
    /** A tenant policy for team-a; `keyFile` is the key it trusts for the images `images`. */
    const tenantPolicy = (keyFile: string, images: string) => {
      const loaded = loadTenantPolicyText(
        `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: team-a}\nkeys:\n  team: {file: ${keyFile}}\nrules:\n  - name: team-rule\n    images: ["${images}"]\n    verify: [{type: cosign, keys: [team]}]\n`,
        { namespace: NAMESPACE, baseDir: fx.dir, sourceName: 'configmap team-a/trust', readKeyFile: readKeyFileFromDisk },
      );
      if (!loaded.ok) throw new Error(loaded.error.message);
      return loaded.value;
    };
    const strangerKey = () => {
      writeFileSync(join(fx.dir, 'team-a-own.pub'), generateKeyPair('pw').publicKeyPem);
      return 'team-a-own.pub';
    };

    test('a tenant denial wins over a cluster allow, and is marked with the tenant namespace', async () => {
      const { registry, pipeline } = setup();
      const trust = composeTrust(policy, new Map([[NAMESPACE, tenantPolicy(strangerKey(), `${fx.registry.host}/apps/**`)]]));
      const verdict = await verifyLayered(pipeline, trust, fx.images.signed, scope, undefined);
      expect(verdict).toMatchObject({ outcome: 'denied', code: 'UNTRUSTED_SIGNER', rule: 'team-rule', tenant: NAMESPACE });
      // The cluster layer alone allows it; another namespace (no tenant policy) gets the cluster verdict.
      const elsewhere = await verifyLayered(pipeline, trust, fx.images.signed, { namespace: 'team-b', labels: {} }, undefined);
      expect(elsewhere).toMatchObject({ outcome: 'allowed', rule: 'apps' });
      expect(elsewhere).not.toHaveProperty('tenant');
      await registry.close();
    });

    test('when both layers allow, the cluster verdict is the answer; a cluster denial stands when the tenant allows', async () => {
      const { registry, pipeline } = setup();
      const trust = composeTrust(policy, new Map([[NAMESPACE, tenantPolicy('release.pub', `${fx.registry.host}/apps/signed*`)]]));
      const both = await verifyLayered(pipeline, trust, fx.images.signed, scope, undefined);
      expect(both).toMatchObject({ outcome: 'allowed', rule: 'apps', basis: 'verified' });
      // apps/untrusted: no tenant rule matches it (the tenant layer allows), the cluster layer denies.
      const untrusted = await verifyLayered(pipeline, trust, fx.images.untrusted, scope, undefined);
      expect(untrusted).toMatchObject({ outcome: 'denied', code: 'UNTRUSTED_SIGNER', rule: 'apps' });
      expect(untrusted).not.toHaveProperty('tenant');
      await registry.close();
    });

    test('the layered verdict from caches needs both layers cached, and marks a tenant denial', async () => {
      const { registry, pipeline } = setup();
      const tenant = tenantPolicy(strangerKey(), `${fx.registry.host}/apps/**`);
      const trust = composeTrust(policy, new Map([[NAMESPACE, tenant]]));
      const image = fx.images.signed;
      expect(cachedLayered(pipeline, trust, image, scope)).toBeUndefined();
      // Only the tenant layer cached (a denial): no answer without the cluster layer.
      expect((await pipeline.verify(image, tenant, scope, undefined)).outcome).toBe('denied');
      expect(cachedLayered(pipeline, trust, image, scope)).toBeUndefined();
      // Both cached: the tenant denial, marked.
      await verifyLayered(pipeline, trust, image, scope, undefined);
      expect(cachedLayered(pipeline, trust, image, scope)).toMatchObject({ outcome: 'denied', code: 'UNTRUSTED_SIGNER', tenant: NAMESPACE });
      // A namespace without a tenant policy: the cluster layer alone.
      const other = { namespace: 'team-b', labels: {} };
      await pipeline.verify(image, policy, other, undefined);
      expect(cachedLayered(pipeline, trust, image, other)).toMatchObject({ outcome: 'allowed', rule: 'apps' });
      await registry.close();
    });

    test('from caches: only the cluster layer cached gives no answer; both allowing gives the cluster verdict', async () => {
      const { registry, pipeline } = setup();
      const tenant = tenantPolicy('release.pub', `${fx.registry.host}/apps/**`);
      const trust = composeTrust(policy, new Map([[NAMESPACE, tenant]]));
      const image = fx.images.signed;
      expect((await pipeline.verify(image, policy, scope, undefined)).outcome).toBe('allowed');
      expect(pipeline.cached(image, policy, scope)?.outcome).toBe('allowed');
      expect(cachedLayered(pipeline, trust, image, scope)).toBeUndefined();
      expect((await pipeline.verify(image, tenant, scope, undefined)).outcome).toBe('allowed');
      const both = cachedLayered(pipeline, trust, image, scope);
      expect(both).toMatchObject({ outcome: 'allowed', rule: 'apps' });
      expect(both).not.toHaveProperty('tenant');
      await registry.close();
    });
  });
});

maybe('ImagePipeline: cached signatures admit but never refuse', () => {
  let fx: SignedRegistry;
  beforeAll(async () => {
    fx = await startSignedRegistry();
  }, 60_000);
  afterAll(() => fx?.stop());

  test('a second signature added to an already signed image counts once the denial expires, though the first was cached', async () => {
    let t = 6_000_000;
    const registry = new RegistryClient({ hosts: { [fx.registry.host]: { insecureHttp: true } } });
    const pipeline = new ImagePipeline({ registry, tagTtlMs: 60_000, verdictTtlMs: 600_000, negativeTtlMs: 2000, now: () => t });
    const releasePolicy = await loadPolicyFile(fx.policyPath);
    const team = generateKeyPair('pw');
    writeFileSync(join(fx.dir, 'team.pub'), team.publicKeyPem);
    const teamPolicy = loadPolicyText(
      `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: team}\nkeys:\n  team: {file: team.pub}\nrules:\n  - name: apps\n    images: ["${fx.registry.host}/apps/**"]\n    verify: [{type: cosign, keys: [team]}]\n`,
      { baseDir: fx.dir, sourceName: 'team.yaml', readKeyFile: readKeyFileFromDisk },
    );
    if (!releasePolicy.ok || !teamPolicy.ok) throw new Error('fixture policies');
    expect((await pipeline.verify(fx.images.signed, releasePolicy.value, undefined, undefined)).outcome).toBe('allowed');
    const refused = await pipeline.verify(fx.images.signed, teamPolicy.value, undefined, undefined);
    expect(refused).toMatchObject({ outcome: 'denied', code: 'UNTRUSTED_SIGNER' });
    // The refusal was checked again against freshly fetched signatures: the .sig manifest and its payload
    // twice in all (tag once); each check also looked for Sigstore bundles (referrers API, then its tag).
    expect(registry.stats().byKind).toEqual({ manifest: 5, blob: 2, referrers: 2 });

    const key = decryptPrivateKey(team.privateKeyPem, 'pw');
    const ref = parseReference(fx.images.signed);
    if (!key.ok || !ref.ok) throw new Error('fixture');
    expect((await signImage({ client: registry, ref: ref.value, privateKey: key.value, annotations: {} })).ok).toBe(true);
    t += 2500; // past the negative TTL of the refusal, well within the 60 s the signatures are cached for
    expect(await pipeline.verify(fx.images.signed, teamPolicy.value, undefined, undefined)).toMatchObject({ outcome: 'allowed' });
    await registry.close();
  });

  test('signature material over 1 MiB for one digest is used but not kept', async () => {
    const registry = new RegistryClient({ hosts: { [fx.registry.host]: { insecureHttp: true } } });
    const pipeline = new ImagePipeline({ registry });
    const policy = await loadPolicyFile(fx.policyPath);
    const key = decryptPrivateKey(readFileSync(join(fx.dir, 'release.key'), 'utf8'), 'pw');
    const ref = parseReference(fx.images.signed2);
    if (!policy.ok || !key.ok || !ref.ok) throw new Error('fixture');
    // Two signatures whose payloads carry 600 KB of annotations each: 1.2 MB for the digest, each
    // payload under the 1 MiB payload limit.
    for (const filler of ['x', 'y']) {
      expect((await signImage({ client: registry, ref: ref.value, privateKey: key.value, annotations: { note: filler.repeat(600_000) } })).ok).toBe(true);
    }
    expect((await pipeline.verify(fx.images.signed2, policy.value, undefined, undefined)).outcome).toBe('allowed');
    expect(pipeline.size.signatures).toBe(0);
    expect((await pipeline.verify(fx.images.signed, policy.value, undefined, undefined)).outcome).toBe('allowed');
    expect(pipeline.size.signatures).toBe(1);
    await registry.close();
  });

  test('registry trouble while re-checking a denial does not replace the denial on the merits', async () => {
    // A forwarding proxy in front of the real registry that can be told to fail: registries do fail
    // between two requests, which a real registry cannot be made to do on cue.
    const proxy = await startHostileRegistry();
    let failing = false;
    const forward = (request: IncomingMessage, response: ServerResponse): void => {
      if (failing) {
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end('{"errors":[{"code":"UNAVAILABLE","message":"service unavailable"}]}');
        return;
      }
      const [host, port] = fx.registry.host.split(':');
      const upstream = httpRequest({ host, port: Number(port), method: request.method, path: request.url, headers: { ...request.headers, host: fx.registry.host } }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    };
    const direct = new RegistryClient({ hosts: { [fx.registry.host]: { insecureHttp: true } } });
    const parsed = parseReference(fx.images.signed);
    if (!parsed.ok) throw new Error('fixture');
    const digest = fx.digests.signed;
    const sigTag = `${digest.replace(':', '-')}.sig`;
    const sig = await direct.getManifest({ registry: fx.registry.host, repository: 'apps/signed' }, sigTag);
    if (!sig.ok) throw new Error(sig.error.message);
    const blobs = (sig.value.json['layers'] as { digest: string }[]).map((l) => l.digest);
    for (const path of ['/v2/apps/signed/manifests/v1', `/v2/apps/signed/manifests/${sigTag}`, ...blobs.map((b) => `/v2/apps/signed/blobs/${b}`)]) {
      for (const method of ['GET', 'HEAD']) proxy.on(method, path, { kind: 'handler', handle: forward });
    }
    const image = `${proxy.host}/apps/signed:v1`;
    const registry = new RegistryClient({ hosts: { [proxy.host]: { insecureHttp: true } } });
    const pipeline = new ImagePipeline({ registry, tagTtlMs: 60_000, negativeTtlMs: 2000 });
    const team = generateKeyPair('pw');
    writeFileSync(join(fx.dir, 'team2.pub'), team.publicKeyPem);
    const policyFor = (name: string, keyName: string, keyFile: string) =>
      loadPolicyText(
        `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: ${name}}\nkeys:\n  ${keyName}: {file: ${keyFile}}\nrules:\n  - name: apps\n    images: ["${proxy.host}/apps/**"]\n    verify: [{type: cosign, keys: [${keyName}]}]\n`,
        { baseDir: fx.dir, sourceName: `${name}.yaml`, readKeyFile: readKeyFileFromDisk },
      );
    const release = policyFor('release', 'release', 'release.pub');
    const teamOnly = policyFor('team', 'team', 'team2.pub');
    if (!release.ok || !teamOnly.ok) throw new Error('fixture policies');
    try {
      expect((await pipeline.verify(image, release.value, undefined, undefined)).outcome).toBe('allowed');
      failing = true;
      // Tag and signatures come from the caches; the signer is not the team's; the second look fails.
      const verdict = await pipeline.verify(image, teamOnly.value, undefined, undefined);
      expect(verdict).toMatchObject({ outcome: 'denied', code: 'UNTRUSTED_SIGNER' });
      expect(proxy.requestsTo(`/v2/apps/signed/manifests/${sigTag}`)).toHaveLength(2); // the second look did happen
    } finally {
      await registry.close();
      await direct.close();
      await proxy.close();
    }
  });

});
