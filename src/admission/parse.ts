// Shape checks for incoming review bodies. A body that is not what the API server sends gets a
// precise error (the route answers 400); nothing downstream sees an unchecked shape.
import { err, ok, type Result } from '../util/result.js';
import type { AdmissionApiVersion, AdmissionRequest, ImageReviewRequest, Operation } from './types.js';
import { isRecord } from '../util/is-record.js';

const VERSIONS: readonly AdmissionApiVersion[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];
const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export function parseAdmissionReview(body: unknown): Result<AdmissionRequest, string> {
  if (!isRecord(body)) return err('body must be a JSON object (an AdmissionReview)');
  const apiVersion = body['apiVersion'];
  if (typeof apiVersion !== 'string' || !(VERSIONS as readonly string[]).includes(apiVersion)) {
    return err(`apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1, got ${describe(apiVersion)}`);
  }
  if (body['kind'] !== 'AdmissionReview') return err(`kind must be AdmissionReview, got ${describe(body['kind'])}`);
  const request = body['request'];
  if (!isRecord(request)) return err('request is missing or not an object');
  const uid = request['uid'];
  if (typeof uid !== 'string' || uid.length === 0 || uid.length > 256) return err('request.uid must be a non-empty string');
  const kind = request['kind'];
  if (!isRecord(kind) || typeof kind['kind'] !== 'string' || typeof kind['version'] !== 'string') {
    return err('request.kind must be {group, version, kind}');
  }
  const resource = request['resource'];
  if (!isRecord(resource) || typeof resource['resource'] !== 'string') return err('request.resource must be {group, version, resource}');
  const operation = request['operation'];
  if (typeof operation !== 'string' || !(OPERATIONS as readonly string[]).includes(operation)) {
    return err(`request.operation must be one of ${OPERATIONS.join(', ')}, got ${describe(operation)}`);
  }
  const object = request['object'];
  const oldObject = request['oldObject'];
  if (object !== undefined && object !== null && !isRecord(object)) return err('request.object must be an object');
  if (oldObject !== undefined && oldObject !== null && !isRecord(oldObject)) return err('request.oldObject must be an object');
  const userInfo = request['userInfo'];
  return ok({
    apiVersion: apiVersion as AdmissionApiVersion,
    uid,
    kind: { group: str(kind['group']) ?? '', version: kind['version'], kind: kind['kind'] },
    resource: { group: str(resource['group']) ?? '', version: str(resource['version']) ?? '', resource: resource['resource'] },
    subResource: str(request['subResource']),
    name: str(request['name']),
    namespace: str(request['namespace']),
    operation: operation as Operation,
    dryRun: request['dryRun'] === true,
    object: isRecord(object) ? object : undefined,
    oldObject: isRecord(oldObject) ? oldObject : undefined,
    userName: isRecord(userInfo) ? str(userInfo['username']) : undefined,
  });
}

export function parseImageReview(body: unknown): Result<ImageReviewRequest, string> {
  if (!isRecord(body)) return err('body must be a JSON object (an ImageReview)');
  if (body['apiVersion'] !== 'imagepolicy.k8s.io/v1alpha1') return err(`apiVersion must be imagepolicy.k8s.io/v1alpha1, got ${describe(body['apiVersion'])}`);
  if (body['kind'] !== 'ImageReview') return err(`kind must be ImageReview, got ${describe(body['kind'])}`);
  const spec = body['spec'];
  if (!isRecord(spec)) return err('spec is missing or not an object');
  const containers = spec['containers'];
  if (!Array.isArray(containers)) return err('spec.containers must be a list');
  const images: string[] = [];
  for (const [i, c] of containers.entries()) {
    if (!isRecord(c) || typeof c['image'] !== 'string') return err(`spec.containers[${i}].image must be a string`);
    images.push(c['image']);
  }
  const annotations: Record<string, string> = {};
  const rawAnnotations = spec['annotations'];
  if (rawAnnotations !== undefined && rawAnnotations !== null) {
    if (!isRecord(rawAnnotations)) return err('spec.annotations must be a map of strings');
    for (const [k, v] of Object.entries(rawAnnotations)) {
      if (typeof v !== 'string') return err(`spec.annotations.${k} must be a string`);
      annotations[k] = v;
    }
  }
  return ok({ containers: images, namespace: str(spec['namespace']), annotations });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
