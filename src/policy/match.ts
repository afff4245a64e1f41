// Picks the rule that decides for an image: the first rule, in policy order, whose patterns match the
// image's normalised repository name and whose excludes do not. Pure; no I/O, no parsing.

import type { CompiledPolicy, CompiledRule } from './types.js';

/**
 * The first matching rule, or undefined when none matches (then `policy.defaults.unmatched` decides).
 * `normalisedName` is `registry/repository` as reference/parse.ts's `repositoryName` prints it
 * (`docker.io/library/nginx`), never a name as written in a pod spec (`nginx`).
 */
export function matchRule(policy: CompiledPolicy, normalisedName: string): CompiledRule | undefined {
  return policy.rules.find((rule) => rule.matches(normalisedName));
}
