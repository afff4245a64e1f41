// A strict RFC 8259 JSON parser for signed documents (simple-signing payloads, Rekor bundles,
// encrypted key envelopes). JSON.parse silently keeps the last of two equal member names, which lets
// one signed document mean different things to different verifiers; this parser refuses duplicates,
// invalid UTF-8, lone surrogates, non-finite numbers and excessive nesting instead.
import { err, ok } from './result.js';
import type { Result } from './result.js';
import { quote } from './quote.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [name: string]: JsonValue;
}

// Signed cosign documents are at most four levels deep; 64 leaves room without risking the stack.
const MAX_DEPTH = 64;

/** Decode UTF-8 (fatally: no silent U+FFFD) and parse. Returns one sentence on failure. */
export function parseStrictJsonBytes(bytes: Uint8Array): Result<JsonValue, string> {
  let text: string;
  try {
    // ignoreBOM keeps a leading U+FEFF in the text so the parser rejects it, as Go's decoder does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return err('not valid UTF-8');
  }
  return parseStrictJson(text);
}

export function parseStrictJson(text: string): Result<JsonValue, string> {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    return err('text contains a lone UTF-16 surrogate');
  }
  const parser = new Parser(text);
  try {
    parser.skipWhitespace();
    const value = parser.value(0);
    parser.skipWhitespace();
    if (!parser.atEnd()) parser.fail('unexpected data after the JSON value');
    return ok(value);
  } catch (thrown) {
    if (thrown instanceof JsonSyntaxError) return err(thrown.message);
    throw thrown;
  }
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Internal only: the recursive descent unwinds with this and parseStrictJson turns it into a value.
class JsonSyntaxError extends Error {}

class Parser {
  private position = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  fail(problem: string): never {
    throw new JsonSyntaxError(`${problem} at offset ${this.position}`);
  }

  skipWhitespace(): void {
    while (this.position < this.text.length) {
      const char = this.text.charCodeAt(this.position);
      if (char !== 0x20 && char !== 0x09 && char !== 0x0a && char !== 0x0d) return;
      this.position++;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const char = this.text[this.position];
    switch (char) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return this.number();
        return this.fail(char === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(char)}`);
    }
  }

  private literal<T extends JsonValue>(word: string, result: T): T {
    if (!this.text.startsWith(word, this.position)) this.fail(`invalid literal (expected ${word})`);
    this.position += word.length;
    return result;
  }

  private number(): number {
    const match = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    match.lastIndex = this.position;
    const found = match.exec(this.text);
    if (found === null) this.fail('invalid number');
    const parsed = Number(found[0]);
    if (!Number.isFinite(parsed)) this.fail('number out of range');
    this.position += found[0].length;
    return parsed;
  }

  private string(): string {
    this.position++; // opening quote
    let result = '';
    let runStart = this.position;
    for (;;) {
      if (this.position >= this.text.length) this.fail('unterminated string');
      const code = this.text.charCodeAt(this.position);
      if (code === 0x22) {
        result += this.text.slice(runStart, this.position);
        this.position++;
        return result;
      }
      if (code < 0x20) this.fail('control character in string');
      if (code === 0x5c) {
        result += this.text.slice(runStart, this.position);
        result += this.escape();
        runStart = this.position;
        continue;
      }
      // Raw surrogates were checked up front, so any here are well-formed pairs.
      this.position++;
    }
  }

  /** Reads one escape sequence starting at the backslash; returns the characters it stands for. */
  private escape(): string {
    const kind = this.text[this.position + 1];
    this.position += 2;
    switch (kind) {
      case '"':
        return '"';
      case '\\':
        return '\\';
      case '/':
        return '/';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const high = this.hex4();
        if (high >= 0xdc00 && high <= 0xdfff) this.fail('lone low surrogate escape');
        if (high < 0xd800 || high > 0xdbff) return String.fromCharCode(high);
        if (this.text.slice(this.position, this.position + 2) !== '\\u') this.fail('lone high surrogate escape');
        this.position += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) this.fail('lone high surrogate escape');
        return String.fromCharCode(high, low);
      }
      default:
        this.position -= 2;
        return this.fail('invalid escape sequence');
    }
  }

  private hex4(): number {
    const digits = this.text.slice(this.position, this.position + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape');
    this.position += 4;
    return parseInt(digits, 16);
  }

  private array(depth: number): JsonValue[] {
    this.position++;
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.position] === ']') {
      this.position++;
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.value(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.position];
      this.position++;
      if (next === ']') return items;
      if (next !== ',') {
        this.position--;
        this.fail('expected "," or "]" in array');
      }
    }
  }

  private object(depth: number): JsonObject {
    this.position++;
    const members: [string, JsonValue][] = [];
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.text[this.position] === '}') {
      this.position++;
      return {};
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.position] !== '"') this.fail('expected a member name');
      const name = this.string();
      if (seen.has(name)) this.fail(`duplicate member name ${quote(name)}`);
      seen.add(name);
      this.skipWhitespace();
      if (this.text[this.position] !== ':') this.fail('expected ":" after member name');
      this.position++;
      this.skipWhitespace();
      members.push([name, this.value(depth + 1)]);
      this.skipWhitespace();
      const next = this.text[this.position];
      this.position++;
      // fromEntries defines own properties, so a member named "__proto__" cannot touch the prototype.
      if (next === '}') return Object.fromEntries(members) as JsonObject;
      if (next !== ',') {
        this.position--;
        this.fail('expected "," or "}" in object');
      }
    }
  }
}
