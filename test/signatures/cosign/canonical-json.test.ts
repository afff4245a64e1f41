// src/util/canonical-json.ts (RFC 8785 JCS), used for the Rekor SET; and the strict JSON parser the
// cosign code reads signed documents with. Expected outputs are the RFC's own examples.
import fc from 'fast-check';
import { canonicalizeJson } from '../../../src/util/canonical-json.js';
import { parseStrictJson } from '../../../src/util/strict-json.js';

function canonical(value: unknown): string {
  const result = canonicalizeJson(value);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('canonicalizeJson (RFC 8785)', () => {
  test('RFC 8785 §3.2.2 example: numbers, string escapes, literals, sorted members', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    ) as unknown;
    expect(canonical(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('RFC 8785 §3.2.3 example: members sorted by UTF-16 code units, not code points', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    ) as Record<string, string>;
    expect(canonical(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  test('the Rekor bundle Payload shape', () => {
    expect(canonical({ logIndex: 5, logID: 'ab', integratedTime: 1674251859, body: 'e30=' })).toBe(
      '{"body":"e30=","integratedTime":1674251859,"logID":"ab","logIndex":5}',
    );
  });

  test('-0 is written as 0 and nested arrays keep their order', () => {
    expect(canonical({ a: [-0, [3, 1], { b: 1, a: 2 }] })).toBe('{"a":[0,[3,1],{"a":2,"b":1}]}');
  });

  test.each([
    ['NaN', { a: Number.NaN }, '$.a: NaN has no JSON form'],
    ['Infinity', [Number.POSITIVE_INFINITY], '$[0]: Infinity has no JSON form'],
    ['undefined', { a: undefined }, '$.a: a undefined has no JSON form'],
    ['a bigint', { a: 1n }, '$.a: a bigint has no JSON form'],
    ['a function', { a: () => 1 }, '$.a: a function has no JSON form'],
    ['a Date', { a: new Date(0) }, '$.a: only plain objects have a JSON form'],
    ['a lone surrogate', { a: '\ud800' }, '$.a: string contains a lone UTF-16 surrogate'],
    ['a lone surrogate name', { '\udc00': 1 }, '$: member name contains a lone UTF-16 surrogate'],
  ])('refuses %s with a message', (_label, value, message) => {
    expect(canonicalizeJson(value)).toEqual({ ok: false, error: { code: 'NOT_CANONICALIZABLE', message } });
  });

  test('refuses a cycle instead of recursing forever', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const result = canonicalizeJson(cyclic);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('nested deeper than 128 levels');
  });

  test('property: output parses back to an equal value and is a fixed point', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonical(value);
        const reparsed = JSON.parse(text) as unknown;
        expect(reparsed).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonical(reparsed)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseStrictJson', () => {
  test('property: agrees with JSON.parse on any JSON text without duplicate names', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) as unknown });
      }),
      { numRuns: 300 },
    );
  });

  test.each([
    ['', 'unexpected end of input at offset 0'],
    ['{"a":1,"a":1}', 'duplicate member name "a" at offset 10'],
    ['[1,]', 'unexpected character "]" at offset 3'],
    ['"\\x"', 'invalid escape sequence at offset 1'],
    ['"\\u12"', 'invalid \\u escape at offset 3'],
    ['"\\udc00"', 'lone low surrogate escape at offset 7'],
    ['"abc', 'unterminated string at offset 4'],
    ['tru', 'invalid literal (expected true) at offset 0'],
    ['NaN', 'unexpected character "N" at offset 0'],
    ['-', 'invalid number at offset 0'],
    ['1.', 'unexpected data after the JSON value at offset 1'],
    ['{"a" 1}', 'expected ":" after member name at offset 5'],
    ['\u00a01', 'unexpected character "\u00a0" at offset 0'],
  ])('rejects %j: %s', (text, message) => {
    expect(parseStrictJson(text)).toEqual({ ok: false, error: message });
  });

  test('rejects a raw lone surrogate in the text', () => {
    expect(parseStrictJson('"\ud800"')).toEqual({ ok: false, error: 'text contains a lone UTF-16 surrogate' });
  });

  test('decodes escapes and surrogate pairs', () => {
    expect(parseStrictJson('"\\ud83d\\ude00\\n\\/\\u00e9"')).toEqual({ ok: true, value: '😀\n/é' });
  });
});
