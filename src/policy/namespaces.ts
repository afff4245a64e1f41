// Namespace-side policy syntax and meaning: namespace name patterns (exemptions and rules' `names`),
// Kubernetes label keys, label values and annotation names, label selectors, and the decision whether a
// rule restricted to namespaces applies to a scope. Checks return a sentence for the policy author;
// matching is pure and never throws. When a fact is missing (unknown namespace or unknown labels), the
// answer is "unknown" and the caller's fail-closed reading decides; nothing here guesses.

import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { quote } from '../util/quote.js';
import { compileWildcard } from '../util/linear-pattern.js';
import type { NamespaceScope } from './scope.js';
import type { CompiledLabelSelector, CompiledNamespaceRestriction, LabelRequirement } from './types.js';

/** Kubernetes limits: namespace names are DNS-1123 labels; label names and values are at most 63 characters. */
const MAX_NAMESPACE_LENGTH = 63;
const MAX_LABEL_NAME_LENGTH = 63;
const MAX_LABEL_VALUE_LENGTH = 63;
const MAX_PREFIX_LENGTH = 253;

const LABEL_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** The ImagePolicyWebhook admission plugin forwards only pod annotations whose key contains this. */
const IMAGE_POLICY_SUFFIX = '.image-policy.k8s.io';
/** Written by the API server itself on pods it admitted because the backend failed; never a user's choice. */
const FAILED_OPEN_ANNOTATION = 'alpha.image-policy.k8s.io/failed-open';

export interface NamespacePattern {
  /** The pattern as written. */
  readonly source: string;
  test(namespace: string): boolean;
}

/** Validates a namespace name or pattern (a DNS-1123 label that may use `*`) and compiles it. */
export function compileNamespacePattern(source: string): Result<NamespacePattern, string> {
  if (source.length === 0) return err('namespace pattern is empty');
  if (source.length > MAX_NAMESPACE_LENGTH) {
    return err(`${quote(source)} is longer than ${MAX_NAMESPACE_LENGTH} characters, the limit for namespace names`);
  }
  if (source !== source.toLowerCase()) return err(`namespace names are lower case; ${quote(source)} is not`);
  if (source.includes('**')) {
    return err(`"**" is not needed here: a namespace name has no "/" segments, so "*" already matches any run of characters`);
  }
  const bad = [...source].find((char) => !/[a-z0-9*-]/.test(char));
  if (bad !== undefined) {
    return err(`character ${quote(bad)} is not allowed; namespace names use a-z, 0-9 and "-", and patterns add "*"`);
  }
  if (source.startsWith('-') || source.endsWith('-')) {
    return err(`${quote(source)} cannot be a namespace name: it must start and end with a letter, a digit or "*"`);
  }
  // The characters are checked above, so only `*` is special; it may match nothing. Not a RegExp:
  // `*a*a*a…b` would backtrack polynomially on every review (exemptions are checked per request).
  return ok(Object.freeze({ source, test: compileWildcard(source) }));
}

/** True when a pattern matches every namespace; such an exemption would switch Signet off. */
export function matchesEveryNamespace(source: string): boolean {
  return source.length > 0 && /^\*+$/.test(source);
}

/**
 * Checks a Kubernetes qualified name (`[prefix/]name`), the syntax of label keys and annotation keys.
 * `noun` names the thing in the message ("label key", "annotation").
 */
