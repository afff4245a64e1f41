// What the policy says about an image depends on where it runs: a namespace-scoped rule applies in
// its namespaces only, however the webhook caches its plans. The same image is reviewed in a
// namespace the rule covers and in one it does not, in both orders (so a plan cached for the first
// would be reused for the second), over HTTPS against a real docker-registry. Each order uses an
// image of its own, so no order inherits the other's caches.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '../../src/signatures/cosign/private-key.js';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { denialLine, pushReleaseSigned, startWebhook, type Webhook } from './support.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;

maybe('plans are per namespace (and per namespace labels)', () => {
  let fx: SignedRegistry;
  let hook: Webhook;
  const images: Record<string, string> = {};
  const NAMES = ['deny-in-first', 'deny-in-second', 'strict-in-first', 'strict-in-second', 'labels-in-first', 'labels-in-second'];

  beforeAll(async () => {
    fx = await startSignedRegistry();
    // Key `team` is trusted by the prod-* rule; nothing is signed with it.
    writeFileSync(join(fx.dir, 'team.pub'), generateKeyPair('pw').publicKeyPem);
    const host = fx.registry.host;
    // Rules for repositories apps/deny-*, apps/strict-* and apps/labels-*; everything else in apps/ needs release.
    const policyPath = fx.writePolicy(
      `  - name: frozen-in-prod
    images: ["${host}/apps/deny-*"]
    namespaces: {names: [prod]}
    action: deny
  - name: team-key-in-prod
    images: ["${host}/apps/strict-*"]
    namespaces: {names: ["prod-*"]}
    verify:
      - type: cosign
        keys: [team]
  - name: frozen-for-tier-prod
    images: ["${host}/apps/labels-*"]
    namespaces:
      selector: {matchLabels: {tier: prod}}
    action: deny
  - name: apps
    images: ["${host}/apps/**"]
    verify:
      - type: cosign
        keys: [release]
`,
      '  team: {file: team.pub}\n',
    );
    for (const name of NAMES) images[name] = (await pushReleaseSigned(fx, name)).image;
    hook = await startWebhook({ policyPath, registry: { hosts: { [host]: { insecureHttp: true } } } });
  }, 180_000);

  afterAll(async () => {
    await hook?.stop();
    await fx?.stop();
  });

  const expectFrozen = async (namespace: string, image: string) => {
    const r = await hook.reviewPod(namespace, image);
    expect(r.allowed).toBe(false);
    expect(denialLine(r)).toBe(
      `- container "app" (${image}): DENIED_BY_RULE: rule frozen-in-prod denies images matching ${fx.registry.host}/apps/deny-* [rule frozen-in-prod]. Fix: rule frozen-in-prod forbids these images; use an image from an allowed registry or ask your platform team`,
    );
  };
  const expectTeamKeyRequired = async (namespace: string, image: string) => {
    const r = await hook.reviewPod(namespace, image);
    expect(r.allowed).toBe(false);
    const line = denialLine(r);
    expect(line).toContain(`(${image} -> `);
    expect(line).toContain(': UNTRUSTED_SIGNER: ');
    expect(line).toContain('[rule team-key-in-prod]. Fix: sign it with a key rule team-key-in-prod trusts (team)');
  };
  const expectAllowed = async (namespace: string, image: string, path?: string) => {
    const r = await hook.reviewPod(namespace, image, path);
    expect(r).toEqual({ uid: r.uid, allowed: true });
  };

  test('deny rule for namespace prod: dev first, then prod', async () => {
    const image = images['deny-in-second']!;
    await expectAllowed('dev', image);
    await expectAllowed('dev', image);
    await expectFrozen('prod', image);
    await expectAllowed('dev', image);
  });

  test('deny rule for namespace prod: prod first, then dev', async () => {
    const image = images['deny-in-first']!;
    await expectFrozen('prod', image);
    await expectFrozen('prod', image);
    await expectAllowed('dev', image);
    await expectFrozen('prod', image);
  });

  test('a stricter verify rule for prod-*: dev first, then prod-eu', async () => {
    const image = images['strict-in-second']!;
    await expectAllowed('dev', image);
    await expectAllowed('dev', image);
    await expectTeamKeyRequired('prod-eu', image);
    await expectAllowed('dev', image);
  });

  test('a stricter verify rule for prod-*: prod-eu first, then dev', async () => {
    const image = images['strict-in-first']!;
    await expectTeamKeyRequired('prod-eu', image);
    await expectTeamKeyRequired('prod-eu', image);
    await expectAllowed('dev', image);
    await expectTeamKeyRequired('prod-eu', image);
  });

  test('a selector rule: labels stated in the webhook path, one namespace, both orders', async () => {
    const frozen = (image: string) => async () => {
      const r = await hook.reviewPod('shop', image, '/validate/ns-labels/tier=prod');
      expect(r.allowed).toBe(false);
      expect(denialLine(r)).toContain(`DENIED_BY_RULE: rule frozen-for-tier-prod denies images matching ${fx.registry.host}/apps/labels-*`);
    };
    const dev = (image: string) => () => expectAllowed('shop', image, '/validate/ns-labels/tier=dev');
    for (const step of [dev(images['labels-in-second']!), dev(images['labels-in-second']!), frozen(images['labels-in-second']!)]) await step();
    for (const step of [frozen(images['labels-in-first']!), frozen(images['labels-in-first']!), dev(images['labels-in-first']!)]) await step();
  });
});
