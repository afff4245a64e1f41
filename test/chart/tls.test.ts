// The chart's own TLS (no cert-manager): the CA and serving certificate it generates, and what it keeps
// on upgrade, found through `lookup`. Rendered by the Go-template subset (support/helm.ts) with real
// certificates from openssl; `existing` plays the Secrets a previous install left in the cluster.
import { X509Certificate } from 'node:crypto';
import { at, findObject, renderChart, type RenderedChart, type Values } from './support/helm.js';

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

/** The Secrets of `rendered` as `lookup` would find them in the cluster after installing it. */
function asExisting(rendered: RenderedChart, only: readonly string[] = ['signet-ca', 'signet-tls']): Record<string, Values> {
  const existing: Record<string, Values> = {};
  for (const name of only) existing[`v1/Secret/signet/${name}`] = structuredClone(findObject(rendered, 'Secret', name)) as unknown as Values;
  return existing;
}

function days(cert: X509Certificate): number {
  return Math.round((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000);
}

describe('chart-generated TLS (Go-template subset renderer, not Helm; `lookup` answered by the test)', () => {
  let first: RenderedChart;
  beforeAll(() => {
    first = renderChart();
  });

  it('makes a CA and a serving certificate for the Service DNS names, and puts the CA in both caBundles', () => {
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

  it('keeps the CA, certificate and key on upgrade when both Secrets exist', () => {
    const upgraded = renderChart({ existing: asExisting(first) });
    expect(secretData(upgraded, 'signet-ca')).toEqual(secretData(first, 'signet-ca'));
    expect(secretData(upgraded, 'signet-tls')).toEqual(secretData(first, 'signet-tls'));
    expect(caBundles(upgraded)).toEqual(caBundles(first));
  });

  it('reissues a missing serving certificate from the kept CA, so caBundle does not change (rotation without a window)', () => {
    const rotated = renderChart({ existing: asExisting(first, ['signet-ca']) });
    expect(caBundles(rotated)).toEqual(caBundles(first));
    const tls = secretData(rotated, 'signet-tls');
    expect(tls['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
    expect(tls['tls.key']).not.toBe(secretData(first, 'signet-tls')['tls.key']);
    expect(pem(tls['tls.crt']!).checkIssued(pem(secretData(first, 'signet-ca')['tls.crt']!))).toBe(true);
  });

  it('makes a new CA and certificate when the CA Secret is gone, never keeping a certificate the new caBundle would not trust', () => {
    const fresh = renderChart({ existing: asExisting(first, ['signet-tls']) });
    expect(caBundles(fresh)[0]).not.toBe(caBundles(first)[0]);
    const tls = secretData(fresh, 'signet-tls');
    expect(tls['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
    expect(pem(tls['tls.crt']!).verify(pem(caBundles(fresh)[0]!).publicKey)).toBe(true);
  });

  it('reissues the certificate when the Service name changed, because the old one names other hosts', () => {
    const existing = asExisting(first);
    const tlsSecret = existing['v1/Secret/signet/signet-tls'] as { metadata: { annotations: Record<string, string> } };
    tlsSecret.metadata.annotations['signet.dev/dns-names'] = 'old-name,old-name.signet,old-name.signet.svc,old-name.signet.svc.cluster.local';
    const reissued = renderChart({ existing });
    expect(caBundles(reissued)).toEqual(caBundles(first));
    expect(secretData(reissued, 'signet-tls')['tls.crt']).not.toBe(secretData(first, 'signet-tls')['tls.crt']);
    expect(pem(secretData(reissued, 'signet-tls')['tls.crt']!).checkHost('signet.signet.svc')).toBe('signet.signet.svc');
  });

  it('stops with an error, rather than issuing anything, when the kept CA Secret is corrupt', () => {
    const existing = asExisting(first);
    const caSecret = existing['v1/Secret/signet/signet-ca'] as { data: Record<string, string> };
    caSecret.data['tls.key'] = secretData(first, 'signet-tls')['tls.key']!;
    expect(() => renderChart({ existing })).toThrow(/error calling buildCustomCert: error parsing certificate or key/);
  });

  it('uses the configured lifetimes', () => {
    const rendered = renderChart({ values: { tls: { caValidityDays: 7300, certValidityDays: 397 } } });
    expect(days(pem(secretData(rendered, 'signet-ca')['tls.crt']!))).toBe(7300);
    expect(days(pem(secretData(rendered, 'signet-tls')['tls.crt']!))).toBe(397);
  });
});
