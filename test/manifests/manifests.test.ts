// manifests/: the `kubectl apply -f manifests/` install. Every document must meet its kind's Kubernetes
// schema with no unknown fields (the webhook configurations once gen-certs.sh has filled caBundle, as in
// a real install), carry the chart's defaults, and hold a trust policy the webhook loads.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { at, findObject, readChartYaml, readDefaultValues, renderChart, type K8sObject, type RenderedDocument, type Values } from '../chart/support/helm.js';
import { schemaProblems, unknownFields } from '../chart/support/k8s-validate.js';
import { loadTrustConfigMap } from '../chart/support/trust.js';
import { copyManifests, readManifests, runGenCerts, tempDir, type ManifestDocument } from './support.js';

const NAMESPACE = 'signet';
const WEBHOOK_KINDS = ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const;

describe('manifests/ (plain kubectl install)', () => {
  let committed: ManifestDocument[];
  let installed: ManifestDocument[];
  let values: Values;
  let work: string;

  beforeAll(() => {
    committed = readManifests();
    work = tempDir('manifests');
    const copy = copyManifests(work);
    const run = runGenCerts(['--manifests', copy, '--secret-file', join(work, 'secret.yaml')]);
    if (run.status !== 0) throw new Error(`gen-certs.sh failed: ${run.stderr}`);
    installed = readManifests(copy);
    values = readDefaultValues();
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function one(kind: string, name?: string): K8sObject {
    return findObject(installed as RenderedDocument[], kind, name);
  }

  it('holds the namespace, service account, RBAC, trust ConfigMap, Service, Deployment, PDB and both webhooks, the Namespace first', () => {
    expect(committed.map((d) => `${d.file}: ${d.object.kind}/${d.object.metadata.name}`)).toEqual([
      '00-namespace.yaml: Namespace/signet',
      '10-serviceaccount.yaml: ServiceAccount/signet',
      '20-rbac.yaml: Role/signet',
      '20-rbac.yaml: RoleBinding/signet',
      '30-trust-configmap.yaml: ConfigMap/signet-trust',
      '40-service.yaml: Service/signet',
      '50-deployment.yaml: Deployment/signet',
      '60-poddisruptionbudget.yaml: PodDisruptionBudget/signet',
      '70-webhooks.yaml: ValidatingWebhookConfiguration/signet',
      '70-webhooks.yaml: MutatingWebhookConfiguration/signet',
    ]);
    for (const { object } of committed) {
      if (object.kind !== 'Namespace' && !object.kind.endsWith('WebhookConfiguration')) expect([object.kind, object.metadata.namespace]).toEqual([object.kind, NAMESPACE]);
    }
  });

  it('every document meets its kind\'s Kubernetes schema and has no unknown fields (webhooks with the caBundle gen-certs.sh wrote)', () => {
    expect(installed).toHaveLength(committed.length);
    for (const { file, object } of installed) {
      const where = `${file}: ${object.kind}`;
      expect([where, schemaProblems(object)]).toEqual([where, '']);
      expect([where, unknownFields(object)]).toEqual([where, []]);
    }
  });

  it('the committed caBundle is deliberately not base64, so applying the webhooks before gen-certs.sh fails instead of blocking pods', () => {
    for (const kind of WEBHOOK_KINDS) {
      const webhook = findObject(committed as RenderedDocument[], kind);
      expect(schemaProblems(webhook)).toBe('data/webhooks/0/clientConfig/caBundle must match format "byte"');
    }
  });

  it('carries the chart defaults: replicas, timeout, failure policies, namespace selector, rules, security contexts, resources', () => {
    const deployment = one('Deployment');
    const pod = at(deployment, 'spec', 'template', 'spec');
    const container = at(pod, 'containers', 0);
    const webhookValues = values['webhook'] as Values;
    expect(at(deployment, 'spec', 'replicas')).toBe(values['replicaCount']);
    expect(at(pod, 'securityContext')).toEqual(values['podSecurityContext']);
    expect(at(container, 'securityContext')).toEqual(values['securityContext']);
    expect(at(container, 'resources')).toEqual(values['resources']);
    expect(at(container, 'image')).toBe(`${String(at(values, 'image', 'repository'))}:${String(readChartYaml()['appVersion'])}`);
    expect(at(container, 'args')).toContain(`--timeout-seconds=${String(webhookValues['timeoutSeconds'])}`);
    expect(at(container, 'args')).toContain(`--port=${String(values['containerPort'])}`);
    expect(at(container, 'lifecycle', 'preStop', 'sleep', 'seconds')).toBe(values['preStopSleepSeconds']);
    // preStop sleep + the drain (--drain-period's default, 5) + the review timeout + a margin.
    expect(at(pod, 'terminationGracePeriodSeconds')).toBe((values['preStopSleepSeconds'] as number) + 5 + (webhookValues['timeoutSeconds'] as number) + 5);
    expect(at(one('PodDisruptionBudget'), 'spec', 'maxUnavailable')).toBe(at(values, 'podDisruptionBudget', 'maxUnavailable'));
    expect(at(one('Service'), 'spec', 'ports', 0, 'port')).toBe(at(values, 'service', 'port'));

    const exempt = [NAMESPACE, ...(webhookValues['exemptNamespaces'] as string[])];
    for (const kind of WEBHOOK_KINDS) {
      const webhook = at(one(kind), 'webhooks', 0);
      expect(at(webhook, 'timeoutSeconds')).toBe(webhookValues['timeoutSeconds']);
      expect(at(webhook, 'namespaceSelector')).toEqual({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: exempt }] });
      expect(at(webhook, 'admissionReviewVersions')).toEqual(['v1', 'v1beta1']);
      expect(at(webhook, 'sideEffects')).toBe('NoneOnDryRun');
    }
    expect(at(one('ValidatingWebhookConfiguration'), 'webhooks', 0, 'failurePolicy')).toBe(webhookValues['failurePolicy']);
    expect(at(one('ValidatingWebhookConfiguration'), 'webhooks', 0, 'rules')).toEqual(webhookValues['rules']);
    expect(at(one('MutatingWebhookConfiguration'), 'webhooks', 0, 'failurePolicy')).toBe(at(webhookValues, 'mutating', 'failurePolicy'));
    expect(at(one('MutatingWebhookConfiguration'), 'webhooks', 0, 'rules')).toEqual(at(webhookValues, 'mutating', 'rules'));
    expect(at(one('ConfigMap', 'signet-trust'), 'data', 'policy.yaml')).toBe(at(values, 'trust', 'policy'));
  });

  it('are the chart rendered for release signet in namespace signet, apart from Helm labels, caBundle and the chart-made TLS Secrets (helm template)', async () => {
    const normalise = (object: K8sObject): unknown => {
      const copy = structuredClone(object) as K8sObject & { webhooks?: { clientConfig: { caBundle?: string } }[] };
      const labels = copy.metadata.labels as Record<string, string> | undefined;
      if (labels) {
        delete labels['helm.sh/chart'];
        delete labels['app.kubernetes.io/managed-by'];
      }
      for (const webhook of copy.webhooks ?? []) delete webhook.clientConfig.caBundle;
      return copy;
    };
    const chart = (await renderChart({ releaseName: 'signet', namespace: NAMESPACE })).documents.filter((d) => d.object.kind !== 'Secret')
      .map((d) => normalise(d.object));
    const manifests = committed.filter((d) => d.object.kind !== 'Namespace').map((d) => normalise(d.object));
    const byKindAndName = (list: unknown[]): Map<string, unknown> => new Map(list.map((o) => [`${(o as K8sObject).kind}/${(o as K8sObject).metadata.name}`, o]));
    const fromChart = byKindAndName(chart);
    const fromManifests = byKindAndName(manifests);
    expect([...fromManifests.keys()].sort()).toEqual([...fromChart.keys()].sort());
    for (const [key, object] of fromManifests) expect([key, object]).toEqual([key, fromChart.get(key)]);
  });

  it('holds a trust policy the webhook loads, exempting no more than the webhook configurations do', () => {
    const loaded = loadTrustConfigMap(one('ConfigMap', 'signet-trust'));
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect(loaded.value.defaults.mode).toBe('warn');
    const exempt = at(one('ValidatingWebhookConfiguration'), 'webhooks', 0, 'namespaceSelector', 'matchExpressions', 0, 'values') as string[];
    for (const namespace of loaded.value.exemptNamespaces) expect(exempt).toContain(namespace);
  });

  it('runs the pods under the restricted Pod Security Standard in their namespace', () => {
    expect(findObject(committed as RenderedDocument[], 'Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});
