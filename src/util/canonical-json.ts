// RFC 8785 JSON Canonicalization Scheme (JCS): one exact byte form for a JSON value, so a signature
// made over the canonical form of a document (e.g. the Rekor SignedEntryTimestamp over a bundle's
// Payload) can be checked after the document travelled through other serialisers.
// Not for Notary v1/TUF: that uses Go's canonical/json, which escapes strings and numbers differently.
import { err, ok } from './result.js';
import type { Result } from './result.js';

export interface CanonicalJsonError {
  readonly code: 'NOT_CANONICALIZABLE';
  readonly message: string;
}

// Values come from our own parser, but a hostile document could still be deep; a bound keeps
// recursion from exhausting the stack and turns an accidental cycle into an error, not a hang.
const MAX_DEPTH = 128;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Serialise `value` as RFC 8785 canonical JSON: object members sorted by the UTF-16 code units of
 * their names, no insignificant whitespace, strings and numbers as ECMAScript JSON.stringify writes
 * them. Rejects what has no JSON form (undefined, functions, bigint, NaN/Infinity, lone surrogates).
 */
export function canonicalizeJson(value: unknown): Result<string, CanonicalJsonError> {
  const parts: string[] = [];
  const problem = writeValue(value, parts, 0, '$');
  return problem === undefined ? ok(parts.join('')) : err({ code: 'NOT_CANONICALIZABLE', message: problem });
}

/** Appends the canonical form of `value` to `out`; returns a problem description instead of throwing. */
function writeValue(value: unknown, out: string[], depth: number, path: string): string | undefined {
  if (depth > MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`;
  if (value === null) {
    out.push('null');
    return undefined;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return undefined;
    case 'number':
      if (!Number.isFinite(value)) return `${path}: ${String(value)} has no JSON form`;
      // ECMAScript Number-to-string is exactly the number form RFC 8785 §3.2.2.3 prescribes (-0 becomes 0).
      out.push(JSON.stringify(value));
      return undefined;
    case 'string':
      if (LONE_SURROGATE.test(value)) return `${path}: string contains a lone UTF-16 surrogate`;
      out.push(JSON.stringify(value));
      return undefined;
    case 'object':
      return Array.isArray(value) ? writeArray(value, out, depth, path) : writeObject(value, out, depth, path);
    default:
      return `${path}: a ${typeof value} has no JSON form`;
  }
}

function writeArray(items: readonly unknown[], out: string[], depth: number, path: string): string | undefined {
  out.push('[');
  for (let index = 0; index < items.length; index++) {
    if (index > 0) out.push(',');
    const problem = writeValue(items[index], out, depth + 1, `${path}[${index}]`);
    if (problem !== undefined) return problem;
  }
  out.push(']');
  return undefined;
}

function writeObject(object: object, out: string[], depth: number, path: string): string | undefined {
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) return `${path}: only plain objects have a JSON form`;
  // Array.prototype.sort without a comparator orders by UTF-16 code units, which is what §3.2.3 asks.
  const names = Object.keys(object).sort();
  out.push('{');
  for (let index = 0; index < names.length; index++) {
    const name = names[index] as string;
    if (LONE_SURROGATE.test(name)) return `${path}: member name contains a lone UTF-16 surrogate`;
    if (index > 0) out.push(',');
    out.push(JSON.stringify(name), ':');
    const problem = writeValue((object as Record<string, unknown>)[name], out, depth + 1, `${path}.${name}`);
    if (problem !== undefined) return problem;
  }
  out.push('}');
  return undefined;
}
