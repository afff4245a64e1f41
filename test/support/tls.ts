// Test certificates made with the openssl CLI: a throw-away CA and a server certificate for
// 127.0.0.1 / localhost that serves as both server and client certificate (serverAuth + clientAuth),
// which is what docker-registry, notary-server and notary-signer need on loopback.
//
//   const certs = await makeCertificates(dir);
//   // certs.caCert (PEM text), certs.caPath, certs.certPath, certs.keyPath

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  /** PEM of the CA certificate: pass as caBundle, or write as ca.crt for skopeo/notary. */
  readonly caCert: string;
  readonly caPath: string;
  /** Server (and client) certificate, PEM, signed by the CA; SAN IP:127.0.0.1, DNS:localhost. */
  readonly certPath: string;
  readonly keyPath: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 20_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

/** Writes ca.crt, ca.key, server.crt, server.key (EC P-256, valid 7 days) into `dir`. */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const caPath = join(dir, 'ca.crt');
  const caKeyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  const csrPath = join(dir, 'server.csr');
  const extPath = join(dir, 'server.ext');
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

  await openssl(['req', '-x509', ...ecKey, '-keyout', caKeyPath, '-out', caPath, '-days', '7', '-subj', '/CN=signet test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await openssl(['req', '-new', ...ecKey, '-keyout', keyPath, '-out', csrPath, '-subj', '/CN=localhost'], dir);
  await writeFile(extPath, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '',
  ].join('\n'));
  await openssl(['x509', '-req', '-in', csrPath, '-CA', caPath, '-CAkey', caKeyPath, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '7', '-extfile', extPath, '-out', certPath], dir);
  return { caCert: await readFile(caPath, 'utf8'), caPath, certPath, keyPath };
}
