// Image name patterns: normalises a pattern the way an image reference is normalised, rejects
// anything that is not a repository name (tags, digests, stray characters), and compiles it once to a
// matcher over the `/`-separated segments of the normalised `registry/repository`. No RegExp: with
// backtracking, a pattern such as `*a*a*a*a*a*a*a*a*b` takes polynomial time of high degree on a long
// name; segment wildcards and `**` are matched here in time linear in the name for a given pattern.
// The semantics are documented, with a table of examples, in docs/policy.md ("Image patterns").

import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { quote } from '../util/quote.js';
import { compileWildcard } from '../util/linear-pattern.js';

export interface ImagePattern {
  /** The pattern as written in the policy. */
  readonly source: string;
  /** The pattern after Docker Hub normalisation, e.g. `docker.io/library/nginx` for `nginx`. */
  readonly normalised: string;
  /** Does the normalised `registry/repository` name match? */
  test(normalisedName: string): boolean;
}

const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_NAMESPACE = 'library';
const MAX_PATTERN_LENGTH = 512;

// A registry segment: host labels (which may use `*`), an optional numeric port, or a bracketed IPv6
// literal with an optional port.
const HOST_SEGMENT = /^[a-z0-9*](?:[a-z0-9*.-]*[a-z0-9*])?(?::[0-9]+)?$/;
const IPV6_SEGMENT = /^\[([0-9a-f:.]+)\](?::([0-9]+))?$/;
// A repository path segment: the characters distribution allows in a path component, plus `*`.
const PATH_SEGMENT = /^[a-z0-9._*-]+$/;
const PORT = /:([^/:]*)$/;

/** Docker's rule: the first component is a registry when it has a `.` or `:`, or is `localhost`. */
function looksLikeRegistry(segment: string): boolean {
  return segment.includes('.') || segment.includes(':') || segment === 'localhost' || segment.startsWith('[');
}

function checkPort(port: string, segment: string): string | undefined {
  if (!/^[0-9]+$/.test(port)) {
    return `patterns never contain tags: ${quote(`:${port}`)} is not a registry port; to match every tag, leave the tag out`;
  }
  const value = Number(port);
  if (port.startsWith('0') || value < 1 || value > 65535) {
    return `registry ${quote(segment)} has an invalid port; write a number from 1 to 65535 without leading zeros`;
  }
  return undefined;
}

/** Checks a registry segment and returns its canonical spelling. */
function canonicalRegistry(segment: string): Result<string, string> {
  if (segment !== segment.toLowerCase()) {
    return err(`registry ${quote(segment)} must be lower case, as image references are`);
  }
  if (segment.includes('**')) {
    return err(`"**" must be a whole path segment; in a registry host use "*" (as in "*.example.com/**")`);
  }
  const ipv6 = IPV6_SEGMENT.exec(segment);
  if (ipv6 !== null) {
    const address = ipv6[1] ?? '';
    const port = ipv6[2];
    let canonicalHost: string;
    try {
      // The WHATWG URL parser prints IPv6 in RFC 5952 form, which is how references spell it too.
      canonicalHost = new URL(`http://[${address}]/`).hostname;
    } catch {
      return err(`registry ${quote(segment)} is not a valid IPv6 address`);
    }
    if (port !== undefined) {
      const portProblem = checkPort(port, segment);
      if (portProblem !== undefined) return err(portProblem);
    }
    return ok(port === undefined ? canonicalHost : `${canonicalHost}:${port}`);
  }
  if (segment.startsWith('[')) {
    return err(`registry ${quote(segment)} is not a valid IPv6 address literal; write it as [address] or [address]:port`);
  }
  const port = PORT.exec(segment)?.[1];
  if (port !== undefined) {
    const portProblem = checkPort(port, segment);
    if (portProblem !== undefined) return err(portProblem);
  }
  if (!HOST_SEGMENT.test(segment)) {
    return err(`registry ${quote(segment)} is not a valid host name (letters, digits, ".", "-" and "*", optionally ":port")`);
  }
  return ok(segment === LEGACY_DEFAULT_REGISTRY ? DEFAULT_REGISTRY : segment);
}

function checkPathSegment(segment: string): string | undefined {
  if (segment === '**') return undefined;
  if (segment.includes('**')) {
    return `"**" must be a whole path segment (as in "registry.example.com/team/**"), not part of ${quote(segment)}`;
  }
  if (segment.includes(':')) {
    return `patterns never contain tags: remove ${quote(segment.slice(segment.indexOf(':')))}; a pattern matches every tag of the repositories it names`;
  }
  if (segment !== segment.toLowerCase()) {
    return `repository names are lower case; ${quote(segment)} is not`;
  }
  if (!PATH_SEGMENT.test(segment)) {
    const bad = [...segment].find((char) => !/[a-z0-9._*-]/.test(char)) ?? segment;
    return `character ${quote(bad)} is not allowed; patterns use repository-name characters (a-z 0-9 . _ -), "/", "*" and "**"`;
  }
  return undefined;
}

