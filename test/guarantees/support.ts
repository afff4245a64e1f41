// Shared by the decision-layer guarantee tests: more release-signed images in the real registry of
// test/support/signed-registry.ts, a webhook started the way the server tests start it, and one
// AdmissionReview of a Pod answered over HTTPS and checked the way kube-apiserver checks it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { decryptPrivateKey } from '../../src/signatures/cosign/private-key.js';
import type { SignedRegistry } from '../support/signed-registry.js';
import { pushTestImage } from '../support/signers.js';
import { admissionResponseProblems, admissionReview, workload } from '../support/admission.js';
import { startWebhookServer, type TestWebhook, type TestWebhookConfig } from '../support/webhook-server.js';

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

export interface Webhook extends TestWebhook {
  /** Reviews a Pod with one container `app` running `image` in `namespace`. */
  reviewPod(namespace: string, image: string, path?: string): Promise<AdmissionAnswer>;
}

/** The webhook over HTTPS with a self-signed CA; `config` overrides the defaults (trust, registry, ...). */
export async function startWebhook(config: TestWebhookConfig): Promise<Webhook> {
  const hook = await startWebhookServer(config);
  const { client } = hook;
  let n = 0;
  return {
    ...hook,
    async reviewPod(namespace, image, path = '/validate') {
      const body = admissionReview({ kind: 'Pod', namespace, name: `pod-${++n}`, object: workload('Pod', `pod-${n}`, namespace, { containers: [{ name: 'app', image }] }) });
      const res = await client.post(path, body);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.text}`);
      const problems = admissionResponseProblems(body, res.json, 'validating');
      if (problems.length > 0) throw new Error(`the API server would reject this answer: ${problems.join('; ')}`);
      return (res.json as { response: AdmissionAnswer }).response;
    },
  };
}

/** The one denial line of a single-container Pod's message (the line after the header). */
export function denialLine(answer: AdmissionAnswer): string {
  const lines = answer.status?.message.split('\n') ?? [];
  if (lines.length !== 2) throw new Error(`expected a header and one denial line, got: ${answer.status?.message ?? '(no message)'}`);
  return lines[1]!;
}
