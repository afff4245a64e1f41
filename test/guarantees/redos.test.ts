// A tenant's regular expression cannot take admission down (issue 13 §1). Tenant ConfigMaps may carry
// keyless verifiers with a trust root of their own, so a tenant controls both the pattern and the
// certificate it is matched against. The attack from the issue: `subjectRegExp: "(a+)+"` and an image
// signed with a certificate whose subject is "a"×34 + "!"; with JavaScript's backtracking RegExp one
// review spun at 100 % CPU for minutes and nothing else was answered. Patterns now run on RE2
// (linear time), identity matching has a work limit per certificate, and the pipeline yields to the
// event loop between signatures: the review is denied at once with the identity mismatch, and while
// the heaviest review a tenant can build is running, /healthz and cached reviews elsewhere answer.
// The webhook over HTTPS with trust in ConfigMaps on the fake API server, a real docker-registry.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { RegistryClient } from '../../src/registry/client.js';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { startFakeKubeApi, waitFor, type FakeKubeApi } from '../support/fake-kube-api.js';
import { keylessSign, makeTestSigstore, pushTestImage, type TestSigstore } from '../support/signers.js';
import { makeLeaf } from '../signatures/sigstore/fake-sigstore.js';
import { denialLine, pushReleaseSigned, startWebhook, type Webhook } from './support.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;
const NS = 'signet-system';
const TENANT = 'team-a';
const OTHER = 'team-b';
const ISSUER = 'https://issuer.team-a.example';
const EVIL_SUBJECT = `${'a'.repeat(34)}!`;
/** Identity patterns of the heavy attack: the largest the engine accepts that still fit its limits. */
const HEAVY_PATTERN = '(?:[\\p{Greek}\\p{Latin}\\p{Cyrillic}]{1,60}){3}x';
const HEAVY_LAYERS = 32;

