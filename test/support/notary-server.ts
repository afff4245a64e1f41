// Runs the real Notary v1 service for tests: notary-signer (gRPC, mutual TLS) and notary-server
// (HTTPS) from the Debian `notary` package, memory storage, on free 127.0.0.1 ports, with a
// throw-away CA; and drives the real `notary` CLI the way `docker trust` does (server-managed
// snapshot key, a targets/releases delegation with an imported signer key, addhash by manifest
// size and sha256, publish).
//
//   const notary = await startNotary();
//   const cli = await NotaryCli.create(notary);             // one trust dir and one root key
//   await cli.initRepository(gun);                           // init + snapshot key to the server + publish
//   const ci = await cli.makeSigner('ci');                   // EC key + self-signed certificate
//   await cli.addDelegation(gun, 'targets/releases', ci);    // delegation add + key import + publish
//   await cli.sign(gun, 'v1', manifestBytes, ['targets/releases']);
//   ...
//   await cli.cleanup(); await notary.stop();
//
// Memory storage means trust data lives only as long as the server process.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { exited, launch, stopChild, type Started } from './child.js';
import { freePort } from './free-port.js';
import { makeCertificates } from './tls.js';

export const NOTARY_TOOLS = ['notary', 'notary-server', 'notary-signer', 'openssl'] as const;

export interface RunningNotary {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** The test CA (PEM) that signed the server certificate; pass it as the verifier's caBundle. */
  readonly caCertPem: string;
  readonly caPath: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 3;
const CLI_TIMEOUT_MS = 30_000;
const SIGNER_ALIAS = 'signetalias';

async function waitForPort(port: number, started: Started, name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited(started.child)) throw new Error(`${name} exited early: ${started.output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms: ${started.output()}`);
}

