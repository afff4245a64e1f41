import { changedImages, extractImages, SUPPORTED_KINDS } from '../../src/admission/extract.js';
import { workload } from '../support/admission.js';

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
