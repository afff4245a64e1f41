// AdmissionReview → decision: which images to check, all checked in parallel inside the time
// budget, modes applied (enforce / warn / audit), and one response listing every failing container.
import type { CompiledPolicy } from '../policy/types.js';
import { changedImages, extractImages, kindDisagreement, podSpecOf, SUPPORTED_KINDS } from '../admission/extract.js';
import type { RegistryCredentials } from '../registry/types.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { AdmissionDecision } from '../admission/decision.js';
import type { ImageVerdict, ObjectDenyCode } from '../decide/types.js';
import type { NamespaceScope } from '../policy/scope.js';
import { clip, denialMessage, MAX_WARNING_CHARS, MAX_WARNINGS, type ContainerVerdict } from '../admission/message.js';
import { startDeadline } from './deadline.js';
import { fixFor, objectFixFor } from '../decide/explain.js';
import { parseReference } from '../reference/parse.js';
import { judge } from '../decide/modes.js';

/** Registry credentials by registry host, e.g. from the pod's own imagePullSecrets. */
export type PullCredentials = ReadonlyMap<string, RegistryCredentials>;

/** Allowed images whose signatures stop counting sooner than this get an admission warning. */
export const EXPIRY_WARNING_MS = 7 * 24 * 60 * 60 * 1000;

export type ImageVerifier = (image: string, scope: NamespaceScope, signal: AbortSignal, credentials?: PullCredentials) => Promise<ImageVerdict>;

/** Answers from caches alone (synchronously), or undefined when the image needs the full path. */
export type CachedVerdicts = (image: string, scope: NamespaceScope) => ImageVerdict | undefined;

export interface ReviewSettings {
  /** Time budget for the whole review, already reduced below the API server's timeout. */
  readonly budgetMs: number;
  /** The webhook's own namespace, exempt whatever the policy says (so it can always recover). */
  readonly ownNamespace?: string;
  /** The warm path: when every image's verdict is cached, the review needs no deadline, timer or promise. */
  readonly cached?: CachedVerdicts;
  /** Opt-in: the pod's pull secrets, so private images verify with the credentials the kubelet will use. */
  readonly credentialsFor?: (namespace: string, podSpec: Record<string, unknown>) => Promise<PullCredentials>;
}

export async function reviewAdmission(
  request: AdmissionRequest,
  policy: CompiledPolicy,
  verify: ImageVerifier,
  settings: ReviewSettings,
  scope: NamespaceScope,
): Promise<AdmissionDecision> {
  const object = describeObject(request);
  const allow = (outcome: AdmissionDecision['outcome'], reason: string, warnings: string[] = []): AdmissionDecision => ({
    response: { uid: request.uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) },
    outcome,
    reason,
    object,
    verdicts: [],
    tolerated: [],
    pins: [],
  });

  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow('skipped', `operation ${request.operation}`);
  const kind = request.kind.kind;
  if (!SUPPORTED_KINDS.includes(kind)) return allow('skipped', `kind ${kind} not checked`);
  if (kind === 'Pod' && request.subResource !== undefined && request.subResource !== 'ephemeralcontainers') {
    return allow('skipped', `subresource ${request.subResource} not checked`);
  }
  if (request.namespace !== undefined && (policy.isNamespaceExempt(request.namespace) || request.namespace === settings.ownNamespace)) {
    return allow('exempt', 'namespace exempt', [clip(`signet: namespace ${request.namespace} is exempt from image signature checks`, MAX_WARNING_CHARS)]);
  }

  const disagreement = kindDisagreement(request);
  if (disagreement !== undefined) return deny(request, object, 'KIND_MISMATCH', `${object}: ${disagreement}`);
  const extracted = extractImages(kind, request.object);
  if (!extracted.supported) {
    return deny(request, object, 'MALFORMED_OBJECT', `${object}: cannot read container images: ${extracted.why}`);
  }
  let images = [...extracted.images];
  if (request.operation === 'UPDATE') {
    const before = extractImages(kind, request.oldObject);
    if (before.supported) images = changedImages(images, before.images);
  }
  if (images.length === 0) return allow('skipped', 'no new images');
  // Each distinct image costs registry requests and a verification: an object naming thousands (the
  // API server accepts objects up to about 1.5 MiB) would occupy the webhook and the registry for
  // everyone. No real pod comes close; say so rather than trying.
  // Each distinct image is verified once, all in parallel; containers sharing an image share the verdict.
  const distinct = [...new Set(images.map((i) => i.image))];
  if (distinct.length > MAX_DISTINCT_IMAGES) {
    return deny(request, object, 'MALFORMED_OBJECT', `${object}: names ${distinct.length} distinct container images; Signet checks at most ${MAX_DISTINCT_IMAGES} per object`);
  }

  if (settings.cached) {
    const warm: ContainerVerdict[] = [];
    for (const container of images) {
      const verdict = settings.cached(container.image, scope);
      if (verdict === undefined) break;
      warm.push({ container, verdict });
    }
    if (warm.length === images.length) return decide(request, object, policy, warm);
  }

  const deadline = startDeadline(settings.budgetMs);
  try {
    const podSpec = settings.credentialsFor && request.namespace ? podSpecOf(kind, request.object) : undefined;
    // A failed or slow lookup means no extra credentials (the configured ones still apply), never a hang.
    const credentials =
      podSpec && settings.credentialsFor && request.namespace
        ? await deadline.race(settings.credentialsFor(request.namespace, podSpec).catch(() => new Map()), () => new Map())
        : undefined;
    const pending = new Map(
      distinct.map((image) => [
        image,
        deadline.race(verify(image, scope, deadline.signal, credentials), () => timedOut(image, settings.budgetMs)),
      ]),
    );
    const verdicts: ContainerVerdict[] = await Promise.all(
      images.map(async (container) => ({ container, verdict: await pending.get(container.image)! })),
    );
    return decide(request, object, policy, verdicts);
  } finally {
    deadline.dispose();
  }
}

