// Image extraction at the edges: every field of an extracted image, containers without a name, lists
// that are absent, null or of the wrong type, objects without a pod template, and the pod spec the
// pull-secret lookup reads.
import { changedImages, extractImages, podSpecOf, type ContainerImage } from '../../src/admission/extract.js';

describe('extractImages', () => {
  test('every field of each image: name (or #index when it has none), kind, image, field path and JSON pointer, in list order', () => {
    const cronJob = {
      spec: {
        jobTemplate: {
          spec: {
            template: {
              spec: {
                initContainers: [{ name: 'init', image: 'i:1' }],
                containers: [{ image: 'a:1' }, { name: 7, image: 'b:1' }, 'not-a-container'],
                ephemeralContainers: [{ name: 'dbg', image: 'e:1' }],
              },
            },
          },
        },
      },
    };
    const p = 'spec.jobTemplate.spec.template.spec';
    const q = '/spec/jobTemplate/spec/template/spec';
    expect(extractImages('CronJob', cronJob)).toEqual({
      supported: true,
      images: [
        { container: 'init', kind: 'initContainer', image: 'i:1', path: `${p}.initContainers[0].image`, pointer: `${q}/initContainers/0/image` },
        { container: '#0', kind: 'container', image: 'a:1', path: `${p}.containers[0].image`, pointer: `${q}/containers/0/image` },
        { container: '#1', kind: 'container', image: 'b:1', path: `${p}.containers[1].image`, pointer: `${q}/containers/1/image` },
        { container: '#2', kind: 'container', image: '', path: `${p}.containers[2].image`, pointer: `${q}/containers/2/image` },
        { container: 'dbg', kind: 'ephemeralContainer', image: 'e:1', path: `${p}.ephemeralContainers[0].image`, pointer: `${q}/ephemeralContainers/0/image` },
      ],
    });
  });

  test('absent and null lists are skipped; a list of another type is refused with its full path', () => {
    expect(extractImages('Pod', { spec: { initContainers: null, containers: [{ name: 'a', image: 'a:1' }] } })).toEqual({
      supported: true,
      images: [{ container: 'a', kind: 'container', image: 'a:1', path: 'spec.containers[0].image', pointer: '/spec/containers/0/image' }],
    });
    expect(extractImages('Job', { spec: { template: { spec: { containers: [], initContainers: { name: 'x' } } } } })).toEqual({
      supported: false,
      why: 'spec.template.spec.initContainers is not a list',
    });
    expect(extractImages('Pod', { spec: { containers: [], ephemeralContainers: 'dbg' } })).toEqual({ supported: false, why: 'spec.ephemeralContainers is not a list' });
  });

  test('an object without a pod template (missing on the way, or not an object) has no images', () => {
    expect(extractImages('Deployment', {})).toEqual({ supported: true, images: [] });
    expect(extractImages('Deployment', { spec: 'x' })).toEqual({ supported: true, images: [] });
    expect(extractImages('CronJob', { spec: { jobTemplate: { spec: { template: { spec: [] } } } } })).toEqual({ supported: true, images: [] });
    expect(extractImages('Pod', { spec: null })).toEqual({ supported: true, images: [] });
    expect(extractImages('Pod', [])).toEqual({ supported: false, why: 'the object is missing or not an object' });
  });
});

describe('podSpecOf', () => {
  test('the pod spec of each supported kind; nothing for another kind or a missing or odd template', () => {
    const spec = { containers: [], imagePullSecrets: [{ name: 'pull' }] };
    expect(podSpecOf('Pod', { spec })).toBe(spec);
    expect(podSpecOf('StatefulSet', { spec: { template: { spec } } })).toBe(spec);
    expect(podSpecOf('CronJob', { spec: { jobTemplate: { spec: { template: { spec } } } } })).toBe(spec);
    expect(podSpecOf('Service', { spec })).toBeUndefined();
    expect(podSpecOf('Deployment', { spec })).toBeUndefined();
    expect(podSpecOf('Deployment', { spec: { template: { spec: 'x' } } })).toBeUndefined();
    expect(podSpecOf('Pod', { spec: [spec] })).toBeUndefined();
    expect(podSpecOf('Pod', undefined)).toBeUndefined();
  });
});

describe('changedImages', () => {
  const at = (path: string, image: string): ContainerImage => ({ container: 'c', kind: 'container', image, path, pointer: `/${path}` });

  test('an image is new when its path is new or its image differs; a swap of two images changes both', () => {
    const before = [at('spec.containers[0].image', 'a:1'), at('spec.containers[1].image', 'b:1')];
    const after = [at('spec.containers[0].image', 'b:1'), at('spec.containers[1].image', 'a:1'), at('spec.containers[2].image', 'a:1')];
    expect(changedImages(after, before)).toEqual(after);
    expect(changedImages(before, before)).toEqual([]);
    expect(changedImages(before, [])).toEqual(before);
  });
});
