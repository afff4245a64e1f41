// Tenant policies refused for a problem that has no position in the text (the size limit) together with
// a tenant restriction: both are reported, the positioned one first, in the one message format.
import { MAX_POLICY_BYTES } from '../../src/policy/load.js';
import { loadTenantPolicyText } from '../../src/policy/tenants.js';

const SOURCE = 'configmap team-a/trust (policy.yaml)';

test('an oversized tenant policy that also exempts namespaces lists both problems; the size one names no line and no field', () => {
  const head = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nexemptions:\n  namespaces: [team-b]\nrules:\n  - {name: none, images: ["*"], action: deny}\n';
  const padding = `# ${'x'.repeat(98)}\n`.repeat(Math.ceil(MAX_POLICY_BYTES / 100) + 1);
  const text = head + padding;
  const result = loadTenantPolicyText(text, { namespace: 'team-a', baseDir: '/nonexistent', sourceName: SOURCE });
  if (result.ok) throw new Error('an oversized tenant policy loaded');
  expect(result.error.code).toBe('POLICY_INVALID');
  const sizeProblem = `the policy is ${text.length} characters; at most ${MAX_POLICY_BYTES} are allowed`;
  expect(result.error.message).toBe(
    [
      `policy ${SOURCE} is invalid (2 problems):`,
      `  ${SOURCE}:3:1: exemptions: a tenant policy cannot exempt namespaces; exemptions are set in the cluster policy only. Remove exemptions`,
      `  ${SOURCE}: ${sizeProblem}`,
    ].join('\n'),
  );
  expect(result.error.problems).toEqual([
    { path: 'exemptions', line: 3, column: 1, message: expect.stringMatching(/^a tenant policy cannot exempt namespaces/) },
    { path: '', message: sizeProblem },
  ]);
});
