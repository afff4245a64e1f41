// Every field the parsers read, and every refusal with the exact text the route answers with (400),
// so a request that is not what the API server sends never reaches a decision half-read.
import { parseAdmissionReview, parseImageReview } from '../../src/admission/parse.js';

const KIND = { group: 'apps', version: 'v1', kind: 'Deployment' };
const RESOURCE = { group: 'apps', version: 'v1', resource: 'deployments' };

/** A request whose fields can each be replaced or removed (`undefined`). */
function review(request: Record<string, unknown>): Record<string, unknown> {
  const base: Record<string, unknown> = { uid: 'u-1', kind: KIND, resource: RESOURCE, operation: 'CREATE' };
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: base };
}

function refusal(body: unknown): string {
  const parsed = parseAdmissionReview(body);
  if (parsed.ok) throw new Error('the review was accepted');
  return parsed.error;
}

describe('parseAdmissionReview', () => {
  test('every field of a full request is read', () => {
    const object = { metadata: { name: 'web' } };
    const oldObject = { metadata: { name: 'web', generation: 1 } };
    const parsed = parseAdmissionReview(
      review({ subResource: 'scale', name: 'web', namespace: 'team-a', operation: 'UPDATE', dryRun: true, object, oldObject, userInfo: { username: 'alice', groups: ['dev'] } }),
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        apiVersion: 'admission.k8s.io/v1',
        uid: 'u-1',
        kind: KIND,
        resource: RESOURCE,
        subResource: 'scale',
        name: 'web',
        namespace: 'team-a',
        operation: 'UPDATE',
        dryRun: true,
        object,
        oldObject,
        userName: 'alice',
      },
    });
  });

  test('optional fields that are absent, empty, null or of another type read as absent; dryRun only when true', () => {
    const parsed = parseAdmissionReview({
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      request: { uid: 'u-2', kind: { version: 'v1', kind: 'Pod' }, resource: { resource: 'pods' }, operation: 'DELETE', subResource: '', name: 7, namespace: '', dryRun: 'true', object: null, oldObject: null, userInfo: { username: '' } },
    });
    expect(parsed).toEqual({
      ok: true,
      value: {
        apiVersion: 'admission.k8s.io/v1beta1',
        uid: 'u-2',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: '', resource: 'pods' },
        subResource: undefined,
        name: undefined,
        namespace: undefined,
        operation: 'DELETE',
        dryRun: false,
        object: undefined,
        oldObject: undefined,
        userName: undefined,
      },
    });
    const noUser = parseAdmissionReview(review({ userInfo: 'alice' }));
    expect(noUser.ok && noUser.value.userName).toBeUndefined();
  });

  test('the uid is 1 to 256 characters', () => {
    expect(parseAdmissionReview(review({ uid: 'u'.repeat(256) })).ok).toBe(true);
    expect(refusal(review({ uid: 'u'.repeat(257) }))).toBe('request.uid must be a non-empty string');
    expect(refusal(review({ uid: '' }))).toBe('request.uid must be a non-empty string');
    expect(refusal(review({ uid: 42 }))).toBe('request.uid must be a non-empty string');
  });

  test.each<[string, unknown, string]>([
    ['a body that is not an object', 'AdmissionReview', 'body must be a JSON object (an AdmissionReview)'],
    ['a list', [review({})], 'body must be a JSON object (an AdmissionReview)'],
    ['no apiVersion', { kind: 'AdmissionReview' }, 'apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1, got nothing'],
    ['an apiVersion that is not a string', { apiVersion: 1, kind: 'AdmissionReview' }, 'apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1, got 1'],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'ImageReview' }, 'kind must be AdmissionReview, got "ImageReview"'],
    ['no kind', { apiVersion: 'admission.k8s.io/v1' }, 'kind must be AdmissionReview, got nothing'],
    ['a request that is a list', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: [] }, 'request is missing or not an object'],
    ['a kind without version', review({ kind: { group: '', kind: 'Pod' } }), 'request.kind must be {group, version, kind}'],
    ['a kind without kind', review({ kind: { group: '', version: 'v1' } }), 'request.kind must be {group, version, kind}'],
    ['no resource', review({ resource: undefined }), 'request.resource must be {group, version, resource}'],
    ['a resource without resource', review({ resource: { group: '', version: 'v1' } }), 'request.resource must be {group, version, resource}'],
    ['no operation', review({ operation: undefined }), 'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got nothing'],
    ['an operation that is not a string', review({ operation: ['CREATE'] }), 'request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got ["CREATE"]'],
    ['an object that is a list', review({ object: [] }), 'request.object must be an object'],
    ['an old object that is a string', review({ oldObject: 'pod' }), 'request.oldObject must be an object'],
  ])('refuses %s', (_what, body, message) => {
    expect(refusal(body)).toBe(message);
  });

  test('a long unexpected value is quoted cut to 60 characters', () => {
    const long = 'x'.repeat(100);
    expect(refusal({ apiVersion: long, kind: 'AdmissionReview' })).toBe(`apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1, got "${'x'.repeat(56)}...`);
    const exact = 'y'.repeat(58); // 60 characters once quoted: shown whole
    expect(refusal({ apiVersion: 'admission.k8s.io/v1', kind: exact })).toBe(`kind must be AdmissionReview, got "${exact}"`);
  });
});

describe('parseImageReview', () => {
  const body = (spec: unknown): Record<string, unknown> => ({ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', spec });

  test('no annotations (absent or null) and an empty namespace read as none', () => {
    expect(parseImageReview(body({ containers: [{ image: 'a:1' }], namespace: '' }))).toEqual({ ok: true, value: { containers: ['a:1'], namespace: undefined, annotations: {} } });
    expect(parseImageReview(body({ containers: [], annotations: null }))).toEqual({ ok: true, value: { containers: [], namespace: undefined, annotations: {} } });
  });

  test.each<[string, unknown, string]>([
    ['a body that is not an object', null, 'body must be a JSON object (an ImageReview)'],
    ['no apiVersion', { kind: 'ImageReview' }, 'apiVersion must be imagepolicy.k8s.io/v1alpha1, got nothing'],
    ['another apiVersion', { apiVersion: 'imagepolicy.k8s.io/v1', kind: 'ImageReview' }, 'apiVersion must be imagepolicy.k8s.io/v1alpha1, got "imagepolicy.k8s.io/v1"'],
    ['another kind', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'AdmissionReview' }, 'kind must be ImageReview, got "AdmissionReview"'],
    ['no spec', { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview' }, 'spec is missing or not an object'],
    ['a spec that is a list', body([]), 'spec is missing or not an object'],
    ['no containers', body({}), 'spec.containers must be a list'],
    ['a container that is a string', body({ containers: [{ image: 'a:1' }, 'b:1'] }), 'spec.containers[1].image must be a string'],
    ['annotations that are a list', body({ containers: [], annotations: ['a=b'] }), 'spec.annotations must be a map of strings'],
    ['an annotation that is not a string', body({ containers: [], annotations: { ok: 'yes', bad: null } }), 'spec.annotations.bad must be a string'],
  ])('refuses %s', (_what, input, message) => {
    const parsed = parseImageReview(input);
    expect(parsed).toEqual({ ok: false, error: message });
  });
});
