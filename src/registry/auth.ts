// Registry authentication: answers a 401 challenge (Bearer token flow or Basic), caches bearer
// tokens per (realm, service, scope, credential identity), and decides where credentials may go.
//
// Rules (see docs/adr/0002-registry-client.md):
// - Requests start anonymous, or with what an earlier challenge from the same registry taught us.
// - A token realm must be https unless the registry itself is configured insecureHttp.
// - Credentials go to a realm on another host only over https; to the registry's own host they go
//   over whatever scheme the registry uses (plain http only when configured insecureHttp).
// - Tokens expire at receipt time + expires_in (default 60 s) minus a safety margin. The local clock
//   is used rather than issued_at, so a skewed registry clock cannot stretch a token's life.
// - Credentials and tokens never appear in an error message.

import type { Result } from '../util/result.js';
import { ok, err } from '../util/result.js';
import type { RegistryCredentials, RegistryError } from './types.js';
import type { RequestContext } from './errors.js';
import { registryError, statusError } from './errors.js';
import type { Transport } from './http.js';
import { headerValue } from './http.js';
import { parseWwwAuthenticate } from './www-authenticate.js';
import { basicAuthorization, credentialIdentity } from './credentials.js';
import { SingleFlight } from '../util/single-flight.js';

const DEFAULT_TOKEN_LIFETIME_S = 60;
const MAX_SAFETY_MARGIN_MS = 30_000;
const TOKEN_BODY_LIMIT = 256 * 1024;
const MAX_CACHED_TOKENS = 1000;
// A token becomes a header value; anything outside visible ASCII could split or corrupt the request.
const SAFE_TOKEN = /^[\x21-\x7e]+$/;

export type Access = 'pull' | 'pull,push';

/** What one registry told us about how to authenticate (learned from its last challenge). */
type HostScheme = { readonly kind: 'bearer'; readonly realm: URL; readonly service: string | undefined } | { readonly kind: 'basic' };

export interface RegistryAuthTarget {
  readonly registry: string;
  /** Origin of the registry API (`https://registry-1.docker.io`); credentials are bound to it. */
  readonly origin: string;
  readonly insecureHttp: boolean;
  readonly credentials: RegistryCredentials | undefined;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

export class Authenticator {
  readonly #transport: Transport;
  readonly #schemes = new Map<string, HostScheme>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inFlight = new SingleFlight<Result<string, RegistryError>>();
  readonly #now: () => number;

  constructor(transport: Transport, now: () => number = Date.now) {
    this.#transport = transport;
    this.#now = now;
  }

  /** The Authorization to try first, from what the registry asked for last time; undefined = anonymous. */
  initialAuthorization(target: RegistryAuthTarget, repository: string, access: Access): string | undefined {
    const scheme = this.#schemes.get(target.registry);
    if (scheme === undefined) return undefined;
    if (scheme.kind === 'basic') {
      return target.credentials !== undefined && 'username' in target.credentials ? basicAuthorization(target.credentials) : undefined;
    }
    const cached = this.#tokens.get(this.#tokenKey(scheme, scopeFor(repository, access), target.credentials));
    return cached !== undefined && cached.expiresAtMs > this.#now() ? `Bearer ${cached.token}` : undefined;
  }

  /**
   * Called after a 401: learns the challenge and returns the Authorization to retry with. A cached token that
   * was just refused is dropped first, so the retry uses a fresh one.
   */
  async answerChallenge(
    target: RegistryAuthTarget,
    repository: string,
    access: Access,
    wwwAuthenticate: readonly string[],
    refusedAuthorization: string | undefined,
    context: RequestContext,
    signal: AbortSignal | undefined,
  ): Promise<Result<string, RegistryError>> {
    const challenges = wwwAuthenticate.flatMap((value) => parseWwwAuthenticate(value));
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');

    if (bearer !== undefined) {
      const realmText = bearer.params.get('realm');
      if (realmText === undefined || realmText === '') return err(unauthorized(context, 'its Bearer challenge names no token realm'));
      let realm: URL;
      try {
        realm = new URL(realmText);
      } catch {
        return err(unauthorized(context, 'its Bearer challenge names an invalid token realm'));
      }
      if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && target.insecureHttp)) {
        return err(unauthorized(context, `its token realm ${realm.protocol}//${realm.host} is not https (allowed only for registries configured insecureHttp)`));
      }
      if (realm.username !== '' || realm.password !== '') return err(unauthorized(context, 'its token realm URL embeds user information'));
      const scheme: HostScheme = { kind: 'bearer', realm, service: bearer.params.get('service') };
      this.#schemes.set(target.registry, scheme);
      const scope = scopeFor(repository, access);
      const key = this.#tokenKey(scheme, scope, target.credentials);
      const cached = this.#tokens.get(key);
      if (cached !== undefined && refusedAuthorization === `Bearer ${cached.token}`) this.#tokens.delete(key);
      const token = await this.#singleFlight(key, () => this.#fetchToken(target, scheme, scope, key, context, signal));
      return token.ok ? ok(`Bearer ${token.value}`) : token;
    }

    if (basic !== undefined) {
      this.#schemes.set(target.registry, { kind: 'basic' });
      if (target.credentials === undefined) return err(unauthorized(context, `it requires credentials and none are configured for ${target.registry}`));
      if (!('username' in target.credentials)) return err(unauthorized(context, 'it requires Basic credentials and only an identity token is configured'));
      const authorization = basicAuthorization(target.credentials);
      if (refusedAuthorization === authorization) return err(unauthorized(context, 'the configured credentials were refused'));
      return ok(authorization);
    }

