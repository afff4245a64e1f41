// ImagePolicyWebhook backend: one verdict for all containers of a pod. Break-glass is honoured
// only when the policy names the annotation, and it is always recorded in audit annotations.
import type { CompiledPolicy } from '../policy/types.js';
import type { ImageReviewRequest, ImageReviewResponse } from '../admission/types.js';
import type { ContainerImage } from '../admission/extract.js';
import { clip, denialMessage, type ContainerVerdict } from '../admission/message.js';
import { MAX_DISTINCT_IMAGES, timedOut, type ImageVerifier } from './review.js';
import { judge } from '../decide/modes.js';
import { startDeadline } from './deadline.js';

export interface ImageReviewDecision {
  readonly status: ImageReviewResponse['status'];
  readonly outcome: 'allowed' | 'denied' | 'break-glass' | 'exempt';
  readonly reason: string;
  readonly verdicts: readonly ContainerVerdict[];
}

export async function reviewImages(request: ImageReviewRequest, policy: CompiledPolicy, verify: ImageVerifier, budgetMs: number): Promise<ImageReviewDecision> {
  const breakGlass = policy.breakGlass;
  if (breakGlass && request.annotations[breakGlass.annotation] !== undefined) {
    return {
      status: { allowed: true, reason: `break-glass annotation ${breakGlass.annotation} present`, auditAnnotations: { 'signet-break-glass': clip(request.annotations[breakGlass.annotation] ?? '', 256) } },
      outcome: 'break-glass',
      reason: 'break-glass',
      verdicts: [],
    };
  }
  if (request.namespace !== undefined && policy.isNamespaceExempt(request.namespace)) {
    return { status: { allowed: true, reason: `namespace ${request.namespace} is exempt`, auditAnnotations: { 'signet-exempt-namespace': request.namespace } }, outcome: 'exempt', reason: 'namespace exempt', verdicts: [] };
  }
  const distinctCount = new Set(request.containers).size;
  if (distinctCount > MAX_DISTINCT_IMAGES) {
    const reason = `pod in namespace ${request.namespace ?? '(none)'} names ${distinctCount} distinct container images; Signet checks at most ${MAX_DISTINCT_IMAGES} per pod`;
    return { status: { allowed: false, reason }, outcome: 'denied', reason: 'MALFORMED_OBJECT', verdicts: [] };
  }
  const containers: ContainerImage[] = request.containers.map((image, i) => ({
    container: `#${i}`,
    kind: 'container',
    image,
    path: `spec.containers[${i}].image`,
    pointer: `/spec/containers/${i}/image`,
  }));
  const deadline = startDeadline(budgetMs);
  try {
    const scope = { namespace: request.namespace, labels: undefined };
    const distinct = [...new Set(request.containers)];
    const pending = new Map(distinct.map((image) => [image, deadline.race(verify(image, scope, deadline.signal), () => timedOut(image, budgetMs))]));
    const verdicts: ContainerVerdict[] = await Promise.all(containers.map(async (container) => ({ container, verdict: await pending.get(container.image)! })));
    const enforced = verdicts.filter((cv) => judge(policy, cv.verdict).kind === 'enforce');
    const auditAnnotations: Record<string, string> = {};
    for (const cv of verdicts) {
      const v = cv.verdict;
      auditAnnotations[`signet-image-${cv.container.container.slice(1)}`] = `${v.image}: ${v.outcome === 'allowed' ? `allowed${v.digest ? ` ${v.digest}` : ''}` : `${v.code}`}`;
    }
    if (enforced.length === 0) return { status: { allowed: true, auditAnnotations }, outcome: 'allowed', reason: 'verified', verdicts };
    const first = enforced[0]!.verdict;
    return {
      status: { allowed: false, reason: denialMessage(`pod in namespace ${request.namespace ?? '(none)'}`, policy.name, enforced, verdicts.length), auditAnnotations },
      outcome: 'denied',
      reason: first.outcome === 'denied' ? first.code : 'denied',
      verdicts,
    };
  } finally {
    deadline.dispose();
  }
}
