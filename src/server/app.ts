// The HTTP surface, built without listening (tests inject or listen on their own port). Routes are
// thin: check the body's shape, run the review, format the response, log one line per decision.
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { CompiledPolicy } from '../policy/types.js';
import { parseAdmissionReview, parseImageReview } from '../admission/parse.js';
import type { AdmissionRequest, AdmissionReviewResponse, ImageReviewResponse } from '../admission/types.js';
import { reviewAdmission, type CachedVerdicts, type ImageVerifier } from '../pipeline/review.js';
import type { AdmissionDecision } from '../admission/decision.js';
import { reviewImages } from '../pipeline/image-review.js';
import { pinningResponse } from '../admission/pin.js';
import { modeOf } from '../decide/modes.js';
import type { ContainerVerdict } from '../admission/message.js';
import type { Metrics } from '../telemetry/metrics.js';
import { createDecisionLog, type DecisionLog } from '../telemetry/decision-log.js';
import { counterMemo, textMemo } from '../telemetry/verdict-memo.js';
import { deniedReview, type DeniedReview } from './denial-event.js';
import type { HttpsServerOptions } from './tls-options.js';
import type { RegistryCredentials } from '../registry/types.js';
import { acceptJsonBodies, defaultDiscardBytes } from './body.js';

export interface AppOptions {
  readonly logger: Logger;
  /** Where the one-line-per-decision log goes; default: logger.info. */
  readonly decisionLog?: DecisionLog;
  readonly metrics: Metrics;
  /** The policy in force, or undefined before the first successful load (then /readyz is 503). */
  readonly policy: () => CompiledPolicy | undefined;
  readonly verify: ImageVerifier;
  /** The webhook's timeoutSeconds as configured in the cluster (default 10). */
  readonly timeoutSeconds: number;
  /** Fraction of the timeout we allow ourselves, so the answer arrives before the API server gives up. */
  readonly budgetFraction: number;
  readonly bodyLimitBytes: number;
  /** How much of an oversized body is read and discarded before the 413 (default: 4 × the limit, at least 64 MiB). */
  readonly bodyDiscardBytes?: number;
  /** How long a body may take to arrive (default: the timeout, after which the API server has given up). */
  readonly bodyReadMs?: number;
  /**
   * True once the process is shutting down: /readyz answers 503 and every response asks its client to
   * close the connection (a kept-alive connection would keep reaching this replica after the
   * Service's endpoints moved on); admission is still served.
   */
  readonly draining?: () => boolean;
  readonly https?: HttpsServerOptions;
  /** The webhook's own namespace: never checked. */
  readonly ownNamespace?: string;
  /** Verdicts available from caches alone (the warm path). */
  readonly cached?: CachedVerdicts;
  /** Opt-in lookup of a pod's pull secrets (see ReviewSettings.credentialsFor). */
  readonly credentialsFor?: (namespace: string, podSpec: Record<string, unknown>) => Promise<ReadonlyMap<string, RegistryCredentials>>;
  /** Told about each enforced denial of a real (not dryRun) request, e.g. to post a Kubernetes Event. */
  readonly onDenied?: (denial: DeniedReview) => void;
}

