// HTTP client for a notary server's TUF metadata (`GET <server>/v2/<gun>/_trust/tuf/<role>.json`).
// It reuses the registry client's transport (one keep-alive pool, private CA per origin, deadline
// per request and the caller's signal, capped reads, redirects that never carry credentials to
// another origin) and its authenticator (the Docker bearer-token flow on a 401, anonymous, scope
// `repository:<gun>:pull`). It only gathers bytes: verify.ts decides what they are worth.
import { registryError, statusError } from '../registry/errors.js';
import type { RequestContext } from '../registry/errors.js';
import { Authenticator } from '../registry/auth.js';
import type { RegistryAuthTarget } from '../registry/auth.js';
import { Transport, discard, headerValues } from '../registry/http.js';
import type { RegistryError } from '../registry/types.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';

export interface TrustServerOptions {
  /** Base URL, `https://notary.example.com:4443` (a path prefix is kept); no trailing slash needed. */
  readonly server: string;
  /** Extra CA certificates (PEM) for this server only. */
  readonly caBundle?: string;
  /** Allow a plain-http server URL (test servers only). */
  readonly insecureHttp: boolean;
  /** Deadline for one HTTP exchange. Default 5000 ms. */
  readonly timeoutMs?: number;
}

// A GUN is `<registry host[:port]>/<repository path>`; anything else never reaches a URL.
const GUN = /^[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)+$/;
const ROLE = /^(?:root|targets|snapshot|timestamp|targets\/[A-Za-z0-9][A-Za-z0-9._-]*)$/;

export class TrustServerClient {
  readonly #base: URL;
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #target: RegistryAuthTarget;

  /** Throws on an invalid server URL (compiling the policy has already refused those). */
  constructor(options: TrustServerOptions) {
    this.#base = new URL(options.server.endsWith('/') ? options.server : `${options.server}/`);
    if (this.#base.protocol !== 'https:' && !(this.#base.protocol === 'http:' && options.insecureHttp)) {
      throw new Error(`notary server ${options.server} must be https unless insecureHttp is set`);
    }
    this.#transport = new Transport({
      timeoutMs: options.timeoutMs ?? 5000,
      maxRedirects: 3,
      connectionsPerHost: 8,
      userAgent: 'signet/0.1.0',
      caBundleByHost: new Map(options.caBundle === undefined ? [] : [[this.#base.host, options.caBundle]]),
    });
    this.#auth = new Authenticator(this.#transport);
    this.#target = { registry: this.#base.host, origin: this.#base.origin, insecureHttp: options.insecureHttp, credentials: undefined };
  }

  /** The base URL, for messages. */
  get server(): string {
    return this.#base.href.replace(/\/$/, '');
  }

  /**
   * One role's metadata exactly as served, or undefined when the server has none (404). Failures to
   * look (network, TLS, auth, deadline, an answer larger than `maxBytes`) are errors.
   */
  async fetchRole(gun: string, role: string, maxBytes: number, signal?: AbortSignal): Promise<Result<Buffer | undefined, RegistryError>> {
    const context: RequestContext = { registry: this.#base.host, what: `trust metadata ${role}.json of ${gun}` };
    if (!GUN.test(gun) || !ROLE.test(role)) {
      return err(renamed(registryError('UNSUPPORTED', context, `cannot be asked for ${role}.json of ${JSON.stringify(gun)}: not a repository name notary accepts`)));
    }
    const url = new URL(`v2/${gun}/_trust/tuf/${role}.json`, this.#base);
    let authorization = this.#auth.initialAuthorization(this.#target, gun, 'pull');
    // One retry: after a 401 with a fresh token. A second 401 is the answer.
    for (let attempt = 0; attempt < 2; attempt++) {
      const sent = await this.#transport.send(
        {
          method: 'GET',
          url,
          kind: 'dct-metadata',
          headers: { accept: 'application/json' },
          ...(authorization !== undefined ? { authorization, authorizationOrigin: this.#base.origin } : {}),
          followRedirects: true,
          allowPlainHttp: this.#target.insecureHttp,
        },
        context,
        signal,
      );
      if (!sent.ok) return err(renamed(sent.error));
      const response = sent.value;
      if (response.status === 200) {
        const body = await this.#transport.readBody(response, maxBytes, context, (announced) =>
          registryError(
            'TOO_LARGE',
            context,
            announced !== undefined ? `announced ${announced} bytes for ${context.what}, over the ${maxBytes}-byte limit` : `sent more than ${maxBytes} bytes for ${context.what}`,
          ),
        );
        return body.ok ? ok(body.value) : err(renamed(body.error));
      }
      if (response.status === 404) {
        await discard(response.body);
        return ok(undefined);
      }
      if (response.status === 401 && attempt === 0) {
        const challenges = headerValues(response.headers, 'www-authenticate');
        await discard(response.body);
        const answered = await this.#auth.answerChallenge(this.#target, gun, 'pull', challenges, authorization, context, signal);
        if (!answered.ok) return err(renamed(answered.error));
        authorization = answered.value;
        continue;
      }
      const errorBody = await this.#transport.errorSummary(response);
      return err(renamed(statusError(response.status, context, { errorBody })));
    }
    // The loop returns on every path of its second pass.
    return err(renamed(registryError('UNAUTHORIZED', context, `refused ${context.what} after authenticating`, 401)));
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}

/** The registry transport words errors as "registry <host> …"; here the host is a notary server. */
function renamed(error: RegistryError): RegistryError {
  return error.message.startsWith('registry ') ? { ...error, message: `notary server ${error.message.slice('registry '.length)}` } : error;
}
