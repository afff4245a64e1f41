// Small shared pieces for talking to the Kubernetes API through @kubernetes/client-node: a per-call
// deadline (the generated client has none of its own) and errors turned into one short sentence.
// Error text is built from the HTTP status and the server's Status message only: never from request
// headers, so a bearer token can never reach a log line.

import { Observable } from '@kubernetes/client-node';
import type { ConfigurationOptions, RequestContext, ResponseContext } from '@kubernetes/client-node';

/**
 * Options for one generated-client call that abort it after `timeoutMs` (connect, headers and body).
 * `cancel` aborts it earlier (shutdown). Appended to the client's own middleware, after authentication.
 */
export function deadlineOptions(timeoutMs: number, cancel?: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          const deadline = AbortSignal.timeout(timeoutMs);
          context.setSignal(cancel === undefined ? deadline : AbortSignal.any([deadline, cancel]));
          return new Observable(Promise.resolve(context));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** The HTTP status of a failed API call, when the failure was an answer (not a network error). */
export function kubeErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const fields = error as { code?: unknown; statusCode?: unknown };
  if (typeof fields.code === 'number') return fields.code; // ApiException from the generated client
  if (typeof fields.statusCode === 'number') return fields.statusCode; // Error from the Watch class
  return undefined;
}

function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const message = (parsed as { message?: unknown }).message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

function clipped(text: string, limit = 300): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > limit ? `${oneLine.slice(0, limit)}…` : oneLine;
}

/** One line for logs and status: `HTTP 403: configmaps is forbidden: …`, `timed out after 5000 ms`, `connect ECONNREFUSED …`. */
export function describeKubeError(error: unknown, timeoutMs?: number): string {
  const status = kubeErrorStatus(error);
  if (status !== undefined) {
    const message = statusMessage((error as { body?: unknown }).body);
    if (message !== undefined) return clipped(`HTTP ${status}: ${message}`);
    // ApiException puts its short message after "Message: "; the Watch class's error is the status text.
    const text = error instanceof Error ? error.message : '';
    const own = /\nMessage: ([^\n]*)/.exec(text)?.[1] ?? (text.startsWith('HTTP-Code:') ? '' : text);
    const useful = own !== '' && own !== 'Unknown API Status Code!';
    return clipped(useful ? `HTTP ${status}: ${own}` : `HTTP ${status}`);
  }
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return timeoutMs === undefined ? 'timed out' : `timed out after ${timeoutMs} ms`;
    if (error.name === 'AbortError') return 'aborted';
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message !== '' ? `: ${cause.message}` : '';
    return clipped(`${error.message}${detail}`);
  }
  return clipped(String(error));
}
