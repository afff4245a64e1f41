// The policy document's shape as one JSON Schema (draft 2020-12), and its validation with ajv, turned
// into problems a policy author can act on ("rules[0].verfy: unknown field; did you mean verify?").
// Only the shape is checked here; what needs more than one field or a grammar of its own (key
// references, thresholds against key counts, image and namespace globs, label and annotation syntax,
// selector values against operators) is checked in compile.ts. src/policy/policy.schema.json is a copy of
// `policyJsonSchema` for editors and docs; a test keeps the two equal.

import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { PathSegment, RawProblem } from './problem.js';
import { didYouMean } from '../util/did-you-mean.js';
import { quote } from '../util/quote.js';
import { VERIFIER_SYSTEMS, VERIFIER_TYPES } from '../signatures/systems.js';
import { pemSourceSchema } from '../signatures/compile-context.js';
import { isRecord } from '../util/is-record.js';

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
const NAME_RULE = 'use letters, digits, ".", "_" and "-", starting with a letter or digit (at most 63 characters)';

/** Verifier systems that have a name in the format but no verifier yet. */
const PLANNED_VERIFIER_TYPES: readonly string[] = [];
const SUPPORTED_VERIFIER_TYPES: readonly string[] = VERIFIER_TYPES;

const modeSchema = {
  enum: ['enforce', 'warn', 'audit'],
  description: 'enforce: deny the pod; warn: admit it with a warning; audit: admit it and only record the result.',
} as const;

const labelSelectorSchema = {
  type: 'object',
  description:
    'Kubernetes LabelSelector over the namespace\'s labels: every matchLabels entry and every matchExpressions entry must hold.',
  additionalProperties: false,
  properties: {
    matchLabels: {
      type: 'object',
      description: 'Labels the namespace must carry, with exactly these values.',
      additionalProperties: { type: 'string' },
    },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', description: 'A label key, [prefix/]name.' },
          operator: {
            enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
            description: 'NotIn and DoesNotExist also hold when the label is absent.',
          },
          values: {
            type: 'array',
            items: { type: 'string' },
            description: 'Required (not empty) for In and NotIn; not allowed for Exists and DoesNotExist.',
          },
        },
      },
    },
  },
} as const;

