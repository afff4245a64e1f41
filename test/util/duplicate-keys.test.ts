// parseJsonRefusingDuplicates: what JSON.parse would hide (a member name twice in one object,
// __proto__, constructor.prototype) is refused with its path, however it is spelled (escapes,
// whitespace before the colon); everything else parses as JSON.parse parses it. A property test
// checks the fast counting path against the strict parser used for signed documents.
import fc from 'fast-check';
import { findMemberProblem, MAX_JSON_DEPTH, MAX_JSON_VALUES, parseJsonRefusingDuplicates, type JsonProblem } from '../../src/util/duplicate-keys.js';
import { parseStrictJson } from '../../src/util/strict-json.js';
import { admissionReview, workload } from '../support/admission.js';

function problem(text: string): JsonProblem | undefined {
  const r = parseJsonRefusingDuplicates(text);
  return r.ok ? undefined : r.error;
}

const review = JSON.stringify(admissionReview({ kind: 'Pod', name: 'web', object: workload('Pod', 'web', 'shop', { containers: [{ name: 'web', image: 'registry.example.com/shop/web:1' }] }) }));

describe('a member name twice in one object is refused, with its path', () => {
  test.each([
    ['the image of a container', review.replace('"image":"registry.example.com/shop/web:1"', '"image":"unsigned:1","image":"registry.example.com/shop/web:1"'), 'request.object.spec.containers[0].image'],
    ['a second containers list', review.replace('"containers":[', '"containers":[{"name":"evil","image":"evil:1"}],"containers":['), 'request.object.spec.containers'],
    ['a second spec', review.replace('"spec":{', '"spec":{},"spec":{'), 'request.object.spec'],
    ['a second operation', review.replace('"operation":"CREATE"', '"operation":"DELETE","operation":"CREATE"'), 'request.operation'],
    ['at the top level', '{"kind":"AdmissionReview","kind":"ImageReview"}', 'kind'],
    ['spelled with an escape', '{"image":"a","im\\u0061ge":"b"}', 'image'],
    ['spelled with an escaped slash', '{"labels":{"app.kubernetes.io/name":"a","app.kubernetes.io\\/name":"b"}}', 'labels["app.kubernetes.io/name"]'],
    ['after whitespace before the colon', '{ "a" : 1 ,\n "a"\t:\r2 }', 'a'],
    ['in arrays of arrays', '[[1],[{"a":1},{"b":1,"b":2}]]', '[1][1].b'],
    ['in a big object (names kept in a Set)', `{${Array.from({ length: 50 }, (_, i) => `"k${i}":${i}`).join(',')},"k7":0}`, 'k7'],
    ['with an odd name on the way', '{"f:spec":{"k:{\\"name\\":\\"app\\"}":{"x":1,"x":2}}}', '["f:spec"]["k:{\\"name\\":\\"app\\"}"].x'],
  ])('%s', (_what, text, path) => {
    expect(problem(text)).toEqual({ kind: 'duplicate', path });
  });

  test('the first duplicate found is named', () => {
    expect(problem('{"a":{"b":1,"b":2},"a":3}')).toEqual({ kind: 'duplicate', path: 'a.b' });
  });

  test('a hostile name in a path is quoted and cut', () => {
    const name = `x\n${'y'.repeat(300)}`;
    const found = problem(`{${JSON.stringify(name)}:{"a":1,"a":2}}`);
    expect(found).toEqual({ kind: 'duplicate', path: `[${JSON.stringify(`${name.slice(0, 200)}…`)}].a` });
  });
});

