// Turns a policy document into the frozen CompiledPolicy: parses every key once, compiles every image
// pattern once, applies defaults in one place, and checks what the schema cannot (key references,
// thresholds against key counts, duplicate rule names, patterns, readable key files).
// It works on data that may have failed the schema, so it only looks at values of the right type and
// leaves wrong types to the schema's problems; it produces a policy only when nothing at all is wrong.

import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { parsePublicKey } from '../trust/keys.js';
import type { TrustedKey } from '../trust/types.js';
import type { Result } from '../util/result.js';
import type { ImagePattern } from './glob.js';
import { compileImagePattern } from './glob.js';
import type { PathSegment, RawProblem } from './problem.js';
import { closest, didYouMean, quote } from './problem.js';
import type {
  CompiledPolicy,
  CompiledRule,
  CompiledVerifier,
  IdentityCheck,
  Mode,
  PolicyDocument,
  RequireMode,
  RuleAction,
  UnmatchedAction,
  VerifierDocument,
} from './types.js';

/** Reads a key file given its resolved path; the error is a sentence for the policy author. */
export type KeyFileReader = (resolvedPath: string) => Result<string, string>;

export interface CompileContext {
  /** Directory that relative key file paths are resolved against (the policy file's directory). */
  readonly baseDir: string;
  /** Shown in logs; the policy name when metadata.name is absent. */
  readonly sourceName: string;
  /** The exact policy text, part of the version hash. */
  readonly text: string;
  readonly readKeyFile: KeyFileReader;
}

