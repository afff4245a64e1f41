// Where an image will run, as far as the caller knows it: the namespace and that namespace's labels.
// Either may be unknown (a cluster-scoped object, the CLI without a namespace, a webhook that has not
// looked the labels up); rules then apply by the fail-closed reading described in docs/policy.md,
// "Namespaces, modes and exemptions". This file only carries the facts; namespaces.ts judges them.

export interface NamespaceScope {
  /** The object's namespace; undefined (or "", Kubernetes' spelling) when it is not known or the object has none. */
  readonly namespace: string | undefined;
  /** The namespace's labels; undefined when they are not known (not: "the namespace has no labels", which is `{}`). */
  readonly labels: Readonly<Record<string, string>> | undefined;
}

/** Nothing is known about where the image runs; what `matchRule` assumes when given no scope. */
export const UNKNOWN_SCOPE: NamespaceScope = Object.freeze({ namespace: undefined, labels: undefined });
