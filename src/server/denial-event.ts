// Which admission decisions are told to the Event recorder, and on which object. Only this side
// knows the request (kube/events.ts leaves the dryRun check to its caller), and it is kept out of
// kube/ so that the routes never load the Kubernetes client when no Events are posted.
import type { AdmissionDecision } from '../admission/decision.js';
import type { AdmissionRequest } from '../admission/types.js';

export interface DeniedReview {
  readonly namespace: string;
  readonly involvedObject: { readonly kind: string; readonly apiVersion: string; readonly name?: string; readonly uid?: string };
  readonly message: string;
}

/**
 * The denial to record for a validating review, or undefined: only enforced denials, of requests
 * that have a namespace for the Event to be written in.
 */
export function deniedReview(request: AdmissionRequest, decision: AdmissionDecision): DeniedReview | undefined {
  // dryRun requests must have no side effects; an Event is one.
  if (decision.outcome !== 'denied' || request.dryRun || request.namespace === undefined) return undefined;
  return {
    namespace: request.namespace,
    involvedObject: {
      kind: request.kind.kind,
      apiVersion: request.kind.group ? `${request.kind.group}/${request.kind.version}` : request.kind.version,
      ...(request.name ? { name: request.name } : {}),
      ...(objectUid(request.object) ? { uid: objectUid(request.object)! } : {}),
    },
    message: decision.response.status?.message ?? decision.reason,
  };
}

function objectUid(object: Record<string, unknown> | undefined): string | undefined {
  const meta = object?.['metadata'];
  const uid = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['uid'] : undefined;
  return typeof uid === 'string' && uid.length > 0 ? uid : undefined;
}
