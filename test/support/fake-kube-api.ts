// An in-process stand-in for the kube-apiserver, which cannot run here. It serves exactly what Signet's
// Kubernetes code uses, the way the real server does it: HTTPS with a bearer token (401 otherwise);
// ConfigMaps listed and watched per namespace or cluster-wide, filtered by label selector (equality and
// set-based); a monotonic resourceVersion; watches that replay history from a resourceVersion, send
// BOOKMARK events when asked, end after timeoutSeconds, and answer a compacted resourceVersion with an
// ERROR event carrying a 410 Status (or, when configured, an HTTP 410); label-selector transitions as
// ADDED/DELETED like the watch cache; GET secrets and serviceaccounts; POST core/v1 events (validated
// and recorded). Test controls: change ConfigMaps, drop or end watch connections, compact history,
// stall watches, inject API errors, and read back requests and posted events.
//
//   const api = await startFakeKubeApi();
//   const kubeConfig = api.kubeConfig();
//   api.putConfigMap({ namespace: 'signet', name: 'trust', labels: { 'signet.dev/trust': 'cluster' }, data: { ... } });
//   ...
//   await api.close();

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { makeCertificates } from './tls.js';

type JsonObject = Record<string, unknown>;

export interface StoredMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly creationTimestamp: string;
  readonly labels?: Record<string, string>;
}

export interface StoredConfigMap {
  readonly metadata: StoredMeta;
  readonly data?: Record<string, string>;
  readonly binaryData?: Record<string, string>;
}

export interface ConfigMapInput {
  readonly namespace: string;
  readonly name: string;
  readonly labels?: Record<string, string>;
  readonly data?: Record<string, string>;
  /** Values are base64, as in the API. */
  readonly binaryData?: Record<string, string>;
}

export interface SecretInput {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** Values as plain text; stored base64-encoded, as the API serves them. */
  readonly stringData: Record<string, string>;
}

export interface ServiceAccountInput {
  readonly namespace: string;
  readonly name: string;
  readonly imagePullSecrets?: readonly string[];
}

export type RequestVerb = 'list' | 'watch' | 'get' | 'create' | 'other';

export interface RecordedRequest {
  readonly verb: RequestVerb;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly at: number;
  /** The status the server answered with (200 for watches that were served). */
  readonly status: number;
}

export interface FakeKubeApiOptions {
  /** How often an open watch that asked for bookmarks gets one. Default 200 ms. */
  readonly bookmarkIntervalMs?: number;
  /** Watch duration when the client gives no timeoutSeconds. Default 1800 s, like a real server's upper range. */
  readonly defaultWatchTimeoutSeconds?: number;
  /** How a watch from a compacted resourceVersion is refused: an ERROR event (what the real server does) or HTTP 410. */
  readonly expiredWatch?: 'event' | 'http';
}

export interface FakeKubeApi {
  readonly url: string;
  readonly token: string;
  readonly caPem: string;
  /** A KubeConfig for this server (cluster URL, CA data, bearer token); `token` overrides the right one. */
  kubeConfig(token?: string): KubeConfig;
  putConfigMap(input: ConfigMapInput): StoredConfigMap;
  deleteConfigMap(namespace: string, name: string): boolean;
  putSecret(input: SecretInput): void;
  putServiceAccount(input: ServiceAccountInput): void;
  /** A pod for cluster-wide pod lists (cache warm-up). */
  putPod(input: { namespace: string; name: string; spec: Record<string, unknown>; phase?: string }): void;
  /** The current resourceVersion counter. */
  resourceVersion(): number;
  /** Forgets all history: a watch from any resourceVersion older than now gets 410 Gone. */
  compact(): void;
  /** Destroys the sockets of every open watch (a connection reset). */
  dropWatches(): void;
  /** Ends every open watch cleanly, as when its timeoutSeconds elapses. */
  endWatches(): void;
  /** While stalled, open and new watches receive nothing at all (not even headers for new ones). */
  stallWatches(stalled: boolean): void;
  /** The next `count` requests of this verb get `status` with a Status body. */
  failNext(verb: RequestVerb, status: number, count?: number): void;
  requests(verb?: RequestVerb): readonly RecordedRequest[];
  openWatches(): number;
  /** Events POSTed to /api/v1/namespaces/{ns}/events, as stored. */
  events(): readonly JsonObject[];
  close(): Promise<void>;
}

interface HistoryEntry {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly before: StoredConfigMap | undefined;
  readonly after: StoredConfigMap;
}

