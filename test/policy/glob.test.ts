import fc from 'fast-check';
import { compileImagePattern } from '../../src/policy/glob.js';
import { parseReference, repositoryName } from '../../src/reference/parse.js';

function compile(pattern: string) {
  const compiled = compileImagePattern(pattern);
  if (!compiled.ok) throw new Error(`pattern ${pattern} was rejected: ${compiled.error}`);
  return compiled.value;
}

// [pattern, normalised name of an image, matches?] — the same table is in docs/policy.md.
const MATCH_TABLE: readonly [string, string, boolean][] = [
  // exact names and Docker Hub short names
  ['docker.io/library/nginx', 'docker.io/library/nginx', true],
  ['nginx', 'docker.io/library/nginx', true],
  ['nginx', 'docker.io/library/nginx-unprivileged', false],
  ['nginx', 'ghcr.io/library/nginx', false],
  ['library/nginx', 'docker.io/library/nginx', true],
  ['docker.io/nginx', 'docker.io/library/nginx', true],
  ['index.docker.io/library/nginx', 'docker.io/library/nginx', true],
  ['bitnami/redis', 'docker.io/bitnami/redis', true],
  ['bitnami/redis', 'docker.io/library/redis', false],
  // `*` stays inside one path segment and may match nothing
  ['*', 'docker.io/library/busybox', true],
  ['*', 'docker.io/bitnami/redis', false],
  ['*/*', 'docker.io/bitnami/redis', true],
  ['*/*', 'ghcr.io/org/app', false],
  ['registry.example.com/*', 'registry.example.com/app', true],
  ['registry.example.com/*', 'registry.example.com/team/app', false],
  ['registry.example.com/*/app', 'registry.example.com/team/app', true],
  ['registry.example.com/*/app', 'registry.example.com/a/b/app', false],
  ['registry.example.com/app*', 'registry.example.com/app', true],
  ['registry.example.com/app*', 'registry.example.com/app-v2', true],
  ['registry.example.com/prod-*', 'registry.example.com/prod', false],
  ['registry.example.com/team/*-api', 'registry.example.com/team/billing-api', true],
  ['registry.example.com/team/*-api', 'registry.example.com/team/billing-api/v2', false],
  // `**` at the end: one or more segments, never the prefix itself
  ['registry.example.com/**', 'registry.example.com/app', true],
  ['registry.example.com/**', 'registry.example.com/team/app/sub', true],
  ['registry.example.com/prod/**', 'registry.example.com/prod', false],
  ['registry.example.com/prod/**', 'registry.example.com/prod/api', true],
  ['registry.example.com/prod/**', 'registry.example.com/production/api', false],
  ['docker.io/**', 'docker.io/library/nginx', true],
  ['docker.io/**', 'ghcr.io/library/nginx', false],
  // `**` in the middle: zero or more whole segments
  ['registry.example.com/**/app', 'registry.example.com/app', true],
  ['registry.example.com/**/app', 'registry.example.com/a/b/app', true],
  ['registry.example.com/**/app', 'registry.example.com/a/b/app2', false],
  ['registry.example.com/**/app', 'registry.example.com/a/myapp', false],
  // `**` at the start: any registry and namespace
  ['**/app', 'ghcr.io/org/app', true],
  ['**/app', 'docker.io/library/app', true],
  ['**/app', 'ghcr.io/org/myapp', false],
  ['**', 'quay.io/any/thing/at/all', true],
  // literal characters, including regex metacharacters, and host boundaries
  ['registry.example.com/a.b', 'registry.example.com/aXb', false],
  ['registry.example.com/a.b', 'registry.example.com/a.b', true],
  ['registry.example.com/**', 'registry.example.com.evil.io/app', false],
  ['registry.example.com/**', 'evilregistry.example.com/app', false],
  ['*.example.com/**', 'eu.example.com/app', true],
  ['*.example.com/**', 'example.com/app', false],
  ['*.example.com/**', 'eu.example.com.evil.io/app', false],
  // registries with ports and IPv6 literals
  ['localhost:5000/**', 'localhost:5000/app', true],
  ['localhost:5000/**', 'localhost:5001/app', false],
  ['localhost:5000/**', 'localhost/app', false],
  ['localhost/app', 'localhost/app', true],
  ['127.0.0.1:5000/team/app', '127.0.0.1:5000/team/app', true],
  ['[::1]:5000/**', '[::1]:5000/app', true],
  ['[0:0::1]:5000/app', '[::1]:5000/app', true],
];

describe('image pattern matching', () => {
  test.each(MATCH_TABLE)('%s against %s → %s', (pattern, name, expected) => {
    expect(compile(pattern).test(name)).toBe(expected);
  });
});

