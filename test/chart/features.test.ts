// Chart features users of other charts ask for (issue #18), rendered by the real Helm and checked at
// the object level: webhook objectSelector, annotations and labels; hostNetwork and dnsPolicy; extra
// volumes and mounts; the registry CA from an existing ConfigMap; and the `helm test` hook.
import { at, describeHelm, dryRunInstall, findObject, lintChart, renderChart, renderError, type RenderedChart, type RenderedDocument, type Values } from './support/helm.js';
import { hasModel, schemaProblems, unknownFields } from './support/k8s-validate.js';

const WEBHOOK_KINDS = ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const;

function podSpec(rendered: RenderedChart): unknown {
  return at(findObject(rendered, 'Deployment'), 'spec', 'template', 'spec');
}

function expectValidObjects(documents: readonly RenderedDocument[]): void {
  for (const { file, object } of documents) {
    if (!hasModel(object)) continue;
    const where = `${file}: ${object.kind}/${object.metadata.name}`;
    expect([where, schemaProblems(object)]).toEqual([where, '']);
    expect([where, unknownFields(object)]).toEqual([where, []]);
  }
}

describeHelm('chart features (helm template)', () => {
  it('webhook.objectSelector, annotations and labels reach both webhook configurations, next to cert-manager CA injection', async () => {
    const objectSelector = { matchExpressions: [{ key: 'signet.dev/skip', operator: 'DoesNotExist' }] };
    const rendered = await renderChart({
      values: { certManager: { enabled: true }, webhook: { objectSelector, annotations: { 'argocd.argoproj.io/sync-wave': '1' }, labels: { team: 'platform' } } },
    });
    expectValidObjects(rendered.documents);
    for (const kind of WEBHOOK_KINDS) {
      const configuration = findObject(rendered, kind);
      expect(at(configuration, 'webhooks', 0, 'objectSelector')).toEqual(objectSelector);
      expect(configuration.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '1', 'cert-manager.io/inject-ca-from': 'signet/signet-tls' });
      expect(configuration.metadata.labels).toMatchObject({ team: 'platform', 'app.kubernetes.io/name': 'signet' });
    }
    const plain = await renderChart();
    for (const kind of WEBHOOK_KINDS) {
      expect(at(findObject(plain, kind), 'webhooks', 0, 'objectSelector')).toBeUndefined();
      expect(findObject(plain, kind).metadata.annotations).toBeUndefined();
    }
  });

  it('refuses an objectSelector that is not a label selector', async () => {
    expect(await renderError({ values: { webhook: { objectSelector: { matchExpressions: [{ key: 'a', operator: 'Equals' }] } } } })).toContain(
      "- at '/webhook/objectSelector/matchExpressions/0/operator': value must be one of 'In', 'NotIn', 'Exists', 'DoesNotExist'",
    );
  });

  it('hostNetwork runs the pods on the node network with ClusterFirstWithHostNet DNS; dnsPolicy overrides it; neither by default', async () => {
    const host = await renderChart({ values: { hostNetwork: true, containerPort: 10250 + 13, podAntiAffinity: 'hard' } });
    expectValidObjects(host.documents);
    expect(podSpec(host)).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' });
    expect(at(podSpec(host), 'containers', 0, 'ports')).toEqual([{ name: 'https', containerPort: 10263, protocol: 'TCP' }]);
    expect(at(podSpec(await renderChart({ values: { hostNetwork: true, dnsPolicy: 'Default' } })), 'dnsPolicy')).toBe('Default');
    const plain = podSpec(await renderChart());
    expect(at(plain, 'hostNetwork')).toBeUndefined();
    expect(at(plain, 'dnsPolicy')).toBeUndefined();
    expect(await renderError({ values: { dnsPolicy: 'ClusterFirstWithHostnet' } })).toContain("- at '/dnsPolicy': value must be one of");
  });

  it('extra volumes and mounts are added after the chart’s own', async () => {
    const extraVolumes = [{ name: 'client-cert', secret: { secretName: 'registry-client' } }];
    const extraVolumeMounts = [{ name: 'client-cert', mountPath: '/etc/signet/client', readOnly: true }];
    const rendered = await renderChart({ values: { extraVolumes, extraVolumeMounts } });
    expectValidObjects(rendered.documents);
    expect(at(podSpec(rendered), 'volumes')).toEqual([{ name: 'tls', secret: { secretName: 'signet-tls' } }, ...extraVolumes]);
    expect(at(podSpec(rendered), 'containers', 0, 'volumeMounts')).toEqual([{ name: 'tls', mountPath: '/etc/signet/tls', readOnly: true }, ...extraVolumeMounts]);
    expect(await renderError({ values: { extraVolumeMounts: [{ name: 'x', mountPath: 'relative' }] } })).toContain("- at '/extraVolumeMounts/0/mountPath': 'relative' does not match pattern '^/'");
  });

  it('the registry CA can come from an existing ConfigMap (any key), mounted as ca.crt for --ca-file, and no ConfigMap is made', async () => {
    const rendered = await renderChart({ values: { registry: { ca: { existingConfigMap: 'corp-bundle', existingConfigMapKey: 'bundle.pem' } } } });
    expectValidObjects(rendered.documents);
    expect(rendered.documents.some((d) => d.object.kind === 'ConfigMap' && d.object.metadata.name.includes('registry-ca'))).toBe(false);
    expect(at(podSpec(rendered), 'volumes')).toContainEqual({ name: 'registry-ca', configMap: { name: 'corp-bundle', items: [{ key: 'bundle.pem', path: 'ca.crt' }] } });
    expect(at(podSpec(rendered), 'containers', 0, 'volumeMounts')).toContainEqual({ name: 'registry-ca', mountPath: '/etc/signet/registry-ca', readOnly: true });
    expect(at(podSpec(rendered), 'containers', 0, 'args')).toContain('--ca-file=/etc/signet/registry-ca/ca.crt');
    const bundle = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(await renderError({ values: { registry: { ca: { bundle, existingConfigMap: 'corp-bundle' } } } })).toContain('set registry.ca.bundle or registry.ca.existingConfigMap, not both');
  });

  it('helm lint --strict passes with representative value sets, not only the defaults', async () => {
    const sets: Values[] = [
      { certManager: { enabled: true }, serviceMonitor: { enabled: true }, networkPolicy: { enabled: true, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] } },
      { tenants: { enabled: true }, events: { enabled: true }, pullSecrets: { enabled: true }, warmUp: { enabled: true }, webhook: { failurePolicy: 'Ignore', mutating: { enabled: false } } },
      { hostNetwork: true, podAntiAffinity: 'hard', registry: { ca: { existingConfigMap: 'corp-bundle' }, credentials: { existingSecret: 'pull' } }, serviceAccount: { create: false, name: 'sa' }, tests: { enabled: false } },
    ];
    for (const values of sets) {
      const lint = await lintChart(values);
      expect([values, lint.ok, lint.stdout.match(/\[(ERROR|WARNING)\].*/g)]).toEqual([values, true, null]);
    }
  });
});

