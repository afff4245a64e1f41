// Renders charts/signet the way `helm template` would, for tests (no helm binary exists here): values.yaml
// deep-merged with overrides as `-f` does, the merged values checked against values.schema.json, every
// template executed by the Go-template subset in go-template.ts with the Sprig/Helm functions the chart
// uses, "<no value>" removed, and each output split into YAML documents. `lookup` answers from a map
// the test provides, as if those objects existed in the cluster (Helm's own `helm template` always
// answers empty). What this cannot show: Helm's exact YAML formatting, and functions the chart does not use.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { TemplateEngine, TemplateFailure, formatGoFloat, formatValue, truthy, type TemplateFunction, type Value } from './go-template.js';
import { buildCustomCert, genCA, genSignedCert, type HelmCertificate } from './helm-certs.js';

export const CHART_DIR = fileURLToPath(new URL('../../../charts/signet', import.meta.url));

export type Values = Record<string, unknown>;

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface RenderedDocument {
  readonly file: string;
  readonly object: K8sObject;
}

export interface RenderOptions {
  readonly releaseName?: string;
  readonly namespace?: string;
  /** Merged over values.yaml like `helm install -f`: maps merge, lists and scalars replace, null deletes. */
  readonly values?: Values;
  /** Cluster objects `lookup` finds, keyed `apiVersion/kind/namespace/name` (e.g. `v1/Secret/signet/signet-ca`). */
  readonly existing?: Readonly<Record<string, Values>>;
  /** Like `helm install --skip-schema-validation`, to reach the templates' own guards. */
  readonly skipSchemaValidation?: boolean;
}

export interface RenderedChart {
  readonly values: Values;
  /** Rendered text of every non-partial template, by file name (templates/…). */
  readonly files: ReadonlyMap<string, string>;
  readonly documents: readonly RenderedDocument[];
}

export class ValuesSchemaError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`values don't meet the specifications of the schema(s):\n${problems.join('\n')}`);
    this.name = 'ValuesSchemaError';
  }
}

export function readChartYaml(): Values {
  return parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Values;
}

export function readDefaultValues(): Values {
  return parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;
}

export function readValuesSchema(): Values {
  return JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Values;
}

/** Helm validates with draft-07; ajv's default class is draft-07 too. */
let compiledSchema: ValidateFunction | undefined;

export function valuesSchemaProblems(values: unknown): string[] {
  compiledSchema ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(readValuesSchema());
  const validate = compiledSchema;
  if (validate(values)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'}: ${e.message ?? e.keyword}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`);
}

function isMap(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function mergeValues(base: Values, override: Values): Values {
  const merged: Values = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete merged[key];
    else if (isMap(value) && isMap(merged[key])) merged[key] = mergeValues(merged[key], value);
    else merged[key] = structuredClone(value);
  }
  return merged;
}

/**
 * An argument Sprig declares as Go int. Helm hands values over as float64, and Go refuses a float64
 * there ("wrong type for value"), so a value must go through `int` first; integer literals are ints.
 */
function goInt(value: Value, what: string): number {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') throw new Error(`wrong type for value; expected int; got float64 (${what}: convert it with int)`);
  throw new Error(`wrong type for value; expected int; got ${formatValue(value)} (${what})`);
}

/** Sprig's strval: strings as they are, everything else as Go's %v would print it. */
function strval(value: Value): string {
  if (value === null || value === undefined) return '<nil>';
  return formatValue(value);
}

/** Sprig's toInt64/cast.ToInt: floats truncate, strings parse, nil is 0. */
function toInt(value: Value): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'string') return /^-?\d+$/.test(value.trim()) ? BigInt(value.trim()) : 0n;
  return 0n;
}

/**
 * A Go []string, as Sprig's splitList returns. Functions declared with []interface{} parameters, such
 * as genSignedCert, refuse it in Helm ("wrong type for value"), so they refuse it here too.
 */
class GoStringSlice extends Array<string> {}

function interfaceSlice(value: Value, fn: string): Value[] {
  if (value instanceof GoStringSlice) throw new Error(`wrong type for value; expected []interface {}; got []string (${fn} needs a list made by list or append)`);
  return list(value, fn);
}

function empty(value: Value): boolean {
  return !truthy(value);
}

