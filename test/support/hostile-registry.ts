// An in-process HTTP server on 127.0.0.1 that misbehaves the ways a real registry never does, for
// testing the client's defences: stalls, endless or lying bodies, wrong digests, redirect loops,
// cross-origin redirects, 429s, a bearer-token flow with a countable token endpoint, schema1.
// Everything it receives is recorded, and it counts the TCP connections it accepted.
//
//   const hostile = await startHostileRegistry();
//   hostile.on('GET', '/v2/demo/app/manifests/v1', { kind: 'stall' });
//   hostile.requireBearer({ token: 't0k3n' });               // /v2/* now needs `Bearer t0k3n`
//   ... new RegistryClient({ hosts: { [hostile.host]: { insecureHttp: true } } }) ...
//   hostile.requests;        // [{ method, path, headers }, ...]
//   await hostile.close();   // also cuts stalled connections
//
// Or, for a fresh one and a client of it in every test of a file (closed after each):
//
//   let hostile: HostileRegistry; let client: RegistryClient; let repo: RepositoryRef;
//   const { useClient } = hostileRegistryPerTest((s) => ({ hostile, client, repo } = s));
//   await useClient({ requestTimeoutMs: 300 });   // a client with other options, bound the same way
//
// Routes match on method and path without the query string; unknown routes answer 404 with a
// registry-style error body.

import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryRef } from '../../src/reference/types.js';
import type { RegistryClientOptions, RegistryHostConfig } from '../../src/registry/types.js';

export type HeaderMap = Readonly<Record<string, string | readonly string[]>>;

export type HostileBehaviour =
  /** An ordinary answer (use headers to lie: wrong Docker-Content-Digest, bad Content-Type...). */
  | { readonly kind: 'respond'; readonly status?: number; readonly headers?: HeaderMap; readonly body?: Buffer | string }
  /** Read the request, never answer. */
  | { readonly kind: 'stall' }
  /** Send headers (Content-Length `declaredLength`) and `firstBytes`, then nothing more. */
  | { readonly kind: 'stall-body'; readonly headers?: HeaderMap; readonly declaredLength: number; readonly firstBytes: Buffer }
  /** Stream zero bytes until the client goes away (at most `limitBytes`, default 256 MiB); chunked unless `declaredLength`. */
  | { readonly kind: 'endless'; readonly headers?: HeaderMap; readonly declaredLength?: number; readonly limitBytes?: number }
  /** Declare `declaredLength` but send only `body`, then close the connection. */
  | { readonly kind: 'truncated'; readonly headers?: HeaderMap; readonly declaredLength: number; readonly body: Buffer }
  | { readonly kind: 'redirect'; readonly status?: number; readonly location: string }
  /** Anything else; the handler owns the response. */
  | { readonly kind: 'handler'; readonly handle: (request: IncomingMessage, response: ServerResponse) => void };

export interface RecordedRequest {
  readonly method: string;
  /** Path with query string. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface BearerOptions {
  readonly token: string;
  readonly service?: string;
  readonly expiresIn?: number;
  /** Path of the token endpoint on this server; default `/token`. */
  readonly tokenPath?: string;
  /** Realm URL to advertise instead of this server's own token path. */
  readonly realm?: string;
  /** When set, the token endpoint requires `Authorization: Basic` for this user. */
  readonly basicUser?: { readonly username: string; readonly password: string };
}

export interface HostileOptions {
  /** Serve HTTPS with this certificate and key (PEM text), e.g. from makeCertificates(). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface HostileRegistry {
  /** `127.0.0.1:PORT` (the registry name for RepositoryRef). */
  readonly host: string;
  /** `http://127.0.0.1:PORT` (or https:// with the tls option). */
  readonly origin: string;
  on(method: string, path: string, behaviour: HostileBehaviour): void;
  /** Protect /v2/* with a bearer token from this server's token endpoint; undefined turns it off. */
  requireBearer(options: BearerOptions | undefined): void;
  readonly requests: readonly RecordedRequest[];
  /** Requests whose path (without query) equals `path`. */
  requestsTo(path: string): RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Body bytes written by `endless` routes so far. */
  readonly endlessBytesSent: number;
  close(): Promise<void>;
}