function decide(request: AdmissionRequest, object: string, policy: CompiledPolicy, verdicts: ContainerVerdict[]): AdmissionDecision {
  const enforced: ContainerVerdict[] = [];
  const tolerated: ContainerVerdict[] = [];
  const warnings: string[] = [];
  for (const cv of verdicts) {
    const v = cv.verdict;
    if (v.outcome === 'allowed') {
      // Certificates and trust metadata expire: say so while there is still time to re-sign.
      if (v.validUntil !== undefined && Date.parse(v.validUntil) - Date.now() < EXPIRY_WARNING_MS) {
        warnings.push(clip(`signet: ${cv.container.container} (${v.image}) signature material expires at ${v.validUntil}; re-sign soon`, MAX_WARNING_CHARS));
      }
      if (v.basis !== 'verified') warnings.push(clip(`signet: ${cv.container.container} (${v.image}) allowed without verification (${v.basis === 'exempt' ? `exempt by rule ${v.rule}` : 'no rule matched'})`, MAX_WARNING_CHARS));
      continue;
    }
    const judgement = judge(policy, v);
    if (judgement.kind === 'enforce') {
      enforced.push(cv);
    } else if (judgement.kind === 'tolerate') {
      tolerated.push(cv);
      if (judgement.as !== 'audit') {
        warnings.push(clip(`signet ${judgement.as}: ${cv.container.container} (${v.image}) would be denied: ${v.code}: ${v.reason}`, MAX_WARNING_CHARS));
      }
    }
  }
  const pins = verdicts.flatMap((cv) =>
    cv.verdict.outcome === 'allowed' && cv.verdict.basis === 'verified' && cv.verdict.digest ? [{ container: cv.container, digest: cv.verdict.digest }] : [],
  );
  const boundedWarnings = warnings.slice(0, MAX_WARNINGS);
  if (enforced.length === 0) {
    return {
      response: { uid: request.uid, allowed: true, ...(boundedWarnings.length > 0 ? { warnings: boundedWarnings } : {}) },
      outcome: 'allowed',
      reason:
        tolerated[0]?.verdict.outcome === 'denied'
          ? `tolerated ${tolerated[0].verdict.code}`
          : verdicts.every((cv) => cv.verdict.outcome === 'allowed' && cv.verdict.basis === 'verified')
            ? 'verified'
            : 'not verified (exempt or unmatched-allow)',
      object,
      verdicts,
      tolerated,
      pins,
    };
  }
  const first = enforced[0]!.verdict;
  const message = denialMessage(object, policy.name, enforced, verdicts.length);
  return {
    response: {
      uid: request.uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message, metadata: {} },
      ...(boundedWarnings.length > 0 ? { warnings: boundedWarnings } : {}),
    },
    outcome: 'denied',
    reason: first.outcome === 'denied' ? first.code : 'denied',
    object,
    verdicts,
    tolerated,
    pins,
  };
}

function deny(request: AdmissionRequest, object: string, reason: ObjectDenyCode, what: string): AdmissionDecision {
  const message = `${what}. Fix: ${objectFixFor(reason)}`;
  return {
    response: { uid: request.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message, metadata: {} } },
    outcome: 'denied',
    reason,
    object,
    verdicts: [],
    tolerated: [],
    pins: [],
  };
}

/** Distinct images one object may name. */
export const MAX_DISTINCT_IMAGES = 256;

export function timedOut(image: string, budgetMs: number): ImageVerdict {
  const reason = `verification timed out: no answer within the review's ${budgetMs} ms budget`;
  // The fix names the registry the image lives in: that is where the time usually went.
  const parsed = parseReference(image);
  const registry = parsed.ok ? parsed.value.registry : undefined;
  return {
    outcome: 'denied',
    image,
    digest: undefined,
    rule: undefined,
    code: 'TIMEOUT',
    reason,
    fix: fixFor('TIMEOUT', { image, pinned: undefined, rule: undefined, trustedKeys: [], patterns: [], registry, requiredAnnotations: {} }),
    checks: [],
  };
}

export function describeObject(r: AdmissionRequest): string {
  const name = r.name ?? objectName(r.object) ?? '(unnamed)';
  const sub = r.subResource ? `/${r.subResource}` : '';
  return `${r.kind.kind}${sub} ${r.namespace ? `${r.namespace}/` : ''}${name}`;
}

function objectName(object: Record<string, unknown> | undefined): string | undefined {
  const meta = object?.['metadata'];
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as Record<string, unknown>;
  if (typeof m['name'] === 'string') return m['name'];
  if (typeof m['generateName'] === 'string') return `${m['generateName']}*`;
  return undefined;
}