describe('prototype poisoning is refused, however spelled', () => {
  test.each([
    ['{"__proto__":{"polluted":true}}', '__proto__'],
    ['{"a":[{"\\u005f_proto__":1}]}', 'a[0].__proto__'],
    ['{"metadata":{"__proto_\\u005f":{"polluted":true}}}', 'metadata.__proto__'],
    ['{"__proto\\u005F_":1}', '__proto__'],
    ['{"__proto\\u005f\\u005f":1}', '__proto__'],
    ['{"\\u005f\\u005f\\u0070\\u0072\\u006f\\u0074\\u006f\\u005f\\u005f":1}', '__proto__'],
    ['{"constructor":{"prototype":{"polluted":true}}}', 'constructor.prototype'],
    ['{"x":{"constructor":{"proto\\u0074ype":1}}}', 'x.constructor.prototype'],
  ])('%s', (text, path) => {
    expect(problem(text)).toEqual({ kind: 'forbidden', path });
  });

  test.each([
    '{"protocol":"TCP","ports":[{"protocol":"UDP"}]}',
    '{"prototype":1,"constructor":"x","constructor2":{"prototype":1}}',
    '{"proto":"__proto__","text":"constructor.prototype"}',
  ])('but not names that merely resemble it: %s', (text) => {
    expect(parseJsonRefusingDuplicates(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });
});

describe('everything else parses as JSON.parse parses it', () => {
  test.each([
    ['a real review', review],
    ['the same name in sibling and nested objects', '[{"a":1},{"a":{"a":[{"a":2}]}}]'],
    ['colons and quotes inside strings', '{"k":"x\\":y","z":" :","w":"\\\\","v":":"}'],
    ['names that end in a backslash', '{"a\\\\":1,"a":2,"a\\\\\\\\":3}'],
    ['whitespace everywhere', ' {\n  "a" : [ 1 , { "b" :\t"c" } ] ,\r\n  "b" : null\n}\n'],
    ['a scalar', '"just a string"'],
    ['an empty object and array', '{"a":{},"b":[]}'],
    ['HTML-safe escapes as Go writes them', '{"url":"https://x/?a=1\\u0026b=2","html":"\\u003cb\\u003e"}'],
  ])('%s', (_what, text) => {
    expect(parseJsonRefusingDuplicates(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  test('text that is not JSON is a syntax problem with JSON.parse\'s message', () => {
    expect(problem('{"apiVersion": ')).toEqual({ kind: 'syntax', message: expect.stringMatching(/JSON/) });
  });

  test('the precise scan takes any depth (no recursion)', () => {
    const depth = 100_000;
    expect(findMemberProblem(`${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}`)).toBeUndefined();
    expect(findMemberProblem(`${'{"a":'.repeat(depth)}{"b":1,"b":2}${'}'.repeat(depth)}`)).toEqual({ kind: 'duplicate', path: `${'a.'.repeat(depth)}b` });
  });
});

describe('shapes JSON.parse is slow on are refused before it runs (bodies over 64 KiB)', () => {
  test(`nesting deeper than ${MAX_JSON_DEPTH} levels`, () => {
    const deep = `${'['.repeat(40_000)}${']'.repeat(40_000)}`;
    expect(problem(deep)).toEqual({ kind: 'too-complex', message: `nesting is deeper than ${MAX_JSON_DEPTH} levels` });
    // Brackets inside strings are not nesting, and a small body is not pre-scanned at all.
    expect(problem(JSON.stringify({ a: '['.repeat(100_000) }))).toBeUndefined();
    expect(parseJsonRefusingDuplicates(`${'['.repeat(2000)}${']'.repeat(2000)}`).ok).toBe(true);
  });

  test(`more than ${MAX_JSON_VALUES} values`, () => {
    expect(problem(`[${'{},'.repeat(MAX_JSON_VALUES)}{}]`)).toEqual({ kind: 'too-complex', message: `it holds more than ${MAX_JSON_VALUES} values` });
    // A large real-looking object with fewer values passes.
    const env = Array.from({ length: 20_000 }, (_, i) => ({ name: `VAR_${i}`, value: 'x'.repeat(20) }));
    expect(parseJsonRefusingDuplicates(JSON.stringify({ spec: { containers: [{ name: 'a', image: 'r/a:1', env }] } })).ok).toBe(true);
  });
});

describe('the fast count agrees with the strict parser', () => {
  // Names from a small alphabet, so duplicates happen often; written with random whitespace and
  // random escapes, so the text is rarely in JSON.stringify's form.
  const name = fc.constantFrom('a', 'b', 'image', 'x:y', 'q"', 'bs\\', '', ' ');
  const spell = (s: string, escape: boolean): string =>
    escape ? `"${[...s].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(s);
  const blank = fc.constantFrom('', ' ', '\n', '\t ');
  const text: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.constantFrom('1', 'null', '"v"', '" :"', '":"', '"\\":"'), tie('object'), tie('array')),
    object: fc
      .array(fc.tuple(name, fc.boolean(), blank, blank, tie('value')), { maxLength: 5 })
      .map((members) => `{${members.map(([n, escape, before, after, v]) => `${before}${spell(n, escape)}${after}:${after}${v}`).join(',')}}`),
    array: fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  })).object;

  test('duplicate found exactly when the strict parser refuses a duplicate name', () => {
    fc.assert(
      fc.property(text, (t) => {
        const strict = parseStrictJson(t);
        const refusedAsDuplicate = !strict.ok && strict.error.startsWith('duplicate member name');
        const ours = parseJsonRefusingDuplicates(t);
        expect(ours.ok ? undefined : ours.error.kind).toBe(refusedAsDuplicate ? 'duplicate' : undefined);
        expect(findMemberProblem(t)?.kind).toBe(refusedAsDuplicate ? 'duplicate' : undefined);
      }),
      { numRuns: 2000 },
    );
  });
});
