// manifests/gen-certs.sh, run for real (openssl) on a copy of manifests/: the Secret it writes, the
// caBundle it fills in, CA reuse for rotation, and every refusal with the message an admin reads.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { at, findObject, renderChart } from '../chart/support/helm.js';
import { schemaProblems, unknownFields } from '../chart/support/k8s-validate.js';
import { MANIFESTS_DIR, copyManifests, pathWithoutKubectl, readManifests, runGenCerts, tempDir } from './support.js';

interface SecretFile {
  metadata: { name: string; namespace: string };
  type: string;
  data: Record<string, string>;
}

function cert(base64: string): X509Certificate {
  return new X509Certificate(Buffer.from(base64, 'base64'));
}

function caBundles(manifestsDir: string): string[] {
  return readManifests(manifestsDir)
    .filter((d) => d.object.kind.endsWith('WebhookConfiguration'))
    .map((d) => at(d.object, 'webhooks', 0, 'clientConfig', 'caBundle') as string);
}

describe('manifests/gen-certs.sh', () => {
  let work: string;
  let tmp: string;
  beforeEach(() => {
    work = tempDir('gen-certs');
    tmp = tempDir('gen-certs-tmp');
  });
  afterEach(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a kubernetes.io/tls Secret whose certificate chains to the CA it puts into both caBundles, and leaves no temporary files', async () => {
    const manifests = copyManifests(work);
    const secretFile = join(work, 'secret.yaml');
    const run = runGenCerts(['--manifests', manifests, '--secret-file', secretFile], { TMPDIR: tmp });
    expect(run.stderr).toContain('its key is discarded');
    expect(run.status).toBe(0);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(tmp)).toEqual([]);

    const secret = parse(readFileSync(secretFile, 'utf8')) as SecretFile;
    expect(schemaProblems(secret as never)).toBe('');
    expect(unknownFields(secret as never)).toEqual([]);
    expect(secret.metadata).toMatchObject({ name: 'signet-tls', namespace: 'signet' });
    // The same shape as the Secret the chart makes, which the Deployment mounts.
    const chartSecret = findObject(await renderChart(), 'Secret', 'signet-tls');
    expect(secret.type).toBe(at(chartSecret, 'type'));
    expect(Object.keys(secret.data).sort()).toEqual(Object.keys(at(chartSecret, 'data') as object).sort());

    const bundles = caBundles(manifests);
    expect(bundles).toEqual([secret.data['ca.crt'], secret.data['ca.crt']]);
    const ca = cert(bundles[0]!);
    const leaf = cert(secret.data['tls.crt']!);
    expect(ca.ca).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost('signet.signet.svc')).toBe('signet.signet.svc');
    expect(leaf.subjectAltName?.split(', ').sort()).toEqual(['DNS:signet', 'DNS:signet.signet', 'DNS:signet.signet.svc', 'DNS:signet.signet.svc.cluster.local']);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(leaf.checkPrivateKey(createPrivateKey(Buffer.from(secret.data['tls.key']!, 'base64')))).toBe(true);
    // Only the caBundle lines changed.
    const committed = readFileSync(join(MANIFESTS_DIR, '70-webhooks.yaml'), 'utf8').split('\n');
    const patched = readFileSync(join(manifests, '70-webhooks.yaml'), 'utf8').split('\n');
    expect(patched).toHaveLength(committed.length);
    const changed = committed.flatMap((line, i) => (line === patched[i] ? [] : [[line.trim(), patched[i]!.trim()]]));
    expect(changed).toEqual([
      ['caBundle: "PLACEHOLDER-run-manifests/gen-certs.sh"', `caBundle: ${bundles[0]}`],
      ['caBundle: "PLACEHOLDER-run-manifests/gen-certs.sh"', `caBundle: ${bundles[0]}`],
    ]);
  });

  it('reuses the CA kept in --ca-dir: a new certificate and key, the same caBundle (rotation without a window)', () => {
    const manifests = copyManifests(work);
    const caDir = join(work, 'ca');
    expect(runGenCerts(['--manifests', manifests, '--secret-file', join(work, 's1.yaml'), '--ca-dir', caDir]).status).toBe(0);
    expect(statSync(join(caDir, 'ca.key')).mode & 0o777).toBe(0o600);
    const firstBundles = caBundles(manifests);
    const first = parse(readFileSync(join(work, 's1.yaml'), 'utf8')) as SecretFile;

    const second = runGenCerts(['--manifests', manifests, '--secret-file', join(work, 's2.yaml'), '--ca-dir', caDir]);
    expect(second.status).toBe(0);
    expect(second.stderr).toContain(`reusing the CA in ${caDir}; caBundle stays the same`);
    expect(second.stderr).not.toContain('warning');
    const rotated = parse(readFileSync(join(work, 's2.yaml'), 'utf8')) as SecretFile;
    expect(caBundles(manifests)).toEqual(firstBundles);
    expect(rotated.data['ca.crt']).toBe(first.data['ca.crt']);
    expect(rotated.data['tls.crt']).not.toBe(first.data['tls.crt']);
    expect(rotated.data['tls.key']).not.toBe(first.data['tls.key']);
    expect(cert(rotated.data['tls.crt']!).checkIssued(cert(firstBundles[0]!))).toBe(true);
  });

  it('names the certificate and Secret after --service and --namespace', () => {
    const manifests = copyManifests(work);
    expect(runGenCerts(['--manifests', manifests, '--secret-file', join(work, 's.yaml'), '--namespace', 'security', '--service', 'image-signatures', '--days', '30']).status).toBe(0);
    const secret = parse(readFileSync(join(work, 's.yaml'), 'utf8')) as SecretFile;
    expect(secret.metadata.namespace).toBe('security');
    const leaf = cert(secret.data['tls.crt']!);
    expect(leaf.checkHost('image-signatures.security.svc')).toBe('image-signatures.security.svc');
    expect(Math.round((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000)).toBe(30);
  });

  it('without kubectl and without --secret-file, stops before changing anything and says what to do', () => {
    const manifests = copyManifests(work);
    const original = readFileSync(join(manifests, '70-webhooks.yaml'), 'utf8');
    const run = runGenCerts(['--manifests', manifests], { PATH: pathWithoutKubectl(work) });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('gen-certs.sh: kubectl not found; install it, or write the Secret to a file with --secret-file FILE\n');
    expect(readFileSync(join(manifests, '70-webhooks.yaml'), 'utf8')).toBe(original);
  });

  it.each([
    [['--bogus'], 2, 'gen-certs.sh: unknown option --bogus'],
    [['--days'], 2, 'gen-certs.sh: --days needs a value'],
    [['--days', '0', '--secret-file', 'x'], 1, 'gen-certs.sh: --days must be a whole number of days from 1 to 99999, got "0"'],
    [['--days', 'ten', '--secret-file', 'x'], 1, 'gen-certs.sh: --days must be a whole number of days from 1 to 99999, got "ten"'],
    [['--namespace', 'Signet', '--secret-file', 'x'], 1, 'gen-certs.sh: --namespace "Signet" is not a Kubernetes namespace name'],
    [['--service', 'signet.svc', '--secret-file', 'x'], 1, 'gen-certs.sh: --service "signet.svc" is not a Kubernetes Service name'],
  ])('refuses %j with exit %d and %s', (args, status, message) => {
    const run = runGenCerts(args as string[]);
    expect(run.status).toBe(status);
    expect(run.stderr.split('\n')[0]).toBe(message);
    if (status === 2) expect(run.stderr).toContain('Usage: manifests/gen-certs.sh');
  });

  it('refuses a directory without 70-webhooks.yaml, and a CA whose certificate and key do not belong together', () => {
    const empty = runGenCerts(['--manifests', work, '--secret-file', join(work, 's.yaml')]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toBe(`gen-certs.sh: ${work}/70-webhooks.yaml not found; point --manifests at the manifests directory\n`);

    const manifests = copyManifests(work);
    const caA = join(work, 'ca-a');
    const caB = join(work, 'ca-b');
    expect(runGenCerts(['--manifests', manifests, '--secret-file', join(work, 'a.yaml'), '--ca-dir', caA]).status).toBe(0);
    expect(runGenCerts(['--manifests', manifests, '--secret-file', join(work, 'b.yaml'), '--ca-dir', caB]).status).toBe(0);
    const mixed = join(work, 'ca-mixed');
    copyFile(join(caA, 'ca.crt'), join(mixed, 'ca.crt'));
    copyFile(join(caB, 'ca.key'), join(mixed, 'ca.key'));
    const bundleBefore = caBundles(manifests);
    const run = runGenCerts(['--manifests', manifests, '--secret-file', join(work, 'c.yaml'), '--ca-dir', mixed]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`gen-certs.sh: ${mixed}/ca.crt and ${mixed}/ca.key do not belong together\n`);
    expect(caBundles(manifests)).toEqual(bundleBefore);
  });
});

function copyFile(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, readFileSync(from));
}
