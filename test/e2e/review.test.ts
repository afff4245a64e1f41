// `signet review`: an AdmissionReview or ImageReview file through the webhook's engine, offline.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haveTools } from '../support/registry-server.js';
import { startSignedRegistry, type SignedRegistry } from '../support/signed-registry.js';
import { admissionResponseProblems, admissionReview, workload } from '../support/admission.js';
import { signet } from '../support/cli.js';

const maybe = haveTools('docker-registry', 'skopeo') ? describe : describe.skip;

maybe('signet review', () => {
  let fx: SignedRegistry;
  beforeAll(async () => {
    fx = await startSignedRegistry();
  }, 60_000);
  afterAll(() => fx?.stop());

  const write = (name: string, body: unknown): string => {
    const path = join(fx.dir, name);
    writeFileSync(path, JSON.stringify(body));
    return path;
  };

  test('prints the response the API server would get, exit 1 on deny with the message on stderr', async () => {
    const body = admissionReview({ kind: 'Deployment', name: 'web', namespace: 'shop', object: workload('Deployment', 'web', 'shop', { containers: [{ name: 'a', image: fx.images.signed }, { name: 'b', image: fx.images.unsigned }] }) });
    const r = await signet(['review', write('deny.json', body), '--policy', fx.policyPath, '--insecure-registry', fx.registry.host]);
    expect(r.code).toBe(1);
    const response = JSON.parse(r.stdout) as unknown;
    expect(admissionResponseProblems(body, response, 'validating')).toEqual([]);
    expect(r.stderr).toContain('Deployment shop/web: 1 of 2 container images denied by signet policy "test"');
    expect(r.stderr).toContain(`container "b" (${fx.images.unsigned} -> ${fx.digests.unsigned}): UNSIGNED`);
  });

  test('allowed review exits 0; --mutate shows the digest-pinning patch', async () => {
    const body = admissionReview({ kind: 'Pod', object: workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: fx.images.signed }] }) });
    const file = write('allow.json', body);
    const plain = await signet(['review', file, '--policy', fx.policyPath, '--insecure-registry', fx.registry.host]);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ response: { allowed: true } });
    const mutate = await signet(['review', file, '--policy', fx.policyPath, '--insecure-registry', fx.registry.host, '--mutate']);
    expect(mutate.code).toBe(0);
    const patch = JSON.parse(Buffer.from((JSON.parse(mutate.stdout) as { response: { patch: string } }).response.patch, 'base64').toString()) as unknown;
    expect(patch).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: `${fx.images.signed}@${fx.digests.signed}` }]);
  });

  test('an ImageReview file is answered as an ImageReview', async () => {
    const file = write('ir.json', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: fx.images.untrusted }], namespace: 'default' } });
    const r = await signet(['review', file, '--policy', fx.policyPath, '--insecure-registry', fx.registry.host]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'ImageReview', status: { allowed: false } });
    expect(r.stdout).toContain('UNTRUSTED_SIGNER');
  });

  test('a file that is not a review is a usage error (exit 2) naming the problem', async () => {
    const r = await signet(['review', write('bad.json', { kind: 'AdmissionReview', apiVersion: 'v1' }), '--policy', fx.policyPath]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1');
    const notJson = join(fx.dir, 'x.json');
    writeFileSync(notJson, '{oops');
    expect((await signet(['review', notJson, '--policy', fx.policyPath])).stderr).toContain('not readable JSON');
  });
});
