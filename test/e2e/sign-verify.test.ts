// End to end against a real docker-registry: images pushed by skopeo, keys from `signet keygen`,
// signatures from `signet sign`, decisions from `signet verify`; what sign wrote is checked
// independently (raw registry bytes, sha256, openssl).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { request } from 'undici';
import { startRegistry, haveTools, type RunningRegistry } from '../support/registry-server.js';
import { buildOciLayout, pushImage, corruptBlob, type OciLayout } from '../support/oci-image.js';
import { startHostileRegistry } from '../support/hostile-registry.js';
import { freePort } from '../support/free-port.js';
import { signet } from '../support/cli.js';

const PASSWORD = { SIGNET_PASSWORD: 'correct horse battery staple' };
const available = haveTools('docker-registry', 'skopeo', 'openssl');
const maybe = available ? describe : describe.skip;

maybe('signet sign and verify against a real registry', () => {
  let registry: RunningRegistry;
  let dir: string;
  let layouts: Record<string, OciLayout>;
  let policyPath: string;
  const digests: Record<string, string> = {};
  const img = (repoTag: string): string => `${registry.host}/${repoTag}`;
  const net = (): string[] => ['--insecure-registry', registry.host];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-e2e-'));
    registry = await startRegistry();
    layouts = {};
    for (const seed of ['app', 'other', 'moved', 'corrupt', 'copy']) {
      layouts[seed] = await buildOciLayout(join(dir, `layout-${seed}`), { seed });
    }
    layouts['multi'] = await buildOciLayout(join(dir, 'layout-multi'), {
      seed: 'multi',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    });
    const pushes: [string, string][] = [
      ['app', 'demo/app:v1'],
      ['app', 'demo/app:moving'],
      ['other', 'demo/other:v1'],
      ['corrupt', 'demo/corrupt:v1'],
      ['copy', 'demo/app:unsigned'],
      ['multi', 'demo/multi:v1'],
    ];
    for (const [layout, target] of pushes) digests[target] = await pushImage(layouts[layout]!, registry, target);

    for (const name of ['release', 'backup', 'stranger']) {
      const r = await signet(['keygen', '--output-key-prefix', join(dir, name)], PASSWORD);
      expect(r).toMatchObject({ code: 0 });
    }
    policyPath = join(dir, 'policy.yaml');
    writeFileSync(
      policyPath,
      `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: e2e}
keys:
  release: {file: release.pub}
  backup: {file: backup.pub}
rules:
  - name: two-keys
    images: ["${registry.host}/demo/dual"]
    verify:
      - type: cosign
        keys: [release, backup]
        threshold: 2
  - name: prod-annotated
    images: ["${registry.host}/demo/other"]
    verify:
      - type: cosign
        keys: [release, backup]
        annotations: {env: prod}
  - name: demo
    images: ["${registry.host}/demo/**"]
    verify:
      - type: cosign
        keys: [release]
`,
    );
    const signs: [string, string, string[]][] = [
      ['demo/app:v1', 'release', []],
      ['demo/corrupt:v1', 'release', []],
      ['demo/multi:v1', 'release', []],
      ['demo/other:v1', 'stranger', []],
      ['demo/other:v1', 'release', ['-a', 'env=staging']],
    ];
    for (const [target, key, extra] of signs) {
      const r = await signet(['sign', img(target), '--key', join(dir, `${key}.key`), ...extra, ...net()], PASSWORD);
      expect(r.stderr).toContain('Signed');
      expect(r.code).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const verify = (image: string, extra: string[] = []) => signet(['verify', image, '--policy', policyPath, ...net(), ...extra]);

  test('a signed image is allowed, naming the digest, rule and key', async () => {
    const r = await verify(img('demo/app:v1'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`ALLOW ${img('demo/app:v1')}`);
    expect(r.stdout).toContain(`digest:  ${digests['demo/app:v1']}`);
    expect(r.stdout).toContain('rule:    demo');
    expect(r.stdout).toContain('allowed: cosign signature by release');
  });

  test('what sign wrote is a cosign signature, checked without Signet: registry bytes, sha256 and openssl', async () => {
    const digest = digests['demo/app:v1']!;
    const tag = `${digest.replace(':', '-')}.sig`;
    const res = await request(`${registry.url}/v2/demo/app/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const manifestBytes = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(res.headers['docker-content-digest']).toBe(`sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`);
    const manifest = JSON.parse(manifestBytes.toString()) as { layers: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[] };
    expect(manifest.layers).toHaveLength(1);
    const layer = manifest.layers[0]!;
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const blob = await request(`${registry.url}/v2/demo/app/blobs/${layer.digest}`);
    const payload = Buffer.from(await blob.body.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(payload).digest('hex')}`).toBe(layer.digest);
    expect(payload.length).toBe(layer.size);
    const claims = JSON.parse(payload.toString()) as { critical: { image: { 'docker-manifest-digest': string }; type: string; identity: { 'docker-reference': string } } };
    // The digest skopeo pushed, computed from the layout bytes we wrote: not from Signet's resolver.
    expect(claims.critical.image['docker-manifest-digest']).toBe(`sha256:${createHash('sha256').update(layouts['app']!.manifestBytes).digest('hex')}`);
    expect(claims.critical.type).toBe('cosign container image signature');
    expect(claims.critical.identity['docker-reference']).toBe(`${registry.host}/demo/app`);
    writeFileSync(join(dir, 'payload.bin'), payload);
    writeFileSync(join(dir, 'sig.der'), Buffer.from(layer.annotations['dev.cosignproject.cosign/signature']!, 'base64'));
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'release.pub'), '-signature', join(dir, 'sig.der'), join(dir, 'payload.bin')], { encoding: 'utf8' });
    expect(out.trim()).toBe('Verified OK');
  });

  test('an unsigned image is denied as UNSIGNED with the sign command to run', async () => {
    const r = await verify(img('demo/app:unsigned'));
    expect(r.code).toBe(1);
    const digest = digests['demo/app:unsigned']!;
    expect(r.stdout).toContain(`denied:  UNSIGNED: no cosign signature found (looked for tag ${digest.replace(':', '-')}.sig and Sigstore bundle referrers in ${registry.host}/demo/app)`);
    expect(r.stdout).toContain(`fix:     sign it with: signet sign ${registry.host}/demo/app:unsigned@${digest} --key <private key of release>`);
  });

  test('an image signed only by an untrusted key is UNTRUSTED_SIGNER, naming the keys tried', async () => {
    const r = await verify(img('demo/other:v1'), ['-o', 'json']);
    expect(r.code).toBe(1);
    const [v] = JSON.parse(r.stdout) as [{ outcome: string; code: string; reason: string; checks: { reason?: string }[] }];
    // release did sign, but with env=staging; stranger's signature is not trusted. The more specific wins.
    expect(v.code).toBe('MISSING_ANNOTATION');
    expect(v.checks.map((c) => c.reason).sort()).toEqual(['MISSING_ANNOTATION', 'UNTRUSTED_SIGNER']);
    expect(v.reason).toContain('env');
  });

  test('untrusted signer alone', async () => {
    const r1 = await signet(['sign', img('demo/app:moving'), '--key', join(dir, 'stranger.key'), ...net()], PASSWORD);
    expect(r1.code).toBe(0);
    // demo/app:moving has the same digest as v1, which release signed: still allowed (a trusted key signed it).
    expect((await verify(img('demo/app:moving'))).code).toBe(0);
    const copyTarget = 'demo/untrusted-only:v1';
    digests[copyTarget] = await pushImage(layouts['moved']!, registry, copyTarget);
    expect((await signet(['sign', img(copyTarget), '--key', join(dir, 'stranger.key'), ...net()], PASSWORD)).code).toBe(0);
    const r = await verify(img(copyTarget));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('denied:  UNTRUSTED_SIGNER: ');
    expect(r.stdout).toContain('release');
    expect(r.stdout).toContain('fix:     sign it with a key rule demo trusts (release), or ask your platform team to trust your key for');
  });

  test('a tag moved to new content after signing resolves to the new digest, which is unsigned', async () => {
    const target = 'demo/app:release';
    await pushImage(layouts['app']!, registry, target);
    expect((await verify(img(target))).code).toBe(0);
    const moved = await pushImage(layouts['moved']!, registry, target);
    const r = await verify(img(target));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`digest:  ${moved}`);
    expect(r.stdout).toContain('UNSIGNED');
  });

  test('a valid signature copied onto another digest is DIGEST_MISMATCH', async () => {
    const from = digests['demo/app:v1']!;
    const to = digests['demo/app:unsigned']!;
    const src = await request(`${registry.url}/v2/demo/app/manifests/${from.replace(':', '-')}.sig`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const bytes = Buffer.from(await src.body.arrayBuffer());
    const copyRepo = 'demo/app';
    const put = await request(`${registry.url}/v2/${copyRepo}/manifests/${to.replace(':', '-')}.sig`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: bytes,
    });
    await put.body.dump();
    expect(put.statusCode).toBe(201);
    const r = await verify(img('demo/app:unsigned'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`denied:  DIGEST_MISMATCH: `);
    expect(r.stdout).toContain(from);
  });

  test('a tampered signature does not verify', async () => {
    const target = 'demo/tampered:v1';
    const d = await pushImage(layouts['other']!, registry, target);
    expect((await signet(['sign', img(target), '--key', join(dir, 'release.key'), ...net()], PASSWORD)).code).toBe(0);
    expect((await verify(img(target))).code).toBe(0);
    const url = `${registry.url}/v2/demo/tampered/manifests/${d.replace(':', '-')}.sig`;
    const src = await request(url, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const manifest = JSON.parse(Buffer.from(await src.body.arrayBuffer()).toString()) as { layers: { annotations: Record<string, string> }[] };
    const sig = Buffer.from(manifest.layers[0]!.annotations['dev.cosignproject.cosign/signature']!, 'base64');
    sig[sig.length - 2] = sig[sig.length - 2]! ^ 0x01;
    manifest.layers[0]!.annotations['dev.cosignproject.cosign/signature'] = sig.toString('base64');
    const put = await request(url, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: JSON.stringify(manifest) });
    await put.body.dump();
    expect(put.statusCode).toBe(201);
    const r = await verify(img(target));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('denied:  UNTRUSTED_SIGNER: ');
    expect(r.stdout).toContain('release');
  });

  test('a payload changed in the registry storage after signing is BAD_SIGNATURE (payload does not match its digest)', async () => {
    const d = digests['demo/corrupt:v1']!;
    const src = await request(`${registry.url}/v2/demo/corrupt/manifests/${d.replace(':', '-')}.sig`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const manifest = JSON.parse(Buffer.from(await src.body.arrayBuffer()).toString()) as { layers: { digest: string }[] };
    expect((await verify(img('demo/corrupt:v1'))).code).toBe(0);
    await corruptBlob(registry, manifest.layers[0]!.digest as never);
    const r = await verify(img('demo/corrupt:v1'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('denied:  BAD_SIGNATURE: ');
    expect(r.stdout).toContain(manifest.layers[0]!.digest);
  });

  test('a multi-arch image is verified on its index digest', async () => {
    const r = await verify(img('demo/multi:v1'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`digest:  ${layouts['multi']!.manifestDigest}`);
    expect(layouts['multi']!.mediaType).toBe('application/vnd.oci.image.index.v1+json');
  });

  test('a second signer is appended, never replacing the first; a 2-of-2 rule then passes', async () => {
    const target = 'demo/dual:v1';
    digests[target] = await pushImage(layouts['other']!, registry, target);
    expect((await signet(['sign', img(target), '--key', join(dir, 'release.key'), ...net()], PASSWORD)).code).toBe(0);
    const one = await verify(img(target));
    expect(one.code).toBe(1);
    expect(one.stdout).toContain('THRESHOLD_NOT_MET: 2 distinct trusted signers are required but only 1 signed (release); not signed by: backup');
    const second = await signet(['sign', img(target), '--key', join(dir, 'backup.key'), ...net()], PASSWORD);
    expect(JSON.parse(second.stdout)).toMatchObject({ signatures: 2 });
    const both = await verify(img(target));
    expect(both.code).toBe(0);
    expect(both.stdout).toContain('cosign signature by release, backup');
    // Signing again with the same key changes nothing.
    const again = await signet(['sign', img(target), '--key', join(dir, 'backup.key'), ...net()], PASSWORD);
    expect(again.stderr).toContain('Already signed');
  });

  test('several images at once: exit 1 if any is denied, each reported', async () => {
    const r = await signet(['verify', img('demo/app:v1'), img('demo/app:unsigned'), '--policy', policyPath, ...net(), '-o', 'json']);
    expect(r.code).toBe(1);
    const verdicts = JSON.parse(r.stdout) as { outcome: string }[];
    expect(verdicts.map((v) => v.outcome)).toEqual(['allowed', 'denied']);
  });

  test('a nonexistent image is NOT_FOUND', async () => {
    const r = await verify(img('demo/app:does-not-exist'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('denied:  NOT_FOUND: ');
    expect(r.stdout).toContain('does-not-exist');
  });

  test('a digest the registry does not have is NOT_FOUND, not UNSIGNED, with the fix to check the reference', async () => {
    const missing = `sha256:${'0'.repeat(63)}1`;
    const r = await verify(`${registry.host}/demo/app@${missing}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`denied:  NOT_FOUND: looking up the image: `);
    expect(r.stdout).toContain(missing);
    expect(r.stdout).toContain(`fix:     check the image name and tag, and that it was pushed to ${registry.host}`);
    expect(r.stdout).not.toContain('UNSIGNED');
    // A digest the repository has, unsigned, stays UNSIGNED.
    const fresh = await pushImage(await buildOciLayout(join(dir, 'layout-fresh'), { seed: 'fresh' }), registry, 'demo/fresh:v1');
    const present = await verify(`${registry.host}/demo/fresh@${fresh}`);
    expect(present.stdout).toContain('denied:  UNSIGNED: ');
  });

  test('a registry that is down is REGISTRY_UNREACHABLE, quickly', async () => {
    const port = await freePort();
    const policy = join(dir, 'down-policy.yaml');
    writeFileSync(policy, readFileSync(policyPath, 'utf8').replace(`- name: demo\n    images: ["${registry.host}/demo/**"]`, `- name: demo\n    images: ["127.0.0.1:${port}/demo/**"]`));
    const started = Date.now();
    const r = await signet(['verify', `127.0.0.1:${port}/demo/app:v1`, '--policy', policy, '--insecure-registry', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('REGISTRY_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('a registry that stalls is cut off at the deadline with TIMEOUT', async () => {
    const hostile = await startHostileRegistry();
    try {
      hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'stall' });
      const policy = join(dir, 'stall-policy.yaml');
      writeFileSync(policy, readFileSync(policyPath, 'utf8').replace(`- name: demo\n    images: ["${registry.host}/demo/**"]`, `- name: demo\n    images: ["${hostile.host}/demo/**"]`));
      const started = Date.now();
      const r = await signet(['verify', `${hostile.host}/demo/app:v1`, '--policy', policy, '--insecure-registry', hostile.host, '--timeout', '1s']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await hostile.close();
    }
  });

  test('usage and configuration errors exit 2 with a message', async () => {
    expect(await signet(['verify', img('demo/app:v1')])).toMatchObject({ code: 2 });
    const bad = await signet(['verify', img('demo/app:v1'), '--policy', join(dir, 'missing.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('missing.yaml');
    const wrongPw = await signet(['sign', img('demo/app:v1'), '--key', join(dir, 'release.key'), ...net()], { SIGNET_PASSWORD: 'wrong' });
    expect(wrongPw.code).toBe(2);
    expect(wrongPw.stderr).toMatch(/passphrase|password/i);
  });
});
