// Builders for realistic AdmissionReview bodies, shaped like what kube-apiserver sends, and a
// checker that validates responses the way the API server does (webhook/request/admissionreview.go).
import { randomUUID } from 'node:crypto';

export interface ContainerSpec {
  name: string;
  image: string;
}

export interface PodSpecInput {
  containers: ContainerSpec[];
  initContainers?: ContainerSpec[];
  ephemeralContainers?: ContainerSpec[];
}

const GVK: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: '', version: 'v1', resource: 'pods' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', version: 'v1', resource: 'replicasets' },
  ReplicationController: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  Job: { group: 'batch', version: 'v1', resource: 'jobs' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
};

export function podSpec(input: PodSpecInput): Record<string, unknown> {
  const c = (s: ContainerSpec) => ({
    name: s.name,
    image: s.image,
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu: '10m', memory: '16Mi' } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  });
  return {
    containers: input.containers.map(c),
    ...(input.initContainers ? { initContainers: input.initContainers.map(c) } : {}),
    ...(input.ephemeralContainers ? { ephemeralContainers: input.ephemeralContainers.map(c) } : {}),
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    serviceAccountName: 'default',
    securityContext: {},
    schedulerName: 'default-scheduler',
  };
}

export function workload(kind: string, name: string, namespace: string, spec: PodSpecInput): Record<string, unknown> {
  const metadata = { name, namespace, labels: { app: name }, uid: randomUUID() };
  const template = { metadata: { labels: { app: name } }, spec: podSpec(spec) };
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata, spec: podSpec(spec) };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind, metadata, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template } } } };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata, spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } } };
    case 'ReplicationController':
      return { apiVersion: 'v1', kind, metadata, spec: { replicas: 1, selector: { app: name }, template } };
    default:
      return { apiVersion: 'apps/v1', kind, metadata, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template } };
  }
}

export interface ReviewInput {
  apiVersion?: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
  kind: string;
  namespace?: string;
  name?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  subResource?: string;
  dryRun?: boolean;
  uid?: string;
}

export function admissionReview(r: ReviewInput): Record<string, unknown> {
  const gvr = GVK[r.kind] ?? { group: 'example.com', version: 'v1', resource: r.kind.toLowerCase() + 's' };
  const kind = { group: gvr.group, version: gvr.version, kind: r.kind };
  const resource = { group: gvr.group, version: gvr.version, resource: gvr.resource };
  return {
    apiVersion: r.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: r.uid ?? randomUUID(),
      kind,
      resource,
      ...(r.subResource ? { subResource: r.subResource, requestSubResource: r.subResource } : {}),
      requestKind: kind,
      requestResource: resource,
      name: r.name ?? 'web',
      namespace: r.namespace ?? 'default',
      operation: r.operation ?? 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: randomUUID(), groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: r.object,
      oldObject: r.oldObject ?? null,
      dryRun: r.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/**
 * The checks kube-apiserver applies to a webhook's answer; a response failing any of them is a
 * webhook error in a real cluster. Returns the problems (empty when valid).
 */
export function admissionResponseProblems(request: Record<string, unknown>, body: unknown, webhookType: 'validating' | 'mutating'): string[] {
  const problems: string[] = [];
  if (typeof body !== 'object' || body === null) return ['response is not a JSON object'];
  const b = body as Record<string, unknown>;
  if (b['apiVersion'] !== request['apiVersion']) problems.push(`apiVersion ${String(b['apiVersion'])} != request ${String(request['apiVersion'])}`);
  if (b['kind'] !== 'AdmissionReview') problems.push(`kind ${String(b['kind'])} != AdmissionReview`);
  const response = b['response'] as Record<string, unknown> | undefined;
  if (typeof response !== 'object' || response === null) return [...problems, 'response.response missing'];
  const reqUid = (request['request'] as Record<string, unknown>)['uid'];
  if (response['uid'] !== reqUid) problems.push(`response.uid ${String(response['uid'])} != request.uid ${String(reqUid)}`);
  if (typeof response['allowed'] !== 'boolean') problems.push('response.allowed is not a boolean');
  if (response['status'] !== undefined) {
    const s = response['status'] as Record<string, unknown>;
    if (typeof s !== 'object' || s === null) problems.push('status is not an object');
    else {
      if (s['code'] !== undefined && !Number.isInteger(s['code'])) problems.push('status.code is not an integer');
      if (s['message'] !== undefined && typeof s['message'] !== 'string') problems.push('status.message is not a string');
    }
  }
  if (response['allowed'] === false && typeof (response['status'] as Record<string, unknown> | undefined)?.['message'] !== 'string') {
    problems.push('a denial carries no status.message for the user');
  }
  if (response['warnings'] !== undefined) {
    const w = response['warnings'];
    if (!Array.isArray(w) || w.some((x) => typeof x !== 'string')) problems.push('warnings is not a list of strings');
    else for (const x of w as string[]) if (/[^\x20-\x7e]/.test(x)) problems.push(`warning has non-printable characters: ${JSON.stringify(x)}`);
  }
  const hasPatch = response['patch'] !== undefined;
  if (hasPatch && webhookType === 'validating') problems.push('a validating webhook returned a patch');
  if (hasPatch && response['patchType'] !== 'JSONPatch') problems.push('patch without patchType JSONPatch');
  if (!hasPatch && response['patchType'] !== undefined) problems.push('patchType without patch');
  if (hasPatch) {
    try {
      const ops = JSON.parse(Buffer.from(String(response['patch']), 'base64').toString('utf8')) as unknown;
      if (!Array.isArray(ops)) problems.push('patch is not a JSON Patch array');
    } catch {
      problems.push('patch is not base64 JSON');
    }
  }
  if (response['auditAnnotations'] !== undefined) {
    const a = response['auditAnnotations'];
    if (typeof a !== 'object' || a === null || Object.values(a).some((v) => typeof v !== 'string')) problems.push('auditAnnotations is not a map of strings');
  }
  return problems;
}
