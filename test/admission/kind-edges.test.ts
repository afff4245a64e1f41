// kindDisagreement at the edges: a resource in the wrong group or of the wrong name, and an object or
// old object of another kind or apiVersion, each refused with the sentence the denial shows.
import { kindDisagreement } from '../../src/admission/extract.js';

const DEPLOYMENT = { group: 'apps', version: 'v1', kind: 'Deployment' };
const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' };
const object = (kind: string | undefined, apiVersion: string | undefined): Record<string, unknown> => ({ ...(kind ? { kind } : {}), ...(apiVersion ? { apiVersion } : {}), metadata: { name: 'web' } });

test('the resource must be the kind\'s own, in the kind\'s own group', () => {
  expect(kindDisagreement({ kind: DEPLOYMENT, resource: { ...DEPLOYMENTS, resource: 'replicasets' }, object: undefined, oldObject: undefined })).toBe(
    'request.kind is Deployment but request.resource is "replicasets" in group "apps", not deployments in group "apps"',
  );
  expect(kindDisagreement({ kind: DEPLOYMENT, resource: { ...DEPLOYMENTS, group: 'extensions' }, object: undefined, oldObject: undefined })).toBe(
    'request.kind is Deployment but request.resource is "deployments" in group "extensions", not deployments in group "apps"',
  );
  expect(kindDisagreement({ kind: DEPLOYMENT, resource: DEPLOYMENTS, object: object('Deployment', 'apps/v1'), oldObject: undefined })).toBeUndefined();
});

test('the object and the old object must be of the kind and apiVersion the request names', () => {
  const review = (o: Record<string, unknown> | undefined, old: Record<string, unknown> | undefined): string | undefined =>
    kindDisagreement({ kind: DEPLOYMENT, resource: DEPLOYMENTS, object: o, oldObject: old });
  expect(review(object('Pod', 'v1'), undefined)).toBe('request.kind is Deployment but request.object is a "Pod"');
  expect(review(object('Deployment', 'apps/v1'), object(undefined, 'apps/v1'))).toBe('request.kind is Deployment but request.oldObject is of no kind');
  expect(review(object('Deployment', 'apps/v1beta1'), undefined)).toBe('request.kind is Deployment "apps/v1" but request.object has apiVersion "apps/v1beta1"');
  expect(review(undefined, object('Deployment', undefined))).toBe('request.kind is Deployment "apps/v1" but request.oldObject has apiVersion none');
  expect(review(object('Deployment', 'apps/v1'), object('Deployment', 'apps/v1'))).toBeUndefined();
});
