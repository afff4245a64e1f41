// Turns a policy document into the frozen CompiledPolicy: parses every key once, compiles every image
// pattern once, applies defaults in one place, and checks what the schema cannot (key references,
// thresholds against key counts, duplicate rule names, image and namespace patterns, label and
// annotation syntax, selector operators against their values, readable key files).
// It works on data that may have failed the schema, so it only looks at values of the right type and
// leaves wrong types to the schema's problems; it produces a policy only when nothing at all is wrong.

import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { parsePublicKey } from '../keys/keys.js';
import type { TrustedKey } from '../keys/types.js';
import type { Result } from '../util/result.js';
import type { ImagePattern } from './glob.js';
import { compileImagePattern } from './glob.js';
import type { NamespacePattern } from './namespaces.js';
import {
  checkBreakGlassAnnotation,
  checkLabelValue,
  checkQualifiedName,
  compileNamespacePattern,
  matchesEveryNamespace,
  restrictionApplies,
} from './namespaces.js';
import type { PathSegment, RawProblem } from './problem.js';
import { closest } from '../util/did-you-mean.js';
import { quote } from '../util/quote.js';
import type { NamespaceScope } from './scope.js';
import type {
  CompiledLabelSelector,
  CompiledNamespaceRestriction,
  CompiledPolicy,
  CompiledRule,
  CompiledVerifier,
  FailurePolicy,
  LabelRequirement,
  LabelSelectorDocument,
  Mode,
  NamespacesDocument,
  PolicyDocument,
  RequireMode,
  RuleAction,
  UnmatchedAction,
  VerifierDocument,
} from './types.js';

import { checkCosignVerifier } from '../signatures/cosign/policy.js';
import { compileVerifier } from '../signatures/systems.js';
import type { VerifierCompileContext, VerifierProblem } from '../signatures/compile-context.js';

import { FrozenMap } from '../util/frozen-map.js';
import { isRecord } from '../util/is-record.js';

/** Exempt when the policy does not say: the control plane's own pods must never wait on a registry. */
const DEFAULT_EXEMPT_NAMESPACES: readonly string[] = ['kube-system'];

/** Reads a key file given its resolved path; the error is a sentence for the policy author. */
export type KeyFileReader = (resolvedPath: string) => Result<string, string>;

/** Lists the file names in a folder given its resolved path (see VerifierCompileContext.listFiles). */
export type DirectoryLister = (resolvedPath: string) => Result<readonly string[], string>;

export interface CompileContext {
  /** Directory that relative key file paths are resolved against (the policy file's directory). */
  readonly baseDir: string;
  /** Shown in logs; the policy name when metadata.name is absent. */
  readonly sourceName: string;
  /** The exact policy text, part of the version hash. */
  readonly text: string;
  readonly readKeyFile: KeyFileReader;
  readonly listDirectory?: DirectoryLister;
}

export type CompileOutcome =
  | { readonly ok: true; readonly policy: CompiledPolicy }
  | { readonly ok: false; readonly problems: readonly RawProblem[] };

function entries(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : [];
}