const DEFAULT_ENDLESS_LIMIT = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0);

function applyHeaders(response: ServerResponse, headers: HeaderMap | undefined): void {
  for (const [name, value] of Object.entries(headers ?? {})) response.setHeader(name, typeof value === 'string' ? value : [...value]);
}

export async function startHostileRegistry(options: HostileOptions = {}): Promise<HostileRegistry> {
  const routes = new Map<string, HostileBehaviour>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let endlessBytesSent = 0;
  let bearer: BearerOptions | undefined;
  let origin = '';

  const serveBehaviour = (behaviour: HostileBehaviour, request: IncomingMessage, response: ServerResponse): void => {
    switch (behaviour.kind) {
      case 'respond': {
        const body = typeof behaviour.body === 'string' ? Buffer.from(behaviour.body, 'utf8') : (behaviour.body ?? Buffer.alloc(0));
        response.statusCode = behaviour.status ?? 200;
        if (!('content-length' in (behaviour.headers ?? {}))) response.setHeader('content-length', body.length);
        applyHeaders(response, behaviour.headers);
        response.end(request.method === 'HEAD' ? undefined : body);
        return;
      }
      case 'stall':
        return;
      case 'stall-body':
        response.statusCode = 200;
        response.setHeader('content-length', behaviour.declaredLength);
        applyHeaders(response, behaviour.headers);
        response.write(behaviour.firstBytes);
        return;
      case 'endless': {
        response.statusCode = 200;
        if (behaviour.declaredLength !== undefined) response.setHeader('content-length', behaviour.declaredLength);
        applyHeaders(response, behaviour.headers);
        const limit = Math.min(behaviour.limitBytes ?? DEFAULT_ENDLESS_LIMIT, behaviour.declaredLength ?? Number.MAX_SAFE_INTEGER);
        let sent = 0;
        const pump = (): void => {
          while (sent < limit && !response.destroyed) {
            const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, limit - sent));
            sent += chunk.length;
            endlessBytesSent += chunk.length;
            if (!response.write(chunk)) {
              response.once('drain', pump);
              return;
            }
          }
          if (!response.destroyed) response.end();
        };
        pump();
        return;
      }
      case 'truncated':
        response.statusCode = 200;
        response.setHeader('content-length', behaviour.declaredLength);
        applyHeaders(response, behaviour.headers);
        response.write(behaviour.body, () => response.socket?.destroy());
        return;
      case 'redirect':
        response.statusCode = behaviour.status ?? 307;
        response.setHeader('location', behaviour.location);
        response.setHeader('content-length', 0);
        response.end();
        return;
      case 'handler':
        behaviour.handle(request, response);
        return;
    }
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = request.url ?? '/';
    requests.push({ method: request.method ?? '', path, headers: request.headers });
    const pathname = path.split('?')[0] ?? path;
    request.resume(); // request bodies (uploads) are not needed

    if (bearer !== undefined) {
      const tokenPath = bearer.tokenPath ?? '/token';
      if (pathname === tokenPath) {
        if (bearer.basicUser !== undefined) {
          const expected = `Basic ${Buffer.from(`${bearer.basicUser.username}:${bearer.basicUser.password}`).toString('base64')}`;
          if (request.headers.authorization !== expected) {
            serveBehaviour({ kind: 'respond', status: 401, body: '{"details":"bad credentials"}' }, request, response);
            return;
          }
        }
        const body = JSON.stringify({ token: bearer.token, ...(bearer.expiresIn !== undefined ? { expires_in: bearer.expiresIn } : {}) });
        serveBehaviour({ kind: 'respond', headers: { 'content-type': 'application/json' }, body }, request, response);
        return;
      }
      if (pathname.startsWith('/v2/') && request.headers.authorization !== `Bearer ${bearer.token}`) {
        const realm = bearer.realm ?? `${origin}${tokenPath}`;
        const challenge = `Bearer realm="${realm}",service="${bearer.service ?? 'hostile'}",scope="repository:demo/app:pull,push"`;
        serveBehaviour(
          { kind: 'respond', status: 401, headers: { 'www-authenticate': challenge, 'content-type': 'application/json' }, body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}' },
          request,
          response,
        );
        return;
      }
    }

    const behaviour = routes.get(`${request.method} ${pathname}`);
    if (behaviour === undefined) {
      serveBehaviour({ kind: 'respond', status: 404, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"NAME_UNKNOWN","message":"no route in hostile registry"}]}' }, request, response);
      return;
    }
    serveBehaviour(behaviour, request, response);
  };
  const server = options.tls !== undefined
    ? createTlsServer({ keepAliveTimeout: 30_000, cert: options.tls.cert, key: options.tls.key }, handle)
    : createServer({ keepAliveTimeout: 30_000 }, handle);

  // For TLS servers 'connection' is the raw TCP socket too, so this counts TCP connections either way.
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('hostile registry: no TCP address');
  const host = `127.0.0.1:${address.port}`;
  origin = `${options.tls !== undefined ? 'https' : 'http'}://${host}`;

  return {
    host,
    origin,
    on: (method, path, behaviour) => {
      routes.set(`${method.toUpperCase()} ${path}`, behaviour);
    },
    requireBearer: (options) => {
      bearer = options;
    },
    get requests() {
      return requests;
    },
    requestsTo: (path) => requests.filter((r) => (r.path.split('?')[0] ?? r.path) === path),
    get connections() {
      return connections;
    },
    get endlessBytesSent() {
      return endlessBytesSent;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What hostileRegistryPerTest hands the test file before each test (and again after useClient). */
export interface HostileSetup {
  readonly hostile: HostileRegistry;
  /** `demo/app` on the hostile registry. */
  readonly repo: RepositoryRef;
  /** Plain http to the hostile registry, a 2 s request deadline, then the file's defaults. */
  readonly client: RegistryClient;
}

export interface HostilePerTest {
  /** Closes the current client and binds one with these options (and these settings for the hostile host). */
  useClient(options?: RegistryClientOptions, host?: RegistryHostConfig): Promise<void>;
  /** Binds a new client without closing the current one: for a test that closed it itself. */
  replaceClosedClient(options?: RegistryClientOptions, host?: RegistryHostConfig): void;
}

/**
 * Registers beforeEach/afterEach: before each test a fresh hostile registry and a client of it are
 * handed to `bind` (which assigns the file's variables); after each, the current client and the
 * registry are closed. `defaults` are client options of every client of the file.
 */
export function hostileRegistryPerTest(bind: (setup: HostileSetup) => void, defaults: RegistryClientOptions = {}): HostilePerTest {
  let hostile: HostileRegistry | undefined;
  let client: RegistryClient | undefined;
  const use = (registry: HostileRegistry, options: RegistryClientOptions, host: RegistryHostConfig): void => {
    client = new RegistryClient({ requestTimeoutMs: 2000, ...defaults, ...options, hosts: { [registry.host]: { insecureHttp: true, ...host }, ...options.hosts } });
    bind({ hostile: registry, repo: { registry: registry.host, repository: 'demo/app' }, client });
  };
  beforeEach(async () => {
    hostile = await startHostileRegistry();
    use(hostile, {}, {});
  });
  afterEach(async () => {
    await client?.close();
    await hostile?.close();
    client = undefined;
    hostile = undefined;
  });
  const current = (): HostileRegistry => {
    if (hostile === undefined) throw new Error('a client of the hostile registry asked for outside a test');
    return hostile;
  };
  return {
    async useClient(options = {}, host = {}) {
      const registry = current();
      await client?.close();
      use(registry, options, host);
    },
    replaceClosedClient(options = {}, host = {}) {
      use(current(), options, host);
    },
  };
}