/** notary-server's health check includes the signer, so a 200 means the pair is ready to sign. */
async function waitForHealth(url: string, caCertPem: string, started: Started): Promise<void> {
  const dispatcher = new Agent({ connect: { ca: caCertPem } });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    while (Date.now() < deadline) {
      if (exited(started.child)) throw new Error(`notary-server exited early: ${started.output()}`);
      try {
        const response = await request(`${url}/_notary_server/health`, { dispatcher, headersTimeout: 1000, bodyTimeout: 1000 });
        await response.body.dump();
        if (response.statusCode === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`notary-server was not healthy within ${READY_TIMEOUT_MS} ms: ${started.output()}`);
  } finally {
    await dispatcher.close();
  }
}

/** Starts notary-signer and notary-server (memory storage, TLS from a fresh test CA). */
export async function startNotary(): Promise<RunningNotary> {
  const dir = await mkdtemp(join(tmpdir(), 'signet-notary-'));
  const started: Started[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of started.splice(0).reverse()) await stopChild(s.child);
  };
  try {
    const certs = await makeCertificates(dir);
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', [`NOTARY_SIGNER_${SIGNER_ALIAS.toUpperCase()}`]: 'signer test passphrase' };
    for (let attempt = 1; ; attempt++) {
      const signerPort = await freePort();
      const serverPort = await freePort();
      const signerConfig = {
        server: { grpc_addr: `127.0.0.1:${signerPort}`, tls_cert_file: certs.certPath, tls_key_file: certs.keyPath, client_ca_file: certs.caPath },
        logging: { level: 'error' },
        storage: { backend: 'memory', default_alias: SIGNER_ALIAS },
      };
      const serverConfig = {
        server: { http_addr: `127.0.0.1:${serverPort}`, tls_cert_file: certs.certPath, tls_key_file: certs.keyPath },
        trust_service: {
          type: 'remote',
          hostname: '127.0.0.1',
          port: String(signerPort),
          key_algorithm: 'ecdsa',
          tls_ca_file: certs.caPath,
          tls_client_cert: certs.certPath,
          tls_client_key: certs.keyPath,
        },
        logging: { level: 'error' },
        storage: { backend: 'memory' },
      };
      const signerConfigPath = join(dir, 'signer.json');
      const serverConfigPath = join(dir, 'server.json');
      await writeFile(signerConfigPath, JSON.stringify(signerConfig, null, 2));
      await writeFile(serverConfigPath, JSON.stringify(serverConfig, null, 2));

      const signer = launch('notary-signer', ['-config', signerConfigPath], { env });
      started.push(signer);
      const url = `https://127.0.0.1:${serverPort}`;
      try {
        await waitForPort(signerPort, signer, 'notary-signer');
        const server = launch('notary-server', ['-config', serverConfigPath], { env });
        started.push(server);
        await waitForHealth(url, certs.caCert, server);
      } catch (error) {
        const output = started.map((s) => s.output()).join('\n');
        await stopAll();
        if (attempt < START_ATTEMPTS && /address already in use/.test(output)) continue;
        throw error;
      }
      return {
        url,
        host: `127.0.0.1:${serverPort}`,
        caCertPem: certs.caCert,
        caPath: certs.caPath,
        stop: async () => {
          await stopAll();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (error) {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, timeout: CLI_TIMEOUT_MS, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${label} failed: ${`${stderr}\n${stdout}`.trim() || String(error)}`));
      else resolve(stdout);
    });
  });
}

/** A delegation signer as `docker trust signer add` makes one: an EC key and a self-signed certificate. */
export interface DelegationSigner {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** The `notary` CLI with its own trust dir and one root key (reused for every repository, as Docker does). */
export class NotaryCli {
  readonly #notary: RunningNotary;
  readonly #dir: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #rootKeyPath: string;
  /** The root key's public half (PEM): what a policy pins. */
  readonly rootPublicKeyPem: string;

  private constructor(notary: RunningNotary, dir: string, rootKeyPath: string, rootPublicKeyPem: string) {
    this.#notary = notary;
    this.#dir = dir;
    this.#rootKeyPath = rootKeyPath;
    this.rootPublicKeyPem = rootPublicKeyPem;
    this.#env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      // Keeps the CLI away from any ~/.notary/config.json of the machine.
      HOME: dir,
      NOTARY_ROOT_PASSPHRASE: 'root test passphrase',
      NOTARY_TARGETS_PASSPHRASE: 'targets test passphrase',
      NOTARY_SNAPSHOT_PASSPHRASE: 'snapshot test passphrase',
      NOTARY_DELEGATION_PASSPHRASE: 'delegation test passphrase',
    };
  }

  static async create(notary: RunningNotary): Promise<NotaryCli> {
    const dir = await mkdtemp(join(tmpdir(), 'signet-notary-cli-'));
    try {
      const plainKey = join(dir, 'root-plain.key');
      const rootKey = join(dir, 'root.key');
      const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
      await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', plainKey], env, 'openssl genpkey');
      // notary imports only encrypted root keys, and only PBES2 with PBKDF2-HMAC-SHA1 (OpenSSL 3 defaults to SHA-256).
      await run(
        'openssl',
        ['pkcs8', '-topk8', '-in', plainKey, '-out', rootKey, '-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA1', '-passout', 'pass:root test passphrase'],
        env,
        'openssl pkcs8',
      );
      const publicPem = await run('openssl', ['pkey', '-in', plainKey, '-pubout'], env, 'openssl pkey');
      await rm(plainKey);
      return new NotaryCli(notary, dir, rootKey, publicPem);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Runs `notary -s URL -d TRUST_DIR --tlscacert CA <args>`; throws with the CLI's output on failure. */
  async notary(...args: string[]): Promise<string> {
    return run('notary', ['-s', this.#notary.url, '-d', join(this.#dir, 'trust'), '--tlscacert', this.#notary.caPath, ...args], this.#env, `notary ${args[0] ?? ''}`);
  }

  /** `notary init` with the shared root key, the snapshot key handed to the server (as Docker does), publish. */
  async initRepository(gun: string): Promise<void> {
    await this.notary('init', gun, '--rootkey', this.#rootKeyPath);
    await this.notary('key', 'rotate', gun, 'snapshot', '-r');
    await this.notary('publish', gun);
  }

  async makeSigner(name: string): Promise<DelegationSigner> {
    const keyPath = join(this.#dir, `${name}.key`);
    const certPath = join(this.#dir, `${name}.crt`);
    await run(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '365', '-subj', `/CN=${name}`],
      { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      'openssl req',
    );
    return { name, certPath, keyPath };
  }

  /** `notary delegation add GUN ROLE CERT --all-paths`, import the signer's key, publish. */
  async addDelegation(gun: string, role: string, signer: DelegationSigner): Promise<void> {
    await this.notary('delegation', 'add', gun, role, signer.certPath, '--all-paths');
    await this.notary('key', 'import', signer.keyPath, '--role', signer.name);
    await this.notary('publish', gun);
  }

  /** `notary addhash GUN TAG SIZE --sha256 HEX [-r ROLE…]` for these manifest bytes, then publish. */
  async sign(gun: string, tag: string, manifest: Buffer, roles: readonly string[] = []): Promise<void> {
    const hex = createHash('sha256').update(manifest).digest('hex');
    await this.notary('addhash', gun, tag, String(manifest.length), '--sha256', hex, ...roles.flatMap((role) => ['-r', role]));
    await this.notary('publish', gun);
  }

  /** A file of the CLI's trust dir, e.g. to read what it published. */
  async readTrustFile(relativePath: string): Promise<string> {
    return readFile(join(this.#dir, 'trust', relativePath), 'utf8');
  }

  async cleanup(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }
}
