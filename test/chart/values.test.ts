// values.yaml and values.schema.json: the defaults pass `helm lint --strict`, wrong values are refused
// by the real Helm with the message a user reads (Helm v4 validates values against the schema before
// rendering), every value is documented, and templates and values name the same things.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { at, CHART_DIR, describeHelm, findObject, lintChart, readDefaultValues, readValuesSchema, renderChart, renderError, schemaErrors, type Values } from './support/helm.js';
import { schemaProblems } from './support/k8s-validate.js';

function templatesText(): { file: string; text: string }[] {
  const dir = join(CHART_DIR, 'templates');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(yaml|tpl|txt)$/.test(file))
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
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

/** The values file that sets only `path` (dots separate keys) to `value`; Helm merges it over values.yaml. */
function withOverride(path: string, value: unknown): Values {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Values;
}

/** Helm's schema complaints when only `path` is set to `value`. */
async function refusal(path: string, value: unknown): Promise<{ path: string; message: string }[]> {
  const stderr = await renderError({ values: withOverride(path, value) });
  expect(stderr).toContain("values don't meet the specifications of the schema(s)");
  return schemaErrors(stderr);
}

describe('values.schema.json', () => {
  it('declares JSON Schema draft-07, which Helm v3 and v4 both read', () => {
    expect(readValuesSchema()['$schema']).toBe('http://json-schema.org/draft-07/schema#');
  });
});

