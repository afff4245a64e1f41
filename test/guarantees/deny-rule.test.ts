// `action: deny` end to end: an image a deny rule names is denied with DENIED_BY_RULE, whatever
// signatures it carries and without asking its registry, through the webhook over HTTPS and through
// `signet verify`; the reason names the rule and its patterns, and the fix tells the developer what to do.
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { freePort } from '../support/free-port.js';
import { signet } from '../support/cli.js';
import { denialLine, startWebhook, type Webhook } from './support.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;

maybe('action: deny', () => {
  let fx: SignedRegistry;
  let hook: Webhook;
  let policyPath: string;
  /** A registry nobody listens on: a deny rule must decide without it. */
  let deadHost: string;
  const fixText = (rule: string) => `rule ${rule} forbids these images; use an image from an allowed registry or ask your platform team`;

  beforeAll(async () => {
    fx = await startSignedRegistry();
    deadHost = `127.0.0.1:${await freePort()}`;
    const host = fx.registry.host;
    policyPath = fx.writePolicy(`  - name: quarantine
    images: ["${host}/apps/signed", "${host}/apps/banned/**"]
    action: deny
  - name: frozen-in-prod
    images: ["${host}/apps/signed2"]
    namespaces: {names: [prod]}
    action: deny
  - name: nowhere
    images: ["${deadHost}/**"]
    action: deny
  - name: apps
    images: ["${host}/apps/**"]
    verify:
      - type: cosign
        keys: [release]
`);
    hook = await startWebhook({ policyPath, registry: { hosts: { [host]: { insecureHttp: true }, [deadHost]: { insecureHttp: true } } } });
  }, 120_000);

  afterAll(async () => {
    await hook?.stop();
    await fx?.stop();
  });

  test('the control: a signed image no deny rule names is allowed by the verify rule after it', async () => {
    expect((await hook.reviewPod('shop', fx.images.signed2)).allowed).toBe(true);
  });

  test('a validly signed image a deny rule names is denied over HTTPS, with the reason and fix the developer reads', async () => {
    const r = await hook.reviewPod('shop', fx.images.signed);
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(403);
    const host = fx.registry.host;
    expect(r.status?.message.split('\n')[0]).toMatch(/^Pod shop\/pod-\d+: 1 of 1 container image denied by signet policy "test":$/);
    expect(denialLine(r)).toBe(
      `- container "app" (${fx.images.signed}): DENIED_BY_RULE: rule quarantine denies images matching ${host}/apps/signed, ${host}/apps/banned/** [rule quarantine]. Fix: ${fixText('quarantine')}`,
    );
    // Asked again (now from whatever the caches hold), the answer is the same.
    expect(denialLine(await hook.reviewPod('shop', fx.images.signed))).toContain(`DENIED_BY_RULE: rule quarantine denies images matching ${host}/apps/signed`);
  });

  test('a deny rule decides without the registry: an unreachable registry is DENIED_BY_RULE, not REGISTRY_UNREACHABLE', async () => {
    const image = `${deadHost}/team/app:1.0`;
    const r = await hook.reviewPod('shop', image);
    expect(r.allowed).toBe(false);
    expect(denialLine(r)).toBe(`- container "app" (${image}): DENIED_BY_RULE: rule nowhere denies images matching ${deadHost}/** [rule nowhere]. Fix: ${fixText('nowhere')}`);
  });

  test('a namespace-scoped deny rule denies in its namespace only', async () => {
    const prod = await hook.reviewPod('prod', fx.images.signed2);
    expect(prod.allowed).toBe(false);
    expect(denialLine(prod)).toContain(`DENIED_BY_RULE: rule frozen-in-prod denies images matching ${fx.registry.host}/apps/signed2 [rule frozen-in-prod]. Fix: ${fixText('frozen-in-prod')}`);
    expect((await hook.reviewPod('dev', fx.images.signed2)).allowed).toBe(true);
  });

  test('ImageReview: the deny rule denies, and the reason names the rule', async () => {
    const res = await hook.client.post('/imagepolicy', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: fx.images.signed }], namespace: 'shop' } });
    const status = (res.json as { status: { allowed: boolean; reason: string; auditAnnotations?: Record<string, string> } }).status;
    expect(status.allowed).toBe(false);
    expect(status.reason).toContain(`DENIED_BY_RULE: rule quarantine denies images matching ${fx.registry.host}/apps/signed`);
  });

  test('signet verify: DENY with the rule, reason and fix; exit status 1', async () => {
    const host = fx.registry.host;
    const run = await signet(['verify', fx.images.signed, '--policy', policyPath, '--insecure-registry', host]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      [
        `DENY  ${fx.images.signed}`,
        '  rule:    quarantine',
        `  denied:  DENIED_BY_RULE: rule quarantine denies images matching ${host}/apps/signed, ${host}/apps/banned/**`,
        `  fix:     ${fixText('quarantine')}`,
        '',
      ].join('\n'),
    );
  });

  test('signet verify -o json and --namespace: the scoped deny rule applies where it is scoped', async () => {
    const inProd = await signet(['verify', fx.images.signed2, '--policy', policyPath, '--insecure-registry', fx.registry.host, '--namespace', 'prod', '-o', 'json']);
    expect(inProd.code).toBe(1);
    expect(JSON.parse(inProd.stdout)).toEqual([
      expect.objectContaining({ outcome: 'denied', image: fx.images.signed2, rule: 'frozen-in-prod', code: 'DENIED_BY_RULE', fix: fixText('frozen-in-prod') }),
    ]);
    const inDev = await signet(['verify', fx.images.signed2, '--policy', policyPath, '--insecure-registry', fx.registry.host, '--namespace', 'dev', '-o', 'json']);
    expect(inDev.code).toBe(0);
    expect(JSON.parse(inDev.stdout)).toEqual([expect.objectContaining({ outcome: 'allowed', rule: 'apps', basis: 'verified' })]);
  });
});
