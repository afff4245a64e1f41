// Quoting of untrusted text inside error messages. Image references come from pod specs written by
// anyone who can create a pod, so what we echo back must not carry control characters into logs or
// kubectl output, and must not grow without bound.

const QUOTE_LIMIT = 200;

/** JSON-style quoting (escapes control characters), cut to a readable length. */
export function quote(text: string): string {
  const shown = text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text;
  return JSON.stringify(shown);
}
