// OCI distribution client: resolves tags, fetches manifests, blobs and referrers, and pushes
// blobs and manifests (used by tests and tooling). Every byte it returns has been checked against
// a digest it computed itself, every body is read under a size cap, every exchange under a deadline.
// It never trusts a tag, a Docker-Content-Digest header, or a registry's claim to have filtered.
// Expected failures come back as RegistryError values; it does not throw for registry behaviour.

import type { Digest, RepositoryRef } from '../reference/types.js';
import type { Result } from '../util/result.js';
import { ok, err } from '../util/result.js';
import type { Descriptor, FetchedManifest, RegistryClientOptions, RegistryCredentials, RegistryError, RegistryHostConfig, RegistryStats, RequestOptions } from './types.js';
import type { RequestContext } from './errors.js';
import { quoteServerText, registryError, statusError } from './errors.js';
import type { IncomingResponse, OutgoingRequest } from './http.js';
import { Transport, abandon, contentLengthOf, discard, headerValue, headerValues } from './http.js';
import type { Access, RegistryAuthTarget } from './auth.js';
import { Authenticator, retryAfterOf } from './auth.js';
import { credentialIdentity, parseDockerConfigJson } from './credentials.js';
import { algorithmOf, asDigest, digestOf, matchesDigest, referrersTagFor } from '../reference/digest.js';
import { MANIFEST_ACCEPT, OCI_INDEX, checkManifestBody, classifyManifestType } from './media-types.js';
import { indexDescriptors, nextLinkOf } from './referrers.js';
import type { HostLimits } from './limits.js';
import { DEFAULT_HOST_LIMITS, hostLimits } from './limits.js';
import type { SharedStoreSettings } from './shared-store.js';

const MIB = 1024 * 1024;
const DEFAULTS = {
  maxManifestBytes: 4 * MIB,
  maxBlobBytes: 1 * MIB,
  requestTimeoutMs: 5000,
  maxRedirects: 3,
  connectionsPerHost: 16,
  // Kept in step with package.json by hand: reading package.json at runtime breaks once compiled into dist/.
  userAgent: 'signet/0.1.0',
} as const;

/** How often a replica waiting for another one's fetch looks for the result in the shared store. */
const SHARED_POLL_MS = 20;

/** Referrers pages followed before giving up; a longer list is reported, not silently cut. */
const MAX_REFERRER_PAGES = 10;

// Grammar from the distribution spec; checked before a name is put into a URL path.
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const REGISTRY_HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;
const MEDIA_TYPE = /^[A-Za-z0-9][\w.+-]*\/[A-Za-z0-9][\w.+-]*$/;

