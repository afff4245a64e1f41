// Opt-in use of the pod's own imagePullSecrets: a private registry (real docker-registry with basic
// auth) reached with the credentials the kubelet will use, read from the pod's namespace.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, decryptPrivateKey } from '../../src/signatures/cosign/private-key.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { haveTools, startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { buildOciLayout, pushImage } from '../support/oci-image.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { admissionReview, podSpec } from '../support/admission.js';
import { startWebhookServer, type TestWebhook } from '../support/webhook-server.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;
const creds = { username: 'puller', password: 'pull-Secret-42' };

maybe('pull secrets from the pod', () => {
  let registry: RunningRegistry;
  let api: FakeKubeApi;
  let hook: TestWebhook;
  let dir: string;
  let image: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-pull-'));
    registry = await startRegistry({ basicAuth: creds });
    const layout = await buildOciLayout(join(dir, 'layout'), { seed: 'pull-secret' });
    await pushImage(layout, registry, 'private/app:1', { creds });
    image = `${registry.host}/private/app:1`;
    const key = generateKeyPair('pw');
    const signer = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true, credentials: creds } } });
    const privateKey = decryptPrivateKey(key.privateKeyPem, 'pw');
    const ref = parseReference(image);
    if (!privateKey.ok || !ref.ok) throw new Error('fixture');
    expect((await signImage({ client: signer, ref: ref.value, privateKey: privateKey.value, annotations: {} })).ok).toBe(true);
    await signer.close();

    api = await startFakeKubeApi();
    api.putConfigMap({
      namespace: 'signet',
      name: 'trust',
      labels: { 'signet.dev/trust': 'cluster' },
      data: {
        'policy.yaml': `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nkeys:\n  ci: {file: ci.pub}\nrules:\n  - name: private\n    images: ["${registry.host}/private/**"]\n    verify: [{type: cosign, keys: [ci]}]\n`,
        'ci.pub': key.publicKeyPem,
      },
    });
    const dockerconfig = JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } } });
    api.putSecret({ namespace: 'shop', name: 'regcred', type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': dockerconfig } });
    api.putServiceAccount({ namespace: 'shop', name: 'default' });
    hook = await startWebhookServer({
      trust: { kind: 'kube', kubeConfig: api.kubeConfig(), namespace: 'signet', tenants: false },
      pullSecrets: true,
      registry: { hosts: { [registry.host]: { insecureHttp: true } } },
    });
  }, 60_000);

  afterAll(async () => {
    await hook?.stop();
    await api?.close();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const review = async (withSecret: boolean) => {
    const spec = { ...podSpec({ containers: [{ name: 'app', image }] }), ...(withSecret ? { imagePullSecrets: [{ name: 'regcred' }] } : {}) };
    const body = admissionReview({ kind: 'Pod', namespace: 'shop', name: withSecret ? 'with' : 'without', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec } });
    const res = await hook.client.post('/validate', body);
    return (res.json as { response: { allowed: boolean; status?: { message: string } } }).response;
  };

  test('without a pull secret the private registry refuses the webhook: denied as REGISTRY_UNAUTHORIZED', async () => {
    const r = await review(false);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('REGISTRY_UNAUTHORIZED');
    expect(r.status?.message).not.toContain(creds.password);
  });

  test("with the pod's imagePullSecrets the image is verified and allowed", async () => {
    const r = await review(true);
    expect(r.allowed).toBe(true);
    expect(api.requests('get').some((q) => q.path.includes('/namespaces/shop/secrets/regcred'))).toBe(true);
  });
});