/** Normalises a pattern like an image reference; returns the normalised segments. */
function normaliseSegments(source: string): Result<string[], string> {
  if (source.length === 0) return err('pattern is empty');
  if (source.length > MAX_PATTERN_LENGTH) return err(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  if (/\s/.test(source)) return err(`pattern ${quote(source)} contains whitespace`);
  if (source.includes('@')) {
    return err(`patterns never contain digests: remove ${quote(source.slice(source.indexOf('@')))}; a pattern matches every digest of the repositories it names`);
  }
  const segments = source.split('/');
  if (segments.some((segment) => segment.length === 0)) {
    return err(`pattern ${quote(source)} has an empty path segment (a leading, trailing or doubled "/")`);
  }
  const first = segments[0] ?? '';
  if (segments.length === 1 && first !== '**') {
    if (first.includes(':')) {
      return err(
        `patterns never contain tags: remove ${quote(first.slice(first.indexOf(':')))}` +
          (/^[^:]+:[0-9]+$/.test(first) ? `; to match a registry, write ${quote(`${first}/**`)}` : ''),
      );
    }
    if (first.includes('.') && !first.includes('*')) {
      // Docker would read this as the Docker Hub image library/<name>; a policy author almost surely
      // meant the registry, and a silent non-match can turn a deny rule into a no-op.
      return err(`${quote(first)} looks like a registry host; to match every image in it write ${quote(`${first}/**`)} (for the Docker Hub image write ${quote(`docker.io/library/${first}`)})`);
    }
  }

  let registry: string;
  let path: string[];
  if (first === '**') {
    // A leading `**` spans the registry too; there is nothing to normalise.
    registry = '**';
    path = segments.slice(1);
  } else if (segments.length > 1 && looksLikeRegistry(first)) {
    const canonical = canonicalRegistry(first);
    if (!canonical.ok) return canonical;
    registry = canonical.value;
    path = segments.slice(1);
  } else {
    registry = DEFAULT_REGISTRY;
    path = segments;
  }
  if (registry === DEFAULT_REGISTRY && path.length === 1 && path[0] !== '**') {
    path = [OFFICIAL_NAMESPACE, ...path];
  }
  for (const segment of path) {
    const problem = checkPathSegment(segment);
    if (problem !== undefined) return err(problem);
  }
  const all = [registry, ...path];
  for (let i = 1; i < all.length; i += 1) {
    if (all[i] === '**' && all[i - 1] === '**') {
      return err(`pattern ${quote(source)} repeats "**"; one "**" already spans any number of segments`);
    }
  }
  return ok(all);
}

/** One segment of a pattern: a `*` wildcard that never crosses "/", or `**`: any number of whole segments. */
type SegmentToken = { readonly kind: 'one'; readonly test: (segment: string) => boolean } | { readonly kind: 'any' };

const ANY: SegmentToken = { kind: 'any' };
const ONE_NON_EMPTY: SegmentToken = { kind: 'one', test: (segment) => segment.length > 0 };

function toTokens(segments: readonly string[]): SegmentToken[] {
  if (segments.length === 1 && segments[0] === '**') return [ONE_NON_EMPTY, ANY];
  return segments.flatMap((segment, index): SegmentToken[] => {
    if (segment !== '**') return [{ kind: 'one', test: compileWildcard(segment) }];
    // Leading and inner `**` may stand for zero segments (`a/**/b` matches `a/b`); a trailing one
    // needs at least one, so `team/**` matches what is inside `team` and not `team` itself.
    return index === segments.length - 1 ? [ONE_NON_EMPTY, ANY] : [ANY];
  });
}

/**
 * The classic wildcard walk, one segment at a time: on a mismatch, only the latest `**` takes one
 * more segment, which is exact because every other token consumes exactly one segment. At most
 * segments × tokens segment tests, each linear in its segment.
 */
function matchTokens(tokens: readonly SegmentToken[], parts: readonly string[]): boolean {
  let token = 0;
  let part = 0;
  let star = -1;
  let resume = 0;
  while (part < parts.length) {
    const current = tokens[token];
    if (current?.kind === 'one' && current.test(parts[part] ?? '')) {
      token += 1;
      part += 1;
    } else if (current?.kind === 'any') {
      star = token;
      token += 1;
      resume = part;
    } else if (star >= 0) {
      token = star + 1;
      resume += 1;
      part = resume;
    } else {
      return false;
    }
  }
  while (tokens[token]?.kind === 'any') token += 1;
  return token === tokens.length;
}

function matcher(normalised: string, tokens: readonly SegmentToken[]): (normalisedName: string) => boolean {
  const star = normalised.indexOf('*');
  // Most patterns name one repository: a string comparison.
  if (star < 0) return (normalisedName) => normalisedName === normalised;
  // Most names are turned away by the literal text before the first `*` (usually the registry).
  const prefix = normalised.slice(0, star);
  return (normalisedName) => normalisedName.startsWith(prefix) && matchTokens(tokens, normalisedName.split('/'));
}

/** Validates, normalises and compiles one pattern. The error is a message for the policy author. */
export function compileImagePattern(source: string): Result<ImagePattern, string> {
  const segments = normaliseSegments(source);
  if (!segments.ok) return segments;
  const normalised = segments.value.join('/');
  const pattern: ImagePattern = {
    source,
    normalised,
    test: matcher(normalised, toTokens(segments.value)),
  };
  return ok(Object.freeze(pattern));
}
