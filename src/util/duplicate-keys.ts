// JSON.parse, refusing what it would silently hide: a member name that appears twice in one object
// (JSON.parse keeps the last, so the value a reader checks need not be the one another reader of the
// same bytes sees) and the prototype-poisoning members `__proto__` and `constructor.prototype`.
//
// The check runs on every admission body, so it must cost little next to JSON.parse; a full scan in
// JavaScript costs about as much as JSON.parse itself. The usual case is settled by counting: each
// member of the text has one colon whose nearest non-blank character before it is the unescaped
// closing quote of its name, and a colon inside a string can only look like that when the string
// starts with blanks and a colon (then the count is too high, never too low). So the count of such
// colons is at least the number of members in the text, and the parsed value has that many members
// exactly when no name repeats within an object: equal counts prove there is no duplicate. When they
// differ, or a name may spell __proto__ or prototype, the precise scan runs; it also names the member
// and its path. bench/body-parse.ts measures both.
import { err, ok, type Result } from './result.js';
import { quote } from './quote.js';

export type JsonProblem =
  | { readonly kind: 'syntax'; readonly message: string }
  | { readonly kind: 'too-complex'; readonly message: string }
  | { readonly kind: 'duplicate'; readonly path: string }
  | { readonly kind: 'forbidden'; readonly path: string };

export type MemberProblem = Extract<JsonProblem, { kind: 'duplicate' | 'forbidden' }>;

// Every spelling of __proto__ and prototype: all letters plain ("proto" then two underscores, each
// plain or escaped, or "type"), or some letter escaped (\u0060 to \u007f). "protocol" does not match.
const MAYBE_PROTO = /proto(?:(?:_|\\u005[fF]){2}"|type")|\\u00[67]/;

/**
 * Bounds on a body's shape, checked before JSON.parse for bodies above SHAPE_CHECK_FROM characters.
 * JSON.parse is fast per byte but not on every shape: a few MiB of nested brackets or of tiny objects
 * held the event loop for seconds on this machine. Kubernetes objects are far inside both bounds (the
 * API server's own JSON decoder refuses depth over 10,000; a Pod has a few hundred values).
 */
export const MAX_JSON_DEPTH = 512;
export const MAX_JSON_VALUES = 200_000;
/** Below this, the worst shape JSON.parse can be given costs little; the warm path pays no pre-scan. */
const SHAPE_CHECK_FROM = 64 * 1024;

/** Parses `text` as JSON and refuses duplicated or forbidden members, naming the first one found. */
export function parseJsonRefusingDuplicates(text: string): Result<unknown, JsonProblem> {
  if (text.length > SHAPE_CHECK_FROM) {
    const shape = shapeProblem(text);
    if (shape !== undefined) return err({ kind: 'too-complex', message: shape });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return err({ kind: 'syntax', message: e instanceof Error ? e.message : String(e) });
  }
  if (!MAYBE_PROTO.test(text) && membersOf(value) === colonsAfterNames(text)) return ok(value);
  const problem = findMemberProblem(text);
  return problem ? err(problem) : ok(value);
}

/**
 * Why the text's shape is out of bounds (nesting deeper than MAX_JSON_DEPTH, or more than
 * MAX_JSON_VALUES containers and separators), or undefined. One pass; strings are skipped with indexOf.
 * Malformed text is left to JSON.parse to refuse.
 */
export function shapeProblem(text: string): string | undefined {
  let depth = 0;
  let values = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = text.indexOf('"', i + 1);
      while (end > 0 && escaped(text, end)) end = text.indexOf('"', end + 1);
      if (end < 0) return undefined;
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) return `nesting is deeper than ${MAX_JSON_DEPTH} levels`;
      if (++values > MAX_JSON_VALUES) return `it holds more than ${MAX_JSON_VALUES} values`;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === COMMA) {
      if (++values > MAX_JSON_VALUES) return `it holds more than ${MAX_JSON_VALUES} values`;
    }
  }
  return undefined;
}