function items(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Loads the keys map: every entry that has the right shape is parsed; every failure becomes a problem. */
function compileKeys(keysDoc: unknown, context: CompileContext, problems: RawProblem[]): Map<string, TrustedKey> {
  const keys = new Map<string, TrustedKey>();
  for (const [name, entry] of entries(keysDoc)) {
    if (!isRecord(entry)) continue;
    const inline = entry.publicKey;
    const file = entry.file;
    let pem: string;
    let field: 'publicKey' | 'file';
    if (typeof inline === 'string' && file === undefined && inline.length > 0) {
      pem = inline;
      field = 'publicKey';
    } else if (typeof file === 'string' && inline === undefined && file.length > 0) {
      const resolvedPath = isAbsolute(file) ? file : resolve(context.baseDir, file);
      const read = context.readKeyFile(resolvedPath);
      if (!read.ok) {
        problems.push({ path: ['keys', name, 'file'], message: read.error, at: 'value' });
        continue;
      }
      pem = read.value;
      field = 'file';
    } else {
      continue; // the schema reports entries without exactly one of the two
    }
    const parsed = parsePublicKey(name, pem);
    if (!parsed.ok) {
      // parsePublicKey names the key; the path already does, so say it once.
      const prefix = `key ${name}: `;
      const detail = parsed.error.message.startsWith(prefix) ? parsed.error.message.slice(prefix.length) : parsed.error.message;
      const where = field === 'file' ? `key file ${quote(String(file))}: ` : '';
      problems.push({ path: ['keys', name, field], message: `${where}${detail}`, at: 'value' });
      continue;
    }
    keys.set(name, parsed.value);
  }
  return keys;
}

function compilePatterns(list: unknown, path: readonly PathSegment[], problems: RawProblem[]): ImagePattern[] {
  const patterns: ImagePattern[] = [];
  items(list).forEach((source, index) => {
    if (typeof source !== 'string') return;
    const compiled = compileImagePattern(source);
    if (compiled.ok) patterns.push(compiled.value);
    else problems.push({ path: [...path, index], message: compiled.error, at: 'value' });
  });
  return patterns;
}

function compileNamespacePatterns(list: unknown, path: readonly PathSegment[], problems: RawProblem[]): NamespacePattern[] {
  const patterns: NamespacePattern[] = [];
  items(list).forEach((source, index) => {
    if (typeof source !== 'string') return;
    const compiled = compileNamespacePattern(source);
    if (compiled.ok) patterns.push(compiled.value);
    else problems.push({ path: [...path, index], message: compiled.error, at: 'value' });
  });
  return patterns;
}

/** Compiles the effective exemption list: the policy's, or the default when it gives none. */
function checkExemptions(exemptions: unknown, problems: RawProblem[]): NamespacePattern[] {
  const written = isRecord(exemptions) ? exemptions.namespaces : undefined;
  const list = written === undefined ? DEFAULT_EXEMPT_NAMESPACES : written;
  const path: PathSegment[] = ['exemptions', 'namespaces'];
  const patterns: NamespacePattern[] = [];
  items(list).forEach((source, index) => {
    if (typeof source !== 'string') return;
    const compiled = compileNamespacePattern(source);
    if (!compiled.ok) {
      problems.push({ path: [...path, index], message: compiled.error, at: 'value' });
    } else if (matchesEveryNamespace(source)) {
      problems.push({
        path: [...path, index],
        message: `${quote(source)} would exempt every namespace and switch Signet off; to watch without enforcing, set defaults.mode: audit`,
        at: 'value',
      });
    } else {
      patterns.push(compiled.value);
    }
  });
  return patterns;
}

function checkBreakGlass(breakGlass: unknown, problems: RawProblem[]): void {
  if (!isRecord(breakGlass) || typeof breakGlass.annotation !== 'string') return;
  const problem = checkBreakGlassAnnotation(breakGlass.annotation);
  if (problem !== undefined) problems.push({ path: ['breakGlass', 'annotation'], message: problem, at: 'value' });
}

function checkSelector(selector: unknown, path: readonly PathSegment[], problems: RawProblem[]): void {
  if (!isRecord(selector)) return;
  const { matchLabels, matchExpressions } = selector;
  for (const [key, value] of entries(matchLabels)) {
    const keyProblem = checkQualifiedName(key, 'label key');
    if (keyProblem !== undefined) problems.push({ path: [...path, 'matchLabels', key], message: keyProblem, at: 'key' });
    const valueProblem = typeof value === 'string' ? checkLabelValue(value) : undefined;
    if (valueProblem !== undefined) problems.push({ path: [...path, 'matchLabels', key], message: valueProblem, at: 'value' });
  }
  items(matchExpressions).forEach((expression, index) => {
    if (!isRecord(expression)) return;
    const at: PathSegment[] = [...path, 'matchExpressions', index];
    if (typeof expression.key === 'string') {
      const keyProblem = checkQualifiedName(expression.key, 'label key');
      if (keyProblem !== undefined) problems.push({ path: [...at, 'key'], message: keyProblem, at: 'value' });
    }
    const { operator, values } = expression;
    if (operator === 'In' || operator === 'NotIn') {
      if (values === undefined || (Array.isArray(values) && values.length === 0)) {
        problems.push({
          path: [...at, 'values'],
          ...(values === undefined ? { locate: at } : {}),
          message: `operator ${operator} needs a values list with at least one label value`,
          at: 'value',
        });
      }
      items(values).forEach((value, valueIndex) => {
        const valueProblem = typeof value === 'string' ? checkLabelValue(value) : undefined;
        if (valueProblem !== undefined) problems.push({ path: [...at, 'values', valueIndex], message: valueProblem, at: 'value' });
      });
    } else if ((operator === 'Exists' || operator === 'DoesNotExist') && values !== undefined) {
      problems.push({
        path: [...at, 'values'],
        message: `values is not used with operator ${operator}, which looks only at whether the label is there; remove it`,
        at: 'key',
      });
    }
  });
  // A selector without requirements matches every namespace (Kubernetes semantics); in a rule that is
  // almost surely a mistake, and "no namespaces field" says "everywhere" plainly.
  const labelsEmpty = matchLabels === undefined || (isRecord(matchLabels) && Object.keys(matchLabels).length === 0);
  const expressionsEmpty = matchExpressions === undefined || (Array.isArray(matchExpressions) && matchExpressions.length === 0);
  if (labelsEmpty && expressionsEmpty) {
    problems.push({
      path: [...path],
      message: 'the selector has no requirements and would match every namespace; give matchLabels or matchExpressions, or remove selector',
      at: 'value',
    });
  }
}

interface RuleParts {
  readonly patterns: ImagePattern[];
  readonly excludes: ImagePattern[];
  readonly namespacePatterns: NamespacePattern[];
}

/** Checks one rule and returns its compiled patterns (used only when the whole policy is valid). */
function checkRule(
  rule: unknown,
  index: number,
  definedKeys: readonly string[],
  firstUseOfName: Map<string, number>,
  problems: RawProblem[],
): RuleParts {
  const path: PathSegment[] = ['rules', index];
  if (!isRecord(rule)) return { patterns: [], excludes: [], namespacePatterns: [] };

  if (typeof rule.name === 'string') {
    const first = firstUseOfName.get(rule.name);
    if (first === undefined) firstUseOfName.set(rule.name, index);
    else {
      problems.push({
        path: [...path, 'name'],
        message: `duplicate rule name ${quote(rule.name)} (also the name of rules[${first}]); rule names identify rules in decisions and must be unique`,
        at: 'value',
      });
    }
  }

  const patterns = compilePatterns(rule.images, [...path, 'images'], problems);
  const excludes = compilePatterns(rule.exclude, [...path, 'exclude'], problems);
  const namespaces = isRecord(rule.namespaces) ? rule.namespaces : {};
  const namespacePatterns = compileNamespacePatterns(namespaces.names, [...path, 'namespaces', 'names'], problems);
  checkSelector(namespaces.selector, [...path, 'namespaces', 'selector'], problems);

  const action = rule.action ?? 'verify';
  // A misspelt `verify` is already reported as an unknown field with a suggestion; saying the list
  // is missing as well would send the author looking for the wrong mistake.
  const misspeltVerify = Object.keys(rule).some((field) => field !== 'verify' && closest(field, ['verify']) === 'verify');
  if (action === 'verify' && rule.verify === undefined && !misspeltVerify) {
    problems.push({
      path: [...path, 'verify'],
      locate: path,
      message: 'action verify needs a verify list saying which signatures are required (or set action: allow or action: deny)',
      at: 'value',
    });
  }
  if ((action === 'allow' || action === 'deny') && rule.verify !== undefined) {
    problems.push({
      path: [...path, 'verify'],
      message: `verify is only used with action verify, and this rule has action ${action}; remove verify or change the action`,
      at: 'key',
    });
  }
  if ((action === 'allow' || action === 'deny') && rule.require !== undefined) {
    problems.push({
      path: [...path, 'require'],
      message: `require is only used with action verify, and this rule has action ${action}`,
      at: 'key',
    });
  }
  if ((action === 'allow' || action === 'deny') && rule.pinDigest !== undefined) {
    problems.push({
      path: [...path, 'pinDigest'],
      message: `pinDigest is only used with action verify (only verified images are pinned), and this rule has action ${action}`,
      at: 'key',
    });
  }
  items(rule.verify).forEach((verifier, verifierIndex) => {
    for (const problem of checkCosignVerifier(verifier, definedKeys)) problems.push(fragmentProblem([...path, 'verify', verifierIndex], problem));
  });
  return { patterns, excludes, namespacePatterns };
}

/** Hash of the policy text and the identity of every key, framed so no two inputs collide by concatenation. */
function policyVersion(text: string, keys: ReadonlyMap<string, TrustedKey>, trustFiles: readonly [string, string][]): string {
  const hash = createHash('sha256');
  const field = (value: string): void => {
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(bytes.length));
    hash.update(length).update(bytes);
  };
  // Bumped whenever the same text compiles to a different meaning (2: namespaces, exemptions with a
  // kube-system default, failure policy and digest pinning), so no cache keyed on a version mixes them.
  field('signet-policy-version-2');
  field(text);
  // Key files live outside the text; their SPKI fingerprints carry any change of trusted key.
  for (const name of [...keys.keys()].sort()) {
    field(name);
    field(keys.get(name)?.fingerprint ?? '');
  }
  // Certificates, trust roots and CA bundles read from files by the other verifier systems.
  for (const [path, content] of [...trustFiles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    field(path);
    field(content);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Runs each verify entry through its system's compiler (signatures/systems.ts), keyed "rule/entry". */
function compileSystemVerifiers(
  root: Record<string, unknown>,
  context: CompileContext,
  keys: ReadonlyMap<string, TrustedKey>,
  trustFiles: [string, string][],
  problems: RawProblem[],
): Map<string, CompiledVerifier> {
  const compiled = new Map<string, CompiledVerifier>();
  const ctx: VerifierCompileContext = {
    keys,
    readFile: (relativePath) => {
      const resolvedPath = isAbsolute(relativePath) ? relativePath : resolve(context.baseDir, relativePath);
      const read = context.readKeyFile(resolvedPath);
      if (read.ok) trustFiles.push([relativePath, read.value]);
      return read;
    },
    ...(context.listDirectory !== undefined
      ? { listFiles: (relativePath: string) => context.listDirectory!(isAbsolute(relativePath) ? relativePath : resolve(context.baseDir, relativePath)) }
      : {}),
  };
  items(root.rules).forEach((rule, ruleIndex) => {
    if (!isRecord(rule)) return;
    items(rule.verify).forEach((entry, entryIndex) => {
      if (!isRecord(entry)) return;
      const result = compileVerifier(entry as unknown as VerifierDocument, ctx);
      const base: PathSegment[] = ['rules', ruleIndex, 'verify', entryIndex];
      if (result.ok) compiled.set(`${ruleIndex}/${entryIndex}`, result.value);
      else for (const p of result.error) problems.push(fragmentProblem(base, p));
    });
  });
  return compiled;
}

function compiledVerifier(compiled: ReadonlyMap<string, CompiledVerifier>, rule: number, entry: number): CompiledVerifier {
  const verifier = compiled.get(`${rule}/${entry}`);
  // Every entry compiled without problems, or we would not be building.
  if (verifier === undefined) throw new Error(`internal: verify entry rules[${rule}].verify[${entry}] was not compiled`);
  return verifier;
}

/** A fragment names fields as "trustStore.certificates[0].file"; turn that into path segments. */
function fragmentProblem(base: readonly PathSegment[], problem: VerifierProblem): RawProblem {
  const segments: PathSegment[] = [];
  for (const part of problem.path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    segments.push(part.startsWith('[') ? Number(part.slice(1, -1)) : part);
  }
  return { path: [...base, ...segments], message: problem.message, at: 'value' };
}

function buildSelector(selector: LabelSelectorDocument): CompiledLabelSelector {
  const matchExpressions = (selector.matchExpressions ?? []).map((expression): LabelRequirement => {
    switch (expression.operator) {
      case 'In':
      case 'NotIn':
        return Object.freeze({ key: expression.key, operator: expression.operator, values: Object.freeze([...(expression.values ?? [])]) });
      case 'Exists':
      case 'DoesNotExist':
        return Object.freeze({ key: expression.key, operator: expression.operator });
      default: {
        const unreachable: never = expression.operator;
        throw new Error(`internal: selector operator ${String(unreachable)} passed validation`);
      }
    }
  });
  return Object.freeze({
    // fromEntries defines own properties, so even an odd key can never reach a prototype.
    matchLabels: Object.freeze(Object.fromEntries(Object.entries(selector.matchLabels ?? {}))),
    matchExpressions: Object.freeze(matchExpressions),
  });
}

function buildRestriction(namespaces: NamespacesDocument | undefined): CompiledNamespaceRestriction | undefined {
  if (namespaces === undefined) return undefined;
  return Object.freeze({
    names: namespaces.names === undefined ? undefined : Object.freeze([...namespaces.names]),
    selector: namespaces.selector === undefined ? undefined : buildSelector(namespaces.selector),
  });
}

/**
 * Checks and compiles a policy document. `shapeValid` says whether the schema accepted `data`; the
 * checks here run either way so the author sees every problem in one go.
 */
export function compilePolicy(data: unknown, shapeValid: boolean, context: CompileContext): CompileOutcome {
  const problems: RawProblem[] = [];
  const root = isRecord(data) ? data : {};
  const keys = compileKeys(root.keys, context, problems);
  const definedKeys = entries(root.keys).map(([name]) => name);

  const exemptPatterns = checkExemptions(root.exemptions, problems);
  checkBreakGlass(root.breakGlass, problems);

  const firstUseOfName = new Map<string, number>();
  const ruleParts = items(root.rules).map((rule, index) => checkRule(rule, index, definedKeys, firstUseOfName, problems));

  // Each verify entry is compiled by its system (signatures/systems.ts). Compilers assume a
  // schema-valid entry, so they only run when the shape is right; cosign's key-name checks run on any
  // input (checkRule), so they are reported together with the schema's problems.
  const trustFiles: [string, string][] = [];
  const systemVerifiers = shapeValid ? compileSystemVerifiers(root, context, keys, trustFiles, problems) : new Map<string, CompiledVerifier>();

  if (problems.length > 0 || !shapeValid) return { ok: false, problems };

  // From here on the document passed the schema and every semantic check.
  const policy = data as PolicyDocument;
  const defaultMode: Mode = policy.defaults?.mode ?? 'enforce';
  const unmatched: UnmatchedAction = policy.defaults?.unmatched ?? 'deny';
  const failurePolicy: FailurePolicy = policy.defaults?.failurePolicy ?? 'closed';
  const pinDigests = policy.defaults?.pinDigests ?? true;
  const frozenKeys = new FrozenMap(keys);

  const rules: CompiledRule[] = policy.rules.map((rule, index) => {
    const { patterns, excludes, namespacePatterns } = ruleParts[index] ?? { patterns: [], excludes: [], namespacePatterns: [] };
    const action: RuleAction = rule.action ?? 'verify';
    const mode: Mode = rule.mode ?? defaultMode;
    const requireMode: RequireMode = rule.require ?? 'all';
    const restriction = buildRestriction(rule.namespaces);
    // Applying a rule on a guess may make a decision stricter, never more lenient: only rules that
    // can deny apply when the scope is unknown. allow, warn and audit never deny, so they do not.
    const canDeny = action === 'deny' || (action === 'verify' && mode === 'enforce');
    const compiled: CompiledRule = {
      name: rule.name,
      index,
      action,
      mode,
      require: requireMode,
      verifiers: Object.freeze(action === 'verify' ? (rule.verify ?? []).map((_, at) => compiledVerifier(systemVerifiers, index, at)) : []),
      patterns: Object.freeze(patterns.map((pattern) => pattern.normalised)),
      excludes: Object.freeze(excludes.map((pattern) => pattern.normalised)),
      namespaces: restriction,
      pinDigest: rule.pinDigest,
      matches: (normalisedName: string) =>
        patterns.some((pattern) => pattern.test(normalisedName)) && !excludes.some((pattern) => pattern.test(normalisedName)),
      appliesTo: (scope: NamespaceScope) => restrictionApplies(restriction, namespacePatterns, scope, canDeny),
    };
    return Object.freeze(compiled);
  });

  // Without an exemptions.namespaces list the default applies; an explicit [] exempts nothing.
  const exemptSources = policy.exemptions?.namespaces ?? DEFAULT_EXEMPT_NAMESPACES;
  const compiledPolicy: CompiledPolicy = {
    version: policyVersion(context.text, frozenKeys, trustFiles),
    name: policy.metadata?.name ?? context.sourceName,
    source: context.sourceName,
    keys: frozenKeys,
    rules: Object.freeze(rules),
    defaults: Object.freeze({ mode: defaultMode, unmatched, failurePolicy, pinDigests }),
    exemptNamespaces: Object.freeze([...exemptSources]),
    isNamespaceExempt: (namespace: string) => exemptPatterns.some((pattern) => pattern.test(namespace)),
    breakGlass: policy.breakGlass === undefined ? undefined : Object.freeze({ annotation: policy.breakGlass.annotation }),
  };
  return { ok: true, policy: Object.freeze(compiledPolicy) };
}
