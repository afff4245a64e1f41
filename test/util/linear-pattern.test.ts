// The linear-time pattern engine: catastrophic patterns from the ReDoS literature finish on their evil
// inputs, what RE2 cannot do in linear time is refused with a message naming the construct, and the
// `*` wildcard agrees with the regular expression it replaces.
import fc from 'fast-check';
import { compileLinearPattern, compileWildcard, MAX_PATTERN_CHARS, MAX_PROGRAM_SIZE } from '../../src/util/linear-pattern.js';
import type { LinearPattern } from '../../src/util/linear-pattern.js';

function compiled(source: string, anchored = true): LinearPattern {
  const result = compileLinearPattern(source, { anchored });
  if (!result.ok) throw new Error(`${source}: ${result.error.message}`);
  return result.value;
}

// [name, pattern, evil input, matches?]. With JavaScript's RegExp each of these backtracks through a
// number of paths exponential (or polynomial of high degree) in the input length: `(a+)+` on 34 a's and
// a "!" takes about 2^34 steps, minutes of CPU; on the thousands of characters below, longer than the
// age of the universe. RE2 walks the input once, so each line takes milliseconds.
const EVIL = 'a'.repeat(5000);
const CATASTROPHIC: readonly [string, string, string, boolean][] = [
  ['nested plus (a+)+', '(a+)+', `${EVIL}!`, false],
  ['nested plus, anchored by hand ^(a+)+$', '^(a+)+$', `${EVIL}!`, false],
  ['alternation of equals (a|a)+', '(a|a)+', `${EVIL}!`, false],
  ['overlapping alternation (a|aa)+', '(a|aa)+', `${EVIL}!`, false],
  ['optional alternation (a|a?)+', '(a|a?)+', `${EVIL}!`, false],
  ['star of star (a*)*b', '(a*)*b', EVIL, false],
  ['class star of plus ([a-zA-Z]+)*', '([a-zA-Z]+)*', `${EVIL}1`, false],
  ['polynomial (.*a){20}', '(.*a){20}', `${EVIL}!`, false],
  ['polynomial that matches (.*a){20}', '(.*a){20}', EVIL, true],
  ['two plusses in a group (x+x+)+y', '(x+x+)+y', 'x'.repeat(5000), false],
  ['Java class name ^(([a-z])+.)+[A-Z]([a-z])+$', '^(([a-z])+.)+[A-Z]([a-z])+$', `${EVIL}!`, false],
  ['words and spaces (\\w+\\s?)+$', '(\\w+\\s?)+$', `${'word '.repeat(1000)}!`, false],
  [
    "OWASP's e-mail validator",
    '^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$',
    `${EVIL}!`,
    false,
  ],
  [
    'a common e-mail validator',
    '^[a-zA-Z0-9._%+-]+@([a-zA-Z0-9-]+\\.)+[a-zA-Z]{2,}$',
    `a@${'a.'.repeat(2500)}!`,
    false,
  ],
  ['URI path segments (https://[^/]+(/[^/]*)*)+x', '(https://[^/]+(/[^/]*)*)+x', `https://h${'/a'.repeat(2500)}`, false],
];

describe('catastrophic patterns finish on their evil inputs', () => {
  test.each(CATASTROPHIC)('%s', (_name, source, input, expected) => {
    expect(compiled(source).test(input)).toBe(expected);
    // Unanchored search is linear too (whatever it finds: `(a+)+` occurs in the input, for one).
    expect(typeof compiled(source, false).test(input)).toBe('boolean');
  });
});

describe('RE2 syntax', () => {
  test('anchored patterns match the whole input; unanchored ones anywhere', () => {
    expect(compiled('.*@example\\.com').test('dev@example.com')).toBe(true);
    expect(compiled('.*@example\\.com').test('dev@example.com.evil.test')).toBe(false);
    expect(compiled('example', false).test('an example here')).toBe(true);
    expect(compiled('a|ab').test('ab')).toBe(true);
  });

  test('a pattern cannot close the anchoring group: unbalanced parentheses are refused', () => {
    expect(compileLinearPattern('a)|(b', { anchored: true })).toEqual({
      ok: false,
      error: { kind: 'invalid', message: 'is not a valid regular expression: unexpected ) "a)|(b" (RE2 syntax)' },
    });
  });

  test('case-sensitive; "." is one character (a code point), never a newline', () => {
    expect(compiled('abc').test('ABC')).toBe(false);
    expect(compiled('(?i)abc').test('ABC')).toBe(true);
    expect(compiled('.').test('😀')).toBe(true);
    expect(compiled('a.b').test('a\nb')).toBe(false);
  });

  test('what JavaScript and RE2 share works as before: classes, escapes, counted repetition, named groups', () => {
    expect(compiled('https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.yml@refs/tags/v\\d+(\\.\\d+){2}').test('https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3')).toBe(true);
    expect(compiled('(?<user>[a-z]+)@example\\.com').test('dev@example.com')).toBe(true);
    expect(compiled('\\/a').test('/a')).toBe(true);
  });

  test('cost grows with the program and the input', () => {
    const small = compiled('a');
    const large = compiled('a{100}');
    expect(small.cost(10)).toBeLessThan(large.cost(10));
    expect(large.cost(10)).toBeLessThan(large.cost(100));
  });
});

