// values.yaml and values.schema.json: the defaults meet the schema, wrong types are refused the way
// `helm install` would refuse them (Helm validates with draft-07, as ajv does here), every value is
// documented, and templates and values name the same things.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { CHART_DIR, mergeValues, readDefaultValues, readValuesSchema, renderChart, valuesSchemaProblems, ValuesSchemaError, type Values } from './support/helm.js';

function templatesText(): { file: string; text: string }[] {
  const dir = join(CHART_DIR, 'templates');
  return readdirSync(dir).map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
}

/** Every `.Values.a.b` (and `$.Values.a.b`) written in a template. */
function referencedValuePaths(): Map<string, string> {
  const found = new Map<string, string>();
  for (const { file, text } of templatesText()) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) found.set(m[1]!.slice(1), file);
  }
  return found;
}

function hasValuePath(values: unknown, path: string): boolean {
  let current: unknown = values;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) return false;
    current = (current as Values)[key];
  }
  return true;
}

function schemaHasPath(schema: Values, path: string): boolean {
  let current: Values | undefined = schema;
  for (const key of path.split('.')) {
    const properties = current?.['properties'] as Record<string, Values> | undefined;
    current = properties?.[key];
    if (!current) return false;
  }
  return true;
}

/** Leaf paths of values.yaml (maps are walked, lists and scalars are leaves). */
function leafPaths(values: unknown, prefix = ''): string[] {
  if (typeof values !== 'object' || values === null || Array.isArray(values) || Object.keys(values).length === 0) return [prefix];
  return Object.entries(values).flatMap(([key, value]) => leafPaths(value, prefix ? `${prefix}.${key}` : key));
}

/**
 * Values without a comment. A value is what a template reads: a leaf such as webhook.timeoutSeconds,
 * or a block passed to Kubernetes whole such as resources. Sections like `webhook:` only group values.
 */
function undocumentedValues(text: string, referenced: ReadonlySet<string>): string[] {
  const doc = parseDocument(text);
  const undocumented: string[] = [];
  const visit = (node: YamlNode | null, path: string, mapComment: string | undefined): void => {
    if (!isMap(node)) return;
    node.items.forEach((pair: Pair, index) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      const fieldPath = path ? `${path}.${key}` : key;
      const keyNode = pair.key as YamlNode | null;
      const valueNode = pair.value as YamlNode | null;
      if (isMap(valueNode) && !referenced.has(fieldPath)) {
        // The yaml library hangs a comment above a map's first key on the map itself.
        visit(valueNode, fieldPath, valueNode.commentBefore ?? undefined);
        return;
      }
      const comment = keyNode?.commentBefore ?? (index === 0 ? mapComment : undefined) ?? valueNode?.comment ?? (isMap(valueNode) || isSeq(valueNode) ? undefined : valueNode?.commentBefore);
      if (!comment?.trim()) undocumented.push(fieldPath);
    });
  };
  visit(doc.contents, '', doc.commentBefore ?? undefined);
  return undocumented;
}

function withOverride(path: string, value: unknown): Values {
  const override: Values = {};
  let current = override;
  const keys = path.split('.');
  keys.slice(0, -1).forEach((key) => {
    current[key] = {};
    current = current[key] as Values;
  });
  current[keys[keys.length - 1]!] = value;
  return mergeValues(readDefaultValues(), override);
}

