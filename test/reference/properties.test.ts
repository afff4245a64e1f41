// Property tests for image references: references generated from the grammar parse to the fields a
// simple model predicts and survive format/parse round trips; every spelling of one image normalises to
// one value; arbitrary strings never throw and are never accepted outside distribution's grammar.

import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import {
  digestOf,
  formatReference,
  parseDigest,
  parseReference,
  sha256Digest,
  withDigest,
} from '../../src/reference/parse.js';
import type { ImageReference } from '../../src/reference/types.js';

const RUNS = { numRuns: 300 };

// ---- The distribution reference grammar, written out independently as an oracle. ----------------
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|-+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE_GRAMMAR = new RegExp(`^${NAME}(?::${TAG})?(?:@${DIGEST})?$`);

// ---- Generators for the parts of a reference. --------------------------------------------------
const HEX = [...'0123456789abcdef'];
const componentArb = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,2}$/);
const pathArb = fc.array(componentArb, { minLength: 1, maxLength: 4 }).map((components) => components.join('/'));
// A path written without a registry; its first component must not look like a host (formats.md 1.7).
const barePathArb = pathArb.filter((path) => !path.includes('/') || !/[.:]/.test(path.split('/')[0] ?? ''));
const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?$/);
const portArb = fc.integer({ min: 1, max: 65535 }).map(String);
const tagArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/),
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{100,127}$/),
);
const digestArb = fc
  .constantFrom(['sha256', 64] as const, ['sha384', 96] as const, ['sha512', 128] as const)
  .chain(([algorithm, length]) =>
    fc.string({ unit: fc.constantFrom(...HEX), minLength: length, maxLength: length }).map((hex) => `${algorithm}:${hex}`),
  );
// IPv6 in the form distribution's grammar allows inside brackets: hex digits and colons only.
const ipv6Arb = fc.ipV6().filter((address) => /^[0-9a-f:]+$/.test(address));

/** A registry as written, with the canonical form a reader of formats.md 1.7 would predict (IPv6 aside). */
type RegistryCase = { written: string; canonical: string | undefined };
const withOptionalPort = (host: string) =>
  fc.option(portArb, { nil: undefined }).map((port) => (port === undefined ? host : `${host}:${port}`));
const registryArb: fc.Arbitrary<RegistryCase> = fc.oneof(
  fc.array(labelArb, { minLength: 2, maxLength: 3 }).map((labels) => labels.join('.')).chain(withOptionalPort),
  withOptionalPort('localhost'),
  fc.ipV4().chain(withOptionalPort),
  fc.tuple(labelArb, portArb).map(([label, port]) => `${label}:${port}`),
).map((written) => ({ written, canonical: written === 'index.docker.io' ? 'docker.io' : written }));

/** Expands an IPv6 address to its eight numeric groups, so two spellings can be compared as numbers. */
function ipv6Groups(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const headGroups = parse(head);
  const tailGroups = tail === undefined ? [] : parse(tail);
  const zeros = new Array<number>(8 - headGroups.length - tailGroups.length).fill(0);
  return [...headGroups, ...zeros, ...tailGroups];
}

function expectParsed(input: string): ImageReference {
  const result = parseReference(input);
  if (!result.ok) {
    throw new Error(`expected ${JSON.stringify(input)} to parse, got: ${result.error.message}`);
  }
  return result.value;
}

