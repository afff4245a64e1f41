// Helm's genCA, genSignedCert and buildCustomCert for the test renderer, made with the openssl CLI so
// the chart's TLS wiring is checked on real certificates: a CA with keyCertSign, a leaf for serverAuth
// and clientAuth with the given DNS names, both as PEM. One difference: Sprig makes RSA 2048 keys, these
// are ECDSA P-256, which openssl makes in a millisecond instead of a few hundred. The chart only passes
// the PEM text along, so the key type does not change what it renders.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Sprig's certificate value: what templates read as `.Cert` and `.Key`. */
export interface HelmCertificate {
  readonly Cert: string;
  readonly Key: string;
}

function withTempDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'signet-helm-certs-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

function newKey(dir: string, file: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file], dir);
}

export function genCA(commonName: string, days: number): HelmCertificate {
  return withTempDir((dir) => {
    newKey(dir, 'ca.key');
    openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-days', String(days), '-subj', `/CN=${commonName}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign', '-out', 'ca.crt'],
      dir,
    );
    return { Cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), Key: readFileSync(join(dir, 'ca.key'), 'utf8') };
  });
}

export function genSignedCert(commonName: string, ips: readonly string[], dnsNames: readonly string[], days: number, ca: HelmCertificate): HelmCertificate {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'ca.crt'), ca.Cert);
    writeFileSync(join(dir, 'ca.key'), ca.Key);
    newKey(dir, 'leaf.key');
    openssl(['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${commonName}`, '-out', 'leaf.csr'], dir);
    const names = [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)];
    const extensions = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      ...(names.length > 0 ? [`subjectAltName=${names.join(',')}`] : []),
    ];
    writeFileSync(join(dir, 'ext.cnf'), `${extensions.join('\n')}\n`);
    const serial = `0x${randomBytes(16).toString('hex')}`;
    openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', serial, '-days', String(days), '-extfile', 'ext.cnf', '-out', 'leaf.crt'], dir);
    return { Cert: readFileSync(join(dir, 'leaf.crt'), 'utf8'), Key: readFileSync(join(dir, 'leaf.key'), 'utf8') };
  });
}

/** Like Sprig: both arguments are base64 PEM; the pair must parse and belong together. */
export function buildCustomCert(certBase64: string, keyBase64: string): HelmCertificate {
  const cert = Buffer.from(certBase64, 'base64').toString('utf8');
  const key = Buffer.from(keyBase64, 'base64').toString('utf8');
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
    if (!parsed.checkPrivateKey(createPrivateKey(key))) throw new Error('key does not match');
  } catch {
    throw new Error('error parsing certificate or key');
  }
  return { Cert: cert, Key: key };
}
