// `signet verify IMAGE... --policy FILE`: the webhook's per-image pipeline, from a terminal or a pipeline.
import { parseArgs } from 'node:util';
import { loadPolicyFile } from '../trust/policy-file.js';
import { RegistryClient } from '../registry/client.js';
import { verifyImage } from '../pipeline/verify-image.js';
import type { ImageVerdict } from '../decide/types.js';
import { EXIT_DENIED, EXIT_OK, UsageError, type CliIO } from './io.js';
import { REGISTRY_FLAGS, registryOptions, timeoutMs } from './registry-options.js';

export const VERIFY_USAGE = `Usage: signet verify IMAGE... --policy FILE [--namespace NS] [-o text|json]
                     [--insecure-registry HOST]... [--ca-file FILE] [--docker-config FILE] [--timeout 10s]
Resolves each image to a digest, fetches its signatures and checks them against the policy
(as for a pod in namespace NS: namespaced rules apply as they would there).
Exit status: 0 all allowed, 1 any denied, 2 usage or configuration error.`;

export async function verifyCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { policy: { type: 'string' }, namespace: { type: 'string', short: 'n' }, output: { type: 'string', short: 'o', default: 'text' }, ...REGISTRY_FLAGS },
  });
  if (positionals.length === 0) throw new UsageError('verify needs at least one IMAGE');
  const policyPath = values.policy ?? io.env['SIGNET_POLICY'];
  if (!policyPath) throw new UsageError('verify needs --policy FILE (or SIGNET_POLICY)');
  if (values.output !== 'text' && values.output !== 'json') throw new UsageError('-o must be text or json');

  const policy = await loadPolicyFile(policyPath);
  if (!policy.ok) {
    io.stderr(`${policy.error.message}\n${policy.error.problems.map((p) => `  ${p.path}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`).join('\n')}\n`);
    return 2;
  }
  const client = new RegistryClient(registryOptions(values, io.env));
  const signal = AbortSignal.timeout(timeoutMs(values, 30_000));
  try {
    const verdicts = await Promise.all(positionals.map((image) => verifyImage(image, { policy: policy.value, registry: client, signal, scope: { namespace: values.namespace, labels: undefined } })));
    io.stdout(values.output === 'json' ? `${JSON.stringify(verdicts.map(toJson), null, 2)}\n` : verdicts.map(toText).join('\n'));
    return verdicts.every((v) => v.outcome === 'allowed') ? EXIT_OK : EXIT_DENIED;
  } finally {
    await client.close();
  }
}

function toJson(v: ImageVerdict): unknown {
  return v;
}

export function toText(v: ImageVerdict): string {
  const lines = [`${v.outcome === 'allowed' ? 'ALLOW' : 'DENY '} ${v.image}`];
  if (v.digest) lines.push(`  digest:  ${v.digest}`);
  lines.push(`  rule:    ${v.rule ?? '(none matched)'}`);
  if (v.outcome === 'allowed') {
    const how =
      v.basis === 'verified'
        ? v.satisfiedBy.map((s) => `${s.system} signature by ${s.signers.join(', ')}`).join('; ')
        : v.basis === 'exempt'
          ? 'exempt by rule (not verified)'
          : 'no rule matched; the policy allows unmatched images (not verified)';
    lines.push(`  allowed: ${how}`);
  } else {
    lines.push(`  denied:  ${v.code}: ${v.reason}`);
    lines.push(`  fix:     ${v.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