function suffixOf(tag: string | undefined, digest: string | undefined): string {
  return `${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
}

function expectRoundTrip(reference: ImageReference): void {
  const formatted = formatReference(reference);
  expect(parseReference(formatted)).toEqual({ ok: true, value: reference });
  expect(formatReference(expectParsed(formatted))).toBe(formatted);
}

const optionalTag = fc.option(tagArb, { nil: undefined });
const optionalDigest = fc.option(digestArb, { nil: undefined });

describe('references generated from the grammar', () => {
  test('a canonical reference parses to its parts and formats back to itself', () => {
    fc.assert(
      fc.property(registryArb, pathArb, optionalTag, optionalDigest, (registry, path, tag, digest) => {
        const input = `${registry.written}/${path}${suffixOf(tag, digest)}`;
        const reference = expectParsed(input);
        const repository = registry.canonical === 'docker.io' && !path.includes('/') ? `library/${path}` : path;
        const expectedTag = tag ?? (digest === undefined ? 'latest' : undefined);
        expect(reference).toEqual({ registry: registry.canonical, repository, tag: expectedTag, digest });
        expect(formatReference(reference)).toBe(`${registry.canonical}/${repository}${suffixOf(expectedTag, digest)}`);
        expectRoundTrip(reference);
      }),
      RUNS,
    );
  });

  test('every Docker Hub spelling names the same reference', () => {
    fc.assert(
      fc.property(pathArb, optionalTag, optionalDigest, (path, tag, digest) => {
        const suffix = suffixOf(tag, digest);
        const single = !path.includes('/');
        const repository = single ? `library/${path}` : path;
        const first = path.split('/')[0] ?? '';
        // A bare name is only Docker Hub when its first component does not look like a host.
        const bareIsDockerHub = single || (!first.includes('.') && first !== 'localhost');
        const spellings = [`docker.io/${path}`, `index.docker.io/${path}`, `docker.io/${repository}`, `index.docker.io/${repository}`];
        if (bareIsDockerHub) spellings.push(path);
        if (single) spellings.push(repository);
        const expected = { registry: 'docker.io', repository, tag: tag ?? (digest === undefined ? 'latest' : undefined), digest };
        for (const spelling of spellings) {
          expect(expectParsed(`${spelling}${suffix}`)).toEqual(expected);
        }
        expectRoundTrip(expected as ImageReference);
      }),
      RUNS,
    );
  });

  test('IPv6 registries keep their address and have one spelling', () => {
    fc.assert(
      fc.property(ipv6Arb, fc.option(portArb, { nil: undefined }), pathArb, optionalTag, (address, port, path, tag) => {
        const portSuffix = port === undefined ? '' : `:${port}`;
        const lower = expectParsed(`[${address}]${portSuffix}/${path}${suffixOf(tag, undefined)}`);
        const upper = expectParsed(`[${address.toUpperCase()}]${portSuffix}/${path}${suffixOf(tag, undefined)}`);
        expect(upper).toEqual(lower);
        const match = /^\[([^\]]+)\](.*)$/.exec(lower.registry);
        expect(match).not.toBeNull();
        const canonicalAddress = match?.[1] ?? '';
        expect(match?.[2]).toBe(portSuffix);
        expect(isIPv6(canonicalAddress)).toBe(true);
        expect(canonicalAddress).toBe(canonicalAddress.toLowerCase());
        expect(canonicalAddress).not.toMatch(/(^|:)0[0-9a-f]/); // no leading zeros in a group
        expect(ipv6Groups(canonicalAddress)).toEqual(ipv6Groups(address));
        expect(lower.repository).toBe(path);
        expectRoundTrip(lower);
      }),
      RUNS,
    );
  });

  test('normalisation is idempotent for every accepted spelling', () => {
    const spellingArb = fc.oneof(
      fc.tuple(registryArb, pathArb, optionalTag, optionalDigest).map(([r, p, t, d]) => `${r.written}/${p}${suffixOf(t, d)}`),
      fc.tuple(barePathArb, optionalTag, optionalDigest).map(([p, t, d]) => `${p}${suffixOf(t, d)}`),
      fc.tuple(ipv6Arb, pathArb, optionalDigest).map(([a, p, d]) => `[${a.toUpperCase()}]/${p}${suffixOf(undefined, d)}`),
    );
    fc.assert(
      fc.property(spellingArb, (input) => {
        const once = expectParsed(input);
        const twice = expectParsed(formatReference(once));
        expect(twice).toEqual(once);
        expect(formatReference(twice)).toBe(formatReference(once));
      }),
      RUNS,
    );
  });

  test('withDigest output round-trips and keeps the tag', () => {
    fc.assert(
      fc.property(registryArb, pathArb, optionalTag, digestArb, (registry, path, tag, digestText) => {
        const reference = expectParsed(`${registry.written}/${path}${suffixOf(tag, undefined)}`);
        const digest = parseDigest(digestText);
        if (!digest.ok) throw new Error(digest.error.message);
        const pinned = withDigest(reference, digest.value);
        expect(pinned.tag).toBe(reference.tag);
        expect(pinned.digest).toBe(digestText);
        expectRoundTrip(pinned);
      }),
      RUNS,
    );
  });

  test('an upper-case letter anywhere in the repository path is rejected', () => {
    fc.assert(
      fc.property(
        pathArb.filter((path) => /[a-z]/.test(path)),
        fc.nat(),
        (path, seed) => {
          const letters = [...path].map((char, index) => ({ char, index })).filter(({ char }) => /[a-z]/.test(char));
          const chosen = letters[seed % letters.length];
          if (chosen === undefined) throw new Error('filter guarantees a letter');
          const shouted = `${path.slice(0, chosen.index)}${chosen.char.toUpperCase()}${path.slice(chosen.index + 1)}`;
          const result = parseReference(`ghcr.io/${shouted}`);
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.error.message).toContain(`repository name must be lower case: ${JSON.stringify(shouted)}`);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('arbitrary input', () => {
  /** Never throws, always a Result; whatever is accepted lies inside the grammar and round-trips. */
  function checkTotal(input: string): void {
    const result = parseReference(input);
    if (result.ok) {
      expect(input).toMatch(REFERENCE_GRAMMAR);
      expectRoundTrip(result.value);
    } else {
      expect(result.error.code).toBe('INVALID_REFERENCE');
      expect(result.error.input).toBe(input);
      expect(result.error.message.startsWith('invalid image reference "')).toBe(true);
    }
  }

  const referenceAlphabet = fc.constantFrom(...'abcAB019._-:/@[]% \t\u0000ü'.split(''), 'sha256:', 'docker.io/', 'localhost', '::');

  test('random strings never throw', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), checkTotal), RUNS);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), checkTotal), RUNS);
    fc.assert(fc.property(fc.string({ unit: referenceAlphabet, maxLength: 30 }), checkTotal), RUNS);
  });

  test('small edits of valid references never throw and never widen the grammar', () => {
    const validArb = fc
      .tuple(fc.oneof(registryArb.map((r) => `${r.written}/`), fc.constant('')), pathArb, optionalTag, optionalDigest)
      .map(([registry, path, tag, digest]) => `${registry}${path}${suffixOf(tag, digest)}`);
    const editArb = fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'aZ9._-:/@[]%'.split('')));
    fc.assert(
      fc.property(validArb, fc.array(editArb, { minLength: 1, maxLength: 3 }), (valid, edits) => {
        let edited = valid;
        for (const [position, kind, char] of edits) {
          const index = position % (edited.length + 1);
          const skip = kind === 'insert' ? 0 : 1;
          edited = `${edited.slice(0, index)}${kind === 'delete' ? '' : char}${edited.slice(index + skip)}`;
        }
        checkTotal(edited);
      }),
      RUNS,
    );
  });

  test('strings of the distribution grammar never throw; accepted ones round-trip', () => {
    fc.assert(fc.property(fc.stringMatching(REFERENCE_GRAMMAR), checkTotal), RUNS);
  });
});

describe('digest properties', () => {
  const algorithmArb = fc.constantFrom(['sha256', 64] as const, ['sha384', 96] as const, ['sha512', 128] as const);

  test('computed digests have the canonical form and parse', () => {
    fc.assert(
      fc.property(algorithmArb, fc.uint8Array({ maxLength: 256 }), ([algorithm, length], bytes) => {
        const digest = digestOf(bytes, algorithm);
        expect(digest).toMatch(new RegExp(`^${algorithm}:[0-9a-f]{${length}}$`));
        expect(parseDigest(digest)).toEqual({ ok: true, value: digest });
        if (algorithm === 'sha256') expect(sha256Digest(bytes)).toBe(digest);
      }),
      RUNS,
    );
  });

  test('a wrong length or upper-case hex is rejected with the reason', () => {
    fc.assert(
      fc.property(algorithmArb, fc.uint8Array({ minLength: 1, maxLength: 64 }), ([algorithm, length], bytes) => {
        const digest = digestOf(bytes, algorithm);
        const shortened = digest.slice(0, -1);
        const short = parseDigest(shortened);
        expect(short.ok).toBe(false);
        if (!short.ok) expect(short.error.message).toContain(`must be ${length} lower-case hex characters (it has ${length - 1})`);
        const shouted = `${algorithm}:${digest.slice(algorithm.length + 1).toUpperCase()}`;
        if (/[a-f]/.test(digest.slice(algorithm.length + 1))) {
          const upper = parseDigest(shouted);
          expect(upper.ok).toBe(false);
          if (!upper.ok) expect(upper.error.message).toContain('upper-case hex is not accepted');
        }
      }),
      RUNS,
    );
  });

  test('arbitrary strings never make parseDigest throw, and what it accepts is canonical', () => {
    const digestAlphabet = fc.constantFrom(...'sha256384512:abcdefABCDEFg0 '.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.string({ unit: digestAlphabet, maxLength: 140 })), (input) => {
        const result = parseDigest(input);
        if (result.ok) {
          expect(input).toMatch(/^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$/);
        } else {
          expect(result.error.message.startsWith('invalid digest ')).toBe(true);
        }
      }),
      RUNS,
    );
  });
});
