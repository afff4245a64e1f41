// The CLI against a real docker-registry behind TLS (private CA) and basic auth: credentials from a
// Docker config file, the CA from --ca-file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, haveTools, type RunningRegistry } from '../support/registry-server.js';
import { buildOciLayout, pushImage } from '../support/oci-image.js';
import { signet } from '../support/cli.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;
const PASSWORD = { SIGNET_PASSWORD: 'pw' };

maybe('sign and verify through TLS and basic auth', () => {
  let registry: RunningRegistry;
  let dir: string;
  let image: string;
  let common: string[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-private-'));
    const creds = { username: 'ci-bot', password: 's3cret-Pa55' };
    registry = await startRegistry({ tls: true, basicAuth: creds });
    const layout = await buildOciLayout(join(dir, 'layout'), { seed: 'private' });
    await pushImage(layout, registry, 'team/app:1.0', { creds });
    image = `${registry.host}/team/app:1.0`;
    writeFileSync(join(dir, 'ca.pem'), registry.caCertPem!);
    writeFileSync(join(dir, 'docker.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } } }));
    writeFileSync(join(dir, 'policy.yaml'), `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nkeys:\n  ci: {file: ci.pub}\nrules:\n  - name: team\n    images: ["${registry.host}/team/**"]\n    verify: [{type: cosign, keys: [ci]}]\n`);
    expect((await signet(['keygen', '--output-key-prefix', join(dir, 'ci')], PASSWORD)).code).toBe(0);
    common = ['--ca-file', join(dir, 'ca.pem'), '--docker-config', join(dir, 'docker.json')];
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without credentials the registry refuses, and the message never shows a secret', async () => {
    const r = await signet(['verify', image, '--policy', join(dir, 'policy.yaml'), '--ca-file', join(dir, 'ca.pem')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('REGISTRY_UNAUTHORIZED');
    expect(r.stdout).not.toContain('s3cret');
  });

  test('without the CA the TLS handshake fails closed', async () => {
    const r = await signet(['verify', image, '--policy', join(dir, 'policy.yaml'), '--docker-config', join(dir, 'docker.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('REGISTRY_UNREACHABLE');
  });

  test('with credentials and CA: unsigned is denied, then signed is allowed', async () => {
    const before = await signet(['verify', image, '--policy', join(dir, 'policy.yaml'), ...common]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('UNSIGNED');
    const sign = await signet(['sign', image, '--key', join(dir, 'ci.key'), ...common], PASSWORD);
    expect(sign.code).toBe(0);
    const after = await signet(['verify', image, '--policy', join(dir, 'policy.yaml'), ...common]);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('cosign signature by ci');
    expect(after.stdout + sign.stdout + sign.stderr).not.toContain('s3cret');
  });
});
