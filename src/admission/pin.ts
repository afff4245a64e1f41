// Digest pinning for Pods: after verification, rewrite `name:tag` to `name:tag@sha256:…` so the
// kubelet pulls exactly the content that was verified (closing the tag-moves-after-admission race).
// Pods only, never workload templates, so GitOps tools see no drift in what they manage.
import type { CompiledPolicy } from '../policy/types.js';
import type { AdmissionDecision } from './decision.js';
import type { AdmissionResponseBody } from './types.js';

export interface JsonPatchOp {
  readonly op: 'replace';
  readonly path: string;
  readonly value: string;
}

export function pinningPatch(decision: AdmissionDecision, policy: CompiledPolicy): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  for (const { container, digest } of decision.pins) {
    if (container.image.includes('@')) continue; // already pinned by the author
    const verdict = decision.verdicts.find((v) => v.container.pointer === container.pointer)?.verdict;
    const rule = verdict?.rule === undefined ? undefined : policy.rules.find((r) => r.name === verdict.rule);
    if (!(rule?.pinDigest ?? policy.defaults.pinDigests)) continue;
    ops.push({ op: 'replace', path: container.pointer, value: `${container.image}@${digest}` });
  }
  return ops;
}

/**
 * The mutating companion's answer to a Pod: always allowed (denying is the validating webhook's
 * job, so a denial is not reported twice), carrying the review's warnings, and pinned only when
 * the review allowed every image.
 */
export function pinningResponse(uid: string, decision: AdmissionDecision, policy: CompiledPolicy): AdmissionResponseBody {
  const patch = decision.outcome === 'allowed' ? pinningPatch(decision, policy) : [];
  const response: AdmissionResponseBody = { uid, allowed: true, ...(decision.response.warnings ? { warnings: decision.response.warnings } : {}) };
  return patch.length > 0 ? { ...response, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : response;
}