export const policyJsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://signet.dev/schemas/image-policy.v1alpha1.json',
  title: 'Signet ImagePolicy',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'rules'],
  properties: {
    apiVersion: { const: 'signet.dev/v1alpha1' },
    kind: { const: 'ImagePolicy' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1, maxLength: 253 } },
    },
    keys: {
      type: 'object',
      description: 'Named trusted public keys (PEM SubjectPublicKeyInfo or PKCS#1 RSA).',
      propertyNames: { pattern: NAME_PATTERN, maxLength: 63, 'x-problem': NAME_RULE },
      additionalProperties: pemSourceSchema('A trusted public key', 'publicKey'),
    },
    exemptions: {
      type: 'object',
      additionalProperties: false,
      properties: {
        namespaces: {
          type: 'array',
          uniqueItems: true,
          items: { type: 'string' },
          default: ['kube-system'],
          description: 'Namespaces (names, or patterns with "*") whose objects are not checked at all. [] exempts none.',
        },
      },
    },
    breakGlass: {
      type: 'object',
      additionalProperties: false,
      required: ['annotation'],
      description: 'ImagePolicyWebhook only: a pod carrying this annotation is admitted without checks, and the admission is audited.',
      properties: {
        annotation: { type: 'string', description: 'An annotation name matching *.image-policy.k8s.io/*.' },
      },
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { ...modeSchema, default: 'enforce' },
        unmatched: {
          enum: ['deny', 'allow'],
          default: 'deny',
          description: 'What happens to an image that no rule matches.',
        },
        failurePolicy: {
          enum: ['closed', 'open'],
          default: 'closed',
          description:
            'closed: a registry error or timeout denies; open: it admits with a warning. Never applies to a bad or missing signature.',
        },
        pinDigests: {
          type: 'boolean',
          default: true,
          description: 'Whether the mutating endpoint rewrites verified Pod images to name:tag@digest.',
        },
      },
    },
    rules: {
      type: 'array',
      description: 'Ordered; the first rule whose images match an image decides for it.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'images'],
        properties: {
          name: { type: 'string', pattern: NAME_PATTERN, maxLength: 63, 'x-problem': NAME_RULE },
          images: {
            type: 'array',
            minItems: 1,
            items: { type: 'string' },
            description: 'Patterns over the normalised registry/repository name; see docs/policy.md.',
          },
          exclude: {
            type: 'array',
            items: { type: 'string' },
            description: 'Images matching one of these patterns are not covered by this rule (later rules may cover them).',
          },
          namespaces: {
            type: 'object',
            description: 'The rule covers only objects in these namespaces; both names and selector must hold when both are given.',
            additionalProperties: false,
            minProperties: 1,
            'x-problem': 'give names, selector or both; a rule for every namespace has no namespaces field',
            properties: {
              names: {
                type: 'array',
                minItems: 1,
                uniqueItems: true,
                items: { type: 'string' },
                description: 'Namespace names, or patterns where "*" matches any run of characters.',
              },
              selector: labelSelectorSchema,
            },
          },
          action: {
            enum: ['verify', 'allow', 'deny'],
            default: 'verify',
            description: 'verify: check signatures; allow: admit without verification; deny: always deny.',
          },
          mode: modeSchema,
          require: {
            enum: ['all', 'any'],
            default: 'all',
            description: 'Whether every entry of verify must be satisfied, or at least one.',
          },
          pinDigest: {
            type: 'boolean',
            description: 'Overrides defaults.pinDigests for images this rule verified.',
          },
          verify: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['type'],
              // ajv's discriminator picks the branch by `type`, so errors name the right fields;
              // other JSON Schema tools ignore it and still validate through oneOf.
              discriminator: { propertyName: 'type' },
              oneOf: Object.values(VERIFIER_SYSTEMS).map((system) => system.schema),
            },
          },
        },
      },
    },
  },
} as const;

const ajv = new Ajv2020({ allErrors: true, verbose: true, discriminator: true, strictRequired: false });
// Annotation keyword carrying the message shown instead of ajv's generic one.
ajv.addVocabulary(['x-problem']);
const validateShape = ajv.compile(policyJsonSchema);

/** JSON pointer → path segments, with array positions as numbers (decided by walking the data). */
function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let current: unknown = data;
  for (const escaped of pointer.slice(1).split('/')) {
    const token = escaped.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      const index = Number(token);
      path.push(index);
      current = current[index];
    } else {
      path.push(token);
      current = isRecord(current) ? current[token] : undefined;
    }
  }
  return path;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a map (field: value)',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function typeMessage(expected: string, value: unknown): string {
  const wanted = TYPE_NAMES[expected] ?? expected;
  if (expected === 'integer' && typeof value === 'number') return `must be a whole number; got ${value}`;
  const hint =
    expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')
      ? `; quote it ("${String(value)}") if it is meant as text`
      : '';
  return `must be ${wanted}; got ${describeValue(value)}${hint}`;
}

function allowedFields(schema: unknown): string[] {
  const properties = isRecord(schema) ? schema.properties : undefined;
  return isRecord(properties) ? Object.keys(properties) : [];
}

function customMessage(schema: unknown): string | undefined {
  const message = isRecord(schema) ? schema['x-problem'] : undefined;
  return typeof message === 'string' ? message : undefined;
}

function oneOfBranchOwner(error: ErrorObject, errors: readonly ErrorObject[]): boolean {
  // Errors from inside a oneOf branch are noise when the oneOf itself is reported at the same place;
  // a discriminator never reports the oneOf, so its branch errors stay.
  const marker = error.schemaPath.lastIndexOf('/oneOf/');
  if (marker < 0) return false;
  const oneOfPath = error.schemaPath.slice(0, marker + '/oneOf'.length);
  return errors.some((other) => other.keyword === 'oneOf' && other.schemaPath === oneOfPath && other.instancePath === error.instancePath);
}