// [pattern, kind, construct or undefined, message]
const REFUSED: readonly [string, string, string | undefined, string][] = [
  ['(a)\\1', 'unsupported', 'backreference', 'uses a backreference ("\\\\1"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; spell out the repeated text instead'],
  ['(?<n>a)\\k<n>', 'unsupported', 'backreference', 'uses a backreference ("\\\\k<name>"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; spell out the repeated text instead'],
  ['(?=a)a', 'unsupported', 'lookahead', 'uses a lookahead ("(?=…)"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; match the text itself, or list the alternatives with |'],
  ['a(?!b)', 'unsupported', 'lookahead', 'uses a lookahead ("(?!…)"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; match the text itself, or list the alternatives with |'],
  ['(?<=a)b', 'unsupported', 'lookbehind', 'uses a lookbehind ("(?<=…)"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; match the text itself, or list the alternatives with |'],
  ['x(?<!a)b', 'unsupported', 'lookbehind', 'uses a lookbehind ("(?<!…)"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; match the text itself, or list the alternatives with |'],
  ['(?>a+)b', 'unsupported', 'atomic group', 'uses an atomic group ("(?>…)"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; use a plain group (?:…); RE2 never backtracks, so it is not needed'],
  ['a++b', 'unsupported', 'possessive quantifier', 'uses a possessive quantifier ("++"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; write "+" instead; RE2 never backtracks, so it is not needed'],
  ['\\u20AC', 'invalid', undefined, 'is not a valid regular expression: invalid escape sequence "\\\\u" (RE2 syntax; RE2 writes a code point as \\x{20AC})'],
  ['a{1001}', 'invalid', undefined, 'is not a valid regular expression: invalid repeat count "{1001}" (RE2 syntax)'],
  ['([a-z', 'invalid', undefined, 'is not a valid regular expression: missing closing ] "[a-z" (RE2 syntax)'],
  ['a'.repeat(MAX_PATTERN_CHARS + 1), 'too-long', undefined, `is ${MAX_PATTERN_CHARS + 1} characters long; patterns are limited to ${MAX_PATTERN_CHARS}`],
  [
    '\\pL{500}',
    'too-complex',
    undefined,
    `is too complex: it compiles to 502 instructions, more than the limit of ${MAX_PROGRAM_SIZE} (large repetition counts such as {200} or long alternations cost the most)`,
  ],
];

const titled = REFUSED.map(([source, ...rest]) => [source.length > 40 ? `${source.slice(0, 10)}… (${source.length} characters)` : source, source, ...rest] as const);
test.each(titled)('%s is refused', (_title, source, kind, construct, message) => {
  expect(compileLinearPattern(source, { anchored: true })).toEqual({ ok: false, error: { kind, ...(construct !== undefined ? { construct } : {}), message } });
});

describe('wildcards', () => {
  const TABLE: readonly [string, string, boolean][] = [
    ['kube-system', 'kube-system', true],
    ['kube-system', 'kube-systems', false],
    ['kube-*', 'kube-', true],
    ['kube-*', 'kube-public', true],
    ['kube-*', 'kub-public', false],
    ['*-prod', 'shop-prod', true],
    ['*-prod', 'shop-prod-2', false],
    ['team-*-prod', 'team-a-prod', true],
    ['team-*-prod', 'team-prod', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*', '', true],
    ['**', 'anything', true],
    ['*ab*ab*', 'xabyab', true],
    ['*ab*ab*', 'xaby', false],
    ['*', 'any/thing', true],
  ];
  test.each(TABLE)('%s against %s → %s', (pattern, text, expected) => {
    expect(compileWildcard(pattern)(text)).toBe(expected);
  });

  test('agrees with the regular expression it replaces', () => {
    const short = (alphabet: string[], max: number) => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(short(['a', 'b', '*'], 8), short(['a', 'b'], 10), (pattern, text) => {
        const oracle = new RegExp(`^${pattern.replaceAll('*', '.*')}$`);
        expect(compileWildcard(pattern)(text)).toBe(oracle.test(text));
      }),
      { numRuns: 2000 },
    );
  });

  test('an adversarial wildcard against a long name finishes at once', () => {
    // `^.*a.*a…b$` backtracks through about n^k positions with RegExp; this is k indexOf scans.
    const started = performance.now();
    expect(compileWildcard(`${'*a'.repeat(30)}*b`)('a'.repeat(100_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
