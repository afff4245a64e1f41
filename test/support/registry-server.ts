// Runs the real CNCF distribution registry (`/usr/bin/docker-registry`, Debian 2.8.2) on a free
// 127.0.0.1 port for tests: filesystem storage in a temporary folder, delete enabled, optional TLS
// (throw-away CA) and optional htpasswd basic auth (bcrypt from libxcrypt through perl's crypt()).
//
//   const registry = await startRegistry({ tls: true, basicAuth: { username: 'ci', password: 'pw' } });
//   const client = new RegistryClient({ hosts: { [registry.host]: clientHostConfig(registry) } });
//   ...
//   await registry.stop();   // kills the process and removes the folder
//
// Tests that need real binaries guard themselves with haveTools(...): it returns false (skip) on a
// developer machine without them, and throws under CI (any CI value but empty or "false") so a
// missing binary fails the build.

import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Agent, request } from 'undici';
import type { RegistryHostConfig } from '../../src/registry/types.js';
import { exited, launch, stopChild } from './child.js';
import { freePort } from './free-port.js';
import { makeCertificates } from './tls.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface BasicAuthUser {
  readonly username: string;
  readonly password: string;
}

export interface RegistryStartOptions {
  /** Serve HTTPS with a certificate from a fresh test CA (caCertPem / certDir are then set). */
  readonly tls?: boolean;
  /** Require HTTP basic auth for this user (htpasswd, bcrypt). */
  readonly basicAuth?: BasicAuthUser;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the registry name to use in references and RepositoryRef. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  readonly url: string;
  readonly tls: boolean;
  /** CA certificate (PEM) that signed the registry certificate, when tls. */
  readonly caCertPem?: string;
  /** A folder holding only `ca.crt`, for skopeo's --cert-dir/--dest-cert-dir, when tls. */
  readonly certDir?: string;
  readonly basicAuth?: BasicAuthUser;
  /** Root of the filesystem storage driver (blobs live under docker/registry/v2/blobs/). */
  readonly storageDir: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

function onPath(name: string): boolean {
  if (name.startsWith('/')) return existsSync(name);
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, name)));
}

/**
 * Whether this run is CI, where a missing real dependency must fail rather than skip. Like most CI
 * tooling, any non-empty CI value except "false" counts (CI=true, CI=1, CI=yes).
 */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env['CI'] ?? '').trim();
  return value !== '' && value.toLowerCase() !== 'false';
}

/**
 * True when every named program is installed. When one is missing: throws under CI (tests must not
 * silently skip there), otherwise returns false so the caller can skip.
 */
export function haveTools(...names: string[]): boolean {
  const missing = names.filter((name) => !onPath(name));
  if (missing.length === 0) return true;
  if (isCI()) throw new Error(`required test tools are missing: ${missing.join(', ')} (run scripts/system-deps.sh)`);
  return false;
}

/** Client settings to reach this registry: plain http, or https trusting the test CA. */
export function clientHostConfig(registry: RunningRegistry): RegistryHostConfig {
  return registry.caCertPem !== undefined ? { caBundle: registry.caCertPem } : { insecureHttp: true };
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const STANDARD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * htpasswd line with a bcrypt hash. Node has no bcrypt and apache2-utils is not installed; perl-base is
 * Essential on Debian and its crypt() is libxcrypt's, which implements `$2b$`. Cost 4 (the minimum) keeps
 * the registry's per-request check cheap.
 */
export function bcryptHtpasswdLine(user: BasicAuthUser): string {
  const salt = randomBytes(16)
    .toString('base64')
    .replace(/=+$/, '')
    .split('')
    .map((c) => BCRYPT_ALPHABET[STANDARD_ALPHABET.indexOf(c)])
    .join('');
  const result = spawnSync('perl', ['-e', 'print crypt($ENV{SIGNET_PW}, $ENV{SIGNET_SALT})'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SIGNET_PW: user.password, SIGNET_SALT: `$2b$04$${salt}` },
    encoding: 'utf8',
    timeout: 10_000,
  });
  const hash = result.stdout;
  if (result.status !== 0 || !hash.startsWith('$2b$04$') || hash.length !== 60) {
    throw new Error(`perl crypt() did not produce a bcrypt hash (libxcrypt needed): ${result.stderr || hash}`);
  }
  return `${user.username}:${hash}\n`;
}

async function waitUntilReady(url: string, caCertPem: string | undefined, child: ChildProcess, output: () => string): Promise<void> {
  const dispatcher = new Agent(caCertPem !== undefined ? { connect: { ca: caCertPem } } : {});
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    while (Date.now() < deadline) {
      if (exited(child)) throw new Error(`docker-registry exited early: ${output()}`);
      try {
        const response = await request(`${url}/v2/`, { dispatcher, headersTimeout: 1000, bodyTimeout: 1000 });
        await response.body.dump();
        if (response.statusCode === 200 || response.statusCode === 401) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`docker-registry did not answer GET /v2/ within ${READY_TIMEOUT_MS} ms: ${output()}`);
  } finally {
    await dispatcher.close();
  }
}

/** Starts docker-registry and resolves once GET /v2/ answers. */
export async function startRegistry(options: RegistryStartOptions = {}): Promise<RunningRegistry> {
  haveTools(REGISTRY_BINARY);
  const dir = await mkdtemp(join(tmpdir(), 'signet-registry-'));
  try {
    const storageDir = join(dir, 'storage');
    await mkdir(storageDir);
    let caCertPem: string | undefined;
    let certDir: string | undefined;
    let tlsFiles: { certificate: string; key: string } | undefined;
    if (options.tls === true) {
      const certs = await makeCertificates(dir);
      caCertPem = certs.caCert;
      certDir = join(dir, 'client-certs');
      await mkdir(certDir);
      await copyFile(certs.caPath, join(certDir, 'ca.crt'));
      tlsFiles = { certificate: certs.certPath, key: certs.keyPath };
    }
    let htpasswdPath: string | undefined;
    if (options.basicAuth !== undefined) {
      htpasswdPath = join(dir, 'htpasswd');
      await writeFile(htpasswdPath, bcryptHtpasswdLine(options.basicAuth), { mode: 0o600 });
    }

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = {
        version: 0.1,
        log: { level: 'error', accesslog: { disabled: true } },
        storage: { filesystem: { rootdirectory: storageDir }, delete: { enabled: true }, cache: { blobdescriptor: 'inmemory' } },
        http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex'), ...(tlsFiles !== undefined ? { tls: tlsFiles } : {}) },
        ...(htpasswdPath !== undefined ? { auth: { htpasswd: { realm: 'signet-test', path: htpasswdPath } } } : {}),
      };
      const configPath = join(dir, 'config.yml');
      // JSON is valid YAML, and avoids any quoting questions.
      await writeFile(configPath, JSON.stringify(config, null, 2));

      const { child, output } = launch(REGISTRY_BINARY, ['serve', configPath]);
      const host = `127.0.0.1:${port}`;
      const url = `${tlsFiles !== undefined ? 'https' : 'http'}://${host}`;
      try {
        await waitUntilReady(url, caCertPem, child, output);
      } catch (error) {
        await stopChild(child);
        if (attempt < START_ATTEMPTS && /address already in use/.test(output())) continue;
        throw error;
      }
      return {
        host,
        url,
        tls: tlsFiles !== undefined,
        ...(caCertPem !== undefined ? { caCertPem } : {}),
        ...(certDir !== undefined ? { certDir } : {}),
        ...(options.basicAuth !== undefined ? { basicAuth: options.basicAuth } : {}),
        storageDir,
        stop: async () => {
          await stopChild(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
