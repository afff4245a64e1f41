// The trust ConfigMap the chart makes must hold a policy the webhook accepts: loaded here with the
// project's own loadPolicyText, with key files read from the ConfigMap's other data keys as --kube does.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { at, describeHelm, findObject, readDefaultValues, renderChart } from './support/helm.js';
import { loadTrustConfigMap } from './support/trust.js';

function publicKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

describeHelm('the chart trust ConfigMap (rendered by helm template, loaded by src/policy)', () => {
  it('holds a default policy that loads, warns instead of denying, and exempts what the webhook exempts', async () => {
    const loaded = loadTrustConfigMap(findObject(await renderChart(), 'ConfigMap', 'signet-trust'));
    if (!loaded.ok) throw new Error(loaded.error.message);
    const policy = loaded.value;
    expect(policy.name).toBe('cluster');
    expect(policy.defaults.mode).toBe('warn');
    expect(policy.defaults.unmatched).toBe('deny');
    expect(policy.rules.map((r) => r.name)).toEqual(['kubernetes-system']);
    const webhookExempt = at(readDefaultValues(), 'webhook', 'exemptNamespaces') as string[];
    for (const namespace of policy.exemptNamespaces) expect(webhookExempt).toContain(namespace);
    expect(policy.isNamespaceExempt('kube-system')).toBe(true);
    expect(policy.isNamespaceExempt('default')).toBe(false);
  });

  it('carries key files from trust.keys next to policy.yaml, where `file:` finds them', async () => {
    const pem = publicKeyPem();
    const policy = [
      'apiVersion: signet.dev/v1alpha1',
      'kind: ImagePolicy',
      'keys:',
      '  release: {file: release.pub}',
      'rules:',
      '  - name: ours',
      '    images: ["registry.example.com/**"]',
      '    verify:',
      '      - {type: cosign, keys: [release]}',
      '',
    ].join('\n');
    const configMap = findObject(await renderChart({ values: { trust: { policy, keys: { 'release.pub': pem } } } }), 'ConfigMap', 'signet-trust');
    expect(at(configMap, 'data')).toEqual({ 'policy.yaml': policy, 'release.pub': pem });
    const loaded = loadTrustConfigMap(configMap);
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect([...loaded.value.keys.keys()]).toEqual(['release']);
    expect(loaded.value.defaults.mode).toBe('enforce');
  });

  it('a policy naming a key file the ConfigMap lacks is refused with the field, the line and the missing key', async () => {
    const policy = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nkeys:\n  release: {file: relase.pub}\nrules: []\n';
    const loaded = loadTrustConfigMap(findObject(await renderChart({ values: { trust: { policy, keys: { 'release.pub': publicKeyPem() } } } }), 'ConfigMap', 'signet-trust'));
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.error.code).toBe('POLICY_INVALID');
    expect(loaded.error.message).toContain('configmap signet/signet-trust:4:');
    expect(loaded.error.message).toContain('keys.release.file: configmap signet/signet-trust has no data key "relase.pub"');
  });

  it('the first policy in docs/install.md loads once its key is in place', async () => {
    const doc = readFileSync(new URL('../../docs/install.md', import.meta.url), 'utf8');
    const block = /<!-- first-policy:start -->\s*```yaml\n([\s\S]*?)```\s*<!-- first-policy:end -->/.exec(doc);
    expect(block).not.toBeNull();
    const policy = block![1]!;
    const configMap = findObject(await renderChart({ values: { trust: { policy, keys: { 'release.pub': publicKeyPem() } } } }), 'ConfigMap', 'signet-trust');
    const loaded = loadTrustConfigMap(configMap);
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect(loaded.value.defaults.mode).toBe('warn');
  });
});
