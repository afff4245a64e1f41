// Shared by the decision-layer guarantee tests: more release-signed images in the real registry of
// test/support/signed-registry.ts, a webhook started the way the server tests start it, and one
// AdmissionReview of a Pod answered over HTTPS and checked the way kube-apiserver checks it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer, type ServeConfig } from '../../src/server/serve.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { decryptPrivateKey } from '../../src/signatures/cosign/private-key.js';
import type { SignedRegistry } from '../support/signed-registry.js';
import { pushTestImage } from '../support/signers.js';
import { admissionResponseProblems, admissionReview, workload } from '../support/admission.js';
import { webhookClient, type WebhookClient } from '../support/webhook-client.js';

export interface AdmissionAnswer {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
}

/** Pushes `apps/<name>:v1` (content of its own) and signs it with the fixture's trusted `release` key. */
export async function pushReleaseSigned(fx: SignedRegistry, name: string): Promise<{ readonly image: string; readonly digest: string }> {
  const pushed = await pushTestImage(fx.registry, fx.dir, `apps/${name}:v1`, `guarantees-${name}`);
  const key = decryptPrivateKey(readFileSync(join(fx.dir, 'release.key'), 'utf8'), 'pw');
  const ref = parseReference(pushed.reference);
  if (!key.ok || !ref.ok) throw new Error('fixture key or reference invalid');
  const client = new RegistryClient({ hosts: { [fx.registry.host]: { insecureHttp: true } } });
  try {
    const signed = await signImage({ client, ref: ref.value, privateKey: key.value, annotations: {} });
    if (!signed.ok) throw new Error(`signing ${pushed.reference}: ${signed.error.message}`);
  } finally {
    await client.close();
  }
  return { image: pushed.reference, digest: pushed.digest };
}

export interface Webhook {
  readonly server: RunningServer;
  readonly client: WebhookClient;
  /** Reviews a Pod with one container `app` running `image` in `namespace`. */
  reviewPod(namespace: string, image: string, path?: string): Promise<AdmissionAnswer>;
  stop(): Promise<void>;
}

/** The webhook over HTTPS with a self-signed CA; `config` overrides the defaults (trust, registry, ...). */
export async function startWebhook(config: Partial<ServeConfig> & Pick<ServeConfig, 'registry'>): Promise<Webhook> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-guarantees-'));
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    tls: { kind: 'self-signed', dir, hosts: ['127.0.0.1'] },
    timeoutSeconds: 5,
    budgetFraction: 0.8,
    bodyLimitBytes: 1 << 20,
    reloadIntervalMs: 50,
    logger: pino({ level: 'silent' }),
    ...config,
  });
  const client = webhookClient(server.url, server.caPem!);
  let n = 0;
  return {
    server,
    client,
    async reviewPod(namespace, image, path = '/validate') {
      const body = admissionReview({ kind: 'Pod', namespace, name: `pod-${++n}`, object: workload('Pod', `pod-${n}`, namespace, { containers: [{ name: 'app', image }] }) });
      const res = await client.post(path, body);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.text}`);
      const problems = admissionResponseProblems(body, res.json, 'validating');
      if (problems.length > 0) throw new Error(`the API server would reject this answer: ${problems.join('; ')}`);
      return (res.json as { response: AdmissionAnswer }).response;
    },
    async stop() {
      await client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The one denial line of a single-container Pod's message (the line after the header). */
export function denialLine(answer: AdmissionAnswer): string {
  const lines = answer.status?.message.split('\n') ?? [];
  if (lines.length !== 2) throw new Error(`expected a header and one denial line, got: ${answer.status?.message ?? '(no message)'}`);
  return lines[1]!;
}