function translate(error: ErrorObject, data: unknown): RawProblem | undefined {
  const path = pointerToPath(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const allowed = allowedFields(error.parentSchema);
      const suggestion = didYouMean(field, allowed);
      const message =
        suggestion !== '' ? `unknown field${suggestion}` : `unknown field; allowed fields here: ${allowed.join(', ')}`;
      return { path: [...path, field], message, at: 'key' };
    }
    case 'required': {
      const field = String(params.missingProperty);
      return { path: [...path, field], locate: path, message: 'missing required field', at: 'value' };
    }
    case 'propertyNames': {
      const name = String(params.propertyName);
      const rule = customMessage(error.parentSchema?.propertyNames) ?? 'invalid name';
      return { path: [...path, name], message: `invalid name ${quote(name)}: ${rule}`, at: 'key' };
    }
    case 'type':
      return { path, message: typeMessage(String(params.type), error.data), at: 'value' };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const got = error.data;
      const suggestion = typeof got === 'string' ? didYouMean(got, allowed) : '';
      return { path, message: `must be one of ${allowed.join(', ')}; got ${describeValue(got)}${suggestion}`, at: 'value' };
    }
    case 'const': {
      const wanted = String(params.allowedValue);
      return { path, message: `must be ${wanted}; got ${describeValue(error.data)}`, at: 'value' };
    }
    case 'discriminator': {
      if (params.error === 'mapping') {
        const type = String(params.tagValue);
        const message = PLANNED_VERIFIER_TYPES.includes(type)
          ? `verifier type ${type} is not supported yet; supported: ${SUPPORTED_VERIFIER_TYPES.join(', ')}`
          : `unknown verifier type ${quote(type)}; supported: ${SUPPORTED_VERIFIER_TYPES.join(', ')}${didYouMean(type, SUPPORTED_VERIFIER_TYPES)}`;
        return { path: [...path, 'type'], message, at: 'value' };
      }
      const tag = isRecord(error.data) ? error.data.type : undefined;
      // A missing tag is already reported by `required`.
      if (tag === undefined) return undefined;
      return { path: [...path, 'type'], message: typeMessage('string', tag), at: 'value' };
    }
    case 'oneOf':
      return { path, message: customMessage(error.parentSchema) ?? 'does not match any allowed form', at: 'value' };
    // if/then/else: the failing branch reports its own errors; the `if` summary adds nothing.
    case 'if':
      return undefined;
    case 'not':
      return { path, message: customMessage(error.parentSchema) ?? 'has a field that is not allowed here', at: 'value' };
    case 'pattern':
      return {
        path,
        message: `invalid name ${quote(String(error.data))}: ${customMessage(error.parentSchema) ?? `must match ${String(params.pattern)}`}`,
        at: 'value',
      };
    case 'minProperties':
      return { path, message: customMessage(error.parentSchema) ?? 'must not be empty', at: 'value' };
    case 'minItems':
      return { path, message: `must list at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`, at: 'value' };
    case 'uniqueItems': {
      const later = Math.max(Number(params.i), Number(params.j));
      const items = Array.isArray(error.data) ? error.data : [];
      return { path: [...path, later], message: `${describeValue(items[later])} is listed twice`, at: 'value' };
    }
    case 'minimum':
      return { path, message: `must be at least ${String(params.limit)}; got ${describeValue(error.data)}`, at: 'value' };
    case 'minLength':
      return { path, message: 'must not be empty', at: 'value' };
    case 'maxLength':
      return { path, message: `must be at most ${String(params.limit)} characters long`, at: 'value' };
    default:
      return { path, message: error.message ?? `fails the ${error.keyword} check`, at: 'value' };
  }
}

/** Checks the document's shape; an empty list means it has the shape of a policy. */
export function checkShape(data: unknown): RawProblem[] {
  if (validateShape(data)) return [];
  const errors = validateShape.errors ?? [];
  const problems: RawProblem[] = [];
  for (const error of errors) {
    if (error.propertyName !== undefined) continue; // reported by its `propertyNames` error
    if (oneOfBranchOwner(error, errors)) continue;
    const problem = translate(error, data);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}
