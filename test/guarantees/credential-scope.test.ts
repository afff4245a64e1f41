// Caches never cross a credential boundary (issue 13, section 4). With --pull-secrets, what one
// namespace learnt through its pull secret (that a private image exists, its digest, that it is signed)
// must not answer a review in a namespace without that secret. A real docker-registry with TLS and
// basic auth; the Kubernetes API is the fake one. Each test starts a fresh webhook so the order of
// reviews, and so the state of the caches, is the one the test names.
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

const tools = haveTools('docker-registry', 'skopeo', 'openssl', 'perl');
const maybe = tools ? describe : describe.skip;
const creds = { username: 'puller', password: 'pull-Secret-42' };

interface Response {
  readonly allowed: boolean;
  readonly status?: { readonly message: string };
}

maybe('caches are scoped by the credentials that filled them', () => {
  let registry: RunningRegistry;
  let api: FakeKubeApi;
  let dir: string;
  let signed: string;
  let signedDigest: string;
  let unsigned: string;
  let hook: TestWebhook | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-credscope-'));
    registry = await startRegistry({ tls: true, basicAuth: creds });
    const a = await buildOciLayout(join(dir, 'a'), { seed: 'cred-scope-signed' });
    const b = await buildOciLayout(join(dir, 'b'), { seed: 'cred-scope-unsigned' });
    signedDigest = await pushImage(a, registry, 'private/app:1', { creds });
    await pushImage(b, registry, 'private/plain:1', { creds });
    signed = `${registry.host}/private/app:1`;
    unsigned = `${registry.host}/private/plain:1`;
    const key = generateKeyPair('pw');
    const signer = new RegistryClient({ hosts: { [registry.host]: { caBundle: registry.caCertPem!, credentials: creds } } });
    const privateKey = decryptPrivateKey(key.privateKeyPem, 'pw');
    const ref = parseReference(signed);
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
    for (const namespace of ['shop', 'other']) api.putServiceAccount({ namespace, name: 'default' });
  }, 90_000);

  afterEach(async () => {
    await hook?.stop();
    hook = undefined;
  });

  afterAll(async () => {
    await api?.close();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<TestWebhook> => {
    hook = await startWebhookServer({
      trust: { kind: 'kube', kubeConfig: api.kubeConfig(), namespace: 'signet', tenants: false },
      pullSecrets: true,
      // The webhook trusts the registry's TLS certificate but has no credentials of its own for it.
      registry: { hosts: { [registry.host]: { caBundle: registry.caCertPem! } } },
    });
    return hook;
  };

  const review = async (webhook: TestWebhook, namespace: 'shop' | 'other', image: string): Promise<Response> => {
    const spec = { ...podSpec({ containers: [{ name: 'app', image }] }), ...(namespace === 'shop' ? { imagePullSecrets: [{ name: 'regcred' }] } : {}) };
    const body = admissionReview({ kind: 'Pod', namespace, name: 'p', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec } });
    const res = await webhook.client.post('/validate', body);
    expect(res.status).toBe(200);
    return (res.json as { response: Response }).response;
  };

  const refusedForLackOfCredentials = (r: Response): void => {
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain('REGISTRY_UNAUTHORIZED');
    expect(r.status?.message).toContain(`it requires credentials and none are configured for ${registry.host}`);
    expect(r.status?.message).not.toContain(creds.password);
  };

  test('a signed private image admitted with one namespace\'s pull secret is not admitted in a namespace without it (tag, then digest)', async () => {
    const webhook = await start();
    expect((await review(webhook, 'shop', signed)).allowed).toBe(true);
    // Twice: the second is the warm, cache-only path, which must not serve the first namespace's entry either.
    refusedForLackOfCredentials(await review(webhook, 'other', signed));
    refusedForLackOfCredentials(await review(webhook, 'other', signed));
    refusedForLackOfCredentials(await review(webhook, 'other', `${registry.host}/private/app@${signedDigest}`));
    // And the namespace with the secret is still served (its own entries are intact).
    expect((await review(webhook, 'shop', signed)).allowed).toBe(true);
  }, 60_000);

  test('a namespace without the secret does not learn that an unsigned private image exists, or that a tag does not', async () => {
    const webhook = await start();
    const inShop = await review(webhook, 'shop', unsigned);
    expect(inShop.allowed).toBe(false);
    expect(inShop.status?.message).toContain('UNSIGNED');
    const missing = await review(webhook, 'shop', `${registry.host}/private/app:gone`);
    expect(missing.allowed).toBe(false);
    expect(missing.status?.message).toContain('NOT_FOUND');
    refusedForLackOfCredentials(await review(webhook, 'other', unsigned));
    refusedForLackOfCredentials(await review(webhook, 'other', `${registry.host}/private/app:gone`));
  }, 60_000);

  test('the namespace without the secret first: its refusal is not cached, and the namespace with the secret is then admitted', async () => {
    const webhook = await start();
    refusedForLackOfCredentials(await review(webhook, 'other', signed));
    expect((await review(webhook, 'shop', signed)).allowed).toBe(true);
    refusedForLackOfCredentials(await review(webhook, 'other', signed));
  }, 60_000);
});