export function checkQualifiedName(key: string, noun: string): string | undefined {
  if (key.length === 0) return `${noun} is empty`;
  const parts = key.split('/');
  if (parts.length > 2) return `${noun} ${quote(key)} has more than one "/"; write [prefix/]name`;
  const [prefix, name] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [undefined, parts[0] ?? ''];
  if (prefix !== undefined) {
    if (prefix.length === 0) return `${noun} ${quote(key)} has an empty prefix before "/"`;
    if (prefix.length > MAX_PREFIX_LENGTH || !DNS_SUBDOMAIN.test(prefix)) {
      return `prefix ${quote(prefix)} of ${noun} ${quote(key)} must be a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit, at most ${MAX_PREFIX_LENGTH} characters`;
    }
  }
  if (name.length === 0) return `${noun} ${quote(key)} has an empty name after "/"`;
  if (name.length > MAX_LABEL_NAME_LENGTH || !LABEL_NAME.test(name)) {
    const which = prefix === undefined ? `${noun} ${quote(key)}` : `name ${quote(name)} of ${noun} ${quote(key)}`;
    return `${which} must be at most ${MAX_LABEL_NAME_LENGTH} letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Checks a label value; the empty value is valid in Kubernetes (a label can be set to ""). */
export function checkLabelValue(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > MAX_LABEL_VALUE_LENGTH || !LABEL_NAME.test(value)) {
    return `label value ${quote(value)} must be empty or at most ${MAX_LABEL_VALUE_LENGTH} letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Checks the break-glass annotation name: a valid annotation the ImagePolicyWebhook plugin forwards. */
export function checkBreakGlassAnnotation(key: string): string | undefined {
  const syntax = checkQualifiedName(key, 'annotation');
  if (syntax !== undefined) return syntax;
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  // The plugin passes on keys containing ".image-policy.k8s.io/"; with one "/" that means the prefix
  // ends in the suffix, and the leading "." means at least one more label in front of it.
  if (!prefix.endsWith(IMAGE_POLICY_SUFFIX) || prefix.length === IMAGE_POLICY_SUFFIX.length) {
    return `${quote(key)} would never reach Signet: the API server forwards only pod annotations matching *.image-policy.k8s.io/*; use a name such as "signet.image-policy.k8s.io/break-glass"`;
  }
  if (key === FAILED_OPEN_ANNOTATION) {
    return `${quote(key)} is set by the API server on pods it admitted because the backend failed; choose a name of your own, such as "signet.image-policy.k8s.io/break-glass"`;
  }
  return undefined;
}

/** Three-valued answer: a fact that is missing makes the answer `unknown`, never a guess. */
export type Truth = 'yes' | 'no' | 'unknown';

function labelOf(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  // Own properties only: a namespace label must never be found on Object.prototype.
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

function requirementHolds(requirement: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const value = labelOf(labels, requirement.key);
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && requirement.values.includes(value);
    case 'NotIn':
      // Kubernetes: NotIn also holds when the label is absent.
      return value === undefined || !requirement.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    default: {
      const unreachable: never = requirement;
      throw new Error(`internal: unknown selector operator in ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Kubernetes LabelSelector semantics: every matchLabels entry and every expression must hold. */
export function selectorMatches(selector: CompiledLabelSelector, labels: Readonly<Record<string, string>> | undefined): Truth {
  if (labels === undefined) return 'unknown';
  const labelsHold = Object.entries(selector.matchLabels).every(([key, value]) => labelOf(labels, key) === value);
  const expressionsHold = selector.matchExpressions.every((requirement) => requirementHolds(requirement, labels));
  return labelsHold && expressionsHold ? 'yes' : 'no';
}

export function namesMatch(patterns: readonly NamespacePattern[], namespace: string | undefined): Truth {
  // Kubernetes writes "" for "no namespace" (cluster-scoped objects); that is not knowing one either.
  if (namespace === undefined || namespace === '') return 'unknown';
  return patterns.some((pattern) => pattern.test(namespace)) ? 'yes' : 'no';
}

/**
 * Whether a rule restricted to namespaces applies to a scope. Names and selector must both hold; one
 * that is known not to hold settles it. When the answer depends on a missing fact, the rule applies
 * only if `appliesWhenUnknown` (the caller passes true for rules that can deny, false for rules that
 * can only admit), so a guess can make a decision stricter but never more lenient.
 */
export function restrictionApplies(
  restriction: CompiledNamespaceRestriction | undefined,
  namePatterns: readonly NamespacePattern[],
  scope: NamespaceScope,
  appliesWhenUnknown: boolean,
): boolean {
  if (restriction === undefined) return true;
  const answers: Truth[] = [];
  if (restriction.names !== undefined) answers.push(namesMatch(namePatterns, scope.namespace));
  if (restriction.selector !== undefined) answers.push(selectorMatches(restriction.selector, scope.labels));
  if (answers.includes('no')) return false;
  if (answers.includes('unknown')) return appliesWhenUnknown;
  return true;
}
