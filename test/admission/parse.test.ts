import { parseAdmissionReview, parseImageReview } from '../../src/admission/parse.js';
import { admissionReview, workload } from '../support/admission.js';

describe('parseAdmissionReview', () => {
  test('reads a v1 and a v1beta1 review', () => {
    for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const) {
      const body = admissionReview({ apiVersion, kind: 'Pod', namespace: 'team-a', object: workload('Pod', 'web', 'team-a', { containers: [{ name: 'a', image: 'a:1' }] }), dryRun: true, uid: 'u-1' });
      const r = parseAdmissionReview(body);
      expect(r.ok && { v: r.value.apiVersion, uid: r.value.uid, ns: r.value.namespace, kind: r.value.kind.kind, op: r.value.operation, dry: r.value.dryRun }).toEqual({
        v: apiVersion,
        uid: 'u-1',
        ns: 'team-a',
        kind: 'Pod',
        op: 'CREATE',
        dry: true,
      });
    }
  });

  test.each([
    [null, 'body must be a JSON object'],
    [[1, 2], 'body must be a JSON object'],
    [{ apiVersion: 'v1', kind: 'AdmissionReview' }, 'apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1, got "v1"'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, 'kind must be AdmissionReview, got "Pod"'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request is missing'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } }, 'request.uid must be a non-empty string'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', kind: 'Pod' } }, 'request.kind must be {group, version, kind}'],
    [
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { resource: 'pods' }, operation: 'PATCH' } },
      'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"',
    ],
    [
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { resource: 'pods' }, operation: 'CREATE', object: 'pod' } },
      'request.object must be an object',
    ],
  ])('rejects %j with a clear error', (body, message) => {
    const r = parseAdmissionReview(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });
});

describe('parseImageReview', () => {
  test('reads containers, namespace and annotations', () => {
    const r = parseImageReview({
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      spec: { containers: [{ image: 'a:1' }, { image: 'b@sha256:' + 'a'.repeat(64) }], annotations: { 'x.image-policy.k8s.io/ticket': '1' }, namespace: 'ns' },
    });
    expect(r).toEqual({ ok: true, value: { containers: ['a:1', 'b@sha256:' + 'a'.repeat(64)], namespace: 'ns', annotations: { 'x.image-policy.k8s.io/ticket': '1' } } });
  });
  test.each([
    [{ apiVersion: 'imagepolicy.k8s.io/v1', kind: 'ImageReview' }, 'apiVersion must be imagepolicy.k8s.io/v1alpha1'],
    [{ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: {} } }, 'spec.containers must be a list'],
    [{ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [{ image: 1 }] } }, 'spec.containers[0].image must be a string'],
    [{ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec: { containers: [], annotations: { a: 1 } } }, 'spec.annotations.a must be a string'],
  ])('rejects %j', (body, message) => {
    const r = parseImageReview(body);
    expect(!r.ok && r.error).toContain(message);
  });
});
