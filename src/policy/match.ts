// Picks the rule that decides for an image: the first rule, in policy order, whose patterns match the
// image's normalised repository name, whose excludes do not, and which applies to the namespace scope
// the image runs in. Pure; no I/O, no parsing. Namespace exemptions are not looked at here: an exempt
// namespace is never checked at all (CompiledPolicy.isNamespaceExempt, asked before any image).

import type { NamespaceScope } from './scope.js';
import { UNKNOWN_SCOPE } from './scope.js';
import type { CompiledPolicy, CompiledRule } from './types.js';

/**
 * The first matching rule, or undefined when none matches (then `policy.defaults.unmatched` decides).
 * `normalisedName` is `registry/repository` as reference/parse.ts's `repositoryName` prints it
 * (`docker.io/library/nginx`), never a name as written in a pod spec (`nginx`).
 * Without `scope` nothing is known about where the image runs, and rules restricted to namespaces
 * apply by the fail-closed reading (see CompiledRule.appliesTo): those that can deny apply, those
 * that can only admit do not.
 */
export function matchRule(policy: CompiledPolicy, normalisedName: string, scope: NamespaceScope = UNKNOWN_SCOPE): CompiledRule | undefined {
  return policy.rules.find((rule) => rule.matches(normalisedName) && rule.appliesTo(scope));
}