function list(value: Value, fn: string): Value[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${fn} needs a list, got ${formatValue(value)}`);
  return value;
}

function indent(spaces: Value, text: Value): string {
  const pad = ' '.repeat(goInt(spaces, 'indent width'));
  return pad + strval(text).replaceAll('\n', `\n${pad}`);
}

function goQuote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function printf(format: Value, ...args: Value[]): string {
  if (typeof format !== 'string') throw new Error('printf needs a format string');
  let next = 0;
  return format.replace(/%([%sdvq])/g, (_match, verb: string) => {
    if (verb === '%') return '%';
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[next++];
    if (verb === 'q') return goQuote(strval(arg));
    if (verb === 'd') {
      if (typeof arg !== 'bigint') return `%!d(${typeof arg})`;
      return arg.toString();
    }
    return strval(arg);
  });
}

function toYaml(value: Value): string {
  const plain = JSON.parse(JSON.stringify(value ?? null, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))) as unknown;
  // sigs.k8s.io/yaml sorts map keys; Helm trims the final newline.
  return stringify(plain, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
}

function dig(...args: Value[]): Value {
  if (args.length < 3) throw new Error('dig needs keys, a default and a map');
  const dict = args[args.length - 1];
  const fallback = args[args.length - 2];
  let current: Value = dict;
  for (const key of args.slice(0, -2)) {
    if (!isMap(current)) throw new Error(`dig: ${formatValue(current)} is not a map`);
    if (!Object.hasOwn(current, String(key))) return fallback;
    current = current[String(key)];
  }
  return current;
}

export function helmFunctions(existing: Readonly<Record<string, Values>>): Record<string, TemplateFunction> {
  return {
    toYaml,
    nindent: (spaces, text) => `\n${indent(spaces, text)}`,
    indent,
    quote: (...values) => values.filter((v) => v !== null && v !== undefined).map((v) => goQuote(strval(v))).join(' '),
    default: (fallback, ...given) => (given.length === 0 || empty(given[0]) ? fallback : given[0]),
    empty,
    required: (message, value) => {
      if (value === null || value === undefined || value === '') throw new TemplateFailure(strval(message));
      return value;
    },
    fail: (message) => {
      throw new TemplateFailure(strval(message));
    },
    printf: (format, ...args) => printf(format, ...args),
    eq: (a, ...others) => {
      if (others.length === 0) throw new Error('eq needs two arguments');
      return others.some((b) => {
        // Go refuses to compare an int with a float64 (values are float64 in Helm, literals are int).
        if (typeof a !== typeof b) throw new Error(`incompatible types for comparison: ${typeof a} and ${typeof b}`);
        if (typeof a === 'object') throw new Error('eq compares basic values only');
        return a === b;
      });
    },
    ne: (a, b) => {
      if (typeof a !== typeof b) throw new Error(`incompatible types for comparison: ${typeof a} and ${typeof b}`);
      return a !== b;
    },
    not: (value) => !truthy(value),
    len: (value) => {
      if (typeof value === 'string' || Array.isArray(value)) return BigInt(value.length);
      if (isMap(value)) return BigInt(Object.keys(value).length);
      throw new Error(`len of ${formatValue(value)}`);
    },
    int: (value) => toInt(value),
    add: (...values) => values.reduce<bigint>((sum, v) => sum + toInt(v), 0n),
    trunc: (count, text) => {
      const n = goInt(count, 'trunc length');
      const s = strval(text);
      return n >= 0 ? s.slice(0, n) : s.slice(Math.max(0, s.length + n));
    },
    trimSuffix: (suffix, text) => {
      const s = strval(text);
      const x = strval(suffix);
      return x !== '' && s.endsWith(x) ? s.slice(0, -x.length) : s;
    },
    contains: (needle, text) => strval(text).includes(strval(needle)),
    replace: (from, to, text) => strval(text).replaceAll(strval(from), strval(to)),
    lower: (text) => strval(text).toLowerCase(),
    toString: (value: Value) => strval(value),
    b64enc: (text) => Buffer.from(strval(text), 'utf8').toString('base64'),
    dict: (...pairs) => {
      const out: Values = {};
      for (let i = 0; i < pairs.length; i += 2) out[strval(pairs[i])] = i + 1 < pairs.length ? pairs[i + 1] : '';
      return out;
    },
    list: (...items) => items,
    prepend: (items, value) => [value, ...list(items, 'prepend')] as Value[],
    append: (items, value) => [...list(items, 'append'), value],
    uniq: (items) => [...new Set(list(items, 'uniq'))],
    first: (items) => list(items, 'first')[0] ?? null,
    join: (separator, items) => list(items, 'join').map(strval).join(strval(separator)),
    splitList: (separator, text) => GoStringSlice.from(strval(text).split(strval(separator))),
    set: (dict, key, value) => {
      if (!isMap(dict)) throw new Error('set needs a map');
      dict[strval(key)] = value;
      return dict;
    },
    hasKey: (dict, key) => isMap(dict) && Object.hasOwn(dict, strval(key)),
    dig,
    lookup: (apiVersion, kind, namespace, name) => {
      const found = existing[`${strval(apiVersion)}/${strval(kind)}/${strval(namespace)}/${strval(name)}`];
      return found ? structuredClone(found) : {};
    },
    genCA: (commonName, days) => genCA(strval(commonName), goInt(days, 'genCA days')),
    genSignedCert: (commonName, ips, dnsNames, days, ca) =>
      genSignedCert(strval(commonName), interfaceSlice(ips, 'genSignedCert').map(strval), interfaceSlice(dnsNames, 'genSignedCert').map(strval), goInt(days, 'genSignedCert days'), ca as HelmCertificate),
    buildCustomCert: (cert, key) => buildCustomCert(strval(cert), strval(key)),
  };
}

/** Chart.yaml as Helm exposes it to templates (.Chart.Name, .Chart.Version, .Chart.AppVersion, …). */
function chartObject(chart: Values): Values {
  return {
    Name: chart['name'],
    Version: chart['version'],
    AppVersion: chart['appVersion'],
    Description: chart['description'],
    Type: chart['type'],
    KubeVersion: chart['kubeVersion'],
  };
}

export function renderChart(options: RenderOptions = {}): RenderedChart {
  const releaseName = options.releaseName ?? 'signet';
  const namespace = options.namespace ?? 'signet';
  const values = mergeValues(readDefaultValues(), options.values ?? {});
  const problems = options.skipSchemaValidation ? [] : valuesSchemaProblems(values);
  if (problems.length > 0) throw new ValuesSchemaError(problems);

  const engine = new TemplateEngine({ functions: helmFunctions(options.existing ?? {}) });
  const templatesDir = join(CHART_DIR, 'templates');
  const names = readdirSync(templatesDir).sort();
  for (const name of names) engine.addFile(`templates/${name}`, readFileSync(join(templatesDir, name), 'utf8'));

  const files = new Map<string, string>();
  const documents: RenderedDocument[] = [];
  for (const name of names.filter((n) => !n.startsWith('_'))) {
    const file = `templates/${name}`;
    const context = {
      Values: values,
      Release: { Name: releaseName, Namespace: namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
      Chart: chartObject(readChartYaml()),
      Template: { Name: `signet/${file}`, BasePath: 'signet/templates' },
    };
    const text = engine.render(file, context).replaceAll('<no value>', '');
    files.set(file, text);
    if (!name.endsWith('.yaml')) continue;
    for (const doc of parseAllDocuments(text, { uniqueKeys: true })) {
      if (doc.errors.length > 0) throw new Error(`${file}: rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}\n${text}`);
      const object = doc.toJS() as unknown;
      if (object === null || object === undefined) continue;
      documents.push({ file, object: object as K8sObject });
    }
  }
  return { values, files, documents };
}

/** The one document of a kind (and name, when given); fails loudly when there is not exactly one. */
export function findObject(rendered: RenderedChart | readonly RenderedDocument[], kind: string, name?: string): K8sObject {
  const docs = 'documents' in rendered ? rendered.documents : rendered;
  const matches = docs.filter((d) => d.object.kind === kind && (name === undefined || d.object.metadata.name === name));
  if (matches.length !== 1) throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${matches.length}`);
  return matches[0]!.object;
}

export { formatGoFloat };

/**
 * Reads a nested field of a rendered object: `at(deployment, 'spec', 'template', 'spec')`. A missing
 * field at the end is undefined; a missing object on the way throws with the path, so a test that
 * reads the wrong place fails loudly instead of comparing undefined with undefined.
 */
export function at(value: unknown, ...path: readonly (string | number)[]): unknown {
  let current = value;
  path.forEach((key, index) => {
    if (typeof current !== 'object' || current === null) {
      throw new Error(`no object at ${path.slice(0, index).join('.') || '(root)'} (reading ${path.join('.')})`);
    }
    current = (current as Record<string | number, unknown>)[key];
  });
  return current;
}
