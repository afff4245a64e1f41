// `signet sign IMAGE --key FILE [-a key=value]...`: sign the image's digest and attach the
// signature the way cosign does, so cosign, containers/image and Signet all read it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReference, parseReference, withDigest } from '../reference/parse.js';
import { RegistryClient } from '../registry/client.js';
import { decryptPrivateKey } from '../signatures/cosign/private-key.js';
import { signImage } from '../signing/sign.js';
import { EXIT_OK, UsageError, type CliIO } from './io.js';
import { existingPassword } from './keygen.js';
import { REGISTRY_FLAGS, registryOptions, timeoutMs } from './registry-options.js';

export const SIGN_USAGE = `Usage: signet sign IMAGE --key FILE [-a key=value]... [--insecure-registry HOST]... [--ca-file FILE] [--docker-config FILE]
Signs the digest IMAGE resolves to and pushes a cosign-compatible signature (tag sha256-<hex>.sig),
keeping any signatures already attached.`;

export async function signCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { key: { type: 'string' }, annotation: { type: 'string', short: 'a', multiple: true }, ...REGISTRY_FLAGS },
  });
  if (positionals.length !== 1) throw new UsageError('sign takes exactly one IMAGE');
  if (!values.key) throw new UsageError('sign needs --key FILE (a key from signet keygen or cosign generate-key-pair)');
  const annotations: Record<string, string> = {};
  for (const a of values.annotation ?? []) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`annotation "${a}" must be key=value`);
    annotations[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const ref = parseReference(positionals[0]!);
  if (!ref.ok) throw new UsageError(ref.error.message);
  let pem: string;
  try {
    pem = readFileSync(values.key, 'utf8');
  } catch (e) {
    throw new UsageError(`--key: cannot read ${values.key}: ${(e as Error).message}`);
  }
  const key = decryptPrivateKey(pem, await existingPassword(io));
  if (!key.ok) throw new UsageError(`--key ${values.key}: ${key.error.message}`);

  const client = new RegistryClient(registryOptions(values, io.env));
  try {
    const result = await signImage({ client, ref: ref.value, privateKey: key.value, annotations, signal: AbortSignal.timeout(timeoutMs(values, 60_000)) });
    if (!result.ok) {
      io.stderr(`signing failed: ${result.error.message}\n`);
      return 1;
    }
    const r = result.value;
    io.stderr(r.added ? `Signed ${formatReference(withDigest(ref.value, r.digest))}\n` : `Already signed with this key: ${formatReference(withDigest(ref.value, r.digest))}\n`);
    io.stdout(`${JSON.stringify({ digest: r.digest, signatureTag: r.signatureTag, payloadDigest: r.payloadDigest, signatures: r.signatureCount })}\n`);
    return EXIT_OK;
  } finally {
    await client.close();
  }
}