/** Members of every object in a parsed value (iteratively: JSON.parse accepts any depth). */
function membersOf(root: unknown): number {
  let count = 0;
  const pending: unknown[] = [root];
  let size = 1;
  while (size > 0) {
    const node = pending[--size];
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (typeof item === 'object' && item !== null) pending[size++] = item;
      }
      continue;
    }
    for (const name in node) {
      count++;
      const item = (node as Record<string, unknown>)[name];
      if (typeof item === 'object' && item !== null) pending[size++] = item;
    }
  }
  return count;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Colons whose nearest non-blank predecessor is an unescaped quote (inside a string every quote is escaped). */
function colonsAfterNames(text: string): number {
  let count = 0;
  for (let i = text.indexOf(':'); i > 0; i = text.indexOf(':', i + 1)) {
    let q = i - 1;
    let c = text.charCodeAt(q);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(--q);
    if (c !== QUOTE) continue;
    let k = q - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) count++;
  }
  return count;
}

/** Names kept in a list up to this count, then in a Set (most objects in a Pod have fewer). */
const LIST_MAX = 8;

interface Frame {
  array: boolean;
  /** Index of the current element (arrays). */
  index: number;
  /** The current member's name (objects). */
  name: string;
  names: string[];
  set: Set<string> | undefined;
  /** This object is the value of a member named `constructor`. */
  underConstructor: boolean;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * The precise scan: the first duplicated or forbidden member of `text`, which must be JSON that
 * JSON.parse accepts, with its path (e.g. `request.object.spec.containers[0].image`); undefined when
 * there is none. Tracks only strings and brackets (it never validates or builds values); strings are
 * skipped with indexOf; iterative, so any depth JSON.parse accepts is fine.
 */
export function findMemberProblem(text: string): MemberProblem | undefined {
  const frames: Frame[] = [];
  let depth = -1;
  // True right after `{` or a `,` inside an object: the next string is a member name.
  let expectName = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = text.indexOf('"', i + 1);
      while (end > 0 && escaped(text, end)) end = text.indexOf('"', end + 1);
      if (end < 0) return undefined; // not JSON: JSON.parse has refused it already
      if (expectName) {
        const frame = frames[depth]!;
        const raw = text.slice(i + 1, end);
        // Escapes spell the same name differently ("im\u0061ge" is "image"): compare decoded names.
        const name = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (name === '__proto__' || (name === 'prototype' && frame.underConstructor)) return { kind: 'forbidden', path: pathOf(frames, depth, name) };
        if (has(frame, name)) return { kind: 'duplicate', path: pathOf(frames, depth, name) };
        add(frame, name);
        frame.name = name;
        expectName = false;
      }
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const parent = depth >= 0 ? frames[depth] : undefined;
      depth++;
      const frame = (frames[depth] ??= { array: false, index: 0, name: '', names: [], set: undefined, underConstructor: false });
      frame.array = c === OPEN_BRACKET;
      frame.index = 0;
      frame.name = '';
      frame.names.length = 0;
      frame.set = undefined;
      frame.underConstructor = parent !== undefined && !parent.array && parent.name === 'constructor';
      expectName = c === OPEN_BRACE;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      expectName = false;
    } else if (c === COMMA) {
      const frame = frames[depth]!;
      if (frame.array) frame.index++;
      else expectName = true;
    }
    i++;
  }
  return undefined;
}

/** A quote preceded by an odd number of backslashes is part of the string. */
function escaped(text: string, quoteAt: number): boolean {
  let k = quoteAt - 1;
  while (text.charCodeAt(k) === BACKSLASH) k--;
  return (quoteAt - 1 - k) % 2 === 1;
}

function has(frame: Frame, name: string): boolean {
  return frame.set ? frame.set.has(name) : frame.names.includes(name);
}

function add(frame: Frame, name: string): void {
  if (frame.set) {
    frame.set.add(name);
    return;
  }
  frame.names.push(name);
  if (frame.names.length > LIST_MAX) frame.set = new Set(frame.names);
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function pathOf(frames: readonly Frame[], depth: number, last: string): string {
  let path = '';
  for (let d = 0; d < depth; d++) {
    const f = frames[d]!;
    path += f.array ? `[${f.index}]` : step(path, f.name);
  }
  return path + step(path, last);
}

function step(path: string, name: string): string {
  if (IDENTIFIER.test(name)) return path === '' ? name : `.${name}`;
  return `[${quote(name)}]`;
}
