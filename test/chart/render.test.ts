// The chart rendered by the real Helm (`helm template`, support/helm.ts) for the defaults and for each
// option. Every rendered document must parse as YAML without duplicate keys, carry apiVersion, kind and
// metadata, meet its kind's Kubernetes schema (kubernetes-models) and have no field Kubernetes does not
// know. Then each object is checked for the behaviour issue 7 asks for.
import { at, describeHelm, dryRunInstall, findObject, readDefaultValues, renderChart, renderError, type RenderedChart, type Values } from './support/helm.js';
import { hasModel, schemaProblems, unknownFields } from './support/k8s-validate.js';

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'Namespace']);
const CUSTOM_KINDS = new Set(['cert-manager.io/v1/Issuer', 'cert-manager.io/v1/Certificate', 'monitoring.coreos.com/v1/ServiceMonitor']);

function kindsAndNames(rendered: RenderedChart): string[] {
  return rendered.documents.map((d) => `${d.object.kind}/${d.object.metadata.name}`).sort();
}

function expectWellFormed(rendered: RenderedChart, namespace = 'signet'): void {
  expect(rendered.documents.length).toBeGreaterThan(0);
  for (const { file, object } of rendered.documents) {
    const where = `${file}: ${object.kind}/${object.metadata?.name}`;
    expect([where, typeof object.apiVersion, typeof object.kind, typeof object.metadata?.name]).toEqual([where, 'string', 'string', 'string']);
    expect([where, object.metadata.namespace]).toEqual([where, CLUSTER_SCOPED.has(object.kind) ? undefined : namespace]);
    expect([where, object.metadata.labels?.['app.kubernetes.io/name'], object.metadata.labels?.['app.kubernetes.io/managed-by']]).toEqual([where, 'signet', 'Helm']);
    if (hasModel(object)) {
      expect([where, schemaProblems(object)]).toEqual([where, '']);
      expect([where, unknownFields(object)]).toEqual([where, []]);
    } else {
      expect(CUSTOM_KINDS).toContain(`${object.apiVersion}/${object.kind}`);
    }
  }
}

function podSpec(rendered: RenderedChart): unknown {
  return at(findObject(rendered, 'Deployment'), 'spec', 'template', 'spec');
}

function container(rendered: RenderedChart): unknown {
  return at(podSpec(rendered), 'containers', 0);
}

function args(rendered: RenderedChart): string[] {
  return at(container(rendered), 'args') as string[];
}

function webhookOf(rendered: RenderedChart, kind: 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration'): unknown {
  const configuration = findObject(rendered, kind);
  expect(at(configuration, 'webhooks')).toHaveLength(1);
  return at(configuration, 'webhooks', 0);
}

const WEBHOOK_KINDS = ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const;

