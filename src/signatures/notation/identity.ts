// Notation's trustedIdentities: parsing `x509.subject: C=US, ST=WA, O=acme` (RFC 4514 distinguished
// names, as Notation writes them) and matching them against a leaf certificate's subject. Pure.
// A trusted identity matches when every attribute it lists is present in the subject with the same
// value; the subject may carry more attributes. Multi-valued RDNs and repeated attribute types are
// refused on both sides, as Notation refuses them, because "is a subset of" is ambiguous for them.
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';

export const SUBJECT_PREFIX = 'x509.subject:';

/** Attributes Notation requires in every trusted identity, so that one cannot trust a bare CN by mistake. */
const REQUIRED_ATTRIBUTES = ['C', 'ST', 'O'] as const;

/** Attribute type (upper case, e.g. `CN`, or a dotted OID) → value, in written order. */
export type DistinguishedName = ReadonlyMap<string, string>;

export type TrustedIdentities =
  | { readonly kind: 'any' }
  | { readonly kind: 'subjects'; readonly subjects: readonly { readonly text: string; readonly name: DistinguishedName }[] };

// Go's pkix names and OpenSSL's short names for the same attributes; compared upper-cased.
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
  S: 'ST',
  SN: 'SERIALNUMBER',
};

export function canonicalAttributeType(type: string): string {
  const upper = type.trim().toUpperCase();
  return TYPE_ALIASES[upper] ?? upper;
}

/** The `trustedIdentities` list of a policy entry: `["*"]`, or `x509.subject:` entries only. */
export function parseTrustedIdentities(entries: readonly string[]): Result<TrustedIdentities, { index: number; message: string }[]> {
  if (entries.length === 0) return err([{ index: 0, message: 'list at least one identity, or "*" to trust every signer the trust store vouches for' }]);
  if (entries.includes('*')) {
    if (entries.length > 1) {
      const index = entries.findIndex((entry) => entry !== '*');
      return err([{ index, message: '"*" already trusts every identity; it cannot be combined with other entries' }]);
    }
    return ok({ kind: 'any' });
  }
  const problems: { index: number; message: string }[] = [];
  const subjects: { text: string; name: DistinguishedName }[] = [];
  entries.forEach((entry, index) => {
    if (!entry.startsWith(SUBJECT_PREFIX)) {
      problems.push({ index, message: `an identity is "*" or starts with "${SUBJECT_PREFIX}", e.g. "x509.subject: C=US, ST=WA, O=acme"` });
      return;
    }
    const parsed = parseDistinguishedName(entry.slice(SUBJECT_PREFIX.length));
    if (!parsed.ok) {
      problems.push({ index, message: parsed.error });
      return;
    }
    const missing = REQUIRED_ATTRIBUTES.filter((type) => !parsed.value.has(type));
    if (missing.length > 0) {
      problems.push({ index, message: `the subject must name at least C, ST and O (missing ${missing.join(', ')}), so that it cannot match unrelated certificates` });
      return;
    }
    subjects.push({ text: entry.slice(SUBJECT_PREFIX.length).trim(), name: parsed.value });
  });
  return problems.length > 0 ? err(problems) : ok({ kind: 'subjects', subjects });
}

/**
 * RFC 4514 string → attributes. Supports `\,`-style and `\hh` escapes and surrounding spaces;
 * refuses `+` (multi-valued RDNs), repeated attribute types, empty types and unterminated escapes.
 */
export function parseDistinguishedName(text: string): Result<DistinguishedName, string> {
  const attributes = new Map<string, string>();
  const parts = splitUnescaped(text, ',');
  if (!parts.ok) return parts;
  for (const part of parts.value) {
    if (part.trim() === '') return err(`distinguished name ${JSON.stringify(text.trim())} has an empty attribute (check the commas)`);
    const plus = splitUnescaped(part, '+');
    if (!plus.ok) return plus;
    if (plus.value.length > 1) return err(`distinguished name ${JSON.stringify(text.trim())} has a multi-valued attribute ("+"), which is not supported`);
    const equals = part.indexOf('=');
    if (equals <= 0) return err(`${JSON.stringify(part.trim())} is not TYPE=value`);
    const type = canonicalAttributeType(part.slice(0, equals));
    if (!/^(?:[A-Z][A-Z0-9-]*|\d+(?:\.\d+)+)$/.test(type)) return err(`${JSON.stringify(part.slice(0, equals).trim())} is not an attribute type`);
    const value = unescapeValue(trimUnescaped(part.slice(equals + 1)));
    if (!value.ok) return err(`attribute ${type}: ${value.error}`);
    if (attributes.has(type)) return err(`distinguished name ${JSON.stringify(text.trim())} names ${type} twice, which is ambiguous`);
    attributes.set(type, value.value);
  }
  return ok(attributes);
}

/**
 * A certificate subject as a map, from its RDN list (each RDN: attribute type → values, as
 * @peculiar/x509's Name.toJSON() gives it). Undefined when an RDN is multi-valued or a type repeats.
 */
export function subjectAttributes(rdns: readonly Readonly<Record<string, readonly string[]>>[]): DistinguishedName | undefined {
  const attributes = new Map<string, string>();
  for (const rdn of rdns) {
    const entries = Object.entries(rdn);
    if (entries.length !== 1) return undefined;
    const [type, values] = entries[0]!;
    if (values.length !== 1) return undefined;
    const canonical = canonicalAttributeType(type);
    if (attributes.has(canonical)) return undefined;
    attributes.set(canonical, values[0]!);
  }
  return attributes;
}

/** True when every attribute of `trusted` is in `subject` with exactly the same value. */
export function isSubjectSubset(trusted: DistinguishedName, subject: DistinguishedName): boolean {
  for (const [type, value] of trusted) {
    if (subject.get(type) !== value) return false;
  }
  return true;
}

function splitUnescaped(text: string, separator: string): Result<string[], string> {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char === '\\') {
      const next = text[index + 1];
      if (next === undefined) return err(`${JSON.stringify(text.trim())} ends with an unfinished "\\" escape`);
      current += char + next;
      index++;
      continue;
    }
    if (char === separator) {
      parts.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  parts.push(current);
  return ok(parts);
}

/** Trims surrounding spaces, keeping a trailing space that is escaped (`O=acme\\ `). */
function trimUnescaped(raw: string): string {
  let end = raw.length;
  while (end > 0 && raw[end - 1] === ' ') {
    let backslashes = 0;
    for (let index = end - 2; index >= 0 && raw[index] === '\\'; index--) backslashes++;
    if (backslashes % 2 === 1) break;
    end--;
  }
  return raw.slice(0, end).trimStart();
}

function unescapeValue(raw: string): Result<string, string> {
  if (raw === '') return err('the value is empty');
  let value = '';
  const bytes: number[] = [];
  const flushBytes = (): boolean => {
    if (bytes.length === 0) return true;
    try {
      value += new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      return false;
    }
    bytes.length = 0;
    return true;
  };
  for (let index = 0; index < raw.length; index++) {
    const char = raw[index]!;
    if (char !== '\\') {
      if (!flushBytes()) return err('a \\hh escape is not valid UTF-8');
      value += char;
      continue;
    }
    const hex = raw.slice(index + 1, index + 3);
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      index += 2;
      continue;
    }
    if (!flushBytes()) return err('a \\hh escape is not valid UTF-8');
    const next = raw[index + 1];
    if (next === undefined) return err('it ends with an unfinished "\\" escape');
    value += next;
    index++;
  }
  if (!flushBytes()) return err('a \\hh escape is not valid UTF-8');
  return ok(value);
}
