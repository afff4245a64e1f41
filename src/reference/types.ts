// Shared vocabulary of image identity. A Digest is branded so that a tag (or any unchecked
// string) can never reach code that must decide on content addresses.

/** `sha256:<64 lower hex>` (or sha384/sha512 with their lengths), checked by parseDigest. */
export type Digest = string & { readonly __brand: 'Digest' };

/** A parsed, normalised image reference. */
export interface ImageReference {
  /** Canonical registry host, with port when given: `docker.io`, `registry.example.com:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** Repository path inside the registry, Docker Hub names prefixed with `library/`: `library/nginx`. */
  readonly repository: string;
  /** The tag when one was given, or `latest` when neither tag nor digest was given. */
  readonly tag: string | undefined;
  /** The digest when the reference pins one. It wins over the tag at runtime. */
  readonly digest: Digest | undefined;
}

/** A repository in a registry, where manifests, blobs, signatures and referrers live. */
export interface RepositoryRef {
  readonly registry: string;
  readonly repository: string;
}

export interface ReferenceError {
  readonly code: 'INVALID_REFERENCE';
  /** Human readable: what is wrong and where, e.g. "repository name must be lower case: MyApp". */
  readonly message: string;
  readonly input: string;
}
