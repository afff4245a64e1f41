// A Kubernetes API stand-in for Helm's `lookup`, which only a cluster answers (`helm template` without
// one always finds nothing). `helm template --dry-run=server --disable-openapi-validation` asks it for
// what Helm needs and nothing more: /version, legacy discovery (/api, /api/v1, /apis and each group
// version) so that every kind the chart renders maps to a resource, and GETs of single objects, which
// answer from what the test put there or 404 with a Status, as the real server does. Plain HTTP on
// loopback: it serves test data only, and client-go dials http:// servers as they are written.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type JsonObject = Record<string, unknown>;

interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

/** Every kind the chart can render, including its CRD-backed ones (cert-manager, Prometheus Operator). */
const RESOURCES: readonly ResourceType[] = [
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration', plural: 'validatingwebhookconfigurations', namespaced: false },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', namespaced: false },
  { group: 'cert-manager.io', version: 'v1', kind: 'Issuer', plural: 'issuers', namespaced: true },
  { group: 'cert-manager.io', version: 'v1', kind: 'Certificate', plural: 'certificates', namespaced: true },
  { group: 'monitoring.coreos.com', version: 'v1', kind: 'ServiceMonitor', plural: 'servicemonitors', namespaced: true },
];

export interface LookupCluster {
  /** A kubeconfig file naming this server, for `helm --kubeconfig`. */
  readonly kubeconfigPath: string;
  /** Stores an object as the API would serve it (apiVersion, kind, metadata.name and, when namespaced, metadata.namespace). */
  put(object: JsonObject): void;
  /** Paths of the single-object GETs served so far (what `lookup` asked for). */
  gets(): readonly string[];
  close(): Promise<void>;
}

function groupVersion(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

function objectPath(type: ResourceType, namespace: string, name: string): string {
  const prefix = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  return type.namespaced ? `${prefix}/namespaces/${namespace}/${type.plural}/${name}` : `${prefix}/${type.plural}/${name}`;
}

function send(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function notFound(message: string): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'NotFound', code: 404 };
}

function resourceList(version: string, group: string): JsonObject {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version).map((r) => ({
    name: r.plural,
    singularName: r.kind.toLowerCase(),
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: ['get', 'list'],
  }));
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}

function groupList(): JsonObject {
  const groups = [...new Map(RESOURCES.filter((r) => r.group !== '').map((r) => [r.group, r.version]))].map(([name, served]) => {
    const version = { groupVersion: `${name}/${served}`, version: served };
    return { name, versions: [version], preferredVersion: version };
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export async function startLookupCluster(): Promise<LookupCluster> {
  const objects = new Map<string, JsonObject>();
  const served: string[] = [];

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (request.method !== 'GET') return send(response, 405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'MethodNotAllowed', code: 405 });
    if (path === '/version') return send(response, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0', platform: 'linux/amd64' });
    if (path === '/api') return send(response, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/api/v1') return send(response, 200, resourceList('v1', ''));
    if (path === '/apis') return send(response, 200, groupList());
    const groupMatch = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (groupMatch) return send(response, 200, resourceList(groupMatch[2]!, groupMatch[1]!));
    const found = objects.get(path);
    if (found) {
      served.push(path);
      return send(response, 200, found);
    }
    served.push(path);
    return send(response, 404, notFound(`${path} not found`));
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('lookup cluster: no port');
  const dir = await mkdtemp(join(tmpdir(), 'signet-lookup-cluster-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lookup', cluster: { server: `http://127.0.0.1:${address.port}` } }],
    users: [{ name: 'test', user: { token: 'lookup-only' } }],
    contexts: [{ name: 'lookup', context: { cluster: 'lookup', user: 'test' } }],
    'current-context': 'lookup',
  };
  await writeFile(kubeconfigPath, JSON.stringify(kubeconfig), { mode: 0o600 });

  return {
    kubeconfigPath,
    put: (object) => {
      const metadata = (object['metadata'] ?? {}) as { name?: string; namespace?: string };
      const type = RESOURCES.find((r) => groupVersion(r) === object['apiVersion'] && r.kind === object['kind']);
      if (!type || !metadata.name) throw new Error(`lookup cluster: cannot store ${String(object['apiVersion'])} ${String(object['kind'])} ${String(metadata.name)}`);
      objects.set(objectPath(type, metadata.namespace ?? '', metadata.name), structuredClone(object));
    },
    gets: () => [...served],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
