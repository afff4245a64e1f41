// An HTTPS client for the webhook under test, trusting the CA the server generated.
import { Agent, request } from 'undici';

export interface WebhookClient {
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: unknown; text: string }>;
  get(path: string): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

export function webhookClient(baseUrl: string, caPem: string | readonly string[]): WebhookClient {
  const agent = new Agent({ connect: { ca: typeof caPem === 'string' ? caPem : [...caPem] }, keepAliveTimeout: 10_000 });
  return {
    async post(path, body, headers = {}) {
      const res = await request(`${baseUrl}${path}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json, text };
    },
    async get(path) {
      const res = await request(`${baseUrl}${path}`, { dispatcher: agent });
      return { status: res.statusCode, text: await res.body.text() };
    },
    close: () => agent.close(),
  };
}