describeHelm('`helm test` hook (helm install --dry-run=client)', () => {
  it('is a Pod in the webhook image with a service account that may create Pods in tests.namespace only, all deleted once it passes', async () => {
    const install = await dryRunInstall({ namespace: 'signet' });
    expectValidObjects(install.hooks);
    expect(install.hooks.map((d) => `${d.object.kind}/${d.object.metadata.namespace}/${d.object.metadata.name}`).sort()).toEqual(
      ['Pod/signet/signet-test', 'Role/default/signet-test', 'RoleBinding/default/signet-test', 'ServiceAccount/signet/signet-test'].sort(),
    );
    for (const { object } of install.hooks) {
      expect(object.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'test', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' });
    }
    expect(at(findObject(install.hooks, 'Role'), 'rules')).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }]);
    const pod = findObject(install.hooks, 'Pod');
    expect(at(pod, 'spec', 'serviceAccountName')).toBe('signet-test');
    expect(at(pod, 'spec', 'restartPolicy')).toBe('Never');
    const container = at(pod, 'spec', 'containers', 0);
    expect(at(container, 'image')).toBe('registry.example.com/signet:0.1.0');
    expect((at(container, 'command') as string[]).slice(0, 2)).toEqual(['/nodejs/bin/node', '-e']);
    expect(at(container, 'env')).toEqual([
      { name: 'TEST_NAMESPACE', value: 'default' },
      { name: 'TEST_IMAGE', value: 'registry.invalid/signet/helm-test:unsigned' },
      { name: 'ALLOW_WARNING', value: 'true' },
    ]);
    expect(at(container, 'securityContext')).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    // Installed objects are not hooks: the test's objects only exist while `helm test` runs.
    expect(install.documents.some((d) => d.object.metadata.name === 'signet-test')).toBe(false);
  });

  it('fails with the reason when tests.namespace is exempt (the install itself still works), and tests.enabled=false drops it', async () => {
    const exempt = await dryRunInstall({ namespace: 'default' });
    expect(at(findObject(exempt.hooks, 'Pod'), 'spec', 'containers', 0, 'env')).toContainEqual({
      name: 'NOT_COVERED',
      value: 'tests.namespace (default) is exempt from Signet (the release namespace or webhook.exemptNamespaces), so no denial can happen there: set tests.namespace to a namespace Signet covers',
    });
    expect((await dryRunInstall({ values: { tests: { enabled: false } } })).hooks).toEqual([]);
  });
});
