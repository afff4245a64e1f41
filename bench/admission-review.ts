// Builds the AdmissionReview bodies the benchmark sends: a Pod CREATE as kube-apiserver sends it for a
// ReplicaSet-owned pod (managedFields, env, volumes, probes, sidecars), so JSON parsing costs what it
// costs in a cluster. With three images it is about 8.8 KB, like perf-limits.md §3.
import { randomUUID } from 'node:crypto';

export interface PodImages {
  /** The application container's image. */
  readonly app: string;
  /** Sidecars, in order: a service-mesh proxy and a log shipper in the three-image pod. */
  readonly sidecars: readonly string[];
}

const SIDECAR_NAMES = ['istio-proxy', 'log-shipper'] as const;

/** The JSON text of one AdmissionReview (v1) for a Pod CREATE with these images. */
export function podReviewJson(images: PodImages, uid: string = randomUUID()): string {
  return JSON.stringify(podReview(images, uid));
}

export function podReview(images: PodImages, uid: string): Record<string, unknown> {
  const podName = `checkout-7d9f8b6c4-${uid.slice(0, 5)}`;
  const namespace = 'shop';
  const labels = {
    app: 'checkout',
    'app.kubernetes.io/name': 'checkout',
    'app.kubernetes.io/instance': 'checkout-prod',
    'app.kubernetes.io/version': '2.14.3',
    'app.kubernetes.io/component': 'api',
    'app.kubernetes.io/part-of': 'shop',
    'pod-template-hash': '7d9f8b6c4',
    'security.istio.io/tlsMode': 'istio',
    'service.istio.io/canonical-name': 'checkout',
  };
  const containers = [appContainer(images.app), ...images.sidecars.map((image, i) => sidecarContainer(SIDECAR_NAMES[i] ?? `sidecar-${i}`, image))];
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'checkout-7d9f8b6c4-',
      name: podName,
      namespace,
      uid: randomUUID(),
      creationTimestamp: null,
      labels,
      annotations: {
        'kubectl.kubernetes.io/restartedAt': '2025-05-02T09:14:07Z',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
      },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'checkout-7d9f8b6c4', uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2025-05-02T09:14:08Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': {
              'f:annotations': Object.fromEntries(['kubectl.kubernetes.io/restartedAt', 'prometheus.io/scrape', 'prometheus.io/port'].map((k) => [`f:${k}`, {}])),
              'f:generateName': {},
              'f:labels': Object.fromEntries(Object.keys(labels).map((k) => [`f:${k}`, {}])),
              'f:ownerReferences': { '.': {}, [`k:{"uid":"${randomUUID()}"}`]: {} },
            },
            'f:spec': {
              'f:containers': Object.fromEntries(containers.map((c) => [`k:{"name":"${c.name}"}`, managedContainerFields(c.name === 'app')])),
              'f:dnsPolicy': {},
              'f:enableServiceLinks': {},
              'f:restartPolicy': {},
              'f:schedulerName': {},
              'f:securityContext': { '.': {}, 'f:fsGroup': {}, 'f:runAsNonRoot': {} },
              'f:serviceAccountName': {},
              'f:terminationGracePeriodSeconds': {},
              'f:volumes': { '.': {}, 'k:{"name":"config"}': { '.': {}, 'f:configMap': { '.': {}, 'f:defaultMode': {}, 'f:name': {} }, 'f:name': {} } },
            },
          },
        },
      ],
    },
    spec: {
      volumes: [
        { name: 'config', configMap: { name: 'checkout-config', defaultMode: 420 } },
        {
          name: 'kube-api-access-7xk2p',
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      containers,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'checkout',
      serviceAccount: 'checkout',
      securityContext: { runAsNonRoot: true, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {},
  };
  const kind = { group: '', version: 'v1', kind: 'Pod' };
  const resource = { group: '', version: 'v1', resource: 'pods' };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind,
      resource,
      requestKind: kind,
      requestResource: resource,
      name: podName,
      namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: randomUUID(),
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

interface Container {
  readonly name: string;
  readonly [field: string]: unknown;
}

function appContainer(image: string): Container {
  return {
    name: 'app',
    image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--config=/etc/checkout/config.yaml', '--listen=:8080', '--metrics=:9090'],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'checkout-db', key: 'url' } } },
      { name: 'LOG_LEVEL', value: 'info' },
    ],
    resources: { limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '250m', memory: '256Mi' } },
    volumeMounts: [
      { name: 'config', readOnly: true, mountPath: '/etc/checkout' },
      { name: 'kube-api-access-7xk2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
    ],
    livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 10, timeoutSeconds: 2, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: 8080, scheme: 'HTTP' }, timeoutSeconds: 2, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsUser: 10001, capabilities: { drop: ['ALL'] } },
  };
}

function sidecarContainer(name: string, image: string): Container {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: name === 'istio-proxy' ? ['proxy', 'sidecar', '--domain', '$(POD_NAMESPACE).svc.cluster.local', '--proxyLogLevel=warning'] : ['--config', '/etc/shipper/shipper.conf'],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
    ],
    resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '50m', memory: '64Mi' } },
    volumeMounts: [{ name: 'kube-api-access-7xk2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
    ...(name === 'istio-proxy'
      ? { readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021, scheme: 'HTTP' }, initialDelaySeconds: 1, timeoutSeconds: 3, periodSeconds: 2, successThreshold: 1, failureThreshold: 30 } }
      : {}),
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsUser: 1337, capabilities: { drop: ['ALL'] } },
  };
}

/** FieldsV1 ownership of one container, as the controller manager records it. */
function managedContainerFields(full: boolean): Record<string, unknown> {
  const base: Record<string, unknown> = {
    '.': {},
    'f:args': {},
    'f:env': { '.': {}, 'k:{"name":"POD_NAME"}': { '.': {}, 'f:name': {}, 'f:valueFrom': { '.': {}, 'f:fieldRef': {} } } },
    'f:image': {},
    'f:imagePullPolicy': {},
    'f:name': {},
    'f:resources': { '.': {}, 'f:limits': { '.': {}, 'f:cpu': {}, 'f:memory': {} }, 'f:requests': { '.': {}, 'f:cpu': {}, 'f:memory': {} } },
    'f:securityContext': { '.': {}, 'f:allowPrivilegeEscalation': {}, 'f:readOnlyRootFilesystem': {}, 'f:runAsUser': {} },
    'f:terminationMessagePath': {},
    'f:terminationMessagePolicy': {},
  };
  if (!full) return base;
  return {
    ...base,
    'f:livenessProbe': { '.': {}, 'f:httpGet': { '.': {}, 'f:path': {}, 'f:port': {}, 'f:scheme': {} }, 'f:initialDelaySeconds': {}, 'f:periodSeconds': {} },
    'f:ports': { '.': {}, 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:name': {}, 'f:protocol': {} } },
    'f:readinessProbe': { '.': {}, 'f:httpGet': { '.': {}, 'f:path': {}, 'f:port': {}, 'f:scheme': {} }, 'f:periodSeconds': {} },
  };
}