/** Docker Hub is named `docker.io` everywhere in Signet; its API lives on another host. */
function apiHostOf(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

interface Endpoint extends RegistryAuthTarget {
  readonly resolveWith: 'GET' | 'HEAD';
}

type ManifestRef = { readonly kind: 'tag'; readonly tag: string } | { readonly kind: 'digest'; readonly digest: Digest };

interface ClientView {
  readonly limits: { readonly maxManifestBytes: number; readonly maxBlobBytes: number; readonly requestTimeoutMs: number };
  readonly hosts: ReadonlyMap<string, RegistryHostConfig>;
  readonly credentials: ReadonlyMap<string, RegistryCredentials>;
  readonly transport: Transport;
  readonly auth: Authenticator;
  readonly shared: SharedStoreSettings | undefined;
}

export class RegistryClient {
  readonly #limits: { readonly maxManifestBytes: number; readonly maxBlobBytes: number; readonly requestTimeoutMs: number };
  readonly #hosts: ReadonlyMap<string, RegistryHostConfig>;
  readonly #dockerCredentials: ReadonlyMap<string, RegistryCredentials>;
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  /** Cache shared with other replicas, when configured (ADR 0007). */
  readonly #shared: SharedStoreSettings | undefined;
  /** False for views made by withCredentials(): they share, and must not close, the parent's connections. */
  readonly #ownsTransport: boolean;

  /** Throws on invalid options (a configuration error at start-up, not a registry failure). */
  constructor(options: RegistryClientOptions & { readonly shared?: SharedStoreSettings } = {}, view?: ClientView) {
    if (view) {
      this.#shared = view.shared;
      this.#limits = view.limits;
      this.#hosts = view.hosts;
      this.#dockerCredentials = view.credentials;
      this.#transport = view.transport;
      this.#auth = view.auth;
      this.#ownsTransport = false;
      return;
    }
    this.#ownsTransport = true;
    this.#shared = options.shared;
    this.#limits = {
      maxManifestBytes: positive(options.maxManifestBytes, DEFAULTS.maxManifestBytes, 'maxManifestBytes'),
      maxBlobBytes: positive(options.maxBlobBytes, DEFAULTS.maxBlobBytes, 'maxBlobBytes'),
      requestTimeoutMs: positive(options.requestTimeoutMs, DEFAULTS.requestTimeoutMs, 'requestTimeoutMs'),
    };
    this.#hosts = new Map(Object.entries(options.hosts ?? {}));
    if (options.dockerConfigJson !== undefined) {
      const parsed = parseDockerConfigJson(options.dockerConfigJson);
      if (!parsed.ok) throw new Error(`invalid registry credentials: ${parsed.error}`);
      this.#dockerCredentials = parsed.value;
    } else {
      this.#dockerCredentials = new Map();
    }
    const caBundleByHost = new Map<string, string>();
    if (options.caBundle !== undefined) caBundleByHost.set('*', options.caBundle);
    for (const [registry, config] of this.#hosts) {
      if (config.caBundle !== undefined) caBundleByHost.set(apiHostOf(registry), config.caBundle);
    }
    const maxRedirects = options.maxRedirects ?? DEFAULTS.maxRedirects;
    if (!Number.isSafeInteger(maxRedirects) || maxRedirects < 0) throw new Error('maxRedirects must be a non-negative integer');
    const connectionsPerHost = positive(options.connectionsPerHost, DEFAULTS.connectionsPerHost, 'connectionsPerHost');
    const clientLimits = hostLimits(
      { maxConcurrent: options.maxConcurrentRequests, maxQueued: options.maxQueuedRequests, requestsPerSecond: options.maxRequestsPerSecond, burst: options.burst },
      { ...DEFAULT_HOST_LIMITS, maxConcurrent: connectionsPerHost },
      'registry client',
    );
    const limitsByHost = new Map<string, HostLimits>();
    for (const [registry, config] of this.#hosts) {
      limitsByHost.set(apiHostOf(registry), hostLimits({ maxConcurrent: config.maxConcurrentRequests, requestsPerSecond: config.maxRequestsPerSecond, burst: config.burst }, clientLimits, `registry ${registry}`));
    }
    this.#transport = new Transport({
      timeoutMs: this.#limits.requestTimeoutMs,
      maxRedirects,
      connectionsPerHost,
      userAgent: options.userAgent ?? DEFAULTS.userAgent,
      caBundleByHost,
      limitsFor: (host) => limitsByHost.get(host) ?? clientLimits,
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      ...(options.onThrottle ? { onThrottle: options.onThrottle } : {}),
    });
    this.#auth = new Authenticator(this.#transport);
  }

  /**
   * Tag → descriptor of what the tag points at now (for a multi-arch image: the index, never a platform).
   *
   * GET or HEAD: undici closes the socket after every HEAD (it guards against servers that send a body
   * anyway), so HEAD costs a new TCP (and TLS) connection each time; GET keeps the connection and measured
   * 1.3–2× faster on loopback (perf-limits.md §5). GET also lets us hash the body instead of trusting a header.
   * Docker Hub counts manifest GETs against its pull rate limit but not HEADs, so docker.io defaults to HEAD.
   * With HEAD, the digest comes from Docker-Content-Digest (falling back to GET when it is missing); that is
   * acceptable because a tag is never trusted anyway: whatever is verified afterwards is fetched by digest.
   */
  async resolve(repo: RepositoryRef, tag: string, options: RequestOptions = {}): Promise<Result<Descriptor, RegistryError>> {
    const endpoint = this.#endpoint(repo, options.credentials);
    if (!endpoint.ok) return endpoint;
    const context: RequestContext = { registry: repo.registry, what: `manifest ${repo.repository}:${quoteServerText(tag, 140)}` };
    if (!TAG.test(tag)) return err(registryError('UNSUPPORTED', context, `cannot resolve ${context.what}: not a valid tag`));

    if (endpoint.value.resolveWith === 'HEAD') {
      const key = sharedKey('head', endpoint.value, repo, `:${tag}`);
      let getInstead = false;
      const headed = await this.#throughShared(key, decodeDescriptor, encodeDescriptor, 'tag', options.signal, async () => {
        const answer = await this.#resolveByHead(endpoint.value, repo, tag, context, options.signal);
        if (answer.kind === 'done') return answer.result;
        getInstead = true;
        return err(registryError('UNSUPPORTED', context, 'no Docker-Content-Digest'));
      });
      if (!getInstead) return headed;
    }
    const fetched = await this.#fetchManifest(endpoint.value, repo, { kind: 'tag', tag }, MANIFEST_ACCEPT, context, options.signal);
    if (!fetched.ok) return fetched;
    return ok({ mediaType: fetched.value.mediaType, digest: fetched.value.digest, size: fetched.value.bytes.length });
  }

  /** Manifest or index by tag or digest, with its exact bytes and their digest. */
  async getManifest(repo: RepositoryRef, ref: string, options: RequestOptions = {}): Promise<Result<FetchedManifest, RegistryError>> {
    const endpoint = this.#endpoint(repo, options.credentials);
    if (!endpoint.ok) return endpoint;
    const parsed = parseManifestRef(ref);
    const context: RequestContext = { registry: repo.registry, what: `manifest ${referenceText(repo, parsed ?? { kind: 'tag', tag: quoteServerText(ref, 140) })}` };
    if (parsed === undefined) return err(registryError('UNSUPPORTED', context, `cannot fetch ${context.what}: not a valid tag or supported digest`));
    return this.#fetchManifest(endpoint.value, repo, parsed, MANIFEST_ACCEPT, context, options.signal);
  }

  /** Blob by digest, verified against the digest (and the size when given); capped at maxBytes or maxBlobBytes. */
  async getBlob(repo: RepositoryRef, descriptor: { digest: Digest; size?: number }, options: RequestOptions & { maxBytes?: number } = {}): Promise<Result<Buffer, RegistryError>> {
    const endpoint = this.#endpoint(repo, options.credentials);
    if (!endpoint.ok) return endpoint;
    const context: RequestContext = { registry: repo.registry, what: `blob ${repo.repository}@${quoteServerText(String(descriptor.digest), 140)}` };
    const digest = asDigest(descriptor.digest);
    if (digest === undefined) return err(registryError('UNSUPPORTED', context, `cannot fetch ${context.what}: not a supported digest`));
    const cap = options.maxBytes ?? this.#limits.maxBlobBytes;
    if (!Number.isSafeInteger(cap) || cap <= 0) return err(registryError('UNSUPPORTED', context, `cannot fetch ${context.what}: maxBytes ${cap} is not a positive byte count`));
    const size = descriptor.size;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || size < 0) return err(registryError('UNSUPPORTED', context, `cannot fetch ${context.what}: descriptor size ${size} is not a byte count`));
      if (size > cap) return err(registryError('TOO_LARGE', context, `not asked for ${context.what}: its descriptor says ${size} bytes, over the ${cap}-byte limit`));
    }

    // Shared bytes are checked as fetched ones are: the size, the cap and the digest.
    const fromShared = (bytes: Buffer): Buffer | undefined =>
      bytes.length <= cap && (size === undefined || bytes.length === size) && matchesDigest(bytes, digest) ? bytes : undefined;
    const key = sharedKey('blob', endpoint.value, repo, `@${digest}`);
    return this.#throughShared(key, fromShared, (bytes) => bytes, 'content', options.signal, () => this.#fetchBlob(endpoint.value, repo, digest, size, cap, context, options.signal));
  }

  async #fetchBlob(endpoint: Endpoint, repo: RepositoryRef, digest: Digest, size: number | undefined, cap: number, context: RequestContext, signal: AbortSignal | undefined): Promise<Result<Buffer, RegistryError>> {
    const sent = await this.#send(endpoint, repo, 'pull', { method: 'GET', kind: 'blob', url: this.#url(endpoint, repo, `blobs/${digest}`), followRedirects: true }, context, signal);
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.status !== 200) return err(await this.#failure(endpoint, response, context));

    const announced = contentLengthOf(response.headers);
    if (size !== undefined && announced !== undefined && announced !== size) {
      abandon(response.body);
      return err(registryError('DIGEST_MISMATCH', context, `announced ${announced} bytes for ${context.what} but its descriptor says ${size}`, response.status));
    }
    const body = await this.#transport.readBody(response, size ?? cap, context, (tooMany) =>
      size !== undefined
        ? registryError('DIGEST_MISMATCH', context, `sent more than the ${size} bytes its descriptor gives for ${context.what}`, response.status)
        : tooLarge(context, cap, tooMany, response.status),
    );
    if (!body.ok) return body;
    if (size !== undefined && body.value.length !== size) {
      return err(registryError('DIGEST_MISMATCH', context, `sent ${body.value.length} bytes for ${context.what} but its descriptor says ${size}`, response.status));
    }
    if (!matchesDigest(body.value, digest)) {
      return err(registryError('DIGEST_MISMATCH', context, `sent content for ${context.what} that hashes to ${digestOf(body.value, algorithmOf(digest))}`, response.status));
    }
    return ok(body.value);
  }

  /**
   * Manifests in the repository whose `subject` is `subject`: the referrers API, or the `sha256-<hex>` tag when
   * the registry lacks the API (404, and in practice 400/405/406/501). Filtered by artifactType here even when
   * the registry says it filtered, since that costs nothing and does not depend on the registry's honesty.
   */
  async referrers(repo: RepositoryRef, subject: Digest, options: RequestOptions & { artifactType?: string } = {}): Promise<Result<Descriptor[], RegistryError>> {
    const endpoint = this.#endpoint(repo, options.credentials);
    if (!endpoint.ok) return endpoint;
    const context: RequestContext = { registry: repo.registry, what: `referrers of ${repo.repository}@${quoteServerText(String(subject), 140)}` };
    const digest = asDigest(subject);
    if (digest === undefined) return err(registryError('UNSUPPORTED', context, `cannot list ${context.what}: not a supported digest`));
    const wanted = options.artifactType;
    const key = sharedKey('referrers', endpoint.value, repo, `@${digest}\u0000${wanted ?? ''}`);
    return this.#throughShared(key, decodeDescriptors, encodeDescriptors, 'tag', options.signal, () => this.#listReferrers(endpoint.value, repo, digest, wanted, context, options.signal));
  }

  async #listReferrers(endpoint: Endpoint, repo: RepositoryRef, digest: Digest, wanted: string | undefined, context: RequestContext, signal: AbortSignal | undefined): Promise<Result<Descriptor[], RegistryError>> {
    const keep = (all: Descriptor[]): Descriptor[] => (wanted === undefined ? all : all.filter((d) => d.artifactType === wanted));

    let url = this.#url(endpoint, repo, `referrers/${digest}`);
    if (wanted !== undefined) url.searchParams.set('artifactType', wanted);
    const collected: Descriptor[] = [];
    for (let page = 0; ; page++) {
      const sent = await this.#send(endpoint, repo, 'pull', { method: 'GET', kind: 'referrers', url, headers: { accept: OCI_INDEX }, followRedirects: true }, context, signal);
      if (!sent.ok) return sent;
      const response = sent.value;
      if (page === 0 && [400, 404, 405, 406, 501].includes(response.status)) {
        await discard(response.body);
        return this.#referrersFromTag(endpoint, repo, digest, context, signal, keep);
      }
      if (response.status !== 200) return err(await this.#failure(endpoint, response, context));
      const mediaType = classifyManifestType(headerValue(response.headers, 'content-type'));
      if (mediaType.kind !== 'accepted' || mediaType.mediaType !== OCI_INDEX) {
        abandon(response.body);
        return err(registryError('BAD_CONTENT', context, `answered ${context.what} with Content-Type ${quoteServerText(headerValue(response.headers, 'content-type') ?? '(none)', 80)}, not an OCI image index`, response.status));
      }
      const body = await this.#transport.readBody(response, this.#limits.maxManifestBytes, context, (announced) => tooLarge(context, this.#limits.maxManifestBytes, announced, response.status));
      if (!body.ok) return body;
      const checked = checkManifestBody(body.value, OCI_INDEX);
      if (checked.kind !== 'ok') return err(registryError('BAD_CONTENT', context, `answered ${context.what} with an invalid index: ${checked.kind === 'bad' ? checked.reason : 'schema1'}`, response.status));
      const descriptors = indexDescriptors(checked.json);
      if (!descriptors.ok) return err(registryError('BAD_CONTENT', context, `answered ${context.what} with an invalid index: ${descriptors.error}`, response.status));
      collected.push(...descriptors.value);

      const next = nextLinkOf(headerValue(response.headers, 'link'));
      if (next === undefined) return ok(keep(collected));
      if (page + 1 >= MAX_REFERRER_PAGES) return err(registryError('TOO_LARGE', context, `has more than ${MAX_REFERRER_PAGES} pages of ${context.what}`, response.status));
      let nextUrl: URL;
      try {
        nextUrl = new URL(next, response.url);
      } catch {
        return err(registryError('BAD_CONTENT', context, `sent an invalid next-page link for ${context.what}`, response.status));
      }
      if (nextUrl.origin !== endpoint.origin) return err(registryError('BAD_CONTENT', context, `sent a next-page link for ${context.what} to another host (${nextUrl.host})`, response.status));
      url = nextUrl;
    }
  }

  /** Uploads a blob unless the registry has it already (HEAD first, then a monolithic POST + PUT). */
  async pushBlob(repo: RepositoryRef, bytes: Buffer, options: RequestOptions = {}): Promise<Result<Descriptor, RegistryError>> {
    const endpoint = this.#endpoint(repo, options.credentials);
    if (!endpoint.ok) return endpoint;
    const digest = digestOf(bytes);
    const context: RequestContext = { registry: repo.registry, what: `blob upload ${repo.repository}@${digest}` };
    // The caller sets the real media type in its manifest; a blob itself has none.
    const descriptor: Descriptor = { mediaType: 'application/octet-stream', digest, size: bytes.length };

    const headed = await this.#send(endpoint.value, repo, 'pull,push', { method: 'HEAD', kind: 'blob-head', url: this.#url(endpoint.value, repo, `blobs/${digest}`), followRedirects: true }, context, options.signal);
    if (!headed.ok) return headed;
    await discard(headed.value.body);
    if (headed.value.status === 200) return ok(descriptor);
    if (headed.value.status !== 404) return err(await this.#failure(endpoint.value, headed.value, context));

    const started = await this.#send(endpoint.value, repo, 'pull,push', { method: 'POST', kind: 'blob-upload', url: this.#url(endpoint.value, repo, 'blobs/uploads/'), followRedirects: false }, context, options.signal);
    if (!started.ok) return started;
    if (started.value.status !== 202) return err(await this.#failure(endpoint.value, started.value, context));
    await discard(started.value.body);
    const location = headerValue(started.value.headers, 'location');
    let uploadUrl: URL;
    try {
      uploadUrl = new URL(location ?? '', started.value.url);
      if (location === undefined) throw new Error('no location');
    } catch {
      return err(registryError('SERVER_ERROR', context, `answered 202 for ${context.what} without a usable upload Location`, 202));
    }
    uploadUrl.searchParams.set('digest', digest);
    const put = await this.#send(
      endpoint.value,
      repo,
      'pull,push',
      { method: 'PUT', kind: 'blob-upload', url: uploadUrl, headers: { 'content-type': 'application/octet-stream' }, body: bytes, followRedirects: false },
      context,
      options.signal,
    );
    if (!put.ok) return put;
    if (put.value.status !== 201 && put.value.status !== 204) return err(await this.#failure(endpoint.value, put.value, context));
    const stored = checkEchoedDigest(put.value, digest, context);
    await discard(put.value.body);
    return stored.ok ? ok(descriptor) : stored;
  }

  /** Stores a manifest under a tag or its digest; returns the digest of the bytes sent. */
  async pushManifest(repo: RepositoryRef, ref: string, bytes: Buffer, mediaType: string, options: RequestOptions = {}): Promise<Result<Digest, RegistryError>> {
    const endpoint = this.#endpoint(repo, options.credentials);
    if (!endpoint.ok) return endpoint;
    const parsed = parseManifestRef(ref);
    const context: RequestContext = { registry: repo.registry, what: `manifest push ${referenceText(repo, parsed ?? { kind: 'tag', tag: quoteServerText(ref, 140) })}` };
    if (parsed === undefined) return err(registryError('UNSUPPORTED', context, `cannot push ${context.what}: not a valid tag or supported digest`));
    if (!MEDIA_TYPE.test(mediaType)) return err(registryError('UNSUPPORTED', context, `cannot push ${context.what}: invalid media type`));
    const digest = digestOf(bytes);
    if (parsed.kind === 'digest' && !matchesDigest(bytes, parsed.digest)) {
      return err(registryError('DIGEST_MISMATCH', context, `not pushed: the manifest bytes do not hash to ${parsed.digest}`));
    }
    const target = parsed.kind === 'tag' ? parsed.tag : parsed.digest;
    const put = await this.#send(
      endpoint.value,
      repo,
      'pull,push',
      { method: 'PUT', kind: 'manifest-put', url: this.#url(endpoint.value, repo, `manifests/${target}`), headers: { 'content-type': mediaType }, body: bytes, followRedirects: false },
      context,
      options.signal,
    );
    if (!put.ok) return put;
    if (put.value.status !== 201 && put.value.status !== 204) return err(await this.#failure(endpoint.value, put.value, context));
    const stored = checkEchoedDigest(put.value, digest, context);
    await discard(put.value.body);
    return stored.ok ? ok(digest) : stored;
  }

  async close(): Promise<void> {
    if (this.#ownsTransport) await this.#transport.close();
  }

  /**
   * A client that also uses these credentials (a pod's pull secrets) for registries that have no
   * credentials of their own in `hosts` (those win; docker config entries are replaced), sharing
   * this client's connections and token cache (tokens are cached per credential identity).
   */
  withCredentials(credentials: ReadonlyMap<string, RegistryCredentials>): RegistryClient {
    if (credentials.size === 0) return this;
    const merged = new Map(this.#dockerCredentials);
    for (const [host, c] of credentials) merged.set(host, c);
    return new RegistryClient({}, { limits: this.#limits, hosts: this.#hosts, credentials: merged, transport: this.#transport, auth: this.#auth, shared: this.#shared });
  }

  /**
   * Who this client is to `registry`: a hash of the credentials its requests there carry ("anonymous"
   * without any). What was learnt with one set of credentials is cached under this identity, so a
   * namespace never reads what only another namespace's pull secret could fetch.
   */
  accessIdentity(registry: string): string {
    return credentialIdentity(this.#credentialsFor(registry));
  }

  stats(): RegistryStats {
    return this.#transport.stats();
  }

  /** Requests waiting for their turn (a free slot, a token, or the end of a 429 back-off), by host. */
  waiting(): Map<string, number> {
    return this.#transport.waiting();
  }

  // ---- internals ----

  /** `override`: per-request credentials (a pod's pull secret), used instead of the configured ones. */
  #endpoint(repo: RepositoryRef, override?: RegistryCredentials): Result<Endpoint, RegistryError> {
    const context: RequestContext = { registry: quoteServerText(String(repo.registry), 100), what: `repository ${quoteServerText(String(repo.repository), 140)}` };
    if (typeof repo.registry !== 'string' || !REGISTRY_HOST.test(repo.registry)) {
      return err(registryError('UNSUPPORTED', context, `is not a valid registry host name (asked for ${context.what})`));
    }
    if (typeof repo.repository !== 'string' || repo.repository.length > 255 || !REPOSITORY_NAME.test(repo.repository)) {
      return err(registryError('UNSUPPORTED', context, `cannot be asked for ${context.what}: not a valid repository name`));
    }
    const config = this.#hosts.get(repo.registry);
    const insecureHttp = config?.insecureHttp === true;
    return ok({
      registry: repo.registry,
      origin: `${insecureHttp ? 'http' : 'https'}://${apiHostOf(repo.registry)}`,
      insecureHttp,
      // Bearer tokens are cached per credential identity (auth.ts), so these never share a token with other credentials.
      credentials: override ?? this.#credentialsFor(repo.registry),
      resolveWith: config?.resolveWith ?? (repo.registry === 'docker.io' ? 'HEAD' : 'GET'),
    });
  }

  /** The configured credentials for a host win over docker config ones (which include a pod's pull secrets). */
  #credentialsFor(registry: string): RegistryCredentials | undefined {
    return this.#hosts.get(registry)?.credentials ?? this.#dockerCredentials.get(registry);
  }

  #url(endpoint: Endpoint, repo: RepositoryRef, rest: string): URL {
    return new URL(`/v2/${repo.repository}/${rest}`, endpoint.origin);
  }

  /**
   * Sends with the registry's auth: anonymous (or what the last challenge taught us) first; on a 401 answer
   * the challenge and retry exactly once. A 401 that survives the retry is returned for the caller to report.
   */
  async #send(
    endpoint: Endpoint,
    repo: RepositoryRef,
    access: Access,
    request: Omit<OutgoingRequest, 'authorization' | 'authorizationOrigin' | 'allowPlainHttp'>,
    context: RequestContext,
    signal: AbortSignal | undefined,
  ): Promise<Result<IncomingResponse, RegistryError>> {
    let authorization = this.#auth.initialAuthorization(endpoint, repo.repository, access);
    for (let attempt = 0; ; attempt++) {
      const outgoing: OutgoingRequest = { ...request, authorizationOrigin: endpoint.origin, allowPlainHttp: endpoint.insecureHttp, ...(authorization !== undefined ? { authorization } : {}) };
      const sent = await this.#transport.send(outgoing, context, signal);
      if (!sent.ok || sent.value.status !== 401 || attempt > 0) return sent;
      const challenges = headerValues(sent.value.headers, 'www-authenticate');
      await discard(sent.value.body);
      const answered = await this.#auth.answerChallenge(endpoint, repo.repository, access, challenges, authorization, context, signal);
      if (!answered.ok) return answered;
      authorization = answered.value;
    }
  }

  async #failure(endpoint: Endpoint, response: IncomingResponse, context: RequestContext): Promise<RegistryError> {
    const errorBody = await this.#transport.errorSummary(response);
    const hint = response.status === 401 ? (endpoint.credentials === undefined ? `no credentials configured for ${endpoint.registry}` : 'the configured credentials were refused') : undefined;
    return statusError(response.status, context, { errorBody, ...retryAfterOf(response.headers), ...(hint !== undefined ? { hint } : {}) });
  }

  async #resolveByHead(
    endpoint: Endpoint,
    repo: RepositoryRef,
    tag: string,
    context: RequestContext,
    signal: AbortSignal | undefined,
  ): Promise<{ kind: 'done'; result: Result<Descriptor, RegistryError> } | { kind: 'use-get' }> {
    const done = (result: Result<Descriptor, RegistryError>) => ({ kind: 'done' as const, result });
    const sent = await this.#send(endpoint, repo, 'pull', { method: 'HEAD', kind: 'manifest-head', url: this.#url(endpoint, repo, `manifests/${tag}`), headers: { accept: MANIFEST_ACCEPT }, followRedirects: true }, context, signal);
    if (!sent.ok) return done(sent);
    const response = sent.value;
    await discard(response.body);
    if (response.status !== 200) return done(err(await this.#failure(endpoint, response, context)));
    const mediaType = this.#acceptedManifestType(response, context);
    if (!mediaType.ok) return done(mediaType);
    const digestHeader = headerValue(response.headers, 'docker-content-digest');
    const size = contentLengthOf(response.headers);
    // Old registries omit the header; only a GET (and our own hash) can answer then.
    if (digestHeader === undefined || size === undefined) return { kind: 'use-get' };
    const digest = asDigest(digestHeader.trim());
    if (digest === undefined) return done(err(registryError('BAD_CONTENT', context, `sent a malformed Docker-Content-Digest for ${context.what}`, response.status)));
    if (size > this.#limits.maxManifestBytes) return done(err(tooLarge(context, this.#limits.maxManifestBytes, size, response.status)));
    return done(ok({ mediaType: mediaType.value, digest, size }));
  }

  #acceptedManifestType(response: IncomingResponse, context: RequestContext): Result<string, RegistryError> {
    const contentType = headerValue(response.headers, 'content-type');
    const verdict = classifyManifestType(contentType);
    switch (verdict.kind) {
      case 'accepted':
        return ok(verdict.mediaType);
      case 'schema1':
        return err(registryError('UNSUPPORTED', context, `served ${context.what} as a Docker schema1 manifest, which is deprecated and not supported`, response.status));
      case 'other':
        return err(registryError('BAD_CONTENT', context, `served ${context.what} with Content-Type ${quoteServerText(contentType ?? '(none)', 80)}, which is not an OCI or Docker v2 manifest type`, response.status));
    }
  }

  /**
   * A manifest by tag or digest, through the shared store when there is one: by digest it is content
   * (re-hashed on read); by tag it is a resolution the store authenticates. Either way the bytes are
   * checked again as if fetched: the media type against what was asked for, the body's shape.
   */
  async #fetchManifest(endpoint: Endpoint, repo: RepositoryRef, ref: ManifestRef, accept: string, context: RequestContext, signal: AbortSignal | undefined): Promise<Result<FetchedManifest, RegistryError>> {
    if (this.#shared === undefined) return this.#getManifest(endpoint, repo, ref, accept, context, signal);
    const accepted = new Set(accept.split(',').map((type) => type.trim()));
    const fromShared = (value: Buffer): FetchedManifest | undefined => {
      const manifest = decodeManifest(value, accepted, this.#limits.maxManifestBytes);
      if (manifest === undefined || ref.kind === 'tag') return manifest;
      return matchesDigest(manifest.bytes, ref.digest) ? { ...manifest, digest: ref.digest } : undefined;
    };
    const key = sharedKey('manifest', endpoint, repo, ref.kind === 'tag' ? `:${ref.tag}` : `@${ref.digest}`);
    return this.#throughShared(key, fromShared, encodeManifest, ref.kind === 'tag' ? 'tag' : 'content', signal, () => this.#getManifest(endpoint, repo, ref, accept, context, signal));
  }

  /**
   * `fetch` once for every replica sharing the store: a valid shared value answers; else one replica
   * claims the fetch and the others wait (up to waitMs) for its result before fetching themselves.
   * Failures are not shared (as locally: registry trouble is never cached).
   */
  async #throughShared<T>(
    key: string,
    decode: (value: Buffer) => T | undefined,
    encode: (value: T) => Buffer,
    lifetime: 'tag' | 'content',
    signal: AbortSignal | undefined,
    fetch: () => Promise<Result<T, RegistryError>>,
  ): Promise<Result<T, RegistryError>> {
    const shared = this.#shared;
    if (shared === undefined) return fetch();
    const lifetimeMs = lifetime === 'tag' ? shared.tagTtlMs : shared.contentTtlMs;
    const read = async (): Promise<T | undefined> => {
      const value = await shared.store.get(key, lifetimeMs);
      return value === undefined ? undefined : decode(value);
    };
    const found = await read();
    if (found !== undefined) return ok(found);
    const claimed = await shared.store.claim(key, shared.waitMs * 2);
    if (!claimed) {
      const until = Date.now() + shared.waitMs;
      while (Date.now() < until && signal?.aborted !== true) {
        await new Promise((resolve) => setTimeout(resolve, SHARED_POLL_MS));
        const later = await read();
        if (later !== undefined) return ok(later);
      }
    }
    const fetched = await fetch();
    if (fetched.ok) shared.store.set(key, encode(fetched.value), lifetimeMs);
    if (claimed) shared.store.release(key);
    return fetched;
  }

  async #getManifest(endpoint: Endpoint, repo: RepositoryRef, ref: ManifestRef, accept: string, context: RequestContext, signal: AbortSignal | undefined): Promise<Result<FetchedManifest, RegistryError>> {
    const target = ref.kind === 'tag' ? ref.tag : ref.digest;
    const sent = await this.#send(endpoint, repo, 'pull', { method: 'GET', kind: 'manifest', url: this.#url(endpoint, repo, `manifests/${target}`), headers: { accept }, followRedirects: true }, context, signal);
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.status !== 200) return err(await this.#failure(endpoint, response, context));
    const mediaType = this.#acceptedManifestType(response, context);
    if (!mediaType.ok) {
      abandon(response.body);
      return mediaType;
    }
    const cap = this.#limits.maxManifestBytes;
    const body = await this.#transport.readBody(response, cap, context, (announced) => tooLarge(context, cap, announced, response.status));
    if (!body.ok) return body;
    const bytes = body.value;

    // The digest is always our own hash of the bytes; a header is only ever checked, never believed.
    let digest: Digest;
    if (ref.kind === 'digest') {
      if (!matchesDigest(bytes, ref.digest)) {
        return err(registryError('DIGEST_MISMATCH', context, `sent content for ${context.what} that hashes to ${digestOf(bytes, algorithmOf(ref.digest))}`, response.status));
      }
      digest = ref.digest;
    } else {
      digest = digestOf(bytes);
    }
    const echoed = checkEchoedDigest(response, undefined, context, bytes);
    if (!echoed.ok) return echoed;

    const checked = checkManifestBody(bytes, mediaType.value);
    if (checked.kind === 'schema1') return err(registryError('UNSUPPORTED', context, `served ${context.what} as a Docker schema1 manifest, which is deprecated and not supported`, response.status));
    if (checked.kind === 'bad') return err(registryError('BAD_CONTENT', context, `served an invalid ${context.what}: ${quoteServerText(checked.reason, 200)}`, response.status));
    return ok({ digest, mediaType: mediaType.value, bytes, json: checked.json });
  }

  async #referrersFromTag(
    endpoint: Endpoint,
    repo: RepositoryRef,
    subject: Digest,
    context: RequestContext,
    signal: AbortSignal | undefined,
    keep: (all: Descriptor[]) => Descriptor[],
  ): Promise<Result<Descriptor[], RegistryError>> {
    const tag = referrersTagFor(subject);
    const tagContext: RequestContext = { registry: context.registry, what: `${context.what} (fallback tag ${repo.repository}:${tag})` };
    const fetched = await this.#fetchManifest(endpoint, repo, { kind: 'tag', tag }, OCI_INDEX, tagContext, signal);
    if (!fetched.ok) return fetched.error.code === 'NOT_FOUND' ? ok([]) : fetched;
    if (fetched.value.mediaType !== OCI_INDEX) {
      return err(registryError('BAD_CONTENT', tagContext, `holds a ${fetched.value.mediaType} under ${tag}, not an OCI image index`));
    }
    const descriptors = indexDescriptors(fetched.value.json);
    if (!descriptors.ok) return err(registryError('BAD_CONTENT', tagContext, `holds an invalid referrers index for ${tagContext.what}: ${descriptors.error}`));
    return ok(keep(descriptors.value));
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen <= 0) throw new Error(`${name} must be a positive integer`);
  return chosen;
}

function parseManifestRef(ref: string): ManifestRef | undefined {
  if (typeof ref !== 'string') return undefined;
  if (ref.includes(':')) {
    const digest = asDigest(ref);
    return digest === undefined ? undefined : { kind: 'digest', digest };
  }
  return TAG.test(ref) ? { kind: 'tag', tag: ref } : undefined;
}

/** `demo/app:v1` or `demo/app@sha256:...`, as people write references. */
function referenceText(repo: RepositoryRef, ref: ManifestRef): string {
  return ref.kind === 'tag' ? `${repo.repository}:${ref.tag}` : `${repo.repository}@${ref.digest}`;
}

function tooLarge(context: RequestContext, cap: number, announced: number | undefined, status: number): RegistryError {
  return announced !== undefined
    ? registryError('TOO_LARGE', context, `announced ${announced} bytes for ${context.what}, over the ${cap}-byte limit; not read`, status)
    : registryError('TOO_LARGE', context, `sent more than the ${cap}-byte limit for ${context.what}; stopped reading`, status);
}

/**
 * A Docker-Content-Digest header, when present, must describe the bytes: either equal `expected`, or (for a
 * body we hold) hash-match it under its own algorithm. A disagreeing header means the registry is confused or lying.
 */
function checkEchoedDigest(response: IncomingResponse, expected: Digest | undefined, context: RequestContext, bytes?: Buffer): Result<void, RegistryError> {
  const header = headerValue(response.headers, 'docker-content-digest');
  if (header === undefined) return ok(undefined);
  const echoed = asDigest(header.trim());
  if (echoed === undefined) return err(registryError('BAD_CONTENT', context, `sent a malformed Docker-Content-Digest for ${context.what}`, response.status));
  const agrees = bytes !== undefined ? matchesDigest(bytes, echoed) : echoed === expected;
  if (!agrees) return err(registryError('DIGEST_MISMATCH', context, `sent Docker-Content-Digest ${echoed} for ${context.what}, which does not match the content`, response.status));
  return ok(undefined);
}

// ---- shared store entries (ADR 0007) ----

/**
 * Keys name what was asked, of which registry and repository, and with whose credentials: what one
 * pull secret fetched is never served to another identity (ADR 0004).
 */
function sharedKey(kind: string, endpoint: Endpoint, repo: RepositoryRef, rest: string): string {
  return `${kind}\u0000${credentialIdentity(endpoint.credentials)}\u0000${repo.registry}/${repo.repository}${rest}`;
}

function encodeManifest(manifest: FetchedManifest): Buffer {
  return Buffer.concat([Buffer.from(`${manifest.mediaType}\n`, 'utf8'), manifest.bytes]);
}

/** A shared manifest as if fetched: accepted media type, size cap, our own digest, a valid body. */
function decodeManifest(value: Buffer, accepted: ReadonlySet<string>, maxBytes: number): FetchedManifest | undefined {
  const newline = value.indexOf(0x0a);
  if (newline <= 0 || newline > 255) return undefined;
  const mediaType = value.subarray(0, newline).toString('utf8');
  const bytes = value.subarray(newline + 1);
  if (!accepted.has(mediaType) || bytes.length > maxBytes) return undefined;
  const checked = checkManifestBody(bytes, mediaType);
  if (checked.kind !== 'ok') return undefined;
  return { digest: digestOf(bytes), mediaType, bytes: Buffer.from(bytes), json: checked.json };
}

function encodeDescriptor(descriptor: Descriptor): Buffer {
  return Buffer.from(JSON.stringify({ mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }), 'utf8');
}

function decodeDescriptor(value: Buffer): Descriptor | undefined {
  const list = decodeDescriptors(Buffer.concat([Buffer.from('['), value, Buffer.from(']')]));
  return list?.length === 1 ? list[0] : undefined;
}

function encodeDescriptors(descriptors: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify(descriptors), 'utf8');
}

/** Descriptors as the referrers index gives them, checked again by the same rules. */
function decodeDescriptors(value: Buffer): Descriptor[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const checked = indexDescriptors({ manifests: parsed });
  return checked.ok ? checked.value : undefined;
}
