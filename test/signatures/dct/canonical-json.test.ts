// Go-compatible canonical JSON (docker/go canonical/json in canonical mode), the bytes Notary v1
// signatures cover. Expected outputs are written by hand from the Go encoder's rules; the
// conformance and real-server tests check the same code against signatures made by notary itself.
import fc from 'fast-check';
import { canonicalJson } from '../../../src/signatures/dct/canonical-json.js';
import { parseStrictJson } from '../../../src/util/strict-json.js';
import type { JsonValue } from '../../../src/util/strict-json.js';

function canonical(value: JsonValue): string {
  const result = canonicalJson(value);
  if (!result.ok) throw new Error(result.error);
  return result.value.toString('utf8');
}

function refused(value: JsonValue): string {
  const result = canonicalJson(value);
  if (result.ok) throw new Error(`expected a refusal, got ${result.value.toString('utf8')}`);
  return result.error;
}

test('members are sorted by UTF-8 bytes (code points), not UTF-16 units, with no whitespace', () => {
  const value = { b: 1, z: [true, false, null], a: { y: 'y', x: 'x' }, A: 0, é: 2, '\uE000': 3, '😀': 4 };
  // U+1F600 (F0 9F 98 80) sorts after U+E000 (EE 80 80) by bytes; UTF-16 order would put it first.
  expect(canonical(value)).toBe('{"A":0,"a":{"x":"x","y":"y"},"b":1,"z":[true,false,null],"é":2,"\uE000":3,"😀":4}');
});

test('strings escape only the quote and the backslash; everything else is raw UTF-8', () => {
  expect(canonical('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
  // Control characters, HTML characters and the JavaScript line separators stay as they are.
  expect(canonical('tab\tnew\nline\u0001<>&\u2028\u2029')).toBe('"tab\tnew\nline\u0001<>&\u2028\u2029"');
  expect(canonicalJson('é').ok && canonicalJson('é')).toEqual({ ok: true, value: Buffer.from('"é"', 'utf8') });
});

test('integers are written as decimals, never with an exponent; -0 is 0', () => {
  expect(canonical([0, -0, 7, -42, 1e18, 2 ** 53 + 2, -(2 ** 62)])).toBe('[0,0,7,-42,1000000000000000000,9007199254740994,-4611686018427387904]');
});

test('numbers without an int64 form are refused', () => {
  expect(refused({ a: [1.5] })).toBe('the number 1.5 is not an integer');
  expect(refused(2 ** 63)).toBe('the number 9223372036854776000 does not fit in 64 bits');
});

test('deep nesting is refused instead of exhausting the stack', () => {
  let value: JsonValue = 1;
  for (let depth = 0; depth < 70; depth++) value = [value];
  expect(refused(value)).toBe('nested deeper than 64 levels');
});

test('a member named __proto__ is an ordinary member', () => {
  const parsed = parseStrictJson('{"__proto__":{"x":1},"a":2}');
  if (!parsed.ok) throw new Error(parsed.error);
  expect(canonical(parsed.value)).toBe('{"__proto__":{"x":1},"a":2}');
});

const asciiText = fc.string({ unit: fc.constantFrom(...'abcXYZ019 _-./:'.split('')) });
const jsonValue = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    asciiText,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(asciiText, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Oracle for ASCII without control characters: JSON.stringify for leaves, keys in default sort order. */
function sortedStringify(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(sortedStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${sortedStringify(value[key] as JsonValue)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

test('for ASCII text and integers it equals JSON.stringify with sorted keys', () => {
  fc.assert(
    fc.property(jsonValue, (value) => {
      expect(canonical(value)).toBe(sortedStringify(value));
    }),
  );
});

test('canonical output read back gives the same canonical output (any Unicode text)', () => {
  const anyText = fc.string({ unit: 'grapheme' });
  const unicodeValue = fc.dictionary(anyText, fc.oneof(anyText, fc.integer(), fc.array(anyText, { maxLength: 3 })), { maxKeys: 6 });
  fc.assert(
    fc.property(unicodeValue, (value) => {
      const once = canonical(value);
      // The output is JSON only if the raw control characters inside strings are escaped again.
      // eslint-disable-next-line no-control-regex
      const reparsed = parseStrictJson(once.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
      if (!reparsed.ok) throw new Error(reparsed.error);
      expect(canonical(reparsed.value)).toBe(once);
    }),
  );
});