const NORMALISATION_TABLE: readonly [string, string][] = [
  ['nginx', 'docker.io/library/nginx'],
  ['library/nginx', 'docker.io/library/nginx'],
  ['docker.io/nginx', 'docker.io/library/nginx'],
  ['index.docker.io/bitnami/redis', 'docker.io/bitnami/redis'],
  ['*', 'docker.io/library/*'],
  ['*/*', 'docker.io/*/*'],
  ['docker.io/*', 'docker.io/library/*'],
  ['docker.io/**', 'docker.io/**'],
  ['**', '**'],
  ['**/nginx', '**/nginx'],
  ['registry.example.com/**', 'registry.example.com/**'],
  ['localhost/app', 'localhost/app'],
  ['[0:0::1]:5000/app', '[::1]:5000/app'],
];

test.each(NORMALISATION_TABLE)('pattern %s normalises to %s', (pattern, normalised) => {
  expect(compile(pattern).normalised).toBe(normalised);
});

test('a pattern without wildcards normalises exactly as the image reference parser does', () => {
  for (const pattern of ['nginx', 'library/nginx', 'docker.io/nginx', 'index.docker.io/library/nginx', 'bitnami/redis', 'ghcr.io/org/app', 'localhost/app', 'localhost:5000/team/app', '[::1]:5000/app']) {
    const reference = parseReference(pattern);
    if (!reference.ok) throw new Error(reference.error.message);
    expect(compile(pattern).normalised).toBe(repositoryName(reference.value));
  }
});

const REJECTION_TABLE: readonly [string, string][] = [
  ['', 'pattern is empty'],
  ['nginx:latest', 'patterns never contain tags: remove ":latest"'],
  ['nginx:*', 'patterns never contain tags: remove ":*"'],
  ['localhost:5000', 'patterns never contain tags: remove ":5000"; to match a registry, write "localhost:5000/**"'],
  ['registry.example.com/app:v1', 'patterns never contain tags: remove ":v1"; a pattern matches every tag of the repositories it names'],
  ['registry.example.com:v1/app', 'patterns never contain tags: ":v1" is not a registry port; to match every tag, leave the tag out'],
  ['registry.example.com:0/app', 'registry "registry.example.com:0" has an invalid port; write a number from 1 to 65535 without leading zeros'],
  ['registry.example.com:05000/app', 'registry "registry.example.com:05000" has an invalid port; write a number from 1 to 65535 without leading zeros'],
  ['registry.example.com/app@sha256:abc', 'patterns never contain digests: remove "@sha256:abc"; a pattern matches every digest of the repositories it names'],
  ['registry.example.com/app**', '"**" must be a whole path segment (as in "registry.example.com/team/**"), not part of "app**"'],
  ['registry.example.com/***', '"**" must be a whole path segment (as in "registry.example.com/team/**"), not part of "***"'],
  ['**.example.com/app', '"**" must be a whole path segment; in a registry host use "*" (as in "*.example.com/**")'],
  ['registry.example.com/**/**', 'pattern "registry.example.com/**/**" repeats "**"; one "**" already spans any number of segments'],
  ['registry.example.com//app', 'pattern "registry.example.com//app" has an empty path segment (a leading, trailing or doubled "/")'],
  ['/app', 'pattern "/app" has an empty path segment (a leading, trailing or doubled "/")'],
  ['registry.example.com/', 'pattern "registry.example.com/" has an empty path segment (a leading, trailing or doubled "/")'],
  ['registry.example.com', '"registry.example.com" looks like a registry host; to match every image in it write "registry.example.com/**" (for the Docker Hub image write "docker.io/library/registry.example.com")'],
  ['Registry.example.com/app', 'registry "Registry.example.com" must be lower case, as image references are'],
  ['registry.example.com/MyApp', 'repository names are lower case; "MyApp" is not'],
  ['registry.example.com/app?', 'character "?" is not allowed; patterns use repository-name characters (a-z 0-9 . _ -), "/", "*" and "**"'],
  ['registry.example.com/(a|b)', 'character "(" is not allowed; patterns use repository-name characters (a-z 0-9 . _ -), "/", "*" and "**"'],
  ['registry.example.com/a+', 'character "+" is not allowed; patterns use repository-name characters (a-z 0-9 . _ -), "/", "*" and "**"'],
  [' nginx', 'pattern " nginx" contains whitespace'],
  ['reg_istry.example.com/app', 'registry "reg_istry.example.com" is not a valid host name (letters, digits, ".", "-" and "*", optionally ":port")'],
  ['[::g]:5000/app', 'registry "[::g]:5000" is not a valid IPv6 address literal; write it as [address] or [address]:port'],
  ['registry.example.com:5000:6000/app', 'registry "registry.example.com:5000:6000" is not a valid host name (letters, digits, ".", "-" and "*", optionally ":port")'],
  ['[1::2::3]/app', 'registry "[1::2::3]" is not a valid IPv6 address'],
  [`registry.example.com/${'a'.repeat(600)}`, 'pattern is longer than 512 characters'],
];

