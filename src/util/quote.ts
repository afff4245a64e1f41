// Quoting of untrusted text (image references, policy text, media types, payload fields, annotation
// values) inside the one-line messages people read in denials, warnings and logs: JSON-escaped so
// control characters cannot forge lines or terminal output, and cut so that hostile input cannot make
// a message arbitrarily long.

/** Characters of the original text shown before it is cut. */
export const QUOTE_LIMIT = 200;

/** JSON-style quoting with control characters escaped; text over QUOTE_LIMIT characters is cut and ends in "…". */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  if (typeof value === 'string') return JSON.stringify(text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text);
  // Already JSON (so already escaped): only cut.
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text;
}