describeHelm('values.yaml against values.schema.json (the real Helm)', () => {
  it('helm lint --strict passes with the default values: no error, no warning', async () => {
    const lint = await lintChart();
    expect(lint.ok).toBe(true);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.stdout).not.toMatch(/\[(ERROR|WARNING)\]/);
  });

  // Each case must fail at exactly the path given (or below it), so it fails for the reason named.
  it.each([
    ['webhook.timeoutSeconds', '10', 'got string, want integer'],
    ['webhook.timeoutSeconds', 2.5, 'got number, want integer'],
    ['webhook.timeoutSeconds', 31, 'maximum: got 31, want 30'],
    ['webhook.timeoutSeconds', 0, 'minimum: got 0, want 1'],
    ['webhook.failurePolicy', 'fail', "value must be one of 'Fail', 'Ignore'"],
    ['webhook.mutating.failurePolicy', true, "value must be one of 'Fail', 'Ignore'"],
    ['webhook.exemptNamespaces', ['Kube-System'], "'Kube-System' does not match pattern"],
    ['webhook.exemptNamespaces', 'kube-system', 'got string, want array'],
    ['replicaCount', 0, 'minimum: got 0, want 1'],
    ['replicaCount', '2', 'got string, want integer'],
    ['image.digest', 'latest', "'latest' does not match pattern"],
    ['trust.policy', '', 'minLength: got 0, want 1'],
    ['trust.keys', { 'release.pub': 'not a PEM' }, "'not a PEM' does not match pattern '-----BEGIN '"],
    ['podDisruptionBudget.maxUnavailable', '50', "'oneOf' failed, none matched"],
    ['certManager.renewBefore', '30d', "'30d' does not match pattern"],
    ['containerPort', 443, 'minimum: got 443, want 1,024'],
    ['extraArgs', ['-v'], "'-v' does not match pattern '^--'"],
    ['tls.certValidityDays', '365', 'got string, want integer'],
    ['serviceAccount.create', 'yes', 'got string, want boolean'],
  ])('refuses %s = %j', async (path, value, expected) => {
    const problems = await refusal(path, value);
    const pointer = `/${path.replaceAll('.', '/')}`;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.path.startsWith(pointer))).toBe(true);
    expect(problems.map((p) => p.message)).toContainEqual(expect.stringContaining(expected));
  });

  it.each([
    [{ 'policy.yaml': '-----BEGIN PUBLIC KEY-----' }, "invalid propertyName 'policy.yaml'"],
    [{ 'keys/release.pub': '-----BEGIN PUBLIC KEY-----' }, "invalid propertyName 'keys/release.pub'"],
  ])('refuses trust.keys named %j (Helm reports these at the root)', async (keys, expected) => {
    const problems = await refusal('trust.keys', keys);
    expect(problems.map((p) => p.message)).toContain(expected);
  });

  it('refuses a mutating rule for anything but Pods, because only Pods are pinned', async () => {
    const rules = [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }];
    const problems = await refusal('webhook.mutating.rules', rules);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '/webhook/mutating/rules/0/resources/0', message: "value must be 'pods'" },
        { path: '/webhook/mutating/rules/0/apiGroups/0', message: "value must be ''" },
      ]),
    );
  });

  it('refuses misspelt keys at every level (additionalProperties: false)', async () => {
    expect(await refusal('replicas', 3)).toContainEqual({ path: '', message: "additional properties 'replicas' not allowed" });
    expect(await refusal('webhook.timeoutSecond', 5)).toContainEqual({ path: '/webhook', message: "additional properties 'timeoutSecond' not allowed" });
    expect(await refusal('certManager.enable', true)).toContainEqual({ path: '/certManager', message: "additional properties 'enable' not allowed" });
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

describeHelm('values Helm used to accept and should not (issue #18), refused with the reason', () => {
  it('accepts a CPU limit written as a number (0.5), a valid Kubernetes quantity, and renders it as one', async () => {
    const rendered = await renderChart({ values: { resources: { limits: { cpu: 0.5 }, requests: { cpu: '100m', memory: '1.5Gi' } } } });
    const resources = at(findObject(rendered, 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'resources');
    expect(resources).toEqual({ limits: { cpu: 0.5, memory: '384Mi' }, requests: { cpu: '100m', memory: '1.5Gi' } });
    expect(schemaProblems(findObject(rendered, 'Deployment'))).toBe('');
    const problems = await refusal('resources.limits.cpu', 'half');
    expect(problems.map((p) => p.message)).toContainEqual(expect.stringContaining("'half' does not match pattern"));
  });

  it.each([
    ['nameOverride', 'Bad_Name'],
    ['nameOverride', 'x'.repeat(64)],
    ['fullnameOverride', 'ends-with-'],
    ['fullnameOverride', 'x'.repeat(70)],
    ['priorityClassName', 'System Critical'],
  ])('refuses %s = %j, which is not a DNS name', async (path, value) => {
    expect(await refusal(path, value)).toContainEqual({ path: `/${path}`, message: expect.stringContaining(`'${value}' does not match pattern`) });
  });

  it('accepts DNS names for nameOverride, fullnameOverride and priorityClassName', async () => {
    const rendered = await renderChart({ values: { nameOverride: 'verify', fullnameOverride: 'image-verify', priorityClassName: 'system-cluster-critical' } });
    expect(findObject(rendered, 'Service').metadata.name).toBe('image-verify');
    expect(at(findObject(rendered, 'Deployment'), 'spec', 'template', 'metadata', 'labels', 'app.kubernetes.io/name')).toBe('verify');
  });

  it('refuses a dockerConfigJson that is not a JSON object (schema), that does not parse, or that has no auths (template)', async () => {
    expect(await refusal('registry.credentials.dockerConfigJson', 'user:pass')).toContainEqual({
      path: '/registry/credentials/dockerConfigJson',
      message: expect.stringContaining("'user:pass' does not match pattern"),
    });
    expect(await renderError({ values: withOverride('registry.credentials.dockerConfigJson', '{not json}') })).toContain(
      `registry.credentials.dockerConfigJson must be a Docker config.json, a JSON object with an "auths" object: invalid character 'n' looking for beginning of object key string`,
    );
    expect(await renderError({ values: withOverride('registry.credentials.dockerConfigJson', '{"credsStore": "desktop"}') })).toContain(
      'registry.credentials.dockerConfigJson must be a Docker config.json, a JSON object with an "auths" object: it has no "auths" object',
    );
  });

  it.each([
    ['2160h', '2160h'],
    ['2161h', '2160h'],
    ['90m', '1h30m'],
  ])('refuses certManager.renewBefore %s with certDuration %s: due for renewal as soon as issued', async (renewBefore, certDuration) => {
    const stderr = await renderError({ values: { certManager: { enabled: true, renewBefore, certDuration } } });
    expect(stderr).toContain(`certManager.renewBefore (${renewBefore}) must be shorter than certManager.certDuration (${certDuration}): the certificate would be due for renewal as soon as it is issued`);
  });

  it('accepts a renewBefore just under certDuration (the duration arithmetic is exact)', async () => {
    const rendered = await renderChart({ values: { certManager: { enabled: true, renewBefore: '719h59m59s', certDuration: '720h' } } });
    expect(at(findObject(rendered, 'Certificate', 'signet-tls'), 'spec', 'renewBefore')).toBe('719h59m59s');
  });

  it.each([0, '0%'])('refuses podDisruptionBudget.maxUnavailable = %j, which would block every node drain', async (value) => {
    const problems = await refusal('podDisruptionBudget.maxUnavailable', value);
    expect(problems.map((p) => p.message)).toContainEqual(value === 0 ? 'minimum: got 0, want 1' : "'0%' does not match pattern '^([1-9][0-9]?|100)%$'");
  });

  it.each(['app.kubernetes.io/name', 'app.kubernetes.io/instance'])('refuses podLabels setting the selector label %s, in the schema and in the template', async (label) => {
    expect(await refusal('podLabels', { [label]: 'other' })).toContainEqual({ path: '', message: `invalid propertyName '${label}'` });
    const stderr = await renderError({ values: { podLabels: { [label]: 'other' } }, skipSchemaValidation: true });
    expect(stderr).toContain('podLabels must not set app.kubernetes.io/name or app.kubernetes.io/instance: the Deployment selects its pods by them (set nameOverride to change the name)');
  });
});
