// Problems found while loading a policy, before they are placed on a YAML line: a field path as
// segments, a message for the policy author, and whether the key or the value is at fault.
// Also the small helpers every stage uses to word its messages the same way.

export type PathSegment = string | number;

export interface RawProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** `key`: point at the mapping key (unknown field, bad name); `value`: at the node itself. */
  readonly at: 'key' | 'value';
  /** Node to put the line on when it differs from `path` (a missing field is shown on its parent). */
  readonly locate?: readonly PathSegment[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `rules[1].verify[0].threshold`; names that are not plain identifiers are quoted: `keys["a.b"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) text += text.length === 0 ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest candidate when it is close enough to be a typo (case differences count as typos). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  const suggestion = closest(word, candidates);
  return suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
}