describeHelm('chart rendered with default values (helm template)', () => {
  let rendered: RenderedChart;
  let values: Values;
  beforeAll(async () => {
    rendered = await renderChart({ releaseName: 'signet', namespace: 'signet' });
    values = readDefaultValues();
  });

  it('produces exactly the default objects', async () => {
    expect(kindsAndNames(rendered)).toEqual(
      [
        'ConfigMap/signet-trust',
        'Deployment/signet',
        'MutatingWebhookConfiguration/signet',
        'PodDisruptionBudget/signet',
        'Role/signet',
        'RoleBinding/signet',
        'Secret/signet-ca',
        'Secret/signet-tls',
        'Service/signet',
        'ServiceAccount/signet',
        'ValidatingWebhookConfiguration/signet',
      ].sort(),
    );
  });

  it('renders documents that parse, name themselves, live in the release namespace and meet their Kubernetes schemas with no unknown fields', async () => {
    expectWellFormed(rendered);
  });

  it('the schema and unknown-field checks catch a wrong type and misspelt fields (they are not vacuous)', async () => {
    const deployment = structuredClone(findObject(rendered, 'Deployment')) as unknown as { spec: Record<string, unknown> };
    deployment.spec['replicas'] = 'two';
    expect(schemaProblems(findObject(rendered, 'Deployment'))).toBe('');
    expect(schemaProblems(deployment as never)).toMatch(/spec\/replicas must be integer/);
    const misspelt = structuredClone(findObject(rendered, 'Deployment'));
    Object.assign(at(misspelt, 'spec', 'template', 'spec', 'containers', 0) as object, { imagePullPolcy: 'Always' });
    Object.assign(at(misspelt, 'spec') as object, { replica: 3 });
    expect(unknownFields(misspelt)).toEqual(['spec.replica', 'spec.template.spec.containers[0].imagePullPolcy']);
    const webhook = structuredClone(findObject(rendered, 'ValidatingWebhookConfiguration'));
    Object.assign(at(webhook, 'webhooks', 0, 'clientConfig', 'service') as object, { paht: '/x' });
    expect(unknownFields(webhook)).toEqual(['webhooks[0].clientConfig.service.paht']);
  });

  it('runs 2 replicas spread over nodes and zones, rolled without losing a ready replica, with a PodDisruptionBudget', async () => {
    const deployment = findObject(rendered, 'Deployment');
    expect(at(deployment, 'spec', 'replicas')).toBe(2);
    expect(at(deployment, 'spec', 'strategy')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const selector = at(deployment, 'spec', 'selector', 'matchLabels');
    expect(selector).toEqual({ 'app.kubernetes.io/name': 'signet', 'app.kubernetes.io/instance': 'signet' });
    expect(at(deployment, 'spec', 'template', 'metadata', 'labels')).toEqual(selector);
    const pod = podSpec(rendered);
    expect(at(pod, 'affinity')).toEqual({
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } }] },
    });
    expect(at(pod, 'topologySpreadConstraints')).toEqual([
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector }, matchLabelKeys: ['pod-template-hash'] },
    ]);
    expect(at(findObject(rendered, 'PodDisruptionBudget'), 'spec')).toEqual({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: selector } });
  });

  it('hardens the pod: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, requests and limits', async () => {
    expect(at(podSpec(rendered), 'securityContext')).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    const c = container(rendered);
    expect(at(c, 'securityContext')).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(at(c, 'resources')).toEqual(values['resources']);
    expect(Object.keys(at(c, 'resources', 'requests') as object).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(at(c, 'resources', 'limits') as object).sort()).toEqual(['cpu', 'memory']);
  });

  it('probes /healthz (liveness) and /readyz (readiness) over HTTPS on the webhook port', async () => {
    const c = container(rendered);
    expect(at(c, 'ports')).toEqual([{ name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(at(c, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(at(c, 'readinessProbe', 'httpGet')).toEqual({ path: '/readyz', port: 'https', scheme: 'HTTPS' });
  });

  it('drains before SIGTERM and gives in-flight reviews their whole timeout before SIGKILL', async () => {
    const sleep = at(container(rendered), 'lifecycle', 'preStop', 'sleep', 'seconds');
    expect(sleep).toBe(5);
    // preStop sleep + the drain after SIGTERM (--drain-period's default) + the review timeout + a margin.
    expect(at(podSpec(rendered), 'terminationGracePeriodSeconds')).toBe(5 + 5 + 10 + 5);
  });

  it('starts `signet serve` with trust from the API, its namespace, the mounted certificate and the webhook timeout', async () => {
    const c = container(rendered);
    expect(at(c, 'image')).toBe('registry.example.com/signet:0.1.0');
    expect(args(rendered)).toEqual(['--kube', '--namespace=$(POD_NAMESPACE)', '--tls-cert=/etc/signet/tls/tls.crt', '--tls-key=/etc/signet/tls/tls.key', '--port=8443', '--timeout-seconds=10']);
    expect(at(c, 'env')).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'SIGNET_LOG_LEVEL', value: 'info' },
    ]);
    expect(at(c, 'volumeMounts')).toEqual([{ name: 'tls', mountPath: '/etc/signet/tls', readOnly: true }]);
    expect(at(podSpec(rendered), 'volumes')).toEqual([{ name: 'tls', secret: { secretName: 'signet-tls' } }]);
    expect(at(podSpec(rendered), 'serviceAccountName')).toBe('signet');
    expect(at(findObject(rendered, 'ServiceAccount'), 'automountServiceAccountToken')).toBe(true);
  });

  it('exposes the webhook port as Service port 443, selecting the webhook pods', async () => {
    const service = findObject(rendered, 'Service');
    expect(at(service, 'spec', 'ports')).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    expect(at(service, 'spec', 'selector')).toEqual(at(findObject(rendered, 'Deployment'), 'spec', 'selector', 'matchLabels'));
  });

  it('configures the validating webhook safely: v1 and v1beta1 reviews, NoneOnDryRun, timeout 10, Fail, exemptions, own service account skipped', async () => {
    const webhook = webhookOf(rendered, 'ValidatingWebhookConfiguration');
    expect(webhook).toMatchObject({
      name: 'verify-images.signet.dev',
      admissionReviewVersions: ['v1', 'v1beta1'],
      sideEffects: 'NoneOnDryRun',
      timeoutSeconds: 10,
      failurePolicy: 'Fail',
      matchPolicy: 'Equivalent',
      clientConfig: { service: { name: 'signet', namespace: 'signet', path: '/validate', port: 443 } },
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['signet', 'kube-system'] }] },
      matchConditions: [{ name: 'exclude-signet-service-account', expression: "request.userInfo.username != 'system:serviceaccount:signet:signet'" }],
    });
  });

  it('sends pods (create, update, ephemeral containers) and every workload kind to the validating webhook', async () => {
    const rules = at(webhookOf(rendered, 'ValidatingWebhookConfiguration'), 'rules') as { apiGroups: string[]; resources: string[]; operations: string[]; scope: string }[];
    expect(rules).toEqual(at(values, 'webhook', 'rules'));
    expect(rules.every((rule) => rule.scope === 'Namespaced')).toBe(true);
    const covered = rules.flatMap((rule) => rule.resources.flatMap((resource) => rule.operations.map((op) => `${rule.apiGroups.join('|')}/${resource}/${op}`)));
    expect(covered.sort()).toEqual(
      [
        '/pods/CREATE',
        '/pods/UPDATE',
        '/pods/ephemeralcontainers/UPDATE',
        '/replicationcontrollers/CREATE',
        '/replicationcontrollers/UPDATE',
        'apps/deployments/CREATE',
        'apps/deployments/UPDATE',
        'apps/replicasets/CREATE',
        'apps/replicasets/UPDATE',
        'apps/statefulsets/CREATE',
        'apps/statefulsets/UPDATE',
        'apps/daemonsets/CREATE',
        'apps/daemonsets/UPDATE',
        'batch/jobs/CREATE',
        'batch/jobs/UPDATE',
        'batch/cronjobs/CREATE',
        'batch/cronjobs/UPDATE',
      ].sort(),
    );
  });

  it('adds a mutating webhook for Pod digest pinning that never blocks (Ignore) and is re-invoked after other mutations', async () => {
    const webhook = webhookOf(rendered, 'MutatingWebhookConfiguration');
    const validating = webhookOf(rendered, 'ValidatingWebhookConfiguration');
    expect(webhook).toMatchObject({
      name: 'pin-digests.signet.dev',
      clientConfig: { service: { name: 'signet', namespace: 'signet', path: '/mutate', port: 443 } },
      failurePolicy: 'Ignore',
      reinvocationPolicy: 'IfNeeded',
      sideEffects: 'NoneOnDryRun',
      admissionReviewVersions: ['v1', 'v1beta1'],
      timeoutSeconds: 10,
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'], scope: 'Namespaced' }],
    });
    expect(at(webhook, 'namespaceSelector')).toEqual(at(validating, 'namespaceSelector'));
    expect(at(webhook, 'matchConditions')).toEqual(at(validating, 'matchConditions'));
    expect(at(webhook, 'clientConfig', 'caBundle')).toBe(at(validating, 'clientConfig', 'caBundle'));
  });

  it('grants only list/watch on ConfigMaps and create on Events, in its own namespace, and nothing cluster-wide', async () => {
    expect(at(findObject(rendered, 'Role'), 'rules')).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    expect(rendered.documents.filter((d) => d.object.kind.startsWith('Cluster'))).toEqual([]);
    const binding = findObject(rendered, 'RoleBinding');
    expect(at(binding, 'roleRef')).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'signet' });
    expect(at(binding, 'subjects')).toEqual([{ kind: 'ServiceAccount', name: 'signet', namespace: 'signet' }]);
  });

  it('labels the trust ConfigMap for the webhook to find, with the policy from values', async () => {
    const configMap = findObject(rendered, 'ConfigMap', 'signet-trust');
    expect(configMap.metadata.labels?.['signet.dev/trust']).toBe('cluster');
    expect(at(configMap, 'data')).toEqual({ 'policy.yaml': at(values, 'trust', 'policy') });
  });
});