describe('values.yaml against values.schema.json', () => {
  it('declares JSON Schema draft-07, the draft Helm validates values with', () => {
    expect(readValuesSchema()['$schema']).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('parses, and the defaults meet the schema', () => {
    const values = readDefaultValues();
    expect(typeof values).toBe('object');
    expect(valuesSchemaProblems(values)).toEqual([]);
  });

  // Each case must fail at exactly the path given, so it fails for the reason named.
  it.each([
    ['webhook.timeoutSeconds', '10', '/webhook/timeoutSeconds: must be integer'],
    ['webhook.timeoutSeconds', 2.5, '/webhook/timeoutSeconds: must be integer'],
    ['webhook.timeoutSeconds', 31, '/webhook/timeoutSeconds: must be <= 30'],
    ['webhook.timeoutSeconds', 0, '/webhook/timeoutSeconds: must be >= 1'],
    ['webhook.failurePolicy', 'fail', '/webhook/failurePolicy: must be equal to one of the allowed values'],
    ['webhook.mutating.failurePolicy', true, '/webhook/mutating/failurePolicy: must be equal to one of the allowed values'],
    ['webhook.exemptNamespaces', ['Kube-System'], '/webhook/exemptNamespaces/0: must match pattern'],
    ['webhook.exemptNamespaces', 'kube-system', '/webhook/exemptNamespaces: must be array'],
    ['replicaCount', 0, '/replicaCount: must be >= 1'],
    ['replicaCount', '2', '/replicaCount: must be integer'],
    ['image.digest', 'latest', '/image/digest: must match pattern'],
    ['trust.policy', '', '/trust/policy: must NOT have fewer than 1 characters'],
    ['trust.keys', { 'policy.yaml': '-----BEGIN PUBLIC KEY-----' }, '/trust/keys: property name must be valid'],
    ['trust.keys', { 'keys/release.pub': '-----BEGIN PUBLIC KEY-----' }, '/trust/keys: property name must be valid'],
    ['trust.keys', { 'release.pub': 'not a PEM' }, '/trust/keys/release.pub: must match pattern'],
    ['podDisruptionBudget.maxUnavailable', '50', '/podDisruptionBudget/maxUnavailable: must match exactly one schema in oneOf'],
    ['certManager.renewBefore', '30d', '/certManager/renewBefore: must match pattern'],
    ['containerPort', 443, '/containerPort: must be >= 1024'],
    ['extraArgs', ['-v'], '/extraArgs/0: must match pattern'],
    ['tls.certValidityDays', '365', '/tls/certValidityDays: must be integer'],
    ['serviceAccount.create', 'yes', '/serviceAccount/create: must be boolean'],
  ])('rejects %s = %j', (path, value, expected) => {
    const problems = valuesSchemaProblems(withOverride(path, value));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => p.startsWith(expected))).toBe(true);
    const pointer = `/${path.replaceAll('.', '/')}`;
    expect(problems.every((p) => p.startsWith(pointer))).toBe(true);
  });

  it('rejects a mutating rule for anything but Pods, because only Pods are pinned', () => {
    const rules = [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }];
    const problems = valuesSchemaProblems(withOverride('webhook.mutating.rules', rules));
    expect(problems).toEqual(expect.arrayContaining(['/webhook/mutating/rules/0/apiGroups/0: must be equal to constant', '/webhook/mutating/rules/0/resources/0: must be equal to constant']));
  });

  it('rejects misspelt keys at every level (additionalProperties: false)', () => {
    expect(valuesSchemaProblems({ ...readDefaultValues(), replicas: 3 })).toContain('(root): must NOT have additional properties (replicas)');
    expect(valuesSchemaProblems(withOverride('webhook.timeoutSecond', 5))).toContain('/webhook: must NOT have additional properties (timeoutSecond)');
    expect(valuesSchemaProblems(withOverride('certManager.enable', true))).toContain('/certManager: must NOT have additional properties (enable)');
  });

  it('is enforced by the test renderer too, as `helm install` enforces it', () => {
    expect(() => renderChart({ values: { webhook: { timeoutSeconds: 45 } } })).toThrow(ValuesSchemaError);
    expect(() => renderChart({ values: { webhook: { timeoutSeconds: 45 } } })).toThrow(/\/webhook\/timeoutSeconds: must be <= 30/);
  });
});

describe('values.yaml documentation', () => {
  it('has a comment on every value a template reads', () => {
    const referenced = new Set(referencedValuePaths().keys());
    expect(undocumentedValues(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'), referenced)).toEqual([]);
  });

  it('the comment check finds undocumented values, leaves and whole blocks alike (it is not vacuous)', () => {
    const text = '# documented\na: 1\nb: 2\nsection:\n  # documented\n  c: 3\n  d: 4\nblock:\n  e: 5\n';
    expect(undocumentedValues(text, new Set(['a', 'b', 'section.c', 'section.d', 'block']))).toEqual(['b', 'section.d', 'block']);
  });
});

describe('templates and values agree', () => {
  it('every .Values path a template reads exists in values.yaml and in values.schema.json', () => {
    const values = readDefaultValues();
    const schema = readValuesSchema();
    const referenced = referencedValuePaths();
    expect(referenced.size).toBeGreaterThan(40);
    const missing = [...referenced].filter(([path]) => !hasValuePath(values, path)).map(([path, file]) => `${path} (${file}) not in values.yaml`);
    const unschematized = [...referenced].filter(([path]) => !schemaHasPath(schema, path)).map(([path, file]) => `${path} (${file}) not in values.schema.json`);
    expect([...missing, ...unschematized]).toEqual([]);
  });

  it('every value in values.yaml is read by some template (no dead settings)', () => {
    const referenced = [...referencedValuePaths().keys()];
    const unused = leafPaths(readDefaultValues()).filter((leaf) => !referenced.some((path) => leaf === path || leaf.startsWith(`${path}.`)));
    expect(unused).toEqual([]);
  });

  it('every top-level key of values.yaml is declared in the schema, and the schema declares nothing values.yaml lacks', () => {
    const schemaKeys = Object.keys(readValuesSchema()['properties'] as Values).filter((k) => k !== 'global').sort();
    expect(Object.keys(readDefaultValues()).sort()).toEqual(schemaKeys);
  });
});
