// The webhook over real HTTPS against a real docker-registry with signed images. Every admission
// response is checked the way kube-apiserver checks it.
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { admissionResponseProblems, admissionReview, workload } from '../support/admission.js';
import type { WebhookClient } from '../support/webhook-client.js';
import { loggerInto, startWebhookServer, type TestWebhook } from '../support/webhook-server.js';
import { startHostileRegistry, type HostileRegistry } from '../support/hostile-registry.js';

const maybe = haveTools('docker-registry', 'skopeo') ? describe : describe.skip;

interface Response {
  response: { uid: string; allowed: boolean; status?: { code: number; message: string }; warnings?: string[]; patch?: string; patchType?: string };
}

maybe('webhook over HTTPS', () => {
  let fx: SignedRegistry;
  let hostile: HostileRegistry;
  let hook: TestWebhook;
  let client: WebhookClient;
  let policyPath: string;
  const logs: Record<string, unknown>[] = [];

  const baseRules = (host: string, hostileHost: string) => `  - name: stalling
    images: ["${hostileHost}/**"]
    verify:
      - type: cosign
        keys: [release]
  - name: tools
    images: ["${host}/tools/**"]
    action: allow
  - name: apps
    images: ["${host}/apps/**"]
    verify:
      - type: cosign
        keys: [release]
`;

  const setPolicy = async (text: string): Promise<void> => {
    writeFileSync(policyPath, text);
    const deadline = Date.now() + 5000;
    const wanted = text;
    // Wait until the server reports a policy compiled from this text.
    while (Date.now() < deadline) {
      const ready = await client.get('/readyz');
      const version = (JSON.parse(ready.text) as { version?: string }).version;
      if (version && version !== lastVersion && readFileSync(policyPath, 'utf8') === wanted) {
        lastVersion = version;
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('policy reload not observed');
  };
  let lastVersion = '';
  const policyText = (extra = '', ruleExtra = '') => readFileSync(fx.policyPath, 'utf8').replace(/rules:\n[\s\S]*$/, `${extra}rules:\n${baseRules(fx.registry.host, hostile.host)}${ruleExtra}`);

  beforeAll(async () => {
    fx = await startSignedRegistry();
    hostile = await startHostileRegistry();
    hostile.on('GET', '/v2/slow/app/manifests/v1', { kind: 'stall' });
    policyPath = join(fx.dir, 'live-policy.yaml');
    writeFileSync(policyPath, policyText());
    hook = await startWebhookServer({
      policyPath,
      tlsHosts: ['localhost', '127.0.0.1'],
      timeoutSeconds: 2,
      bodyLimitBytes: 256 * 1024,
      registry: { hosts: { [fx.registry.host]: { insecureHttp: true }, [hostile.host]: { insecureHttp: true } } },
      logger: loggerInto(logs),
    });
    client = hook.client;
    lastVersion = (JSON.parse((await client.get('/readyz')).text) as { version: string }).version;
  }, 120_000);

  afterAll(async () => {
    await hook?.stop();
    await hostile?.close();
    await fx?.stop();
  });

  const review = async (body: Record<string, unknown>, path = '/validate'): Promise<Response['response']> => {
    const res = await client.post(path, body);
    expect(res.status).toBe(200);
    expect(admissionResponseProblems(body, res.json, path === '/mutate' ? 'mutating' : 'validating')).toEqual([]);
    return (res.json as Response).response;
  };

  const kinds = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob'];

  test.each(kinds)('%s with signed images is allowed', async (kind) => {
    const r = await review(admissionReview({ kind, object: workload(kind, 'web', 'default', { containers: [{ name: 'app', image: fx.images.signed }], initContainers: [{ name: 'init', image: fx.images.signed2 }] }) }));
    expect(r.allowed).toBe(true);
    expect(r.warnings).toBeUndefined();
  });

  test.each(kinds)('%s with unsigned and untrusted images is denied, listing every failing container', async (kind) => {
    const body = admissionReview({
      kind,
      name: 'web',
      namespace: 'shop',
      object: workload(kind, 'web', 'shop', {
        containers: [
          { name: 'app', image: fx.images.signed },
          { name: 'sidecar', image: fx.images.unsigned },
          { name: 'metrics', image: fx.images.untrusted },
        ],
      }),
    });
    const r = await review(body);
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(403);
    const message = r.status!.message;
    expect(message.split('\n')[0]).toBe(`${kind} shop/web: 2 of 3 container images denied by signet policy "test":`);
    expect(message).toContain(`container "sidecar" (${fx.images.unsigned} -> ${fx.digests.unsigned}): UNSIGNED: no cosign signature found`);
    expect(message).toContain(`container "metrics" (${fx.images.untrusted} -> ${fx.digests.untrusted}): UNTRUSTED_SIGNER:`);
    expect(message).toContain('[rule apps]. Fix: sign it with: signet sign');
    expect(message).not.toContain('"app"');
  });

  test('v1beta1 reviews are answered in v1beta1', async () => {
    const body = admissionReview({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.unsigned }] }) });
    const res = await client.post('/validate', body);
    expect((res.json as { apiVersion: string }).apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(admissionResponseProblems(body, res.json, 'validating')).toEqual([]);
    expect((res.json as Response).response.allowed).toBe(false);
  });

  test('dryRun requests get the same decision', async () => {
    const r = await review(admissionReview({ kind: 'Pod', dryRun: true, object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.unsigned }] }) }));
    expect(r.allowed).toBe(false);
  });

  test('an exempt image is allowed with a warning saying it was not verified', async () => {
    const r = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'debug', image: `${fx.registry.host}/tools/shell:1` }] }) }));
    expect(r.allowed).toBe(true);
    expect(r.warnings).toEqual([`signet: debug (${fx.registry.host}/tools/shell:1) allowed without verification (exempt by rule tools)`]);
  });

  test('an image no rule matches is denied with NO_MATCHING_RULE', async () => {
    const r = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'web', image: 'nginx:1.25' }] }) }));
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('NO_MATCHING_RULE: no policy rule matches docker.io/library/nginx');
  });

  test('an invalid image reference is denied, not crashed on', async () => {
    const r = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'web', image: 'Not/A:Valid@Ref' }] }) }));
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('INVALID_REFERENCE');
  });

  test('kube-system is exempt by default, with a warning', async () => {
    const r = await review(admissionReview({ kind: 'Pod', namespace: 'kube-system', object: workload('Pod', 'p', 'kube-system', { containers: [{ name: 'a', image: fx.images.unsigned }] }) }));
    expect(r.allowed).toBe(true);
    expect(r.warnings?.[0]).toContain('namespace kube-system is exempt');
  });

  test('UPDATE that does not change images is allowed without checking; adding an ephemeral container is checked', async () => {
    const before = workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.unsigned }] });
    const r1 = await review(admissionReview({ kind: 'Pod', operation: 'UPDATE', object: before, oldObject: before }));
    expect(r1.allowed).toBe(true);
    const after = workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.unsigned }], ephemeralContainers: [{ name: 'debugger', image: fx.images.untrusted }] });
    const r2 = await review(admissionReview({ kind: 'Pod', operation: 'UPDATE', subResource: 'ephemeralcontainers', object: after, oldObject: before }));
    expect(r2.allowed).toBe(false);
    expect(r2.status?.message).toContain('ephemeral container "debugger"');
    expect(r2.status?.message).toContain('1 of 1 container image denied');
  });

  test('DELETE and other kinds are allowed untouched', async () => {
    expect((await review(admissionReview({ kind: 'Pod', operation: 'DELETE', object: null }))).allowed).toBe(true);
    expect((await review(admissionReview({ kind: 'ConfigMap', object: { data: {} } }))).allowed).toBe(true);
  });

  test('a stalling registry is answered within the budget with TIMEOUT', async () => {
    const started = Date.now();
    const r = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${hostile.host}/slow/app:v1` }, { name: 'b', image: fx.images.signed }] }) }));
    const elapsed = Date.now() - started;
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('TIMEOUT');
    expect(r.status?.message).toContain('1 of 2');
    expect(elapsed).toBeLessThan(2000); // the API server would wait 2 s; we answer at 80 %
    expect(elapsed).toBeGreaterThanOrEqual(1500);
  });

  test('the ?timeout= the API server sends shortens the budget', async () => {
    const started = Date.now();
    const res = await client.post('/validate?timeout=1s', admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${hostile.host}/slow/app:v1` }] }) }));
    expect((res.json as Response).response.allowed).toBe(false);
    expect(Date.now() - started).toBeLessThan(2500); // 800 ms budget here; the default budget would be 8 s
  });

  test('ImageReview: allowed, denied with a reason, and audit annotations', async () => {
    const ok = await client.post('/imagepolicy', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: fx.images.signed }], namespace: 'default' } });
    expect(ok.json).toMatchObject({ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', status: { allowed: true } });
    const no = await client.post('/imagepolicy', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: fx.images.signed }, { image: fx.images.unsigned }], namespace: 'default' } });
    const status = (no.json as { status: { allowed: boolean; reason: string; auditAnnotations: Record<string, string> } }).status;
    expect(status.allowed).toBe(false);
    expect(status.reason).toContain('UNSIGNED');
    expect(status.auditAnnotations['signet-image-1']).toBe(`${fx.images.unsigned}: UNSIGNED`);
  });

  test('ImageReview break-glass is ignored unless the policy enables it, then honoured and audited', async () => {
    const body = { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: fx.images.unsigned }], namespace: 'default', annotations: { 'signet.image-policy.k8s.io/break-glass': 'INC-42' } } };
    expect(((await client.post('/imagepolicy', body)).json as { status: { allowed: boolean } }).status.allowed).toBe(false);
    await setPolicy(policyText('breakGlass:\n  annotation: signet.image-policy.k8s.io/break-glass\n'));
    const res = (await client.post('/imagepolicy', body)).json as { status: { allowed: boolean; auditAnnotations: Record<string, string> } };
    expect(res.status.allowed).toBe(true);
    expect(res.status.auditAnnotations['signet-break-glass']).toBe('INC-42');
    await setPolicy(policyText());
  });

  test('warn mode allows with a warning; audit mode allows silently; fail-open lets only registry failures through', async () => {
    const pod = (image: string) => admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image }] }) });
    await setPolicy(policyText('defaults:\n  mode: warn\n'));
    const warned = await review(pod(fx.images.unsigned));
    expect(warned.allowed).toBe(true);
    expect(warned.warnings?.[0]).toMatch(/^signet warn: a \(.*\) would be denied: UNSIGNED/);
    expect(warned.warnings?.[0]!.length).toBeLessThanOrEqual(120);
    await setPolicy(policyText('defaults:\n  mode: audit\n'));
    const audited = await review(pod(fx.images.unsigned));
    expect(audited).toEqual({ uid: audited.uid, allowed: true });
    await setPolicy(policyText('defaults:\n  failurePolicy: open\n'));
    const open = await review(pod(`${hostile.host}/slow/app:v1`));
    expect(open.allowed).toBe(true);
    expect(open.warnings?.[0]).toContain('fail-open');
    expect((await review(pod(fx.images.unsigned))).allowed).toBe(false);
    await setPolicy(policyText());
  });

  test('namespace labels stated in the webhook path select rules; unknown labels fail closed', async () => {
    const rules = `  - name: prod-only
    images: ["${fx.registry.host}/apps/**"]
    namespaces:
      selector:
        matchLabels: {tier: prod}
    verify:
      - type: cosign
        keys: [release]
  - name: elsewhere
    images: ["${fx.registry.host}/apps/**"]
    action: allow
`;
    await setPolicy(readFileSync(fx.policyPath, 'utf8').replace(/rules:\n[\s\S]*$/, `rules:\n${rules}`));
    const body = admissionReview({ kind: 'Pod', namespace: 'shop', object: workload('Pod', 'p', 'shop', { containers: [{ name: 'a', image: fx.images.unsigned }] }) });
    const prod = await review(body, '/validate/ns-labels/tier=prod,team=shop');
    expect(prod.allowed).toBe(false);
    expect(prod.status?.message).toContain('[rule prod-only]');
    const dev = await review(body, '/validate/ns-labels/tier=dev');
    expect(dev.allowed).toBe(true);
    expect(dev.warnings?.[0]).toContain('exempt by rule elsewhere');
    const unknown = await review(body);
    expect(unknown.allowed).toBe(false);
    expect(unknown.status?.message).toContain('[rule prod-only]');
    // A malformed label path is treated as unknown labels, never as a match.
    const malformed = await review(body, '/validate/ns-labels/tier=prod=x');
    expect(malformed.allowed).toBe(false);
    await setPolicy(policyText());
  });

  test('mutate pins verified Pod images to their digest, keeping the tag', async () => {
    const body = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.signed }, { name: 'b', image: `${fx.images.signed2.replace(':v1', '')}@${fx.digests.signed2}` }] }) });
    const r = await review(body, '/mutate');
    expect(r.allowed).toBe(true);
    expect(r.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(r.patch!, 'base64').toString()) as unknown;
    expect(patch).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: `${fx.images.signed}@${fx.digests.signed}` }]);
    // The pinned form verifies on the validating side.
    const pinned = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: `${fx.images.signed}@${fx.digests.signed}` }] }) }));
    expect(pinned.allowed).toBe(true);
  });

  test('mutate never patches workload templates or unverified images', async () => {
    const dep = await review(admissionReview({ kind: 'Deployment', object: workload('Deployment', 'd', 'default', { containers: [{ name: 'a', image: fx.images.signed }] }) }), '/mutate');
    expect(dep).toEqual({ uid: dep.uid, allowed: true });
    const unsigned = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.unsigned }] }) }), '/mutate');
    expect(unsigned.patch).toBeUndefined();
    expect(unsigned.allowed).toBe(true);
  });

  test('a pinned digest that is not the signed one is denied on the validating side', async () => {
    const wrong = `${fx.images.signed}@${fx.digests.unsigned}`;
    const r = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: wrong }] }) }));
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain(fx.digests.unsigned);
  });

  test('malformed bodies get 400 with a clear error; oversized get 413; the server stays up', async () => {
    const notJson = await client.post('/validate', '{"apiVersion": ');
    expect(notJson.status).toBe(400);
    const wrongShape = await client.post('/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x' } });
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.json).toEqual({ error: 'BadRequest', message: 'not an AdmissionReview: request.kind must be {group, version, kind}' });
    const wrongImageReview = await client.post('/imagepolicy', { kind: 'AdmissionReview' });
    expect(wrongImageReview.status).toBe(400);
    const huge = await client.post('/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', pad: 'x'.repeat(300 * 1024) });
    expect(huge.status).toBe(413);
    expect((huge.json as { message: string }).message).toContain('larger than the limit');
    const wrongType = await client.post('/validate', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(wrongType.status).toBe(415);
    expect((await client.get('/healthz')).status).toBe(200);
  });

  test('one JSON log line per decision, with uid, object, images, digests, verdict, rule and reason', async () => {
    const body = admissionReview({ kind: 'Pod', uid: 'log-check-1', namespace: 'shop', name: 'web', object: workload('Pod', 'web', 'shop', { containers: [{ name: 'a', image: fx.images.unsigned }] }) });
    await review(body);
    const line = logs.find((l) => l['uid'] === 'log-check-1');
    expect(line).toMatchObject({ msg: 'admission decision', namespace: 'shop', object: 'Pod shop/web', verdict: 'denied', reason: 'UNSIGNED', policy: 'test' });
    expect(line!['images']).toEqual([expect.objectContaining({ container: 'a', image: fx.images.unsigned, digest: fx.digests.unsigned, verdict: 'denied', rule: 'apps', code: 'UNSIGNED' })]);
  });

  test('/metrics counts every review and image verdict exactly, cached or not', async () => {
    const scrape = async (): Promise<string> => (await client.get('/metrics')).text;
    const value = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };
    const allowed = 'signet_reviews_total{endpoint="validate",outcome="allowed",reason="none"}';
    const verified = 'signet_image_verdicts_total{outcome="allowed",code="none",mode="enforce"}';
    const untrusted = 'signet_image_verdicts_total{outcome="denied",code="UNTRUSTED_SIGNER",mode="enforce"}';
    const latency = 'signet_review_duration_seconds_count{endpoint="validate"}';
    const before = await scrape();
    // Two containers on the signed image per review: the second and third reviews come from the caches.
    for (let i = 0; i < 3; i++) {
      const r = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.signed }, { name: 'b', image: fx.images.signed }] }) }));
      expect(r.allowed).toBe(true);
    }
    await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.untrusted }] }) }));
    const after = await scrape();
    expect(value(after, allowed) - value(before, allowed)).toBe(3);
    expect(value(after, verified) - value(before, verified)).toBe(6);
    expect(value(after, untrusted) - value(before, untrusted)).toBe(1);
    expect(value(after, latency) - value(before, latency)).toBe(4);
  });

  test('/metrics exposes review counts by outcome and reason, and latency', async () => {
    for (const image of [fx.images.signed, fx.images.signed, fx.images.unsigned, fx.images.untrusted]) {
      await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image }] }) }));
    }
    const m = await client.get('/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/signet_reviews_total\{endpoint="validate",outcome="denied",reason="UNSIGNED"\} \d+/);
    expect(m.text).toMatch(/signet_image_verdicts_total\{outcome="denied",code="UNTRUSTED_SIGNER",mode="enforce"\} \d+/);
    expect(m.text).toContain('signet_review_duration_seconds_bucket');
    expect(m.text).toMatch(/signet_policy_info\{name="test",version="sha256:[0-9a-f]{64}"\} 1/);
    expect(m.text).toMatch(new RegExp(`signet_registry_requests_total\\{registry="${fx.registry.host.replace('.', '\\.')}",kind="manifest",outcome="200"\\} \\d+`));
    expect(m.text).toMatch(/signet_cache_lookups_total\{cache="verdict",result="hit"\} \d+/);
    expect(m.text).toMatch(/signet_cache_entries\{cache="verdict"\} [1-9]\d*/);
  });

  test('an invalid policy change is rejected; the previous policy stays in force', async () => {
    const before = (JSON.parse((await client.get('/readyz')).text) as { version: string }).version;
    writeFileSync(policyPath, 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules: [{name: x, images: ["UPPER/**"]}]\n');
    await new Promise((r) => setTimeout(r, 300));
    const after = JSON.parse((await client.get('/readyz')).text) as { version: string; status: string };
    expect(after).toMatchObject({ status: 'ready', version: before });
    expect(logs.some((l) => l['msg'] === 'policy change rejected; the previous policy stays in force')).toBe(true);
    const r = await review(admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.signed }] }) }));
    expect(r.allowed).toBe(true);
    writeFileSync(policyPath, policyText());
    await new Promise((r2) => setTimeout(r2, 300));
  });
});
