// Fetches revocation material for the Notation verifier (signatures/notation/revocation.ts declares
// the interface): OCSP requests POSTed to the responder a certificate names, CRLs fetched from its
// distribution point. It reuses the registry transport (one keep-alive pool, deadline per request and
// the caller's signal, capped reads, bounded redirects). Plain http is allowed: OCSP and CRLs are
// signed, and responders are published as http URLs. It only gathers bytes; the verifier decides
// what they are worth, and failures come back as phrases for its messages.
import { Transport, discard } from '../registry/http.js';
import { registryError } from '../registry/errors.js';
import type { RequestContext } from '../registry/errors.js';
import type { RegistryError } from '../registry/types.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { MAX_CRL_BYTES, MAX_OCSP_RESPONSE_BYTES, type RevocationFetcher } from '../signatures/notation/revocation.js';

export interface RevocationFetchOptions {
  /** Deadline of one exchange. Default 2000 ms, as Notation's own client; a whole image's checks share 3 s. */
  readonly timeoutMs?: number;
}

export class HttpRevocationFetcher implements RevocationFetcher {
  readonly #transport: Transport;

  constructor(options: RevocationFetchOptions = {}) {
    this.#transport = new Transport({
      timeoutMs: options.timeoutMs ?? 2000,
      maxRedirects: 3,
      connectionsPerHost: 4,
      userAgent: 'signet/0.1.0',
      caBundleByHost: new Map(),
    });
  }

  ocsp(url: string, request: Uint8Array, signal?: AbortSignal): Promise<Result<Uint8Array, string>> {
    return this.#fetch(url, 'an OCSP request', MAX_OCSP_RESPONSE_BYTES, signal, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: Buffer.from(request),
    });
  }

  crl(url: string, signal?: AbortSignal): Promise<Result<Uint8Array, string>> {
    return this.#fetch(url, 'a CRL', MAX_CRL_BYTES, signal, { method: 'GET', headers: { accept: 'application/pkix-crl' } });
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  async #fetch(
    text: string,
    what: string,
    maxBytes: number,
    signal: AbortSignal | undefined,
    request: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Buffer },
  ): Promise<Result<Uint8Array, string>> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return err('is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return err('is not an http(s) URL');
    const context: RequestContext = { registry: url.host, what };
    const sent = await this.#transport.send(
      { ...request, url, kind: request.method === 'POST' ? 'ocsp' : 'crl', followRedirects: request.method === 'GET', allowPlainHttp: true },
      context,
      signal,
    );
    if (!sent.ok) return err(phrase(sent.error));
    const response = sent.value;
    if (response.status !== 200) {
      await discard(response.body);
      return err(`answered HTTP ${response.status}`);
    }
    const body = await this.#transport.readBody(response, maxBytes, context, (announced) =>
      registryError('TOO_LARGE', context, announced !== undefined ? `announced ${announced} bytes, over the ${maxBytes}-byte limit` : `sent more than ${maxBytes} bytes`),
    );
    return body.ok ? ok(new Uint8Array(body.value)) : err(phrase(body.error));
  }
}

/** The transport words errors as "registry <host> …"; here the subject is the responder, named by the caller. */
function phrase(error: RegistryError): string {
  const prefix = `registry ${error.registry} `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}
