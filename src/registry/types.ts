// Public vocabulary of the OCI registry client: options, descriptors and the typed error every
// expected registry failure is reported as. No behaviour lives here.

import type { Digest } from '../reference/types.js';

export type RegistryErrorCode =
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'TOO_LARGE'
  | 'DIGEST_MISMATCH'
  | 'BAD_CONTENT'
  | 'RATE_LIMITED'
  | 'SERVER_ERROR'
  | 'TOO_MANY_REDIRECTS'
  | 'UNSUPPORTED';

export interface RegistryError {
  readonly code: RegistryErrorCode;
  /** For a human: what was asked, of which registry/repository/reference, and what came back. Never holds credentials. */
  readonly message: string;
  /** The registry as named in the RepositoryRef (`docker.io`, `127.0.0.1:5000`). */
  readonly registry: string;
  /** HTTP status of the answer that decided the outcome, when there was one. */
  readonly status?: number;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface FetchedManifest {
  /** Digest of `bytes` exactly as served (never of a re-serialisation). */
  readonly digest: Digest;
  /** Media type from Content-Type, parameters removed; equals the body's `mediaType` when the body has one. */
  readonly mediaType: string;
  readonly bytes: Buffer;
  /** `bytes` parsed as a JSON object. */
  readonly json: Record<string, unknown>;
}

export interface RequestOptions {
  /** The caller's deadline or cancellation; combined with the per-request timeout. */
  signal?: AbortSignal;
  /**
   * Credentials for this call only (e.g. from the pod's image pull secrets), used instead of the configured
   * ones for the registry. Tokens obtained with them are cached under their own identity.
   */
  credentials?: RegistryCredentials;
}

export type RegistryCredentials =
  | { readonly username: string; readonly password: string }
  | { readonly identityToken: string };

export interface RegistryHostConfig {
  /** Talk plain HTTP to this registry (test and lab registries only). */
  insecureHttp?: boolean;
  /** Extra trusted CA certificates (PEM) for this registry, added to the default trust store. */
  caBundle?: string;
  /** How a tag is resolved to a digest. Default: 'GET', except 'HEAD' for docker.io (see client.ts). */
  resolveWith?: 'GET' | 'HEAD';
  /** Takes precedence over credentials from `dockerConfigJson`. */
  credentials?: RegistryCredentials;
  /** Request rate to this registry's API host (token bucket refill). Default: the client's maxRequestsPerSecond. */
  maxRequestsPerSecond?: number;
  /** Requests that may go at once after a quiet spell. Default: the client's burst. */
  burst?: number;
  /** Requests in flight at once to this registry's API host. Default: the client's maxConcurrentRequests. */
  maxConcurrentRequests?: number;
}

/** Why a request was throttled: the registry answered 429, our rate limit held it back, or the host's queue was full. */
export type ThrottleReason = '429' | 'rate-limit' | 'queue-full';

export interface RegistryClientOptions {
  /** Told about every HTTP exchange with a registry (host, kind of request, status or error, seconds), for metrics. */
  onRequest?: (event: { readonly host: string; readonly kind: string; readonly outcome: string; readonly seconds: number }) => void;
  /** Extra CA certificates (PEM) trusted for every registry, added to the default trust store. */
  caBundle?: string;
  /** Per-registry settings keyed by registry host[:port] exactly as in RepositoryRef.registry. */
  hosts?: Readonly<Record<string, RegistryHostConfig>>;
  /** Content of a `.dockerconfigjson` (Kubernetes pull secret): auths.<host>.{auth | username+password | identitytoken}. */
  dockerConfigJson?: string;
  /** Cap on a manifest or index body. Default 4 MiB. */
  maxManifestBytes?: number;
  /** Default cap on a blob body (signature payloads are small). Default 1 MiB. */
  maxBlobBytes?: number;
  /** Deadline for one HTTP exchange, headers and body together. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** Redirects followed per request. Default 3. */
  maxRedirects?: number;
  /** Open connections per origin. Default 16. */
  connectionsPerHost?: number;
  /** Default `signet/<version>`. */
  userAgent?: string;
  /**
   * Politeness, per host (registry API host, token realm, redirect target): requests in flight at once
   * (default connectionsPerHost), with at most maxQueuedRequests waiting behind them (default 1000; more are
   * refused RATE_LIMITED at once); a token bucket of maxRequestsPerSecond (default 50) and burst (default 100).
   * Per-registry values in `hosts` override these for that registry's API host.
   */
  maxConcurrentRequests?: number;
  maxQueuedRequests?: number;
  maxRequestsPerSecond?: number;
  burst?: number;
  /** Told when a request meets a 429, is held back by the rate limit (waited or refused), or finds its host's queue full. */
  onThrottle?: (event: { readonly host: string; readonly reason: ThrottleReason }) => void;
}

export interface RegistryStats {
  /** Every HTTP request sent, including redirect hops, auth retries and token requests. */
  readonly requests: number;
  /** The same count split by kind: manifest, manifest-head, blob, blob-head, referrers, token, blob-upload, manifest-put. */
  readonly byKind: Readonly<Record<string, number>>;
}
