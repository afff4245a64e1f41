// Checks Kubernetes objects the way an API server would reject them, without one: the OpenAPI schema of
// the kind (kubernetes-models: types, enums, required fields, formats such as base64 `byte`), and
// unknown fields, which `kubectl apply` refuses by default (field validation Strict) but the OpenAPI
// schemas allow. Field names come from @kubernetes/client-node's generated models.
import * as k8s from '@kubernetes/client-node';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Pod': Pod,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
};

interface TypedObject {
  readonly apiVersion: string;
  readonly kind: string;
}

export function hasModel(object: TypedObject): boolean {
  return `${object.apiVersion}/${object.kind}` in MODELS;
}

/** The schema's complaints about an object ("" when it is valid); throws for a kind with no model here. */
export function schemaProblems(object: TypedObject): string {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`no kubernetes-models class registered for ${object.apiVersion} ${object.kind}`);
  try {
    new Model(object as never).validate();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

interface AttributeType {
  readonly baseName: string;
  readonly type: string;
}
interface GeneratedModel {
  getAttributeTypeMap(): readonly AttributeType[];
}

function generatedModel(typeName: string): GeneratedModel | undefined {
  const candidate = (k8s as unknown as Record<string, unknown>)[typeName];
  return typeof candidate === 'function' && 'getAttributeTypeMap' in candidate ? (candidate as unknown as GeneratedModel) : undefined;
}

function rootTypeName(object: TypedObject): string {
  const version = object.apiVersion.split('/').pop()!;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${object.kind}`;
}

/** Paths of fields that the kind does not have, e.g. `spec.template.spec.containers[0].imagePullPolcy`. */
export function unknownFields(object: TypedObject): string[] {
  const root = generatedModel(rootTypeName(object));
  if (!root) throw new Error(`no @kubernetes/client-node model for ${object.apiVersion} ${object.kind}`);
  const found: string[] = [];
  const walk = (value: unknown, type: string, path: string): void => {
    if (value === null || value === undefined) return;
    const arrayOf = /^Array<(.+)>$/.exec(type);
    if (arrayOf) {
      if (Array.isArray(value)) value.forEach((item, i) => walk(item, arrayOf[1]!, `${path}[${i}]`));
      return;
    }
    const mapOf = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (mapOf) {
      if (typeof value === 'object') for (const [key, item] of Object.entries(value)) walk(item, mapOf[1]!, `${path}[${JSON.stringify(key)}]`);
      return;
    }
    const model = generatedModel(type);
    if (!model || typeof value !== 'object' || Array.isArray(value)) return;
    const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [key, item] of Object.entries(value)) {
      const fieldPath = path === '' ? key : `${path}.${key}`;
      const fieldType = attributes.get(key);
      if (fieldType === undefined) found.push(fieldPath);
      else walk(item, fieldType, fieldPath);
    }
  };
  walk(object, rootTypeName(object), '');
  return found.sort();
}