interface OpenWatch {
  readonly response: ServerResponse;
  readonly namespace: string | undefined;
  readonly selector: LabelSelector;
  readonly bookmarks: boolean;
  stalled: boolean;
  timers: NodeJS.Timeout[];
}

// ---------------------------------------------------------------------------------------------
// Label selectors, as the API server parses them (the subset of the grammar clients send).

type Requirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'notexists'; readonly key: string };

type LabelSelector = readonly Requirement[];

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

export function parseLabelSelector(text: string): LabelSelector | string {
  const requirements: Requirement[] = [];
  for (const part of splitRequirements(text)) {
    let match: RegExpExecArray | null;
    if ((match = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part)) !== null) {
      const values = (match[3] ?? '').split(',').map((value) => value.trim());
      if (!LABEL_KEY.test(match[1] ?? '') || values.some((value) => !LABEL_VALUE.test(value))) return `invalid requirement ${part}`;
      requirements.push({ op: match[2] === 'in' ? 'in' : 'notin', key: match[1] ?? '', values });
    } else if ((match = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part)) !== null) {
      if (!LABEL_KEY.test(match[1] ?? '') || !LABEL_VALUE.test(match[3] ?? '')) return `invalid requirement ${part}`;
      requirements.push({ op: match[2] === '!=' ? 'neq' : 'eq', key: match[1] ?? '', value: match[3] ?? '' });
    } else if ((match = /^(!?)(\S+)$/.exec(part)) !== null) {
      if (!LABEL_KEY.test(match[2] ?? '')) return `invalid requirement ${part}`;
      requirements.push({ op: match[1] === '!' ? 'notexists' : 'exists', key: match[2] ?? '' });
    } else {
      return `unable to parse requirement ${part}`;
    }
  }
  return requirements;
}

function selects(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const has = (key: string): boolean => labels !== undefined && Object.hasOwn(labels, key);
  return selector.every((requirement) => {
    const value = has(requirement.key) ? labels?.[requirement.key] : undefined;
    switch (requirement.op) {
      case 'eq':
        return value === requirement.value;
      case 'neq':
        return value !== requirement.value;
      case 'in':
        return value !== undefined && requirement.values.includes(value);
      case 'notin':
        return value === undefined || !requirement.values.includes(value);
      case 'exists':
        return value !== undefined;
      case 'notexists':
        return value === undefined;
    }
  });
}

// ---------------------------------------------------------------------------------------------

