// Memos for what the decision log and the metrics derive from a verdict. A cached verdict is one
// object shared by every review that hits the cache, so its log text and its counter are found once
// and kept with it, weakly: they go when the cache lets the verdict go. Domain-free: the caller says
// how to render and which counter to use.

/** Text rendered once per (object, variant); `maxVariants` bounds what one object keeps. */
export function textMemo<K extends object>(render: (key: K, variant: string) => string, maxVariants = 64): (key: K, variant: string) => string {
  const texts = new WeakMap<K, Map<string, string>>();
  return (key, variant) => {
    let byVariant = texts.get(key);
    if (byVariant === undefined) {
      byVariant = new Map();
      texts.set(key, byVariant);
    }
    let text = byVariant.get(variant);
    if (text === undefined) {
      text = render(key, variant);
      if (byVariant.size < maxVariants) byVariant.set(variant, text);
    }
    return text;
  };
}

/**
 * The counter an object is counted in, found once per object and kept while `context` stays the
 * same object (the counter's labels may depend on it, e.g. a rule's mode on the policy in force).
 */
export function counterMemo<K extends object, C extends object>(find: (key: K, context: C) => { count: number }): (key: K, context: C) => { count: number } {
  const counters = new WeakMap<K, { readonly context: C; readonly counter: { count: number } }>();
  return (key, context) => {
    let known = counters.get(key);
    if (known === undefined || known.context !== context) {
      known = { context, counter: find(key, context) };
      counters.set(key, known);
    }
    return known.counter;
  };
}
