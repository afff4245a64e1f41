// The webhook (src/server/serve.ts) started the way the tests start it: on 127.0.0.1, a free port,
// HTTPS with a self-signed CA in a temporary folder, short timeouts and a silent logger, plus a
// client that trusts that CA. Each test passes what it turns on (trust source, registry hosts,
// events, pull secrets, warm-up, caches, clock...) and may override any default.
//
//   const hook = await startWebhookServer({ policyPath, registry: { hosts: { [host]: { insecureHttp: true } } } });
//   await hook.client.post('/validate', review);
//   await hook.stop();   // closes the client and the server, removes the folder

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { startServer, type RunningServer, type ServeConfig } from '../../src/server/serve.js';
import { webhookClient, type WebhookClient } from './webhook-client.js';

export interface TestWebhookConfig extends Partial<Omit<ServeConfig, 'registry'>> {
  readonly registry: ServeConfig['registry'];
  /** Host names of the self-signed certificate (when no `tls` is given); default 127.0.0.1 only. */
  readonly tlsHosts?: readonly string[];
}

export interface TestWebhook {
  readonly server: RunningServer;
  /** Trusts the generated CA (or nothing, when the test brings its own `tls` files). */
  readonly client: WebhookClient;
  stop(): Promise<void>;
}

export async function startWebhookServer(config: TestWebhookConfig): Promise<TestWebhook> {
  const { tlsHosts = ['127.0.0.1'], ...overrides } = config;
  const dir = mkdtempSync(join(tmpdir(), 'signet-webhook-'));
  try {
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      tls: { kind: 'self-signed', dir, hosts: tlsHosts },
      timeoutSeconds: 5,
      budgetFraction: 0.8,
      bodyLimitBytes: 1 << 20,
      reloadIntervalMs: 50,
      logger: pino({ level: 'silent' }),
      ...overrides,
    });
    const client = webhookClient(server.url, server.caPem ?? []);
    return {
      server,
      client,
      async stop() {
        await client.close();
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** An info-level logger that appends every line it writes, parsed, to `lines`. */
export function loggerInto(lines: Record<string, unknown>[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return pino({ level: 'info' }, stream);
}