export function buildApp(o: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: o.logger,
    // One line per decision is logged by the routes; per-request access lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger: nothing logs per request, and making one cost time on every review.
    childLoggerFactory: (logger) => logger,
    bodyLimit: o.bodyLimitBytes,
    // While closing, a request that still arrives on an open connection is answered (with
    // Connection: close), not refused with 503: a 503 is a failed admission for the API server.
    return503OnClosing: false,
    ...(o.https ? { https: o.https } : {}),
  }) as unknown as FastifyInstance;
  acceptJsonBodies(app, {
    limitBytes: o.bodyLimitBytes,
    discardBytes: o.bodyDiscardBytes ?? defaultDiscardBytes(o.bodyLimitBytes),
    readMs: o.bodyReadMs ?? o.timeoutSeconds * 1000,
  });
  const draining = o.draining;
  if (draining) {
    // On the Node server, before fastify sees the request: a fastify onRequest hook on every review
    // measurably slowed the warm path (its hook runner), for a header needed only during a drain.
    app.server.prependListener('request', (_req: unknown, res: { setHeader(name: string, value: string): void }) => {
      if (draining()) res.setHeader('connection', 'close');
    });
  }
  // Found once per cached verdict (and policy) rather than per review.
  const verdictCounter = counterMemo((verdict: Verdict, policy: CompiledPolicy) =>
    o.metrics.imageVerdictCounter(verdict.outcome, verdict.outcome === 'denied' ? verdict.code : 'none', modeOf(policy, verdict)),
  );
  const countVerdicts = (verdicts: readonly ContainerVerdict[], policy: CompiledPolicy): void => {
    for (const { verdict } of verdicts) verdictCounter(verdict, policy).count++;
  };
  const record = (endpoint: string, d: AdmissionDecision, policy: CompiledPolicy, request: AdmissionRequest, started: number): void => {
    o.metrics.countReview(endpoint, d.outcome, d.outcome === 'denied' ? d.reason : 'none');
    o.metrics.reviewSeconds.observe(endpoint, seconds(started));
    countVerdicts(d.verdicts, policy);
    if (d.outcome === 'skipped') return;
    log(o).admission({
      endpoint,
      uid: request.uid,
      namespace: request.namespace,
      object: d.object,
      dryRun: request.dryRun,
      verdict: d.outcome,
      reason: d.reason,
      policy: policy.name,
      policyVersion: policy.version,
      imagesJson: imagesJson(d.verdicts),
    });
  };

  app.setErrorHandler((error: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    // Body errors (server/body.ts) carry the message meant for the client; a 500 never shows internals.
    const message = status === 500 ? 'internal error' : error.message;
    if (status === 500) o.logger.error({ err: error }, 'unhandled error in request');
    void reply.code(status).send({ error: ERROR_NAMES[status] ?? 'BadRequest', message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (draining?.()) return reply.code(503).send({ status: 'not ready', reason: 'shutting down' });
    const policy = o.policy();
    if (!policy) return reply.code(503).send({ status: 'not ready', reason: 'no policy loaded yet' });
    return { status: 'ready', policy: policy.name, version: policy.version };
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', o.metrics.registry.contentType);
    return o.metrics.registry.metrics();
  });

  const admissionRoute = (endpoint: 'validate' | 'mutate') => async (req: FastifyRequest, reply: FastifyReply) => {
    const started = performance.now();
    const parsed = parseAdmissionReview(req.body);
    if (!parsed.ok) {
      o.metrics.countReview(endpoint, 'bad-request', 'BAD_REQUEST');
      return reply.code(400).send({ error: 'BadRequest', message: `not an AdmissionReview: ${parsed.error}` });
    }
    const request = parsed.value;
    const policy = o.policy();
    if (!policy) {
      // Not ready: fail closed with a reason, so the API server's failurePolicy is not what decides.
      const response = { uid: request.uid, allowed: false, status: { code: 503, reason: 'ServiceUnavailable', message: 'signet has no policy loaded yet; retry shortly', metadata: {} } };
      o.metrics.countReview(endpoint, 'denied', 'NOT_READY');
      return { apiVersion: request.apiVersion, kind: 'AdmissionReview', response } satisfies AdmissionReviewResponse;
    }
    const budgetMs = budgetFor(req, o);
    const scope = { namespace: request.namespace, labels: labelsFromPath(req) };
    // The mutating companion only pins Pods; it never denies (the validating webhook does).
    if (endpoint === 'mutate' && (request.kind.kind !== 'Pod' || request.subResource !== undefined)) {
      return { apiVersion: request.apiVersion, kind: 'AdmissionReview', response: { uid: request.uid, allowed: true } } satisfies AdmissionReviewResponse;
    }
    const decision = await reviewAdmission(request, policy, o.verify, { budgetMs, ...(o.ownNamespace ? { ownNamespace: o.ownNamespace } : {}), ...(o.credentialsFor ? { credentialsFor: o.credentialsFor } : {}), ...(o.cached ? { cached: o.cached } : {}) }, scope);
    if (endpoint === 'validate' && o.onDenied) {
      const denial = deniedReview(request, decision);
      if (denial) o.onDenied(denial);
    }
    const response = endpoint === 'mutate' ? pinningResponse(request.uid, decision, policy) : decision.response;
    record(endpoint, decision, policy, request, started);
    return { apiVersion: request.apiVersion, kind: 'AdmissionReview', response } satisfies AdmissionReviewResponse;
  };
  app.post('/validate', admissionRoute('validate'));
  app.post('/mutate', admissionRoute('mutate'));
  // Namespace labels never reach a webhook in the AdmissionReview. A webhook entry whose
  // namespaceSelector selects exactly these labels can state them in its path, e.g.
  // /validate/ns-labels/tier=prod,team=shop (docs/policy.md, "Namespaces, modes and exemptions").
  app.post('/validate/ns-labels/:labels', admissionRoute('validate'));
  app.post('/mutate/ns-labels/:labels', admissionRoute('mutate'));

  app.post('/imagepolicy', async (req, reply) => {
    const started = performance.now();
    const parsed = parseImageReview(req.body);
    if (!parsed.ok) {
      o.metrics.countReview('imagepolicy', 'bad-request', 'BAD_REQUEST');
      return reply.code(400).send({ error: 'BadRequest', message: `not an ImageReview: ${parsed.error}` });
    }
    const policy = o.policy();
    if (!policy) {
      return { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', status: { allowed: false, reason: 'signet has no policy loaded yet; retry shortly' } } satisfies ImageReviewResponse;
    }
    const decision = await reviewImages(parsed.value, policy, o.verify, budgetFor(req, o));
    o.metrics.countReview('imagepolicy', decision.outcome, decision.outcome === 'denied' ? decision.reason : 'none');
    o.metrics.reviewSeconds.observe('imagepolicy', seconds(started));
    countVerdicts(decision.verdicts, policy);
    log(o)(
      { endpoint: 'imagepolicy', namespace: parsed.value.namespace, images: decision.verdicts.map(summary), verdict: decision.outcome, reason: decision.reason },
      'image review',
    );
    return { apiVersion: 'imagepolicy.k8s.io/v1alpha1', kind: 'ImageReview', status: decision.status } satisfies ImageReviewResponse;
  });
  return app;
}

const ERROR_NAMES: Readonly<Record<number, string>> = { 408: 'RequestTimeout', 413: 'PayloadTooLarge', 415: 'UnsupportedMediaType', 500: 'InternalError' };

const LABEL_PAIR = /^([a-z0-9A-Z]([-a-z0-9A-Z_./]{0,251}[a-z0-9A-Z])?)=([a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?)?$/;

/** Labels stated by the webhook configuration's path; undefined (unknown) when absent or malformed. */
function labelsFromPath(req: FastifyRequest): Readonly<Record<string, string>> | undefined {
  const raw = (req.params as Record<string, string> | undefined)?.['labels'];
  if (raw === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const m = LABEL_PAIR.exec(pair);
    if (!m) return undefined;
    labels[m[1]!] = m[3] ?? '';
  }
  return labels;
}

/** The API server appends ?timeout=Ns to webhook calls; answer within a fraction of the smaller one. */
function budgetFor(req: FastifyRequest, o: AppOptions): number {
  const query = req.query as Record<string, unknown> | undefined;
  const raw = typeof query?.['timeout'] === 'string' ? query['timeout'] : undefined;
  const m = raw ? /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw) : null;
  const fromQuery = m ? Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1) : Infinity;
  const seconds = Math.min(o.timeoutSeconds, fromQuery > 0 ? fromQuery : Infinity);
  return Math.max(50, Math.floor(seconds * 1000 * o.budgetFraction));
}

function log(o: AppOptions): DecisionLog {
  return o.decisionLog ?? createDecisionLog(o.logger);
}

type Verdict = ContainerVerdict['verdict'];

// Bounded: a verdict is logged under the few container names of the pods that use its image.
const verdictJson = textMemo((verdict: Verdict, container: string) => JSON.stringify(summaryOf(container, verdict)), 64);

function imagesJson(verdicts: readonly ContainerVerdict[]): string {
  let json = '[';
  for (const [i, cv] of verdicts.entries()) {
    const text = verdictJson(cv.verdict, cv.container.container);
    json += i === 0 ? text : `,${text}`;
  }
  return `${json}]`;
}

function summary({ container, verdict }: ContainerVerdict): Record<string, unknown> {
  return summaryOf(container.container, verdict);
}

function summaryOf(container: string, verdict: Verdict): Record<string, unknown> {
  return {
    container,
    image: verdict.image,
    digest: verdict.digest,
    verdict: verdict.outcome,
    rule: verdict.rule,
    ...(verdict.outcome === 'denied' ? { code: verdict.code, reason: verdict.reason } : { basis: verdict.basis, signers: verdict.satisfiedBy.flatMap((s) => s.signers) }),
  };
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}
