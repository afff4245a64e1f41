// Revocation services on loopback for Notation tests: a real OCSP responder (`openssl ocsp -port`,
// answering from an `openssl ca` database) and a tiny HTTP server that serves CRLs, counting the
// requests it gets so tests can see what the verifier's cache saved.
//
//   const ocsp = await startOcspResponder({ ca, signer });   // ocsp.url → http://127.0.0.1:PORT
//   const crls = await startCrlServer();  crls.serve('/acme.crl', ca.crl());   // crls.url('/acme.crl')
//   await ocsp.stop(); await crls.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { freePort } from './free-port.js';
import { stopChild } from './child.js';
import type { IssuedCertificate, OpensslCa } from './openssl-pki.js';

export interface RunningOcspResponder {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * `openssl ocsp` answering for `ca` from its database, signing with `signer` (the CA itself, or a
 * delegated responder certificate it issued). Answers carry nextUpdate = now + `validMinutes`
 * (`null`: no nextUpdate at all, as `openssl ocsp` answers without -nmin).
 * Revocations made after it started are not seen: start it after revoking. OpenSSL 3.0's `-port`
 * takes a number only, so it listens on every interface of this machine, on a random free port, for
 * the length of one test file.
 */
export async function startOcspResponder(options: { ca: OpensslCa; signer: IssuedCertificate; validMinutes?: number | null; port?: number }): Promise<RunningOcspResponder> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    'openssl',
    [
      'ocsp', '-index', options.ca.indexPath, '-port', String(port), '-CA', options.ca.certificate.certPath,
      '-rsigner', options.signer.certPath, '-rkey', options.signer.keyPath, ...(options.validMinutes === null ? [] : ['-nmin', String(options.validMinutes ?? 5)]), '-ignore_err',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Ready when it says so. Probing the port instead would hang it: it serves one connection at a
  // time and waits for a request on a probe that never sends one.
  let stderr = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
      if (stderr.includes('waiting for OCSP client connections')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    await stopChild(child);
    throw new Error(`openssl ocsp did not start within 10 s: ${stderr}`);
  }
  return { url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

export interface RunningCrlServer {
  url(path: string): string;
  serve(path: string, body: Buffer): void;
  /** Requests per path so far. */
  requests(path: string): number;
  stop(): Promise<void>;
}

export async function startCrlServer(): Promise<RunningCrlServer> {
  const bodies = new Map<string, Buffer>();
  const counts = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const body = bodies.get(path);
    if (request.method !== 'GET' || body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the CRL server has no port');
  return {
    url: (path) => `http://127.0.0.1:${address.port}${path}`,
    serve: (path, body) => void bodies.set(path, body),
    requests: (path) => counts.get(path) ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
