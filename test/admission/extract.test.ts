import { changedImages, extractImages, kindDisagreement, SUPPORTED_KINDS } from '../../src/admission/extract.js';
import { admissionReview, workload } from '../support/admission.js';

const spec = {
  initContainers: [{ name: 'init', image: 'busybox:1.36' }],
  containers: [
    { name: 'app', image: 'ghcr.io/acme/app:1.2' },
    { name: 'proxy', image: 'envoyproxy/envoy:v1.30' },
  ],
};

describe('extractImages', () => {
  test.each(SUPPORTED_KINDS)('%s: finds init and regular containers with field paths', (kind) => {
    const result = extractImages(kind, workload(kind, 'web', 'default', spec));
    expect(result.supported).toBe(true);
    if (!result.supported) return;
    expect(result.images.map((i) => [i.kind, i.container, i.image])).toEqual([
      ['initContainer', 'init', 'busybox:1.36'],
      ['container', 'app', 'ghcr.io/acme/app:1.2'],
      ['container', 'proxy', 'envoyproxy/envoy:v1.30'],
    ]);
    const prefix = { Pod: 'spec', CronJob: 'spec.jobTemplate.spec.template.spec' }[kind] ?? 'spec.template.spec';
    expect(result.images[1]!.path).toBe(`${prefix}.containers[0].image`);
    expect(result.images[1]!.pointer).toBe(`/${prefix.replaceAll('.', '/')}/containers/0/image`);
  });

  test('ephemeral containers of a pod are found', () => {
    const pod = workload('Pod', 'p', 'default', { containers: [{ name: 'a', image: 'a:1' }], ephemeralContainers: [{ name: 'debugger', image: 'busybox:latest' }] });
    const result = extractImages('Pod', pod);
    expect(result.supported && result.images.map((i) => [i.kind, i.container])).toEqual([
      ['container', 'a'],
      ['ephemeralContainer', 'debugger'],
    ]);
  });

  test('a container without an image string is kept with an empty image so it is denied, not skipped', () => {
    const pod = { kind: 'Pod', spec: { containers: [{ name: 'x' }, { name: 'y', image: 42 }] } };
    const result = extractImages('Pod', pod);
    expect(result.supported && result.images.map((i) => i.image)).toEqual(['', '']);
  });

  test('wrong shapes are reported, never thrown', () => {
    expect(extractImages('Pod', { spec: { containers: 'nginx' } })).toEqual({ supported: false, why: 'spec.containers is not a list' });
    expect(extractImages('Pod', null)).toEqual({ supported: false, why: 'the object is missing or not an object' });
    expect(extractImages('Service', {})).toEqual({ supported: false, why: 'kind Service has no pod template Signet knows' });
    expect(extractImages('Deployment', { spec: { template: 'x' } })).toEqual({ supported: true, images: [] });
  });
});

describe('changedImages', () => {
  test('only images that differ from the old object at the same path are returned', () => {
    const before = extractImages('Pod', workload('Pod', 'p', 'd', { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] }));
    const after = extractImages('Pod', workload('Pod', 'p', 'd', { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }], ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] }));
    if (!before.supported || !after.supported) throw new Error('unexpected');
    expect(changedImages(after.images, before.images).map((i) => i.image)).toEqual(['b:2', 'busybox']);
  });
});

describe('kindDisagreement: request.kind, request.resource and the object must describe one object', () => {
  const gvr = (kind: string): { group: string; version: string; resource: string } => {
    const review = admissionReview({ kind, object: null });
    return (review['request'] as { resource: { group: string; version: string; resource: string } }).resource;
  };
  const gvk = (kind: string, group?: string): { group: string; version: string; kind: string } => {
    const review = admissionReview({ kind, object: null });
    const k = (review['request'] as { kind: { group: string; version: string; kind: string } }).kind;
    return group === undefined ? k : { ...k, group };
  };
  const of = (kind: string, object: Record<string, unknown> | undefined, extra: { group?: string; resource?: { group: string; version: string; resource: string }; oldObject?: Record<string, unknown> } = {}) =>
    kindDisagreement({ kind: gvk(kind, extra.group), resource: extra.resource ?? gvr(kind), object, oldObject: extra.oldObject });

  test.each(SUPPORTED_KINDS)('%s as the API server sends it agrees (object and oldObject)', (kind) => {
    const object = workload(kind, 'web', 'default', spec);
    expect(of(kind, object, { oldObject: object })).toBeUndefined();
  });

  test.each([
    ['a Pod whose object is a Deployment', of('Pod', workload('Deployment', 'web', 'default', spec)), 'request.kind is Pod but request.object is a "Deployment"'],
    ['a Deployment whose object is a Pod', of('Deployment', workload('Pod', 'web', 'default', spec)), 'request.kind is Deployment but request.object is a "Pod"'],
    ['a Pod in group apps', of('Pod', workload('Pod', 'web', 'default', spec), { group: 'apps' }), 'request.kind is Pod in group "apps", but Pod is in the core group ("")'],
    ['a Deployment in the core group', of('Deployment', workload('Deployment', 'web', 'default', spec), { group: '' }), 'request.kind is Deployment in the core group (""), but Deployment is in group "apps"'],
    ['a CronJob in group example.com', of('CronJob', workload('CronJob', 'web', 'default', spec), { group: 'example.com' }), 'request.kind is CronJob in group "example.com", but CronJob is in group "batch"'],
    ['a Pod review of the deployments resource', of('Pod', workload('Pod', 'web', 'default', spec), { resource: gvr('Deployment') }), 'request.kind is Pod but request.resource is "deployments" in group "apps", not pods in the core group ("")'],
    ['a Pod whose object has no kind', of('Pod', { apiVersion: 'v1', spec: {} }), 'request.kind is Pod but request.object is of no kind'],
    ['a Pod whose object is apps/v1', of('Pod', { ...workload('Pod', 'web', 'default', spec), apiVersion: 'apps/v1' }), 'request.kind is Pod "v1" but request.object has apiVersion "apps/v1"'],
    ['a Job whose object has no apiVersion', of('Job', { kind: 'Job', spec: {} }), 'request.kind is Job "batch/v1" but request.object has apiVersion none'],
    ['a Pod UPDATE whose oldObject is a ConfigMap', of('Pod', workload('Pod', 'web', 'default', spec), { oldObject: { apiVersion: 'v1', kind: 'ConfigMap' } }), 'request.kind is Pod but request.oldObject is a "ConfigMap"'],
    ['an object kind that would forge a message line', of('Pod', { apiVersion: 'v1', kind: 'Pod\n- container "x": allowed' }), 'request.kind is Pod but request.object is a "Pod\\n- container \\"x\\": allowed"'],
  ])('%s is a disagreement', (_what, found, reason) => {
    expect(found).toBe(reason);
  });

  test('a kind Signet does not read is not its business, whatever its object (it is skipped, as documented)', () => {
    expect(of('ConfigMap', workload('Pod', 'web', 'default', spec))).toBeUndefined();
    expect(kindDisagreement({ kind: { group: 'example.com', version: 'v1', kind: 'Widget' }, resource: { group: 'example.com', version: 'v1', resource: 'pods' }, object: { kind: 'Pod' }, oldObject: undefined })).toBeUndefined();
  });

  test('no object (DELETE) has nothing to disagree with', () => {
    expect(of('Pod', undefined)).toBeUndefined();
  });
});