describeHelm('chart options (helm template)', () => {
  it('timeoutSeconds reaches both webhooks and --timeout-seconds, and stretches the grace period', async () => {
    const rendered = await renderChart({ values: { webhook: { timeoutSeconds: 30 } } });
    for (const kind of WEBHOOK_KINDS) expect(at(webhookOf(rendered, kind), 'timeoutSeconds')).toBe(30);
    expect(args(rendered)).toContain('--timeout-seconds=30');
    expect(at(podSpec(rendered), 'terminationGracePeriodSeconds')).toBe(45);
  });

  it('failurePolicy, exempt namespaces, extra selector expressions and match conditions reach both webhooks', async () => {
    const extraExpression = { key: 'signet.dev/ignore', operator: 'DoesNotExist' };
    const extraCondition = { name: 'skip-bot', expression: "request.userInfo.username != 'bot'" };
    const rendered = await renderChart({
      namespace: 'security',
      values: { webhook: { failurePolicy: 'Ignore', exemptNamespaces: ['kube-system', 'security', 'monitoring'], namespaceSelectorExpressions: [extraExpression], extraMatchConditions: [extraCondition] } },
    });
    expectWellFormed(rendered, 'security');
    for (const kind of WEBHOOK_KINDS) {
      const webhook = webhookOf(rendered, kind);
      // The release namespace is listed once even when values repeat it.
      expect(at(webhook, 'namespaceSelector', 'matchExpressions')).toEqual([{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['security', 'kube-system', 'monitoring'] }, extraExpression]);
      expect(at(webhook, 'matchConditions')).toEqual([{ name: 'exclude-signet-service-account', expression: "request.userInfo.username != 'system:serviceaccount:security:signet'" }, extraCondition]);
    }
    expect(at(webhookOf(rendered, 'ValidatingWebhookConfiguration'), 'failurePolicy')).toBe('Ignore');
  });

  it('mutating.enabled=false drops the MutatingWebhookConfiguration only', async () => {
    const rendered = await renderChart({ values: { webhook: { mutating: { enabled: false } } } });
    expect(rendered.documents.some((d) => d.object.kind === 'MutatingWebhookConfiguration')).toBe(false);
    expect(findObject(rendered, 'ValidatingWebhookConfiguration')).toBeDefined();
  });

  const CONFIGMAPS_EVERYWHERE = { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] };
  const EVENTS_EVERYWHERE = { apiGroups: [''], resources: ['events'], verbs: ['create'] };
  const PULL_SECRETS = { apiGroups: [''], resources: ['secrets', 'serviceaccounts'], verbs: ['get'] };
const LIST_PODS = { apiGroups: [''], resources: ['pods'], verbs: ['list'] };
  it.each([
    ['tenants', { tenants: { enabled: true } }, ['--tenants'], [CONFIGMAPS_EVERYWHERE, EVENTS_EVERYWHERE]],
    ['events', { events: { enabled: true } }, ['--events'], [EVENTS_EVERYWHERE]],
    ['pullSecrets', { pullSecrets: { enabled: true } }, ['--pull-secrets'], [PULL_SECRETS]],
    ['warmUp', { warmUp: { enabled: true } }, ['--warm-up'], [LIST_PODS]],
    ['all three', { tenants: { enabled: true }, events: { enabled: true }, pullSecrets: { enabled: true } }, ['--tenants', '--events', '--pull-secrets'], [CONFIGMAPS_EVERYWHERE, EVENTS_EVERYWHERE, PULL_SECRETS]],
  ])('%s adds its flag and exactly its cluster-wide permissions', async (_name, override, flags, rules) => {
    const rendered = await renderChart({ values: override as Values });
    expectWellFormed(rendered);
    expect(args(rendered)).toEqual(expect.arrayContaining(flags));
    expect(at(findObject(rendered, 'ClusterRole'), 'rules')).toEqual(rules);
    const binding = findObject(rendered, 'ClusterRoleBinding');
    expect(at(binding, 'roleRef')).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'signet' });
    expect(at(binding, 'subjects')).toEqual([{ kind: 'ServiceAccount', name: 'signet', namespace: 'signet' }]);
  });

  it('rbac.create=false renders no RBAC objects', async () => {
    const rendered = await renderChart({ values: { rbac: { create: false }, tenants: { enabled: true } } });
    expect(rendered.documents.filter((d) => d.object.kind.includes('Role'))).toEqual([]);
  });

  it('registry credentials from values become a dockerconfigjson Secret passed with --docker-config', async () => {
    const dockerConfig = '{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}';
    const rendered = await renderChart({ values: { registry: { credentials: { dockerConfigJson: dockerConfig } } } });
    expectWellFormed(rendered);
    const secret = findObject(rendered, 'Secret', 'signet-registry');
    expect(at(secret, 'type')).toBe('kubernetes.io/dockerconfigjson');
    expect(Buffer.from(at(secret, 'data', '.dockerconfigjson') as string, 'base64').toString('utf8')).toBe(dockerConfig);
    expect(args(rendered)).toContain('--docker-config=/etc/signet/registry/.dockerconfigjson');
    expect(at(container(rendered), 'volumeMounts')).toContainEqual({ name: 'registry-credentials', mountPath: '/etc/signet/registry', readOnly: true });
    expect(at(podSpec(rendered), 'volumes')).toContainEqual({ name: 'registry-credentials', secret: { secretName: 'signet-registry' } });
  });

  it('an existing registry Secret is mounted without creating one', async () => {
    const rendered = await renderChart({ values: { registry: { credentials: { existingSecret: 'pull-creds' } } } });
    expect(rendered.documents.some((d) => d.object.metadata.name === 'signet-registry')).toBe(false);
    expect(at(podSpec(rendered), 'volumes')).toContainEqual({ name: 'registry-credentials', secret: { secretName: 'pull-creds' } });
    expect(args(rendered)).toContain('--docker-config=/etc/signet/registry/.dockerconfigjson');
  });

  it('refuses both registry credential sources at once, with a message that says which values clash', async () => {
    const both = { registry: { credentials: { existingSecret: 'a', dockerConfigJson: '{}' } } };
    expect(await renderError({ values: both })).toMatch(/execution error at \(signet\/templates\/registry\.yaml:\d+:\d+\): set registry\.credentials\.dockerConfigJson or registry\.credentials\.existingSecret, not both/);
  });

  it('a registry CA bundle is mounted from a ConfigMap and passed with --ca-file', async () => {
    const bundle = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const rendered = await renderChart({ values: { registry: { ca: { bundle }, insecureRegistries: ['localhost:5000'] } } });
    expectWellFormed(rendered);
    expect(at(findObject(rendered, 'ConfigMap', 'signet-registry-ca'), 'data')).toEqual({ 'ca.crt': bundle });
    expect(args(rendered)).toEqual(expect.arrayContaining(['--ca-file=/etc/signet/registry-ca/ca.crt', '--insecure-registry=localhost:5000']));
    expect(JSON.stringify(at(container(rendered), 'env'))).not.toContain('SIGNET_REGISTRIES');
    expect(at(podSpec(rendered), 'volumes')).toContainEqual({ name: 'registry-ca', configMap: { name: 'signet-registry-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  });

  it('NetworkPolicy admits only the webhook port, and restricts egress only when egress rules are given', async () => {
    const open = findObject(await renderChart({ values: { networkPolicy: { enabled: true } } }), 'NetworkPolicy');
    expect(at(open, 'spec', 'policyTypes')).toEqual(['Ingress']);
    expect(at(open, 'spec', 'ingress')).toEqual([{ ports: [{ port: 'https', protocol: 'TCP' }] }]);
    const from = [{ ipBlock: { cidr: '10.0.0.0/24' } }];
    const egress = [{ ports: [{ port: 53, protocol: 'UDP' }] }];
    const rendered = await renderChart({ values: { networkPolicy: { enabled: true, ingressFrom: from, egress } } });
    expectWellFormed(rendered);
    const strict = findObject(rendered, 'NetworkPolicy');
    expect(at(strict, 'spec', 'policyTypes')).toEqual(['Ingress', 'Egress']);
    expect(at(strict, 'spec', 'ingress', 0, 'from')).toEqual(from);
    expect(at(strict, 'spec', 'egress')).toEqual(egress);
    expect(at(strict, 'spec', 'podSelector', 'matchLabels')).toEqual(at(findObject(rendered, 'Deployment'), 'spec', 'selector', 'matchLabels'));
  });

  it('ServiceMonitor scrapes /metrics over HTTPS and verifies the webhook certificate with its CA', async () => {
    const rendered = await renderChart({ values: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } } });
    expectWellFormed(rendered);
    const monitor = findObject(rendered, 'ServiceMonitor');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels?.['release']).toBe('prometheus');
    expect(at(monitor, 'spec', 'selector', 'matchLabels')).toEqual(at(findObject(rendered, 'Service'), 'spec', 'selector'));
    expect(at(monitor, 'spec', 'endpoints')).toEqual([
      { port: 'https', path: '/metrics', scheme: 'https', interval: '30s', scrapeTimeout: '10s', tlsConfig: { serverName: 'signet.signet.svc', ca: { secret: { name: 'signet-tls', key: 'ca.crt' } } } },
    ]);
  });

  it('certManager.enabled replaces the chart-made certificates with cert-manager objects and CA injection', async () => {
    const rendered = await renderChart({ values: { certManager: { enabled: true } } });
    expectWellFormed(rendered);
    expect(rendered.documents.some((d) => d.object.kind === 'Secret')).toBe(false);
    expect(kindsAndNames(rendered).filter((n) => n.startsWith('Issuer/') || n.startsWith('Certificate/'))).toEqual(['Certificate/signet-ca', 'Certificate/signet-tls', 'Issuer/signet-ca', 'Issuer/signet-selfsigned']);
    expect(at(findObject(rendered, 'Issuer', 'signet-selfsigned'), 'spec')).toEqual({ selfSigned: {} });
    expect(at(findObject(rendered, 'Certificate', 'signet-ca'), 'spec')).toMatchObject({ isCA: true, secretName: 'signet-ca', duration: '87600h', issuerRef: { name: 'signet-selfsigned', kind: 'Issuer' } });
    expect(at(findObject(rendered, 'Issuer', 'signet-ca'), 'spec')).toEqual({ ca: { secretName: 'signet-ca' } });
    expect(at(findObject(rendered, 'Certificate', 'signet-tls'), 'spec')).toMatchObject({
      secretName: 'signet-tls',
      dnsNames: ['signet', 'signet.signet', 'signet.signet.svc', 'signet.signet.svc.cluster.local'],
      duration: '2160h',
      renewBefore: '720h',
      privateKey: { rotationPolicy: 'Always' },
      issuerRef: { name: 'signet-ca', kind: 'Issuer', group: 'cert-manager.io' },
    });
    for (const kind of WEBHOOK_KINDS) {
      expect(findObject(rendered, kind).metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'signet/signet-tls' });
      expect(at(webhookOf(rendered, kind), 'clientConfig', 'caBundle')).toBeUndefined();
    }
    expect(at(podSpec(rendered), 'volumes', 0)).toEqual({ name: 'tls', secret: { secretName: 'signet-tls' } });
  });

  it('certManager.issuerRef uses an existing issuer and creates none', async () => {
    const issuerRef = { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' };
    const rendered = await renderChart({ values: { certManager: { enabled: true, issuerRef } } });
    expect(rendered.documents.some((d) => d.object.kind === 'Issuer')).toBe(false);
    expect(kindsAndNames(rendered).filter((n) => n.startsWith('Certificate/'))).toEqual(['Certificate/signet-tls']);
    expect(at(findObject(rendered, 'Certificate'), 'spec', 'issuerRef')).toEqual(issuerRef);
  });

  it('serviceAccount.create=false needs a name, and uses it everywhere', async () => {
    expect(await renderError({ values: { serviceAccount: { create: false } } })).toMatch(/serviceAccount\.name must name an existing service account when serviceAccount\.create is false/);
    const rendered = await renderChart({ values: { serviceAccount: { create: false, name: 'signet-sa' } } });
    expect(rendered.documents.some((d) => d.object.kind === 'ServiceAccount')).toBe(false);
    expect(at(podSpec(rendered), 'serviceAccountName')).toBe('signet-sa');
    expect(at(findObject(rendered, 'RoleBinding'), 'subjects', 0, 'name')).toBe('signet-sa');
    expect(at(webhookOf(rendered, 'ValidatingWebhookConfiguration'), 'matchConditions', 0, 'expression')).toBe("request.userInfo.username != 'system:serviceaccount:signet:signet-sa'");
  });

  it('names objects after the release, and the webhooks and the certificate point at that Service', async () => {
    const rendered = await renderChart({ releaseName: 'prod' });
    expectWellFormed(rendered);
    expect(findObject(rendered, 'Service').metadata.name).toBe('prod-signet');
    expect(at(webhookOf(rendered, 'ValidatingWebhookConfiguration'), 'clientConfig', 'service', 'name')).toBe('prod-signet');
    expect(findObject(rendered, 'Secret', 'prod-signet-tls').metadata.annotations?.['signet.dev/dns-names']).toBe('prod-signet,prod-signet.signet,prod-signet.signet.svc,prod-signet.signet.svc.cluster.local');
    // Helm allows release names of 53 characters; with a name override the full name is cut to a DNS label.
    const long = await renderChart({ releaseName: 'r'.repeat(53), values: { nameOverride: 'x'.repeat(20) } });
    expect(findObject(long, 'Service').metadata.name).toBe(`${'r'.repeat(53)}-${'x'.repeat(9)}`);
  });

  it('image.digest pins the webhook image instead of the tag', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(at(container(await renderChart({ values: { image: { digest } } })), 'image')).toBe(`registry.example.com/signet@${digest}`);
    expect(at(container(await renderChart({ values: { image: { tag: '0.2.0' } } })), 'image')).toBe('registry.example.com/signet:0.2.0');
  });

  it('podAntiAffinity hard requires distinct nodes, none drops it, and an affinity value replaces the preset', async () => {
    const hard = podSpec(await renderChart({ values: { podAntiAffinity: 'hard' } }));
    expect(at(hard, 'affinity', 'podAntiAffinity', 'requiredDuringSchedulingIgnoredDuringExecution', 0, 'topologyKey')).toBe('kubernetes.io/hostname');
    expect(at(podSpec(await renderChart({ values: { podAntiAffinity: 'none' } })), 'affinity')).toBeUndefined();
    const custom = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['system'] }] }] } } };
    expect(at(podSpec(await renderChart({ values: { affinity: custom } })), 'affinity')).toEqual(custom);
  });

  it('pod extras (labels, annotations, priority class, node selector, tolerations, args, env) land on the pod', async () => {
    const rendered = await renderChart({
      values: {
        podLabels: { team: 'platform' },
        podAnnotations: { 'example.com/a': 'b' },
        priorityClassName: 'system-cluster-critical',
        nodeSelector: { pool: 'system' },
        tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
        extraArgs: ['--reload-interval=10'],
        extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=256' }],
        imagePullSecrets: [{ name: 'pull' }],
        topologySpread: { enabled: false },
        podDisruptionBudget: { enabled: false },
      },
    });
    expectWellFormed(rendered);
    const template = at(findObject(rendered, 'Deployment'), 'spec', 'template');
    expect(at(template, 'metadata', 'labels', 'team')).toBe('platform');
    expect(at(template, 'metadata', 'annotations')).toEqual({ 'example.com/a': 'b' });
    expect(at(template, 'spec')).toMatchObject({ priorityClassName: 'system-cluster-critical', nodeSelector: { pool: 'system' }, imagePullSecrets: [{ name: 'pull' }] });
    expect(at(template, 'spec', 'tolerations')).toHaveLength(1);
    expect(at(template, 'spec', 'topologySpreadConstraints')).toBeUndefined();
    expect(args(rendered).at(-1)).toBe('--reload-interval=10');
    expect((at(container(rendered), 'env') as unknown[]).at(-1)).toEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=256' });
    expect(rendered.documents.some((d) => d.object.kind === 'PodDisruptionBudget')).toBe(false);
  });

  it('trust.create=false leaves the trust ConfigMap to the operator', async () => {
    const install = await dryRunInstall({ values: { trust: { create: false } } });
    expect(install.documents.some((d) => d.object.metadata.name === 'signet-trust')).toBe(false);
    expect(install.notes).toContain('(not created by the chart: create it yourself)');
  });

  it('NOTES.txt names the exempt namespaces and the break-glass command', async () => {
    const { notes } = await dryRunInstall();
    expect(notes).toContain('Exempt namespaces (never sent to Signet): signet, kube-system.');
    expect(notes).toContain('kubectl delete validatingwebhookconfiguration signet');
    expect(notes).toContain('Then check that it denies: a dry-run pod naming registry.invalid/signet/helm-test:unsigned in namespace default:\n  helm test signet -n signet\n');
    expect((await dryRunInstall({ values: { tests: { enabled: false } } })).notes).not.toContain('helm test');
  });

  it('the trust ConfigMap template refuses a key file named policy.yaml even when schema validation is skipped', async () => {
    expect(await renderError({ skipSchemaValidation: true, values: { trust: { keys: { 'policy.yaml': '-----BEGIN PUBLIC KEY-----' } } } })).toMatch(
      /trust\.keys must not contain policy\.yaml: that data key holds trust\.policy/,
    );
  });
});
