// Quoting of untrusted text (media types, payload fields, annotation values) inside the one-line
// details users read in denials and logs: JSON-escaped so control characters cannot forge lines,
// and shortened so a hostile manifest cannot make a denial message arbitrarily long.
const MAX_QUOTED_CHARS = 100;

export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= MAX_QUOTED_CHARS ? text : `${text.slice(0, MAX_QUOTED_CHARS)}…(${text.length} characters)`;
}
