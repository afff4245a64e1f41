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
