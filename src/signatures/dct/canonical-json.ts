// Canonical JSON as Notary v1 (Docker Content Trust) signs it: the output of docker/go's
// canonical/json encoder in canonical mode (commit d30aec9, vendored by notary), applied to the
// `signed` object after Go decoded it into map[string]interface{}. Those rules differ from RFC 8785:
//   - object members sorted by the byte order of their UTF-8 names (Go sort.Strings);
//   - no whitespace;
//   - strings escape only `"` and `\`; control characters and every non-ASCII character (U+2028
//     and U+2029 included) are written as raw UTF-8;
//   - numbers were decoded as float64 and must be integral; they are written as int64 decimals.
// Only values from the strict JSON parser come here (no lone surrogates, no duplicate names).
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { JsonValue } from '../../util/strict-json.js';

// TUF documents are a few levels deep; the bound keeps a hostile document from exhausting the stack.
const MAX_DEPTH = 64;
// Go converts with int64(f); beyond ±2^63 that conversion is undefined, so such numbers are refused.
const INT64_LIMIT = 2 ** 63;

/** The canonical bytes of `value`, or one sentence saying why it has no canonical form. */
export function canonicalJson(value: JsonValue): Result<Buffer, string> {
  const parts: string[] = [];
  const problem = write(value, parts, 0);
  return problem === undefined ? ok(Buffer.from(parts.join(''), 'utf8')) : err(problem);
}

function write(value: JsonValue, out: string[], depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
  if (value === null) {
    out.push('null');
    return undefined;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return undefined;
    case 'number':
      if (!Number.isInteger(value)) return `the number ${value} is not an integer`;
      if (Math.abs(value) >= INT64_LIMIT) return `the number ${value} does not fit in 64 bits`;
      // BigInt prints the exact integer a double holds (no exponent form); -0 becomes 0 as in Go.
      out.push(BigInt(value).toString());
      return undefined;
    case 'string':
      out.push(quoteString(value));
      return undefined;
    default:
      break;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out.push(',');
      const problem = write(value[index] as JsonValue, out, depth + 1);
      if (problem !== undefined) return problem;
    }
    out.push(']');
    return undefined;
  }
  const names = Object.keys(value).sort(compareUtf8);
  out.push('{');
  for (let index = 0; index < names.length; index++) {
    const name = names[index] as string;
    if (index > 0) out.push(',');
    out.push(quoteString(name), ':');
    const problem = write(value[name] as JsonValue, out, depth + 1);
    if (problem !== undefined) return problem;
  }
  out.push('}');
  return undefined;
}

function quoteString(text: string): string {
  return `"${text.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}

/** Byte order of the UTF-8 encodings, which is code point order (JS's default sort is UTF-16 order). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
