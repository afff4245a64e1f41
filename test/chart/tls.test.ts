// The chart's own TLS (no cert-manager): the CA and serving certificate Helm generates (genCA,
// genSignedCert), and what it keeps on upgrade, found through `lookup`. Rendered by the real Helm; for
// upgrades against support/lookup-cluster.ts, which holds the Secrets a previous install left.
import { X509Certificate } from 'node:crypto';
import { at, describeHelm, findObject, renderChart, renderError, type RenderedChart, type RenderOptions } from './support/helm.js';
import { startLookupCluster, type LookupCluster } from './support/lookup-cluster.js';

const DNS_NAMES = ['signet', 'signet.signet', 'signet.signet.svc', 'signet.signet.svc.cluster.local'];

function secretData(rendered: RenderedChart, name: string): Record<string, string> {
  return at(findObject(rendered, 'Secret', name), 'data') as Record<string, string>;
}

function pem(base64: string): X509Certificate {
  return new X509Certificate(Buffer.from(base64, 'base64'));
}

function caBundles(rendered: RenderedChart): string[] {
  return (['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const).map((kind) => at(findObject(rendered, kind), 'webhooks', 0, 'clientConfig', 'caBundle') as string);
}

type SecretObject = { metadata: { annotations: Record<string, string> }; data: Record<string, string> };

/** The Secrets of `rendered` as a cluster holds them after installing it, each changed by `edit` first. */
function installed(rendered: RenderedChart, only: readonly string[] = ['signet-ca', 'signet-tls'], edit: (name: string, secret: SecretObject) => void = () => undefined): (cluster: LookupCluster) => void {
  return (cluster) => {
    for (const name of only) {
      const secret = structuredClone(findObject(rendered, 'Secret', name)) as unknown as SecretObject;
      edit(name, secret);
      cluster.put(secret as unknown as Record<string, unknown>);
    }
  };
}

/** `helm upgrade`'s rendering: against a cluster holding what `fill` puts there. */
async function withCluster<T>(fill: (cluster: LookupCluster) => void, render: (cluster: LookupCluster) => Promise<T>): Promise<T> {
  const cluster = await startLookupCluster();
  try {
    fill(cluster);
    return await render(cluster);
  } finally {
    await cluster.close();
  }
}

function upgrade(fill: (cluster: LookupCluster) => void, options: RenderOptions = {}): Promise<RenderedChart> {
  return withCluster(fill, (cluster) => renderChart({ ...options, cluster, isUpgrade: true }));
}

function days(cert: X509Certificate): number {
  return Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000);
}

describeHelm('chart-generated TLS (helm template; upgrades rendered against a cluster that `lookup` asks)', () => {
  let first: RenderedChart;
  beforeAll(async () => {
    first = await renderChart();
  });

  it('makes a CA and a serving certificate for the Service DNS names, and puts the CA in both caBundles', async () => {
    const ca = secretData(first, 'signet-ca');
    const tls = secretData(first, 'signet-tls');
    expect(Object.keys(tls).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(at(findObject(first, 'Secret', 'signet-tls'), 'type')).toBe('kubernetes.io/tls');
    expect(caBundles(first)).toEqual([ca['tls.crt'], ca['tls.crt']]);
    expect(tls['ca.crt']).toBe(ca['tls.crt']);

    const caCert = pem(ca['tls.crt']!);
    const leaf = pem(tls['tls.crt']!);
    expect(caCert.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.checkIssued(caCert)).toBe(true);
    // The API server dials https://signet.signet.svc:443 and checks that name.
    expect(leaf.checkHost('signet.signet.svc')).toBe('signet.signet.svc');
    expect(leaf.subjectAltName?.split(', ').sort()).toEqual(DNS_NAMES.map((n) => `DNS:${n}`).sort());
    expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    expect(days(caCert)).toBe(3650);
    expect(days(leaf)).toBe(3650);
  });

  it('keeps the CA, certificate and key on upgrade when both Secrets exist', async () => {
    let asked: readonly string[] = [];
    const upgraded = await withCluster(installed(first), async (cluster) => {
      const rendered = await renderChart({ cluster, isUpgrade: true });
      asked = cluster.gets();
      return rendered;
    });
    // Helm's lookup really asked the cluster (the stand-in is not bypassed).
    expect(asked).toEqual(['/api/v1/namespaces/signet/secrets/signet-ca', '/api/v1/namespaces/signet/secrets/signet-tls']);
    expect(secretData(upgraded, 'signet-ca')).toEqual(secretData(first, 'signet-ca'));
    expect(secretData(upgraded, 'signet-tls')).toEqual(secretData(first, 'signet-tls'));
    expect(caBundles(upgraded)).toEqual(caBundles(first));
  });

  it('reissues a missing serving certificate from the kept CA, so caBundle does not change (rotation without a window)', async () => {
    const rotated = await upgrade(installed(first, ['signet-ca']));
    expect(caBundles(rotated)).toEqual(caBundles(first));
    const tls = secretData(rotated, 'signet-tls');
    expect(tls['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
    expect(tls['tls.key']).not.toBe(secretData(first, 'signet-tls')['tls.key']);
    expect(pem(tls['tls.crt']!).checkIssued(pem(secretData(first, 'signet-ca')['tls.crt']!))).toBe(true);
  });

  it('makes a new CA and certificate when the CA Secret is gone, never keeping a certificate the new caBundle would not trust', async () => {
    const fresh = await upgrade(installed(first, ['signet-tls']));
    expect(caBundles(fresh)[0]).not.toBe(caBundles(first)[0]);
    const tls = secretData(fresh, 'signet-tls');
    expect(tls['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
    expect(pem(tls['tls.crt']!).verify(pem(caBundles(fresh)[0]!).publicKey)).toBe(true);
  });

  it('reissues the certificate when the Service name changed, because the old one names other hosts', async () => {
    const reissued = await upgrade(
      installed(first, undefined, (name, secret) => {
        if (name === 'signet-tls') secret.metadata.annotations['signet.dev/dns-names'] = 'old-name,old-name.signet,old-name.signet.svc,old-name.signet.svc.cluster.local';
      }),
    );
    expect(caBundles(reissued)).toEqual(caBundles(first));
    expect(secretData(reissued, 'signet-tls')['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
    expect(pem(secretData(reissued, 'signet-tls')['tls.crt']!).checkHost('signet.signet.svc')).toBe('signet.signet.svc');
  });

  it('stops with an error, rather than issuing anything, when the kept CA Secret is corrupt', async () => {
    const notACertificate = installed(first, undefined, (name, secret) => {
      if (name === 'signet-ca') secret.data['tls.crt'] = Buffer.from('not a certificate').toString('base64');
    });
    expect(await withCluster(notACertificate, (cluster) => renderError({ cluster, isUpgrade: true }))).toMatch(/error calling buildCustomCert: unable to decode certificate/);
    // Sprig's buildCustomCert does not check that the key belongs to the certificate; signing with it does.
    const foreignKey = installed(first, ['signet-ca'], (_name, secret) => {
      secret.data['tls.key'] = secretData(first, 'signet-tls')['tls.key']!;
    });
    expect(await withCluster(foreignKey, (cluster) => renderError({ cluster, isUpgrade: true }))).toMatch(/error calling genSignedCert: error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey/);
  });

  it('records the serving certificate’s expiry in signet.dev/not-after, matching the certificate', async () => {
    const notAfter = findObject(first, 'Secret', 'signet-tls').metadata.annotations?.['signet.dev/not-after'];
    expect(notAfter).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const leaf = pem(secretData(first, 'signet-tls')['tls.crt']!);
    expect(Math.abs(Date.parse(notAfter!) - Date.parse(leaf.validTo))).toBeLessThanOrEqual(60_000);
  });

  it.each([
    ['within tls.renewBeforeDays of its expiry', (secret: SecretObject) => (secret.metadata.annotations['signet.dev/not-after'] = new Date(Date.now() + 10 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'))],
    ['past its expiry', (secret: SecretObject) => (secret.metadata.annotations['signet.dev/not-after'] = '2020-01-01T00:00:00Z')],
    ['with no recorded expiry (made by an older chart)', (secret: SecretObject) => delete secret.metadata.annotations['signet.dev/not-after']],
  ])('renews the serving certificate on upgrade when it is %s, from the kept CA, so caBundle does not change', async (_when, age) => {
    const renewed = await upgrade(installed(first, undefined, (name, secret) => (name === 'signet-tls' ? void age(secret) : undefined)));
    expect(caBundles(renewed)).toEqual(caBundles(first));
    const tls = secretData(renewed, 'signet-tls');
    expect(tls['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
    expect(tls['tls.key']).not.toBe(secretData(first, 'signet-tls')['tls.key']);
    const leaf = pem(tls['tls.crt']!);
    expect(leaf.checkIssued(pem(secretData(first, 'signet-ca')['tls.crt']!))).toBe(true);
    expect(days(leaf)).toBe(3650);
    expect(Date.parse(findObject(renewed, 'Secret', 'signet-tls').metadata.annotations?.['signet.dev/not-after'] ?? '')).toBeGreaterThan(Date.now() + 3649 * 86_400_000);
  });

  it('keeps a serving certificate that expires after tls.renewBeforeDays', async () => {
    const notDue = installed(first, undefined, (name, secret) => {
      if (name === 'signet-tls') secret.metadata.annotations['signet.dev/not-after'] = new Date(Date.now() + 40 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    });
    const kept = await upgrade(notDue, { values: { tls: { renewBeforeDays: 30 } } });
    expect(secretData(kept, 'signet-tls')['tls.crt']).toBe(secretData(first, 'signet-tls')['tls.crt']);
    const due = await upgrade(notDue, { values: { tls: { renewBeforeDays: 45 } } });
    expect(secretData(due, 'signet-tls')['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
  });

  it.each([
    [{ certValidityDays: 30, renewBeforeDays: 30 }, 'tls.renewBeforeDays (30) must be less than tls.certValidityDays (30): every upgrade would issue a new certificate'],
    [{ caValidityDays: 365, certValidityDays: 397 }, 'tls.certValidityDays (397) must not exceed tls.caValidityDays (365): the certificate would outlive the CA that vouches for it'],
  ])('refuses TLS lifetimes %j that cannot work', async (tls, message) => {
    expect(await renderError({ values: { tls } })).toContain(message);
  });

  it('uses the configured lifetimes', async () => {
    const rendered = await renderChart({ values: { tls: { caValidityDays: 7300, certValidityDays: 397 } } });
    expect(days(pem(secretData(rendered, 'signet-ca')['tls.crt']!))).toBe(7300);
    expect(days(pem(secretData(rendered, 'signet-tls')['tls.crt']!))).toBe(397);
  });
});
