// Image reference parsing and normalisation: turns the `image:` string of a pod spec into one
// canonical ImageReference (registry, repository, tag, digest), and formats it back. Policies, caches
// and the registry client all work on this canonical form, so it must be the same for every spelling
// the container runtime treats as the same image, and it must never accept a string the runtime would
// read differently. It does no I/O.
//
// Grammar: docker/distribution's reference grammar as containerd and the Docker CLI apply it
// (`reference := name [":" tag] ["@" digest]`). The first path component is a registry when it
// contains "." or ":", is "localhost", or has an upper-case letter (distribution's rule; such hosts are
// then rejected, see registry-host.ts). Otherwise the registry is docker.io, where one-component names
// get the `library/` prefix; `index.docker.io` is the legacy name of docker.io.
// Where we are stricter than distribution (never looser): registry hosts must be lower case, IPv6
// literals must be valid and are written in RFC 5952 form, ports are 1..65535 without leading zeros,
// and digests are limited to sha256/sha384/sha512 in lower-case hex of the exact length.

import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { checkDigest } from './digest.js';
import { quote } from '../util/quote.js';
import { checkRegistryHost } from './registry-host.js';
import type { Digest, ImageReference, ReferenceError, RepositoryRef } from './types.js';

export { digestOf, parseDigest, sha256Digest } from './digest.js';
export type { DigestAlgorithm } from './digest.js';

const DEFAULT_REGISTRY = 'docker.io';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const OFFICIAL_REPOSITORY_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
/** distribution's NameTotalLengthMax, applied to the normalised `registry/repository`. */
const NAME_MAX_LENGTH = 255;
const TAG_MAX_LENGTH = 128;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const WHITESPACE = /\s/;
// A bare 64-hex string is an image ID to Docker and containerd, not a repository name.
const IMAGE_ID = /^[a-f0-9]{64}$/;

function invalid(input: string, detail: string): { readonly ok: false; readonly error: ReferenceError } {
  return err({ code: 'INVALID_REFERENCE', message: `invalid image reference ${quote(input)}: ${detail}`, input });
}

function checkTag(tag: string): string | undefined {
  if (tag.length === 0) {
    return 'tag after ":" is empty';
  }
  if (tag.length > TAG_MAX_LENGTH) {
    return `tag ${quote(tag)} is ${tag.length} characters long; at most ${TAG_MAX_LENGTH} are allowed`;
  }
  if (!TAG.test(tag)) {
    return (
      `tag ${quote(tag)} is invalid: it must start with a letter, digit or "_" ` +
      'and contain only letters, digits, "_", "." and "-"'
    );
  }
  return undefined;
}

function checkRepositoryPath(path: string, pathAsWritten: string): string | undefined {
  for (const component of path.split('/')) {
    if (PATH_COMPONENT.test(component)) {
      continue;
    }
    if (PATH_COMPONENT.test(component.toLowerCase())) {
      return `repository name must be lower case: ${quote(pathAsWritten)}`;
    }
    return (
      `path component ${quote(component)} is invalid: it must be lower-case letters and digits, ` +
      'separated by ".", "_", "__" or dashes'
    );
  }
  return undefined;
}

/** Splits `name[:tag]`: the tag separator is the first ":" after the last "/" (earlier ones belong to the registry). */
function splitTag(nameAndTag: string): { name: string; tag: string | undefined } {
  const lastSlash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.indexOf(':', lastSlash + 1);
  if (colon < 0) {
    return { name: nameAndTag, tag: undefined };
  }
  return { name: nameAndTag.slice(0, colon), tag: nameAndTag.slice(colon + 1) };
}

