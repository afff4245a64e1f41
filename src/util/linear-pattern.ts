// Regular expressions written by policy authors (cluster admins and tenants alike) run against names
// from untrusted certificates, so they must never be able to stall the process: they are compiled with
// re2js, a port of RE2 whose matching time is linear in the input, and what RE2 cannot match in linear
// time (backreferences, lookaround, atomic groups) is refused here, when the policy loads, with a
// message that names the construct. Never compile policy text with JavaScript's backtracking RegExp.
//
// Also here: `*` wildcards (namespace names, one segment of an image pattern), matched without any
// regular expression at all, which is both linear and faster than RegExp on the admission path.
import { RE2JS, RE2JSSyntaxException } from 're2js';
import { err, ok } from './result.js';
import type { Result } from './result.js';
import { quote } from './quote.js';

/** Longest pattern accepted by default: real identity patterns are well under 200 characters. */
export const MAX_PATTERN_CHARS = 512;
/**
 * Largest compiled program accepted by default (RE2's instruction count, about one per literal
 * character and repetition). Matching costs at most program size × input length steps, so this
 * bounds the cost of one match; `a{1000}` or `\pL{400}` are refused, a URI pattern is about 80.
 */
export const MAX_PROGRAM_SIZE = 400;

export interface LinearPattern {
  /** The pattern as written in the policy. */
  readonly source: string;
  /** Whole-input match when compiled with `anchored: true`, otherwise a match anywhere in the input. */
  test(input: string): boolean;
  /** Worst-case work (program size × input length) of one `test` on an input of this length; callers budget it. */
  cost(inputLength: number): number;
}

export type LinearPatternError =
  | { readonly kind: 'too-long'; readonly message: string }
  | { readonly kind: 'too-complex'; readonly message: string }
  | { readonly kind: 'unsupported'; readonly construct: UnsupportedConstruct; readonly message: string }
  | { readonly kind: 'invalid'; readonly message: string };

export type UnsupportedConstruct = 'backreference' | 'lookahead' | 'lookbehind' | 'atomic group' | 'possessive quantifier';

export interface LinearPatternOptions {
  /** true: the pattern must match the whole input (`.*@example\.com` refuses `x@example.com.evil`). */
  readonly anchored: boolean;
  readonly maxChars?: number;
  readonly maxProgramSize?: number;
}

const WHY_REFUSED = 'Signet matches patterns in linear time (RE2 syntax) and cannot support it';

/**
 * Compiles a pattern in RE2 syntax. Errors are sentences that continue the field's name
 * (`subjectRegExp <message>`), e.g. `uses a backreference (\1), …`.
 */
export function compileLinearPattern(source: string, options: LinearPatternOptions): Result<LinearPattern, LinearPatternError> {
  const maxChars = options.maxChars ?? MAX_PATTERN_CHARS;
  if (source.length > maxChars) {
    return err({ kind: 'too-long', message: `is ${source.length} characters long; patterns are limited to ${maxChars}` });
  }
  let compiled: RE2JS;
  try {
    // No flags: case-sensitive, `.` does not match a newline, `^`/`$` mean the ends of the input.
    compiled = RE2JS.compile(source);
  } catch (thrown) {
    return err(explainSyntaxError(thrown));
  }
  const size = compiled.programSize();
  const maxProgramSize = options.maxProgramSize ?? MAX_PROGRAM_SIZE;
  if (size > maxProgramSize) {
    return err({
      kind: 'too-complex',
      message: `is too complex: it compiles to ${size} instructions, more than the limit of ${maxProgramSize} (large repetition counts such as {200} or long alternations cost the most)`,
    });
  }
  // testExact anchors at both ends without rewriting the source, so a pattern such as `a)|(b` can never
  // escape an added `^(?:…)$`; it compiled on its own above, so its parentheses balance.
  const test = options.anchored ? (input: string) => compiled.testExact(input) : (input: string) => compiled.test(input);
  return ok(Object.freeze({ source, test, cost: (inputLength: number) => size * (inputLength + 1) }));
}

function explainSyntaxError(thrown: unknown): LinearPatternError {
  if (!(thrown instanceof RE2JSSyntaxException)) {
    return { kind: 'invalid', message: `is not a valid regular expression: ${thrown instanceof Error ? thrown.message : String(thrown)}` };
  }
  const description = thrown.getDescription();
  const at = thrown.getPattern() ?? '';
  const unsupported = (construct: UnsupportedConstruct, example: string, advice: string): LinearPatternError => ({
    kind: 'unsupported',
    construct,
    message: `uses ${construct === 'atomic group' ? 'an' : 'a'} ${construct} (${quote(example)}), which ${WHY_REFUSED}; ${advice}`,
  });
  if (description === 'invalid escape sequence' && /^\\[1-9]/.test(at)) {
    return unsupported('backreference', at, 'spell out the repeated text instead');
  }
  if (description === 'invalid escape sequence' && at === '\\k') {
    return unsupported('backreference', '\\k<name>', 'spell out the repeated text instead');
  }
  if (description === 'invalid or unsupported Perl syntax' && (at === '(?=' || at === '(?!')) {
    return unsupported('lookahead', `${at}…)`, 'match the text itself, or list the alternatives with |');
  }
  if (description === 'invalid named capture' && (at.startsWith('(?<=') || at.startsWith('(?<!'))) {
    return unsupported('lookbehind', `${at.slice(0, 4)}…)`, 'match the text itself, or list the alternatives with |');
  }
  if (description === 'invalid or unsupported Perl syntax' && at === '(?>') {
    return unsupported('atomic group', '(?>…)', 'use a plain group (?:…); RE2 never backtracks, so it is not needed');
  }
  if (description === 'invalid nested repetition operator' && /^[*+?}]\+$/.test(at)) {
    return unsupported('possessive quantifier', at, `write ${quote(at.slice(0, -1))} instead; RE2 never backtracks, so it is not needed`);
  }
  const hint = description === 'invalid escape sequence' && at === '\\u' ? '; RE2 writes a code point as \\x{20AC}' : '';
  return { kind: 'invalid', message: `is not a valid regular expression: ${description} ${quote(at)} (RE2 syntax${hint})` };
}

/**
 * A `*` wildcard: `*` matches any run of characters, possibly empty; every other character is itself.
 * Matching is greedy leftmost search of the literal parts between stars, which is exact for a pattern
 * without other metacharacters and takes time linear in the input (for a bounded pattern).
 */
export function compileWildcard(source: string): (text: string) => boolean {
  const parts = source.split('*');
  if (parts.length === 1) return (text) => text === source;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  const middle = parts.slice(1, -1).filter((part) => part.length > 0);
  const fixed = first.length + last.length;
  return (text) => {
    if (text.length < fixed || !text.startsWith(first) || !text.endsWith(last)) return false;
    let at = first.length;
    const end = text.length - last.length;
    for (const part of middle) {
      const found = text.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}
