// Building RegistryError values with messages a person can act on: which registry, what was
// asked, what came back. Anything quoted from a server is cleaned and shortened first, and
// credentials are never passed in here.

import type { RegistryError, RegistryErrorCode } from './types.js';

/** What a request was for, e.g. `manifest demo/app:v2`; used in every message about it. */
export interface RequestContext {
  readonly registry: string;
  readonly what: string;
}

export function registryError(code: RegistryErrorCode, context: RequestContext, detail: string, status?: number): RegistryError {
  const message = `registry ${context.registry} ${detail}`;
  return status === undefined ? { code, message, registry: context.registry } : { code, message, registry: context.registry, status };
}

/** Server-provided text made safe to show: printable ASCII only, bounded length. */
export function quoteServerText(text: string, maxLength = 200): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > maxLength ? `${printable.slice(0, maxLength)}...` : printable;
}

/** Registry error bodies are `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}`; returns a short summary or ''. */
export function summariseErrorBody(body: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return '';
  }
  if (typeof parsed !== 'object' || parsed === null) return '';
  const errors = (parsed as Record<string, unknown>)['errors'];
  if (!Array.isArray(errors)) return '';
  const parts: string[] = [];
  for (const entry of errors.slice(0, 3)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const code = (entry as Record<string, unknown>)['code'];
    const message = (entry as Record<string, unknown>)['message'];
    const part = [typeof code === 'string' ? code : '', typeof message === 'string' ? message : ''].filter((s) => s !== '').join(' ');
    if (part !== '') parts.push(part);
  }
  return quoteServerText(parts.join('; '));
}

const STATUS_CODES: ReadonlyArray<readonly [(status: number) => boolean, RegistryErrorCode, string]> = [
  [(s) => s === 401, 'UNAUTHORIZED', 'unauthorized'],
  [(s) => s === 403, 'DENIED', 'access denied'],
  [(s) => s === 404, 'NOT_FOUND', 'not found'],
  [(s) => s === 429, 'RATE_LIMITED', 'rate limited'],
  [(s) => s === 413, 'TOO_LARGE', 'request too large'],
  [(s) => s === 405 || s === 501, 'UNSUPPORTED', 'operation not supported by this registry'],
  [(s) => s === 400 || s === 422, 'BAD_CONTENT', 'request rejected as invalid'],
  [(s) => s >= 500, 'SERVER_ERROR', 'server error'],
];

export interface StatusDetail {
  readonly errorBody?: string;
  readonly retryAfter?: string;
  readonly hint?: string;
}

/** Maps a non-success HTTP status to a RegistryError. */
export function statusError(status: number, context: RequestContext, detail: StatusDetail = {}): RegistryError {
  const rule = STATUS_CODES.find(([matches]) => matches(status));
  const code: RegistryErrorCode = rule?.[1] ?? 'SERVER_ERROR';
  const notes = [rule?.[2] ?? 'unexpected status'];
  if (detail.hint !== undefined) notes.push(detail.hint);
  if (status === 429) notes.push(detail.retryAfter !== undefined ? `retry after ${quoteServerText(detail.retryAfter, 40)}` : 'no Retry-After given');
  if (detail.errorBody !== undefined && detail.errorBody !== '') notes.push(detail.errorBody);
  return registryError(code, context, `answered ${status} for ${context.what} (${notes.join('; ')})`, status);
}