/** Parses and normalises an image reference such as `nginx`, `ghcr.io/org/app:v1` or `repo@sha256:…`. */
export function parseReference(input: string): Result<ImageReference, ReferenceError> {
  if (typeof input !== 'string') {
    // Pod specs arrive as JSON; a caller that forgot to check gets a value, not a crash.
    return err({ code: 'INVALID_REFERENCE', message: 'invalid image reference: it must be a string', input: String(input) });
  }
  if (input.length === 0) {
    return invalid(input, 'it is empty');
  }
  if (WHITESPACE.test(input)) {
    return invalid(input, 'it must not contain whitespace');
  }
  const scheme = URL_SCHEME.exec(input);
  if (scheme !== null) {
    return invalid(input, `it must not start with a URL scheme (${quote(scheme[0])}); write registry/repository[:tag][@digest]`);
  }

  const atParts = input.split('@');
  if (atParts.length > 2) {
    return invalid(input, `it has ${atParts.length - 1} "@" characters; only one is allowed, before the digest`);
  }
  const nameAndTag = atParts[0] ?? '';
  const digestText = atParts[1];
  let digest: Digest | undefined;
  if (digestText !== undefined) {
    if (digestText.length === 0) {
      return invalid(input, 'digest after "@" is empty');
    }
    const checkedDigest = checkDigest(digestText);
    if (!checkedDigest.ok) {
      return invalid(input, checkedDigest.error);
    }
    digest = checkedDigest.value;
  }

  if (nameAndTag.startsWith('[') && !nameAndTag.includes('/')) {
    return invalid(input, `registry ${quote(nameAndTag)} must be followed by "/" and a repository name`);
  }
  const { name, tag } = splitTag(nameAndTag);
  if (tag !== undefined) {
    const tagProblem = checkTag(tag);
    if (tagProblem !== undefined) {
      return invalid(input, tagProblem);
    }
  }

  if (name.length === 0) {
    return invalid(input, 'repository name is empty');
  }
  if (name.startsWith('/')) {
    return invalid(input, 'it must not start with "/"');
  }
  if (name.endsWith('/')) {
    return invalid(input, 'it must not end with "/"');
  }
  if (name.includes('//')) {
    return invalid(input, 'it has an empty path component ("//")');
  }
  if (input === name && IMAGE_ID.test(name)) {
    return invalid(input, 'a 64-character hex string is an image ID, not a repository name');
  }

  const firstSlash = name.indexOf('/');
  const firstComponent = firstSlash < 0 ? '' : name.slice(0, firstSlash);
  const firstIsRegistry =
    firstSlash >= 0 &&
    (/[.:]/.test(firstComponent) || firstComponent === 'localhost' || firstComponent !== firstComponent.toLowerCase());

  let registry = DEFAULT_REGISTRY;
  let pathAsWritten = name;
  if (firstIsRegistry) {
    const checkedHost = checkRegistryHost(firstComponent);
    if (!checkedHost.ok) {
      return invalid(input, checkedHost.error);
    }
    registry = checkedHost.value === LEGACY_DEFAULT_REGISTRY ? DEFAULT_REGISTRY : checkedHost.value;
    pathAsWritten = name.slice(firstSlash + 1);
  }
  const repository =
    registry === DEFAULT_REGISTRY && !pathAsWritten.includes('/')
      ? OFFICIAL_REPOSITORY_PREFIX + pathAsWritten
      : pathAsWritten;

  // Checked before the component regexes so that a huge input costs no more than this comparison.
  const fullName = `${registry}/${repository}`;
  if (fullName.length > NAME_MAX_LENGTH) {
    return invalid(input, `name ${quote(fullName)} is ${fullName.length} characters long; at most ${NAME_MAX_LENGTH} are allowed`);
  }
  const pathProblem = checkRepositoryPath(repository, pathAsWritten);
  if (pathProblem !== undefined) {
    return invalid(input, pathProblem);
  }

  return ok(
    Object.freeze({
      registry,
      repository,
      tag: tag ?? (digest === undefined ? DEFAULT_TAG : undefined),
      digest,
    }),
  );
}

/** Canonical full form `registry/repository[:tag][@digest]`; parseReference reads it back to the same value. */
export function formatReference(ref: ImageReference): string {
  const tagPart = ref.tag === undefined ? '' : `:${ref.tag}`;
  const digestPart = ref.digest === undefined ? '' : `@${ref.digest}`;
  return `${ref.registry}/${ref.repository}${tagPart}${digestPart}`;
}

export function repositoryOf(ref: ImageReference): RepositoryRef {
  return Object.freeze({ registry: ref.registry, repository: ref.repository });
}

/** `registry/repository`, e.g. `docker.io/library/nginx`. */
export function repositoryName(repo: RepositoryRef): string {
  return `${repo.registry}/${repo.repository}`;
}

/** The same reference pinned to a digest; the tag stays for display and for policies that name tags. */
export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  return Object.freeze({ registry: ref.registry, repository: ref.repository, tag: ref.tag, digest });
}

/** Host to dial for a canonical registry: Docker Hub's API lives on registry-1.docker.io, others on themselves. */
export function apiHostOf(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_API_HOST : registry;
}
