// `signet review FILE --policy FILE`: run an AdmissionReview (or ImageReview) JSON file through the
// webhook's engine without a cluster, and print the response the API server would get.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadPolicyFile } from '../trust/policy-file.js';
import { parseAdmissionReview, parseImageReview } from '../admission/parse.js';
import { RegistryClient } from '../registry/client.js';
import { verifyImage } from '../pipeline/verify-image.js';
import { reviewAdmission, type ImageVerifier } from '../pipeline/review.js';
import { reviewImages } from '../pipeline/image-review.js';
import { pinningResponse } from '../admission/pin.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from './io.js';
import { REGISTRY_FLAGS, registryOptions, timeoutMs } from './registry-options.js';

export const REVIEW_USAGE = `Usage: signet review FILE --policy FILE [--mutate] [--insecure-registry HOST]... [--ca-file FILE] [--timeout 8s]
FILE holds an AdmissionReview (admission.k8s.io/v1 or v1beta1) or an ImageReview; "-" reads standard input.
Prints the response. Exit status: 0 allowed, 1 denied, 2 usage, configuration or input error.`;

export async function reviewCommand(args: string[], io: CliIO, readStdin: () => string = () => readFileSync(0, 'utf8')): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { policy: { type: 'string' }, mutate: { type: 'boolean', default: false }, ...REGISTRY_FLAGS } });
  if (positionals.length !== 1) throw new UsageError('review takes exactly one FILE');
  const policyPath = values.policy ?? io.env['SIGNET_POLICY'];
  if (!policyPath) throw new UsageError('review needs --policy FILE (or SIGNET_POLICY)');
  const file = positionals[0]!;
  let body: unknown;
  try {
    body = JSON.parse(file === '-' ? readStdin() : readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not readable JSON: ${(e as Error).message}`);
  }
  const policy = await loadPolicyFile(policyPath);
  if (!policy.ok) {
    io.stderr(`${policy.error.message}\n`);
    return EXIT_USAGE;
  }
  const client = new RegistryClient(registryOptions(values, io.env));
  const verify: ImageVerifier = (image, scope, signal) => verifyImage(image, { policy: policy.value, registry: client, signal, scope });
  const budget = timeoutMs(values, 8000);
  try {
    const kind = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['kind'] : undefined;
    if (kind === 'ImageReview') {
      const request = parseImageReview(body);
      if (!request.ok) throw new UsageError(`${file}: ${request.error}`);
      const decision = await reviewImages(request.value, policy.value, verify, budget);
      io.stdout(`${JSON.stringify({ apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', status: decision.status }, null, 2)}\n`);
      return decision.status.allowed ? EXIT_OK : EXIT_DENIED;
    }
    const request = parseAdmissionReview(body);
    if (!request.ok) throw new UsageError(`${file}: ${request.error}`);
    const decision = await reviewAdmission(request.value, policy.value, verify, { budgetMs: budget }, { namespace: request.value.namespace, labels: undefined });
    const response = values.mutate ? pinningResponse(decision.response.uid, decision, policy.value) : decision.response;
    if ('patch' in response && response.patch !== undefined) io.stderr(`patch: ${Buffer.from(response.patch, 'base64').toString('utf8')}\n`);
    io.stdout(`${JSON.stringify({ apiVersion: request.value.apiVersion, kind: 'AdmissionReview', response }, null, 2)}\n`);
    if (!decision.response.allowed) io.stderr(`${decision.response.status?.message ?? ''}\n`);
    return decision.response.allowed ? EXIT_OK : EXIT_DENIED;
  } finally {
    await client.close();
  }
}