    return err(unauthorized(context, challenges.length === 0 ? 'no usable WWW-Authenticate challenge' : `unsupported auth scheme ${challenges.map((c) => c.scheme).join(', ')}`));
  }

  /** Cache key: credential identity is a hash, so the cache never holds or compares secrets in the clear. */
  #tokenKey(scheme: { readonly realm: URL; readonly service: string | undefined }, scope: string, credentials: RegistryCredentials | undefined): string {
    return JSON.stringify([scheme.realm.href, scheme.service ?? '', scope, credentialIdentity(credentials)]);
  }

  #singleFlight(key: string, fetch: () => Promise<Result<string, RegistryError>>): Promise<Result<string, RegistryError>> {
    return this.#inFlight.run(key, fetch).promise;
  }

  async #fetchToken(
    target: RegistryAuthTarget,
    scheme: { readonly realm: URL; readonly service: string | undefined },
    scope: string,
    key: string,
    context: RequestContext,
    signal: AbortSignal | undefined,
  ): Promise<Result<string, RegistryError>> {
    const tokenContext: RequestContext = { registry: context.registry, what: `a token for ${context.what} from ${scheme.realm.origin}${scheme.realm.pathname}` };
    const url = new URL(scheme.realm.href);
    if (scheme.service !== undefined) url.searchParams.append('service', scheme.service);
    url.searchParams.append('scope', scope);

    // Never hand credentials to a third-party host over plain http; same-host realms follow the registry's own scheme.
    const sameHost = scheme.realm.origin === target.origin;
    const credentials = target.credentials !== undefined && (scheme.realm.protocol === 'https:' || sameHost) ? target.credentials : undefined;

    const common = { kind: 'token', followRedirects: true, allowPlainHttp: target.insecureHttp, authorizationOrigin: scheme.realm.origin } as const;
    const sent =
      credentials !== undefined && 'identityToken' in credentials
        ? await this.#transport.send(
            {
              ...common,
              method: 'POST',
              url: scheme.realm,
              headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
              // OAuth2 refresh-token grant (distribution spec, auth/oauth.md): identity tokens are refresh tokens.
              body: Buffer.from(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, service: scheme.service ?? '', scope, client_id: 'signet' }).toString()),
            },
            tokenContext,
            signal,
          )
        : await this.#transport.send(
            { ...common, method: 'GET', url, headers: { accept: 'application/json' }, ...(credentials !== undefined ? { authorization: basicAuthorization(credentials) } : {}) },
            tokenContext,
            signal,
          );
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.status !== 200) {
      const errorBody = await this.#transport.errorSummary(response);
      if (response.status === 401 || response.status === 403) {
        return err(registryError('UNAUTHORIZED', context, `token endpoint ${scheme.realm.host} refused ${credentials === undefined ? 'an anonymous token request' : 'a token request with the configured credentials'} (${response.status}) for ${context.what}`, response.status));
      }
      return err(statusError(response.status, tokenContext, { errorBody, ...retryAfterOf(response.headers) }));
    }
    const body = await this.#transport.readBody(response, TOKEN_BODY_LIMIT, tokenContext, () => registryError('TOO_LARGE', tokenContext, `sent a token response over ${TOKEN_BODY_LIMIT} bytes for ${tokenContext.what}`));
    if (!body.ok) return body;

    let parsed: unknown;
    try {
      parsed = JSON.parse(body.value.toString('utf8'));
    } catch {
      return err(unauthorized(context, `its token endpoint ${scheme.realm.host} answered with something other than JSON`));
    }
    const fields = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const token = typeof fields['token'] === 'string' && fields['token'] !== '' ? fields['token'] : fields['access_token'];
    if (typeof token !== 'string' || token === '') return err(unauthorized(context, `its token endpoint ${scheme.realm.host} returned no token`));
    if (!SAFE_TOKEN.test(token)) return err(unauthorized(context, `its token endpoint ${scheme.realm.host} returned a token with characters not allowed in a header`));

    const expiresIn = fields['expires_in'];
    const lifetimeMs = (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_LIFETIME_S) * 1000;
    // Renew before the registry would refuse it: a quarter of its life, at most 30 s, early.
    const expiresAtMs = this.#now() + lifetimeMs - Math.min(MAX_SAFETY_MARGIN_MS, lifetimeMs / 4);
    if (this.#tokens.size >= MAX_CACHED_TOKENS) {
      const oldest = this.#tokens.keys().next();
      if (oldest.done !== true) this.#tokens.delete(oldest.value);
    }
    this.#tokens.set(key, { token, expiresAtMs });
    return ok(token);
  }
}

export function scopeFor(repository: string, access: Access): string {
  return `repository:${repository}:${access}`;
}

export function retryAfterOf(headers: Parameters<typeof headerValue>[0]): { retryAfter?: string } {
  const value = headerValue(headers, 'retry-after');
  return value === undefined ? {} : { retryAfter: value };
}

function unauthorized(context: RequestContext, why: string): RegistryError {
  return registryError('UNAUTHORIZED', context, `could not authenticate for ${context.what}: ${why}`, 401);
}