maybe('a tenant cannot stall admission with a regular expression', () => {
  let fx: SignedRegistry;
  let api: FakeKubeApi;
  let hook: Webhook;
  let sigstore: TestSigstore;
  let cached: { image: string; digest: string };
  let evil: { image: string; digest: string };
  let heavy: { image: string; digest: string };

  beforeAll(async () => {
    fx = await startSignedRegistry();
    sigstore = await makeTestSigstore('tenant');
    // The cached image is release-signed for the cluster policy; the tenant's images carry only the
    // tenant's keyless signatures (the cluster policy lets images it has no rule for through).
    cached = await pushReleaseSigned(fx, 'redos-cached');
    const [evilImage, heavyImage] = await Promise.all(['redos-evil', 'redos-heavy'].map((name) => pushTestImage(fx.registry, fx.dir, `apps/${name}:v1`)));
    evil = { image: evilImage!.reference, digest: evilImage!.digest };
    heavy = { image: heavyImage!.reference, digest: heavyImage!.digest };
    const client = new RegistryClient({ hosts: { [fx.registry.host]: { insecureHttp: true } } });
    try {
      await keylessSign(client, evilImage!, sigstore, await makeLeaf(sigstore.intermediate, { uri: EVIL_SUBJECT, oidcIssuer: ISSUER }), 'sig');
      // The heaviest certificate that still parses: a dozen kilobyte-long names, signed many times.
      const names = Array.from({ length: 12 }, (_, i) => ({ type: 'url' as const, value: `${String.fromCharCode(97 + i)}${'a'.repeat(999)}` }));
      const leaf = await makeLeaf(sigstore.intermediate, { oidcIssuer: ISSUER, extensions: [new x509.SubjectAlternativeNameExtension(names, true)] });
      for (let i = 0; i < HEAVY_LAYERS; i++) await keylessSign(client, heavyImage!, sigstore, leaf, 'sig');
    } finally {
      await client.close();
    }

    api = await startFakeKubeApi({ bookmarkIntervalMs: 200 });
    api.putConfigMap({
      namespace: NS,
      name: 'signet-trust',
      labels: { 'signet.dev/trust': 'cluster' },
      data: {
        'policy.yaml': `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: cluster}\nkeys:\n  release: {file: release.pub}\ndefaults: {unmatched: allow}\nrules:\n  - name: cached\n    images: ["${fx.registry.host}/apps/redos-cached"]\n    verify: [{type: cosign, keys: [release]}]\n`,
        'release.pub': readFileSync(join(fx.dir, 'release.pub'), 'utf8'),
      },
    });
    const heavyIdentities = Array.from({ length: 64 }, () => `          - {issuer: "${ISSUER}", subjectRegExp: '${HEAVY_PATTERN}'}`).join('\n');
    api.putConfigMap({
      namespace: TENANT,
      name: 'team-a-trust',
      labels: { 'signet.dev/trust': 'tenant' },
      data: {
        'policy.yaml': `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
rules:
  - name: team-keyless
    images: ["${fx.registry.host}/apps/redos-evil"]
    verify:
      - type: keyless
        trustedRoot: {file: trusted_root.json}
        identities:
          - {issuer: "${ISSUER}", subjectRegExp: "(a+)+"}
  - name: team-heavy
    images: ["${fx.registry.host}/apps/redos-heavy"]
    verify:
      - type: keyless
        trustedRoot: {file: trusted_root.json}
        identities:
${heavyIdentities}
      - type: keyless
        trustedRoot: {file: trusted_root.json}
        identities:
${heavyIdentities}
`,
        'trusted_root.json': sigstore.trustedRootJson,
      },
    });
    hook = await startWebhook({
      trust: { kind: 'kube', kubeConfig: api.kubeConfig(), namespace: NS, tenants: true, tuning: { debounceMs: 50 } },
      ownNamespace: NS,
      registry: { hosts: { [fx.registry.host]: { insecureHttp: true } } },
      timeoutSeconds: 10,
    });
    await waitFor('the tenant layer', () => hook.server.trust()?.tenants.has(TENANT) === true, 10_000);
    // The cached review: the cluster allows this image in another namespace, from the caches now.
    for (let i = 0; i < 2; i++) expect((await hook.reviewPod(OTHER, cached.image)).allowed).toBe(true);
  }, 180_000);

  afterAll(async () => {
    await hook?.stop();
    await api?.close();
    await fx?.stop();
  });

  /** Milliseconds until `promise` settles, measured from now. */
  const timed = async <T>(promise: Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = performance.now();
    const value = await promise;
    return { value, ms: performance.now() - started };
  };

  test('the issue\'s attack, (a+)+ against "a"×34+"!": denied at once with the identity mismatch; health and a cached review answer meanwhile', async () => {
    const [attack, health, other] = await Promise.all([timed(hook.reviewPod(TENANT, evil.image)), timed(hook.client.get('/healthz')), timed(hook.reviewPod(OTHER, cached.image))]);
    expect(attack.value.allowed).toBe(false);
    const line = denialLine(attack.value);
    expect(line).toContain(`(${evil.image} -> ${evil.digest}): UNTRUSTED_SIGNER: `);
    expect(line).toContain(`signing certificate identity "${EVIL_SUBJECT}" (OIDC issuer "${ISSUER}") matches none of the policy's identities: issuer "${ISSUER}" with subject matching /(a+)+/`);
    expect(line).toContain(`[rule team-keyless of namespace ${TENANT}'s own policy]`);
    // RegExp needed minutes; cold (registry round trips, certificate checks) this takes well under a second.
    expect(attack.ms).toBeLessThan(3000);
    expect(health.value.status).toBe(200);
    expect(other.value).toEqual({ uid: other.value.uid, allowed: true });
    // Denials by the tenant are cached like any other: the second one is immediate.
    const again = await timed(hook.reviewPod(TENANT, evil.image));
    expect(again.value.allowed).toBe(false);
  });

  test('the heaviest review a tenant can build is bounded, and health and cached reviews interleave with it', async () => {
    await hook.client.get('/metrics'); // starts a fresh event-loop delay window
    const attack = timed(hook.reviewPod(TENANT, heavy.image));
    let settled = false;
    void attack.finally(() => (settled = true));
    // Probe while the attack runs: each probe must be answered quickly, not after the attack.
    const probes: number[] = [];
    const others: number[] = [];
    while (!settled) {
      const [health, other] = await Promise.all([timed(hook.client.get('/healthz')), timed(hook.reviewPod(OTHER, cached.image))]);
      expect(health.value.status).toBe(200);
      expect(other.value.allowed).toBe(true);
      probes.push(health.ms);
      others.push(other.ms);
    }
    const { value, ms } = await attack;
    expect(value.allowed).toBe(false);
    const line = denialLine(value);
    expect(line).toContain(`(${heavy.image} -> ${heavy.digest}): UNTRUSTED_SIGNER: `);
    expect(line).toContain('needs more work than the limit allows');
    // The server's own measure of it: the longest event-loop delay since the previous scrape.
    const metrics = await hook.client.get('/metrics');
    const longest = Number(/^signet_event_loop_delay_seconds\{quantile="1"\} (\S+)$/m.exec(metrics.text)?.[1]);
    expect(longest).toBeGreaterThan(0);
    expect(longest * 1000).toBeLessThan(Math.max(250, ms / 4));
    expect(probes.length).toBeGreaterThan(1);
    // Measured on a loaded machine: without a turn of the event loop between signatures, one probe
    // waited 659 ms for a whole entry's 32 checks (review 1.7 s); with it, probes waited 126 ms at
    // most (review 2.0 s), the event loop's longest delay 91 ms.
    expect(Math.max(...probes)).toBeLessThan(Math.max(250, ms / 4));
  }, 60_000);
});
