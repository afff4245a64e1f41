// Finds every container image in an admitted object, with the field path and container name a
// denial message needs. Knows where each workload kind keeps its pod template; nothing else.

import { isRecord } from '../util/is-record.js';

export type ContainerKind = 'container' | 'initContainer' | 'ephemeralContainer';

export interface ContainerImage {
  readonly container: string;
  readonly kind: ContainerKind;
  readonly image: string;
  /** JSON path of the image field, e.g. spec.template.spec.containers[1].image. */
  readonly path: string;
  /** JSON Pointer of the image field, for digest-pinning patches. */
  readonly pointer: string;
}

export type Extraction =
  | { readonly supported: true; readonly images: readonly ContainerImage[] }
  | { readonly supported: false; readonly why: string };

/** Where the pod spec sits inside each supported kind. */
const POD_SPEC_PATH: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const SUPPORTED_KINDS = Object.keys(POD_SPEC_PATH);

const LISTS: readonly [string, ContainerKind][] = [
  ['initContainers', 'initContainer'],
  ['containers', 'container'],
  ['ephemeralContainers', 'ephemeralContainer'],
];

/** The pod spec inside an object of a supported kind, if it has one. */
export function podSpecOf(kind: string, object: unknown): Record<string, unknown> | undefined {
  const specPath = POD_SPEC_PATH[kind];
  let node: unknown = object;
  for (const step of specPath ?? []) node = isRecord(node) ? node[step] : undefined;
  return specPath && isRecord(node) ? node : undefined;
}

export function extractImages(kind: string, object: unknown): Extraction {
  const specPath = POD_SPEC_PATH[kind];
  if (!specPath) return { supported: false, why: `kind ${kind} has no pod template Signet knows` };
  if (!isRecord(object)) return { supported: false, why: 'the object is missing or not an object' };
  let node: unknown = object;
  for (const step of specPath) {
    if (!isRecord(node)) return { supported: true, images: [] };
    node = node[step];
  }
  if (!isRecord(node)) return { supported: true, images: [] };
  const spec = node;
  const images: ContainerImage[] = [];
  for (const [field, containerKind] of LISTS) {
    const list = spec[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) return { supported: false, why: `${[...specPath, field].join('.')} is not a list` };
    const pathPrefix = `${specPath.join('.')}.${field}`;
    const pointerPrefix = `/${specPath.join('/')}/${field}`;
    list.forEach((c: unknown, i) => {
      const path = `${pathPrefix}[${i}].image`;
      const pointer = `${pointerPrefix}/${i}/image`;
      const name = isRecord(c) && typeof c['name'] === 'string' ? c['name'] : `#${i}`;
      // A container without an image string cannot be verified: hand it on as an empty
      // reference so it is denied as invalid rather than silently skipped.
      const image = isRecord(c) && typeof c['image'] === 'string' ? c['image'] : '';
      images.push({ container: name, kind: containerKind, image, path, pointer });
    });
  }
  return { supported: true, images };
}

/**
 * Images that need checking on UPDATE: those not present at the same path in the old object.
 * Unchanged images were checked when they were admitted (and pods' images are otherwise immutable).
 */
export function changedImages(current: readonly ContainerImage[], previous: readonly ContainerImage[]): ContainerImage[] {
  const before = new Map(previous.map((p) => [p.path, p.image]));
  return current.filter((c) => before.get(c.path) !== c.image);
}