test.each(REJECTION_TABLE)('pattern %j is rejected: %s', (pattern, message) => {
  expect(compileImagePattern(pattern)).toEqual({ ok: false, error: message });
});

describe('properties', () => {
  const segment = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/).filter((text) => text.length <= 20);
  const name = fc.tuple(fc.constantFrom('ghcr.io', 'registry.example.com:5000', 'docker.io'), fc.array(segment, { minLength: 2, maxLength: 4 }))
    .map(([registry, path]) => `${registry}/${path.join('/')}`);

  test('a literal pattern matches its own name and no other', () => {
    fc.assert(
      fc.property(name, name, (own, other) => {
        const pattern = compile(own);
        expect(pattern.test(own)).toBe(true);
        expect(pattern.test(other)).toBe(own === other);
      }),
    );
  });

  test('replacing one repository segment with * matches the name; "**" after the registry matches every name in it', () => {
    fc.assert(
      fc.property(name, fc.nat(), (full, choice) => {
        const parts = full.split('/');
        const index = 1 + (choice % (parts.length - 1));
        const starred = parts.map((part, i) => (i === index ? '*' : part)).join('/');
        expect(compile(starred).test(full)).toBe(true);
        expect(compile(`${parts[0]}/**`).test(full)).toBe(true);
        // A `*` never crosses "/": adding a segment under the starred one breaks the match.
        const deeper = parts.map((part, i) => (i === index ? `${part}/extra` : part)).join('/');
        expect(compile(starred).test(deeper)).toBe(false);
      }),
    );
  });
});

describe('matching time', () => {
  test('adversarial wildcards against a long name answer at once', () => {
    // As RegExps (`[^/]*a[^/]*a…b`, `(?:.+/)?…`) these backtrack polynomially, with a high degree, on
    // the names below; the segment matcher scans each segment a bounded number of times.
    const cases: [string, string][] = [
      [`registry.example.com/${'*a'.repeat(8)}*b`, `registry.example.com/${'a'.repeat(234)}`],
      [`registry.example.com/${'*a'.repeat(60)}*b`, `registry.example.com/${'a'.repeat(234)}`],
      [`**/${'*a/'.repeat(20)}b`, `r.io/${'aa/'.repeat(80)}c`],
      [`*.*.*.*.*.*.*.*.*.*.*.*.x/**`, `${'a.'.repeat(100)}b/c`],
    ];
    for (const [pattern, name] of cases) {
      const started = performance.now();
      expect(compile(pattern).test(name)).toBe(false);
      expect(performance.now() - started).toBeLessThan(100);
    }
  });
});

describe('the segment matcher agrees with the regular expressions it replaced', () => {
  // The RegExp translation glob.ts used before (exact on valid names, but backtracking).
  function oldRegExp(normalised: string): RegExp {
    const segments = normalised.split('/');
    if (segments.length === 1 && segments[0] === '**') return /^.+$/;
    let source = '';
    segments.forEach((segment, index) => {
      const last = index === segments.length - 1;
      if (segment === '**') {
        if (index === 0) source += '(?:.+/)?';
        else if (last) source += '/.+';
        else source += '/(?:.+/)?';
        return;
      }
      const separator = index === 0 || segments[index - 1] === '**' ? '' : '/';
      source += separator + [...segment].map((char) => (char === '*' ? '[^/]*' : char.replace(/[.-]/g, '\\$&'))).join('');
    });
    return new RegExp(`^${source}$`);
  }

  test('on random patterns and names', () => {
    const patternSegment = fc.constantFrom('a', 'b', 'ab', '*', 'a*', '*b', 'a*b', '*a*', '**');
    const nameSegment = fc.constantFrom('a', 'b', 'ab', 'ba', 'aab', 'bb');
    const pattern = fc
      .tuple(fc.constantFrom('r.io', '**', '*.io'), fc.array(patternSegment, { minLength: 1, maxLength: 5 }))
      .map(([registry, path]) => [registry, ...path].join('/'))
      .filter((text) => compileImagePattern(text).ok);
    const name = fc.tuple(fc.constantFrom('r.io', 'x.io'), fc.array(nameSegment, { minLength: 1, maxLength: 6 })).map(([registry, path]) => [registry, ...path].join('/'));
    fc.assert(
      fc.property(pattern, name, (text, candidate) => {
        const compiled = compile(text);
        expect(compiled.test(candidate)).toBe(oldRegExp(compiled.normalised).test(candidate));
      }),
      { numRuns: 3000 },
    );
  });
});
