// A tenant's denial always stands: tenant rules are always enforced and never fail open, whatever the
// cluster policy's mode or failurePolicy, and whether the cluster's verdict comes from the caches or
// not. The webhook over HTTPS with its trust in ConfigMaps (the fake API server of test/support) and
// a real docker-registry; each case uses images of its own so "cold" means nothing is cached.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '../../src/signatures/cosign/private-key.js';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { startFakeKubeApi, waitFor, type FakeKubeApi } from '../support/fake-kube-api.js';
import { freePort } from '../support/free-port.js';
import { denialLine, pushReleaseSigned, startWebhook, type AdmissionAnswer, type Webhook } from './support.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;
const NS = 'signet-system';
const TENANT = 'team-a';
const OTHER = 'team-b';

type Variant = 'enforce' | 'warn' | 'open';
const VARIANTS: readonly Variant[] = ['enforce', 'warn', 'open'];
const CASES = ['cold', 'warm-other', 'warm-same'] as const;

maybe('tenant denials are always enforced', () => {
  let fx: SignedRegistry;
  let api: FakeKubeApi;
  let hook: Webhook;
  /** A registry nobody listens on: every lookup there is REGISTRY_UNREACHABLE. */
  let deadHost: string;
  const images: Record<string, { image: string; digest: string }> = {};
  const team = generateKeyPair('pw');

  const clusterPolicy = (variant: Variant) => {
    const defaults = variant === 'warn' ? 'defaults: {mode: warn}\n' : variant === 'open' ? 'defaults: {failurePolicy: open}\n' : '';
    return `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: cluster-${variant}}
keys:
  release: {file: release.pub}
${defaults}rules:
  - name: apps
    images: ["${fx.registry.host}/apps/**"]
    verify: [{type: cosign, keys: [release]}]
  - name: remote
    images: ["${deadHost}/**"]
    verify: [{type: cosign, keys: [release]}]
`;
  };

  const useCluster = async (variant: Variant): Promise<void> => {
    api.putConfigMap({
      namespace: NS,
      name: 'signet-trust',
      labels: { 'signet.dev/trust': 'cluster' },
      data: { 'policy.yaml': clusterPolicy(variant), 'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8') },
    });
    await waitFor(`cluster policy ${variant}`, () => hook?.server.trust()?.cluster.name === `cluster-${variant}`, 10_000);
  };

  const tenantDenial = (r: AdmissionAnswer, code: string): string => {
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(403);
    expect(r.warnings ?? []).not.toContainEqual(expect.stringMatching(/^signet (warn|fail-open):/));
    const line = denialLine(r);
    expect(line).toContain(`: ${code}: `);
    expect(line).toContain(`[rule team-signed of namespace ${TENANT}'s own policy]. Fix: `);
    return line;
  };

  beforeAll(async () => {
    fx = await startSignedRegistry();
    deadHost = `127.0.0.1:${await freePort()}`;
    for (const variant of VARIANTS) {
      const pushed = await Promise.all(CASES.map((c) => pushReleaseSigned(fx, `${variant}-${c}`)));
      CASES.forEach((c, i) => (images[`${variant}-${c}`] = pushed[i]!));
    }
    api = await startFakeKubeApi({ bookmarkIntervalMs: 200 });
    api.putConfigMap({
      namespace: NS,
      name: 'signet-trust',
      labels: { 'signet.dev/trust': 'cluster' },
      data: { 'policy.yaml': clusterPolicy('enforce'), 'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8') },
    });
    // The tenant requires its own key on everything the cluster covers; nothing is signed with it.
    api.putConfigMap({
      namespace: TENANT,
      name: 'team-a-trust',
      labels: { 'signet.dev/trust': 'tenant' },
      data: {
        'policy.yaml': `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nkeys:\n  team: {file: team.pub}\nrules:\n  - name: team-signed\n    images: ["${fx.registry.host}/apps/**", "${deadHost}/**"]\n    verify: [{type: cosign, keys: [team]}]\n`,
        'team.pub': team.publicKeyPem,
      },
    });
    hook = await startWebhook({
      trust: { kind: 'kube', kubeConfig: api.kubeConfig(), namespace: NS, tenants: true, tuning: { debounceMs: 50 } },
      ownNamespace: NS,
      registry: { hosts: { [fx.registry.host]: { insecureHttp: true }, [deadHost]: { insecureHttp: true } } },
    });
    await waitFor('the tenant layer', () => hook.server.trust()?.tenants.has(TENANT) === true, 10_000);
  }, 180_000);

  afterAll(async () => {
    await hook?.stop();
    await api?.close();
    await fx?.stop();
  });

  describe.each(VARIANTS)('cluster policy in %s', (variant) => {
    beforeAll(() => useCluster(variant), 15_000);
    const img = (c: (typeof CASES)[number]) => images[`${variant}-${c}`]!;

    test('cold caches: the tenant denies in its namespace; the cluster alone allows elsewhere', async () => {
      const { image, digest } = img('cold');
      const line = tenantDenial(await hook.reviewPod(TENANT, image), 'UNTRUSTED_SIGNER');
      expect(line).toMatch(new RegExp(`^- container "app" \\(${escape(image)} -> ${digest}\\): UNTRUSTED_SIGNER: `));
      expect(line).toContain('Fix: sign it with a key rule team-signed trusts (team)');
      const elsewhere = await hook.reviewPod(OTHER, image);
      expect(elsewhere).toEqual({ uid: elsewhere.uid, allowed: true });
    });

    test('cluster verdict warmed in another namespace: the tenant still denies, every time', async () => {
      const { image } = img('warm-other');
      for (let i = 0; i < 2; i++) expect((await hook.reviewPod(OTHER, image)).allowed).toBe(true);
      for (let i = 0; i < 3; i++) tenantDenial(await hook.reviewPod(TENANT, image), 'UNTRUSTED_SIGNER');
    });

    test('both layers warmed in the tenant namespace: the cached answer is still the tenant denial', async () => {
      const { image } = img('warm-same');
      for (let i = 0; i < 3; i++) tenantDenial(await hook.reviewPod(TENANT, image), 'UNTRUSTED_SIGNER');
      expect((await hook.reviewPod(OTHER, image)).allowed).toBe(true);
      tenantDenial(await hook.reviewPod(TENANT, image), 'UNTRUSTED_SIGNER');
    });

    test('an unreachable registry: the tenant fails closed whatever the cluster does with it', async () => {
      const image = `${deadHost}/team/app:${variant}`;
      const elsewhere = await hook.reviewPod(OTHER, image);
      if (variant === 'enforce') {
        expect(elsewhere.allowed).toBe(false);
      } else {
        // The cluster's own failure is tolerated: warn mode, or fail-open for registry trouble.
        expect(elsewhere.allowed).toBe(true);
        expect(elsewhere.warnings?.[0]).toMatch(new RegExp(`^signet ${variant === 'open' ? 'fail-open' : 'warn'}: app \\(.*\\) would be denied: REGISTRY_UNREACHABLE`));
      }
      for (let i = 0; i < 2; i++) {
        const line = tenantDenial(await hook.reviewPod(TENANT, image), 'REGISTRY_UNREACHABLE');
        expect(line).toContain(`Fix: check that ${deadHost} is up and reachable from the webhook, then retry`);
      }
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
