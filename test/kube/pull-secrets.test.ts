// A private registry (real docker-registry with basic auth) reached with the pod's pull secret, read
// from the fake API server: the pod's own secrets, the service account's, legacy .dockercfg, caching,
// and nothing secret in any message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { createPullSecretProvider, credentialsFromSecret, type PullSecretOptions } from '../../src/kube/pull-secrets.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference, repositoryOf } from '../../src/reference/parse.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { haveTools, startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { buildOciLayout, pushImage, OCI_MANIFEST, sha256 } from '../support/oci-image.js';
import { startHostileRegistry } from '../support/hostile-registry.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;
const CREDS = { username: 'puller', password: 'pull-S3cret-9' };

maybe('image pull secrets', () => {
  let api: FakeKubeApi;
  let registry: RunningRegistry;
  let client: RegistryClient;
  let dir: string;
  let digest: string;
  let clock = 1_800_000_000_000;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-pull-secrets-'));
    [api, registry] = await Promise.all([startFakeKubeApi(), startRegistry({ basicAuth: CREDS })]);
    const layout = await buildOciLayout(join(dir, 'layout'), { seed: 'pull-secret' });
    digest = await pushImage(layout, registry, 'team/app:v1');
    client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });

    const auth = Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64');
    api.putSecret({ namespace: 'shop', name: 'regcred', type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { auth } } }) } });
    api.putSecret({ namespace: 'shop', name: 'legacy', type: 'kubernetes.io/dockercfg', stringData: { '.dockercfg': JSON.stringify({ [`http://${registry.host}`]: { auth, email: 'x@example.com' } }) } });
    api.putSecret({ namespace: 'shop', name: 'wrong', type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('puller:nope').toString('base64') } } }) } });
    api.putSecret({ namespace: 'shop', name: 'opaque', type: 'Opaque', stringData: { password: CREDS.password } });
    api.putServiceAccount({ namespace: 'shop', name: 'default', imagePullSecrets: ['regcred'] });
    api.putServiceAccount({ namespace: 'shop', name: 'builder' });
    // Another namespace holds a secret with the right credentials; a pod in shop can never use it.
    api.putSecret({ namespace: 'other', name: 'theirs', type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [registry.host]: { auth } } }) } });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await Promise.all([api?.close(), registry?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const provider = (overrides: Partial<PullSecretOptions> = {}) => {
    const problems: string[] = [];
    const made = createPullSecretProvider({ coreApi: api.kubeConfig().makeApiClient(CoreV1Api), onProblem: (message) => problems.push(message), now: () => clock, ...overrides });
    return { made, problems };
  };
  const repo = () => {
    const parsed = parseReference(`${registry.host}/team/app:v1`);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return repositoryOf(parsed.value);
  };

  test('the service account\'s pull secret opens the private registry; without it the registry refuses', async () => {
    const { made, problems } = provider();
    const credentials = await made.credentialsFor({ namespace: 'shop', podSpec: { containers: [{ name: 'app', image: `${registry.host}/team/app:v1` }] } });
    expect([...credentials.keys()]).toEqual([registry.host]);

    const anonymous = await client.resolve(repo(), 'v1');
    expect(anonymous.ok ? 'ok' : anonymous.error.code).toBe('UNAUTHORIZED');
    const withSecret = await client.resolve(repo(), 'v1', { credentials: credentials.get(registry.host)! });
    if (!withSecret.ok) throw new Error(withSecret.error.message);
    expect(withSecret.value.digest).toBe(digest);
    expect(problems).toEqual([]);
  });

  test('the pod\'s own secrets come first; legacy .dockercfg works; another namespace\'s secret is never read', async () => {
    const { made, problems } = provider();
    const legacy = await made.credentialsFor({ namespace: 'shop', podSpec: { serviceAccountName: 'builder', imagePullSecrets: [{ name: 'legacy' }] } });
    const fetched = await client.resolve(repo(), 'v1', { credentials: legacy.get(registry.host)! });
    expect(fetched.ok).toBe(true);

    // `wrong` is named by the pod, so it wins over the service account's good `regcred`, and the registry refuses it.
    const first = await made.credentialsFor({ namespace: 'shop', podSpec: { imagePullSecrets: [{ name: 'wrong' }] } });
    const refused = await client.resolve(repo(), 'v1', { credentials: first.get(registry.host)! });
    expect(refused.ok ? 'ok' : refused.error.code).toBe('UNAUTHORIZED');
    expect(refused.ok ? '' : refused.error.message).not.toContain('nope');

    const foreign = await made.credentialsFor({ namespace: 'shop', podSpec: { serviceAccountName: 'builder', imagePullSecrets: [{ name: 'theirs' }] } });
    expect(foreign.size).toBe(0);
    expect(problems).toEqual(['image pull secret shop/theirs does not exist']);
    expect(api.requests('get').every((request) => request.path.startsWith('/api/v1/namespaces/shop/'))).toBe(true);
  });

  test('unusable secrets are skipped with a reason that shows no secret value', async () => {
    const { made, problems } = provider();
    const credentials = await made.credentialsFor({ namespace: 'shop', podSpec: { serviceAccountName: 'ghost', imagePullSecrets: [{ name: 'opaque' }, { name: 'missing' }, { name: 'Not_A_Name' }] } });
    expect(credentials.size).toBe(0);
    expect(problems.sort()).toEqual([
      'image pull secret shop/missing does not exist',
      'image pull secret shop/opaque is not usable: its type is "Opaque", not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg',
      'service account shop/ghost does not exist',
    ]);
    expect(problems.join('\n')).not.toContain(CREDS.password);
  });

  test('lookups are cached for the TTL, shared while in flight, and an API error is retried soon', async () => {
    const { made, problems } = provider({ ttlMs: 30_000 });
    const before = api.requests('get').length;
    const spec = { imagePullSecrets: [{ name: 'regcred' }] };
    const all = await Promise.all(Array.from({ length: 10 }, () => made.credentialsFor({ namespace: 'shop', podSpec: spec })));
    expect(all.every((map) => map.size === 1)).toBe(true);
    expect(api.requests('get').length - before).toBe(2); // the service account and the one secret
    await made.credentialsFor({ namespace: 'shop', podSpec: spec });
    expect(api.requests('get').length - before).toBe(2);
    clock += 31_000;
    await made.credentialsFor({ namespace: 'shop', podSpec: spec });
    expect(api.requests('get').length - before).toBe(4);

    api.failNext('get', 503, 2);
    clock += 31_000;
    const during = await made.credentialsFor({ namespace: 'shop', podSpec: spec });
    expect(during.size).toBe(0);
    expect(problems).toEqual(['service account shop/default could not be read: HTTP 503: injected failure 503', 'image pull secret shop/regcred could not be read: HTTP 503: injected failure 503']);
    clock += 6_000; // failures are kept for 5 s only
    expect((await made.credentialsFor({ namespace: 'shop', podSpec: spec })).size).toBe(1);
  });

  test('credentialsFromSecret reads both formats and names only the problem', () => {
    const encode = (text: string): string => Buffer.from(text).toString('base64');
    const modern = credentialsFromSecret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': encode(JSON.stringify({ auths: { 'https://index.docker.io/v1/': { username: 'u', password: 'p' } } })) } });
    expect(modern.ok ? [...modern.value.entries()] : modern.error).toEqual([['docker.io', { username: 'u', password: 'p' }]]);
    const legacy = credentialsFromSecret({ type: 'kubernetes.io/dockercfg', data: { '.dockercfg': encode(JSON.stringify({ 'ghcr.io': { auth: encode('a:b') } })) } });
    expect(legacy.ok ? [...legacy.value.entries()] : legacy.error).toEqual([['ghcr.io', { username: 'a', password: 'b' }]]);
    expect(credentialsFromSecret({ type: 'kubernetes.io/dockercfg', data: { '.dockercfg': encode('not json s3cret') } })).toEqual({ ok: false, error: '.dockercfg is not valid JSON' });
    expect(credentialsFromSecret({ type: 'kubernetes.io/dockerconfigjson', data: {} })).toEqual({ ok: false, error: 'it has no .dockerconfigjson key' });
  });

  // docker-registry here has no token server, so the bearer flow is the in-process registry's.
  test('per-request credentials get bearer tokens of their own, never another identity\'s', async () => {
    const hostile = await startHostileRegistry();
    const tokenClient = new RegistryClient({ hosts: { [hostile.host]: { insecureHttp: true } } });
    try {
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(Buffer.from('{}')), size: 2 }, layers: [] }));
      hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'respond', headers: { 'content-type': OCI_MANIFEST }, body: manifest });
      hostile.requireBearer({ token: 'team-token', basicUser: { username: 'team', password: 'team-pw' } });
      const parsed = parseReference(`${hostile.host}/demo/app:v1`);
      if (!parsed.ok) throw new Error(parsed.error.message);
      const demo = repositoryOf(parsed.value);
      const team = { username: 'team', password: 'team-pw' };
      const tokens = (): number => hostile.requestsTo('/token').length;

      expect((await tokenClient.getManifest(demo, 'v1', { credentials: team })).ok).toBe(true);
      expect(tokens()).toBe(1);
      expect((await tokenClient.getManifest(demo, 'v1', { credentials: team })).ok).toBe(true);
      expect(tokens()).toBe(1); // cached for this identity

      // Another identity, and no identity at all, must each ask for themselves (and are refused here).
      const other = await tokenClient.getManifest(demo, 'v1', { credentials: { username: 'team', password: 'guess' } });
      expect(other.ok ? 'ok' : other.error.code).toBe('UNAUTHORIZED');
      const anonymous = await tokenClient.getManifest(demo, 'v1');
      expect(anonymous.ok ? 'ok' : anonymous.error.code).toBe('UNAUTHORIZED');
      expect(tokens()).toBe(3);
      expect(hostile.requestsTo('/token').map((request) => request.headers.authorization)).toEqual([
        `Basic ${Buffer.from('team:team-pw').toString('base64')}`,
        `Basic ${Buffer.from('team:guess').toString('base64')}`,
        undefined,
      ]);
    } finally {
      await tokenClient.close();
      await hostile.close();
    }
  });
});
