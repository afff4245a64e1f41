// Finds every container image in an admitted object, with the field path and container name a
// denial message needs. Knows the workload kinds: their API group and resource, and where each keeps
// its pod template; and whether a review's object is the kind its request says.

import { isRecord } from '../util/is-record.js';
import { quote } from '../util/quote.js';
import type { AdmissionRequest } from './types.js';

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

/** The API group and resource of each kind Signet reads (any version: the pod template has not moved). */
const KIND_HOME: Readonly<Record<string, { readonly group: string; readonly resource: string }>> = {
  Pod: { group: '', resource: 'pods' },
  ReplicationController: { group: '', resource: 'replicationcontrollers' },
  Deployment: { group: 'apps', resource: 'deployments' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  Job: { group: 'batch', resource: 'jobs' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
};

/**
 * Why a review of a kind Signet reads does not describe one object: request.kind in another API
 * group than the kind's (a Pod is in the core group), request.resource another resource, or
 * request.object / oldObject of another kind or apiVersion than request.kind (or without either).
 * The API server never sends such a review; reading it would mean checking one object's images on
 * behalf of another. Undefined when they agree, and for kinds Signet does not read.
 */
export function kindDisagreement(request: Pick<AdmissionRequest, 'kind' | 'resource' | 'object' | 'oldObject'>): string | undefined {
  const { kind, resource } = request;
  const home = KIND_HOME[kind.kind];
  if (!home) return undefined;
  if (kind.group !== home.group) return `request.kind is ${kind.kind} in ${group(kind.group)}, but ${kind.kind} is in ${group(home.group)}`;
  if (resource.group !== home.group || resource.resource !== home.resource) {
    return `request.kind is ${kind.kind} but request.resource is ${quote(resource.resource)} in ${group(resource.group)}, not ${home.resource} in ${group(home.group)}`;
  }
  const apiVersion = kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
  for (const [field, object] of [['request.object', request.object], ['request.oldObject', request.oldObject]] as const) {
    if (object === undefined) continue;
    if (object['kind'] !== kind.kind) return `request.kind is ${kind.kind} but ${field} is ${object['kind'] === undefined ? 'of no kind' : `a ${quote(object['kind'])}`}`;
    if (object['apiVersion'] !== apiVersion) {
      return `request.kind is ${kind.kind} ${quote(apiVersion)} but ${field} has apiVersion ${object['apiVersion'] === undefined ? 'none' : quote(object['apiVersion'])}`;
    }
  }
  return undefined;
}

function group(name: string): string {
  return name === '' ? 'the core group ("")' : `group ${quote(name)}`;
}

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