function status(code: number, reason: string, message: string): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'AlreadyExists',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function sendJson(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', () => resolve(undefined));
  });
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A Kubernetes object name (DNS subdomain). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 200;
  const defaultWatchTimeoutSeconds = options.defaultWatchTimeoutSeconds ?? 1800;
  const expiredWatch = options.expiredWatch ?? 'event';
  const certDir = await mkdtemp(join(tmpdir(), 'signet-fake-kube-'));
  const certs = await makeCertificates(certDir);
  const token = randomBytes(24).toString('hex');

  let rv = 100; // real clusters never start at 1; nothing may assume small numbers
  let compactedRv = 0;
  const configMaps = new Map<string, StoredConfigMap>();
  const history: HistoryEntry[] = [];
  const secrets = new Map<string, JsonObject>();
  const pods = new Map<string, JsonObject>();
  const serviceAccounts = new Map<string, JsonObject>();
  const postedEvents: JsonObject[] = [];
  const recorded: RecordedRequest[] = [];
  const watches = new Set<OpenWatch>();
  const faults: { verb: RequestVerb; status: number; remaining: number }[] = [];
  let stalled = false;

  const key = (namespace: string, name: string): string => `${namespace}/${name}`;

  const writeEvent = (watch: OpenWatch, type: string, object: unknown): void => {
    if (watch.stalled || watch.response.destroyed) return;
    watch.response.write(`${JSON.stringify({ type, object })}\n`);
  };

  const withRv = (object: StoredConfigMap, resourceVersion: number): StoredConfigMap => ({
    ...clone(object),
    metadata: { ...clone(object.metadata), resourceVersion: String(resourceVersion) },
  });

  /** What a watcher with this namespace and selector sees of one change, like the watch cache. */
  const project = (watch: Pick<OpenWatch, 'namespace' | 'selector'>, entry: HistoryEntry): { type: string; object: StoredConfigMap } | undefined => {
    if (watch.namespace !== undefined && entry.after.metadata.namespace !== watch.namespace) return undefined;
    const before = entry.before !== undefined && selects(watch.selector, entry.before.metadata.labels);
    const after = selects(watch.selector, entry.after.metadata.labels);
    const typed = (type: string, object: StoredConfigMap) => ({ type, object: { kind: 'ConfigMap', apiVersion: 'v1', ...object } });
    switch (entry.type) {
      case 'ADDED':
        return after ? typed('ADDED', entry.after) : undefined;
      case 'DELETED':
        return after ? typed('DELETED', entry.after) : undefined;
      case 'MODIFIED':
        if (before && after) return typed('MODIFIED', entry.after);
        if (!before && after) return typed('ADDED', entry.after);
        // Leaving the selector is a deletion for this watcher: the old state at the new resourceVersion.
        if (before && entry.before !== undefined) return typed('DELETED', withRv(entry.before, entry.rv));
        return undefined;
    }
  };

  const record = (entry: HistoryEntry): void => {
    history.push(entry);
    for (const watch of watches) {
      const event = project(watch, entry);
      if (event !== undefined) writeEvent(watch, event.type, event.object);
    }
  };

  const closeWatch = (watch: OpenWatch): void => {
    for (const timer of watch.timers) clearTimeout(timer);
    watch.timers = [];
    watches.delete(watch);
  };

  const handleWatch = (request: IncomingMessage, response: ServerResponse, namespace: string | undefined, query: URLSearchParams, selector: LabelSelector): number => {
    const from = query.get('resourceVersion') ?? '';
    const fresh = from === '' || from === '0';
    const fromRv = fresh ? rv : Number(from);
    if (!fresh && (!Number.isSafeInteger(fromRv) || fromRv < 0)) {
      sendJson(response, 400, status(400, 'BadRequest', `invalid resource version: ${from}`));
      return 400;
    }
    const expired = !fresh && fromRv < compactedRv;
    if (expired && expiredWatch === 'http') {
      sendJson(response, 410, status(410, 'Expired', `too old resource version: ${fromRv} (${compactedRv})`));
      return 410;
    }
    const watch: OpenWatch = { response, namespace, selector, bookmarks: query.get('allowWatchBookmarks') === 'true', stalled, timers: [] };
    request.on('close', () => closeWatch(watch));
    if (watch.stalled) {
      // Accepted by TCP and TLS, then silence: not even the headers.
      watches.add(watch);
      return 200;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
    if (expired) {
      writeEvent(watch, 'ERROR', status(410, 'Expired', `too old resource version: ${fromRv} (${compactedRv})`));
      response.end();
      return 200;
    }
    if (fresh) {
      for (const object of [...configMaps.values()].sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))) {
        const event = project(watch, { rv: Number(object.metadata.resourceVersion), type: 'ADDED', before: undefined, after: object });
        if (event !== undefined) writeEvent(watch, event.type, event.object);
      }
    } else {
      for (const entry of history) {
        if (entry.rv <= fromRv) continue;
        const event = project(watch, entry);
        if (event !== undefined) writeEvent(watch, event.type, event.object);
      }
    }
    watches.add(watch);
    const seconds = Number(query.get('timeoutSeconds') ?? defaultWatchTimeoutSeconds);
    watch.timers.push(
      setTimeout(() => {
        if (watch.stalled) return; // a stalled server does not keep its promises either
        closeWatch(watch);
        response.end();
      }, Math.max(0, seconds) * 1000),
    );
    if (watch.bookmarks) {
      const tick = (): void => {
        writeEvent(watch, 'BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } });
        watch.timers.push(setTimeout(tick, bookmarkIntervalMs));
      };
      watch.timers.push(setTimeout(tick, bookmarkIntervalMs));
    }
    return 200;
  };

  const handleList = (response: ServerResponse, namespace: string | undefined, query: URLSearchParams, selector: LabelSelector): number => {
    const asked = query.get('resourceVersion') ?? '';
    if (query.get('resourceVersionMatch') === 'Exact' && asked !== '' && Number(asked) < compactedRv) {
      sendJson(response, 410, status(410, 'Expired', `too old resource version: ${asked} (${compactedRv})`));
      return 410;
    }
    const items = [...configMaps.values()]
      .filter((object) => (namespace === undefined || object.metadata.namespace === namespace) && selects(selector, object.metadata.labels))
      .sort((a, b) => key(a.metadata.namespace, a.metadata.name).localeCompare(key(b.metadata.namespace, b.metadata.name)))
      .map((object) => clone(object));
    // Items of a list carry no kind or apiVersion, as the real server sends them.
    sendJson(response, 200, { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items });
    return 200;
  };

  const handleEvent = async (request: IncomingMessage, response: ServerResponse, namespace: string): Promise<number> => {
    const text = await readBody(request, 1024 * 1024);
    let body: JsonObject;
    try {
      body = JSON.parse(text ?? '') as JsonObject;
    } catch {
      sendJson(response, 400, status(400, 'BadRequest', 'the body is not JSON'));
      return 400;
    }
    const metadata = (body['metadata'] ?? {}) as JsonObject;
    const involved = (body['involvedObject'] ?? {}) as JsonObject;
    const problems: string[] = [];
    const name = typeof metadata['name'] === 'string' ? metadata['name'] : undefined;
    if (name === undefined || name.length > 253 || !OBJECT_NAME.test(name)) problems.push('metadata.name: Invalid value');
    if (metadata['namespace'] !== undefined && metadata['namespace'] !== namespace) problems.push('metadata.namespace: does not match the namespace of the request');
    // Legacy (core/v1, no eventTime) validation: the event lives with its object; a cluster-scoped object's in default.
    const involvedNamespace = typeof involved['namespace'] === 'string' ? involved['namespace'] : '';
    if (involvedNamespace === '' ? namespace !== 'default' : involvedNamespace !== namespace) problems.push('involvedObject.namespace: does not match event.namespace');
    if (typeof involved['kind'] !== 'string' || typeof involved['name'] !== 'string') problems.push('involvedObject: kind and name are required');
    if (typeof body['reason'] !== 'string' || body['reason'] === '') problems.push('reason: Required value');
    if (body['type'] !== 'Normal' && body['type'] !== 'Warning') problems.push('type: Unsupported value');
    if (problems.length > 0) {
      sendJson(response, 422, status(422, 'Invalid', `Event "${name ?? ''}" is invalid: ${problems.join(', ')}`));
      return 422;
    }
    rv += 1;
    const stored = { ...body, metadata: { ...metadata, namespace, uid: randomUUID(), resourceVersion: String(rv), creationTimestamp: new Date().toISOString() } };
    postedEvents.push(stored);
    sendJson(response, 201, stored);
    return 201;
  };

  const route = async (request: IncomingMessage, response: ServerResponse, url: URL, verb: RequestVerb): Promise<number> => {
    const parts = url.pathname.split('/').filter((part) => part !== '');
    // /api/v1/configmaps  |  /api/v1/namespaces/{ns}/{resource}[/{name}]
    if (parts[0] !== 'api' || parts[1] !== 'v1') {
      sendJson(response, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return 404;
    }
    const namespace = parts[2] === 'namespaces' ? parts[3] : undefined;
    const resource = namespace === undefined ? parts[2] : parts[4];
    const name = namespace === undefined ? parts[3] : parts[5];
    if (resource === 'configmaps' && name === undefined && request.method === 'GET') {
      const selector = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
      if (typeof selector === 'string') {
        sendJson(response, 400, status(400, 'BadRequest', `unable to parse requirement: ${selector}`));
        return 400;
      }
      return verb === 'watch' ? handleWatch(request, response, namespace, url.searchParams, selector) : handleList(response, namespace, url.searchParams, selector);
    }
    if (resource === 'pods' && namespace === undefined && name === undefined && request.method === 'GET') {
      // Cluster-wide list with limit/continue paging, as the real server pages a large list.
      const all = [...pods.values()];
      const limit = Number(url.searchParams.get('limit') ?? '0');
      const start = Number(url.searchParams.get('continue') ?? '0');
      const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
      const next = limit > 0 && start + limit < all.length ? String(start + limit) : undefined;
      sendJson(response, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv), ...(next ? { continue: next } : {}) }, items: page });
      return 200;
    }
    if ((resource === 'secrets' || resource === 'serviceaccounts') && namespace !== undefined && name !== undefined && request.method === 'GET') {
      const store = resource === 'secrets' ? secrets : serviceAccounts;
      const found = store.get(key(namespace, name));
      if (found === undefined) {
        sendJson(response, 404, status(404, 'NotFound', `${resource} "${name}" not found`));
        return 404;
      }
      sendJson(response, 200, found);
      return 200;
    }
    if (resource === 'events' && namespace !== undefined && name === undefined && request.method === 'POST') {
      return handleEvent(request, response, namespace);
    }
    sendJson(response, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    return 405;
  };

  const server: Server = createServer({ cert: await readFile(certs.certPath), key: await readFile(certs.keyPath) }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const isWatch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb: RequestVerb =
      request.method === 'POST' ? 'create' : request.method !== 'GET' ? 'other' : isWatch ? 'watch' : url.pathname.endsWith('/configmaps') || url.pathname.endsWith('/pods') ? 'list' : 'get';
    const remember = (code: number): void => {
      recorded.push({ verb, method: request.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), at: Date.now(), status: code });
    };
    if (request.headers.authorization !== `Bearer ${token}`) {
      sendJson(response, 401, status(401, 'Unauthorized', 'Unauthorized'));
      remember(401);
      return;
    }
    const fault = faults.find((candidate) => candidate.verb === verb && candidate.remaining > 0);
    if (fault !== undefined) {
      fault.remaining -= 1;
      sendJson(response, fault.status, status(fault.status, REASONS[fault.status] ?? 'Unknown', `injected failure ${fault.status}`));
      remember(fault.status);
      return;
    }
    void route(request, response, url, verb).then(remember, () => {
      if (!response.headersSent) sendJson(response, 500, status(500, 'InternalError', 'fake server error'));
      remember(500);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake kube api: no port');
  const url = `https://127.0.0.1:${address.port}`;

  return {
    url,
    token,
    caPem: certs.caCert,
    kubeConfig: (asToken = token) => {
      const config = new KubeConfig();
      config.loadFromOptions({
        clusters: [{ name: 'fake', server: url, caData: Buffer.from(certs.caCert).toString('base64'), skipTLSVerify: false }],
        users: [{ name: 'signet', token: asToken }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'signet', namespace: 'signet' }],
        currentContext: 'fake',
      });
      return config;
    },
    putConfigMap: (input) => {
      const existing = configMaps.get(key(input.namespace, input.name));
      rv += 1;
      const object: StoredConfigMap = {
        metadata: {
          name: input.name,
          namespace: input.namespace,
          uid: existing?.metadata.uid ?? randomUUID(),
          resourceVersion: String(rv),
          creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString(),
          ...(input.labels !== undefined ? { labels: { ...input.labels } } : {}),
        },
        ...(input.data !== undefined ? { data: { ...input.data } } : {}),
        ...(input.binaryData !== undefined ? { binaryData: { ...input.binaryData } } : {}),
      };
      configMaps.set(key(input.namespace, input.name), object);
      record({ rv, type: existing === undefined ? 'ADDED' : 'MODIFIED', before: existing, after: object });
      return clone(object);
    },
    deleteConfigMap: (namespace, name) => {
      const existing = configMaps.get(key(namespace, name));
      if (existing === undefined) return false;
      configMaps.delete(key(namespace, name));
      rv += 1;
      record({ rv, type: 'DELETED', before: existing, after: withRv(existing, rv) });
      return true;
    },
    putSecret: (input) => {
      const data = Object.fromEntries(Object.entries(input.stringData).map(([name, value]) => [name, Buffer.from(value, 'utf8').toString('base64')]));
      rv += 1;
      secrets.set(key(input.namespace, input.name), {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { name: input.name, namespace: input.namespace, uid: randomUUID(), resourceVersion: String(rv) },
        type: input.type,
        data,
      });
    },
    putPod: (input) => {
      rv += 1;
      pods.set(key(input.namespace, input.name), {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: input.name, namespace: input.namespace, uid: randomUUID(), resourceVersion: String(rv) },
        spec: input.spec,
        status: { phase: input.phase ?? 'Running' },
      });
    },
    putServiceAccount: (input) => {
      rv += 1;
      serviceAccounts.set(key(input.namespace, input.name), {
        kind: 'ServiceAccount',
        apiVersion: 'v1',
        metadata: { name: input.name, namespace: input.namespace, uid: randomUUID(), resourceVersion: String(rv) },
        ...(input.imagePullSecrets !== undefined ? { imagePullSecrets: input.imagePullSecrets.map((secret) => ({ name: secret })) } : {}),
      });
    },
    resourceVersion: () => rv,
    compact: () => {
      compactedRv = rv;
      history.length = 0;
    },
    dropWatches: () => {
      for (const watch of [...watches]) {
        closeWatch(watch);
        watch.response.socket?.destroy();
      }
    },
    endWatches: () => {
      for (const watch of [...watches]) {
        closeWatch(watch);
        if (!watch.response.headersSent) watch.response.writeHead(200, { 'content-type': 'application/json' });
        watch.response.end();
      }
    },
    stallWatches: (value) => {
      stalled = value;
      if (value) for (const watch of watches) watch.stalled = true;
    },
    failNext: (verb, code, count = 1) => {
      faults.push({ verb, status: code, remaining: count });
    },
    requests: (verb) => recorded.filter((entry) => verb === undefined || entry.verb === verb),
    openWatches: () => watches.size,
    events: () => postedEvents.map((event) => clone(event)),
    close: async () => {
      for (const watch of [...watches]) closeWatch(watch);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(certDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 10 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