export type CompileOutcome =
  | { readonly ok: true; readonly policy: CompiledPolicy }
  | { readonly ok: false; readonly problems: readonly RawProblem[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : [];
}

function items(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A Map that cannot be changed after construction (Object.freeze does not stop Map#set). */
class FrozenMap<K, V> implements ReadonlyMap<K, V> {
  readonly #map: Map<K, V>;
  constructor(entriesList: Iterable<readonly [K, V]>) {
    this.#map = new Map(entriesList);
    Object.freeze(this);
  }
  get size(): number {
    return this.#map.size;
  }
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  has(key: K): boolean {
    return this.#map.has(key);
  }
  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    this.#map.forEach((value, key) => callback(value, key, this));
  }
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }
  keys(): MapIterator<K> {
    return this.#map.keys();
  }
  values(): MapIterator<V> {
    return this.#map.values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map[Symbol.iterator]();
  }
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

function checkVerifier(verifier: unknown, path: readonly PathSegment[], definedKeys: readonly string[], problems: RawProblem[]): void {
  if (!isRecord(verifier) || verifier.type !== 'cosign') return;
  const keyNames = verifier.keys;
  items(keyNames).forEach((name, index) => {
    if (typeof name !== 'string' || definedKeys.includes(name)) return;
    const known = definedKeys.length === 0 ? 'the policy defines no keys' : `defined keys: ${definedKeys.join(', ')}`;
    problems.push({
      path: [...path, 'keys', index],
      message: `unknown key ${quote(name)}${didYouMean(name, definedKeys)} (${known})`,
      at: 'value',
    });
  });
  const threshold = verifier.threshold;
  if (Array.isArray(keyNames) && keyNames.length > 0 && Number.isInteger(threshold) && (threshold as number) > keyNames.length) {
    const count = keyNames.length;
    problems.push({
      path: [...path, 'threshold'],
      message: `threshold ${String(threshold)} is more than the ${count} key${count === 1 ? '' : 's'} listed; it must be between 1 and ${count}`,
      at: 'value',
    });
  }
}

/** Checks one rule and returns its compiled patterns (used only when the whole policy is valid). */
function checkRule(
  rule: unknown,
  index: number,
  definedKeys: readonly string[],
  firstUseOfName: Map<string, number>,
  problems: RawProblem[],
): { patterns: ImagePattern[]; excludes: ImagePattern[] } {
  const path: PathSegment[] = ['rules', index];
  if (!isRecord(rule)) return { patterns: [], excludes: [] };

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
  items(rule.verify).forEach((verifier, verifierIndex) => {
    checkVerifier(verifier, [...path, 'verify', verifierIndex], definedKeys, problems);
  });
  return { patterns, excludes };
}

/** Hash of the policy text and the identity of every key, framed so no two inputs collide by concatenation. */
function policyVersion(text: string, keys: ReadonlyMap<string, TrustedKey>): string {
  const hash = createHash('sha256');
  const field = (value: string): void => {
    const bytes = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(bytes.length));
    hash.update(length).update(bytes);
  };
  field('signet-policy-version-1');
  field(text);
  // Key files live outside the text; their SPKI fingerprints carry any change of trusted key.
  for (const name of [...keys.keys()].sort()) {
    field(name);
    field(keys.get(name)?.fingerprint ?? '');
  }
  return `sha256:${hash.digest('hex')}`;
}

function buildVerifier(verifier: VerifierDocument, keys: ReadonlyMap<string, TrustedKey>): CompiledVerifier {
  switch (verifier.type) {
    case 'cosign': {
      const trusted = verifier.keys.map((name) => {
        const key = keys.get(name);
        // checkVerifier reported unknown names, and we only build when there were no problems.
        if (key === undefined) throw new Error(`internal: key ${name} vanished between checking and building`);
        return key;
      });
      return Object.freeze({
        type: 'cosign',
        keys: Object.freeze(trusted),
        threshold: verifier.threshold ?? 1,
        annotations: Object.freeze({ ...(verifier.annotations ?? {}) }),
        identity: verifier.identity ?? ('ignore' satisfies IdentityCheck),
      });
    }
    default: {
      const unreachable: never = verifier.type;
      throw new Error(`internal: verifier type ${String(unreachable)} passed validation without a compiler`);
    }
  }
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

  const firstUseOfName = new Map<string, number>();
  const compiledPatterns = items(root.rules).map((rule, index) => checkRule(rule, index, definedKeys, firstUseOfName, problems));

  if (problems.length > 0 || !shapeValid) return { ok: false, problems };

  // From here on the document passed the schema and every semantic check.
  const policy = data as PolicyDocument;
  const defaultMode: Mode = policy.defaults?.mode ?? 'enforce';
  const unmatched: UnmatchedAction = policy.defaults?.unmatched ?? 'deny';
  const frozenKeys = new FrozenMap(keys);

  const rules: CompiledRule[] = policy.rules.map((rule, index) => {
    const { patterns, excludes } = compiledPatterns[index] ?? { patterns: [], excludes: [] };
    const action: RuleAction = rule.action ?? 'verify';
    const requireMode: RequireMode = rule.require ?? 'all';
    const compiled: CompiledRule = {
      name: rule.name,
      index,
      action,
      mode: rule.mode ?? defaultMode,
      require: requireMode,
      verifiers: Object.freeze(action === 'verify' ? (rule.verify ?? []).map((verifier) => buildVerifier(verifier, frozenKeys)) : []),
      patterns: Object.freeze(patterns.map((pattern) => pattern.normalised)),
      excludes: Object.freeze(excludes.map((pattern) => pattern.normalised)),
      matches: (normalisedName: string) =>
        patterns.some((pattern) => pattern.test(normalisedName)) && !excludes.some((pattern) => pattern.test(normalisedName)),
    };
    return Object.freeze(compiled);
  });

  const compiledPolicy: CompiledPolicy = {
    version: policyVersion(context.text, frozenKeys),
    name: policy.metadata?.name ?? context.sourceName,
    source: context.sourceName,
    keys: frozenKeys,
    rules: Object.freeze(rules),
    defaults: Object.freeze({ mode: defaultMode, unmatched }),
  };
  return { ok: true, policy: Object.freeze(compiledPolicy) };
}
