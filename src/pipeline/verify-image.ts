// The story for one image: reference → rule → digest → signatures → verdict. Every failure
// becomes a denied verdict with a code, a reason and a fix; nothing here throws on bad input.
// Stages are separate functions so the cached pipeline (image-pipeline.ts) can put caches and
// coalescing between them; verifyImage() runs them straight through (the CLI's path).
import type { CompiledPolicy, CompiledRule } from '../policy/types.js';
import { matchRule } from '../policy/match.js';
import type { NamespaceScope } from '../policy/scope.js';
import { formatReference, parseReference, repositoryName, repositoryOf, withDigest } from '../reference/parse.js';
import type { Digest, ImageReference, RepositoryRef } from '../reference/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { RegistryError } from '../registry/types.js';
import { discoverCosignSignatures, type CosignDiscoverer, type CosignDiscovery } from '../discovery/cosign.js';
import { verifyCosignSignatures } from '../signatures/cosign/verify.js';
import { checkNotation } from './systems/notation.js';
import { checkDct } from './systems/dct.js';
import { checkSigstore } from './systems/sigstore.js';
import type { CheckTarget } from './systems/check.js';
import type { CompiledVerifier } from '../policy/types.js';
import { decideRule, type VerifierOutcome } from '../decide/decide.js';
import { fixFor } from '../decide/explain.js';
import type { DenyCode, ImageVerdict } from '../decide/types.js';
import type { SignatureCheck } from '../signatures/types.js';
import { err, ok, type Result } from '../util/result.js';

export interface ImageCheckContext {
  readonly policy: CompiledPolicy;
  readonly registry: RegistryClient;
  /** Aborts when the review's time budget is spent. */
  readonly signal?: AbortSignal;
  /** Where the image will run; rules may be restricted to namespaces. */
  readonly scope?: NamespaceScope;
}

/** What the policy says about an image before any network I/O. */
export type ImagePlan =
  | { readonly kind: 'decided'; readonly verdict: ImageVerdict }
  | { readonly kind: 'verify'; readonly image: string; readonly ref: ImageReference; readonly repo: RepositoryRef; readonly name: string; readonly rule: CompiledRule };

export async function verifyImage(image: string, ctx: ImageCheckContext): Promise<ImageVerdict> {
  const plan = planImage(image, ctx.policy, ctx.scope);
  if (plan.kind === 'decided') return plan.verdict;
  const resolved = await digestFor(plan, ctx.registry, ctx.signal);
  if (!resolved.ok) return resolved.error;
  return verifyAtDigest(plan, resolved.value, ctx.registry, ctx.signal);
}

export function planImage(image: string, policy: CompiledPolicy, scope: NamespaceScope | undefined): ImagePlan {
  const parsed = parseReference(image);
  if (!parsed.ok) {
    return { kind: 'decided', verdict: deny(image, undefined, undefined, 'INVALID_REFERENCE', parsed.error.message, []) };
  }
  const ref = parsed.value;
  const repo = repositoryOf(ref);
  const name = repositoryName(repo);
  const rule = matchRule(policy, name, scope);
  if (!rule) {
    if (policy.defaults.unmatched === 'allow') {
      return { kind: 'decided', verdict: { outcome: 'allowed', image, digest: ref.digest, rule: undefined, basis: 'default-allow', satisfiedBy: [] } };
    }
    return { kind: 'decided', verdict: deny(image, ref, undefined, 'NO_MATCHING_RULE', `no policy rule matches ${name} and the policy denies unmatched images`, []) };
  }
  if (rule.action === 'allow') {
    return { kind: 'decided', verdict: { outcome: 'allowed', image, digest: ref.digest, rule: rule.name, basis: 'exempt', satisfiedBy: [] } };
  }
  if (rule.action === 'deny') {
    return { kind: 'decided', verdict: deny(image, ref, rule, 'DENIED_BY_RULE', `rule ${rule.name} denies images matching ${rule.patterns.join(', ')}`, []) };
  }
  return { kind: 'verify', image, ref, repo, name, rule };
}

/** What the image resolved to: the digest, and when the registry told us, its media type and size. */
export interface ResolvedImage {
  readonly digest: Digest;
  readonly descriptor?: { readonly mediaType: string; readonly size: number };
}

export type TagResolver = (repo: RepositoryRef, tag: string) => Promise<Result<ResolvedImage, RegistryError>>;

/** The pinned digest, or the tag resolved through the registry; a failure is already a verdict. */
export async function digestFor(
  plan: Extract<ImagePlan, { kind: 'verify' }>,
  registry: RegistryClient,
  signal: AbortSignal | undefined,
  resolve: TagResolver = async (repo, tag) => {
    const r = await registry.resolve(repo, tag, signal ? { signal } : {});
    return r.ok ? ok({ digest: r.value.digest, descriptor: { mediaType: r.value.mediaType, size: r.value.size } }) : r;
  },
): Promise<Result<ResolvedImage, ImageVerdict>> {
  if (plan.ref.digest) return ok({ digest: plan.ref.digest });
  const resolved = await resolve(plan.repo, plan.ref.tag ?? 'latest');
  if (!resolved.ok) return err(registryDenial(plan.image, plan.ref, plan.rule, resolved.error, 'resolving the tag'));
  return ok(resolved.value);
}

/** Gathers and checks the signatures the rule asks for on one digest, and decides. */
export async function verifyAtDigest(
  plan: Extract<ImagePlan, { kind: 'verify' }>,
  resolved: ResolvedImage,
  registry: RegistryClient,
  signal: AbortSignal | undefined,
  discover: CosignDiscoverer = discoverCosignSignatures,
  /** The time certificates, signatures and trust metadata are judged at. */
  now: Date = new Date(),
): Promise<ImageVerdict> {
  const { image, repo, name, rule } = plan;
  const digest = resolved.digest;
  const pinned = withDigest(plan.ref, digest);
  const options = signal ? { signal } : {};
  // One `.sig` discovery per digest, shared by every verifier of the rule that reads `.sig` layers.
  let discovery: Promise<Result<CosignDiscovery, RegistryError>> | undefined;
  const cosignSignatures = (): Promise<Result<CosignDiscovery, RegistryError>> => (discovery ??= discover(registry, repo, digest, options));
  // The reference as the pod wrote it: DCT must know whether the digest came from the pod or the registry.
  const target: CheckTarget = {
    ref: plan.ref,
    repo,
    digest,
    registry,
    now,
    cosignSignatures,
    ...(resolved.descriptor ? { descriptor: resolved.descriptor } : {}),
    ...(signal ? { signal } : {}),
  };
  const outcomes: VerifierOutcome[] = [];
  let cosign: Result<CosignDiscovery, RegistryError> | undefined;
  for (const verifier of rule.verifiers) {
    // Each entry's checks are CPU work of their own (the cosign entry verifies every layer with
    // every key); a turn of the event loop in between lets health probes and other reviews through.
    await nextTurn();
    switch (verifier.type) {
      case 'cosign': {
        cosign ??= await cosignSignatures();
        if (!cosign.ok) return registryDenial(image, pinned, rule, cosign.error, 'fetching signatures');
        const checks: SignatureCheck[] = [
          ...cosign.value.rejected,
          ...verifyCosignSignatures({
            imageDigest: digest,
            imageRepository: name,
            identityCheck: verifier.identity,
            layers: [...cosign.value.layers],
            keys: [...verifier.keys],
            requiredAnnotations: { ...verifier.annotations },
          }),
        ];
        let lookedAt = `tag ${cosign.value.tag} in ${name}`;
        // Newer cosign attaches Sigstore bundles as OCI referrers instead. Look there only when the
        // classic signatures fall short, so images signed the classic way cost no extra round trip.
        if (distinctSigners(checks) < verifier.threshold) {
          const bundles = await checkSigstore(target, verifier);
          if (!bundles.ok) return registryDenial(image, pinned, rule, bundles.error, 'fetching signature bundles');
          checks.push(...bundles.value.checks);
          lookedAt = `tag ${cosign.value.tag} and Sigstore bundle referrers in ${name}`;
        }
        outcomes.push({ system: 'cosign', trusted: verifier.keys.map((k) => k.name), threshold: verifier.threshold, checks, lookedAt });
        break;
      }
      case 'keyless': {
        const report = await checkSigstore(target, verifier);
        if (!report.ok) return registryDenial(image, pinned, rule, report.error, 'fetching keyless signatures');
        outcomes.push({ system: 'cosign', trusted: verifier.identityNames, threshold: verifier.threshold, checks: report.value.checks, lookedAt: report.value.lookedAt });
        break;
      }
      case 'notation': {
        const report = await checkNotation(target, verifier);
        if (!report.ok) return registryDenial(image, pinned, rule, report.error, 'fetching Notation signatures');
        outcomes.push({ system: 'notation', trusted: [verifier.trustStore.name], threshold: 1, checks: report.value.checks, lookedAt: report.value.lookedAt });
        break;
      }
      case 'dct': {
        const report = await checkDct(target, verifier);
        if (!report.ok) return registryDenial(image, pinned, rule, report.error, 'fetching Docker Content Trust data');
        const roles = verifier.delegations.length > 0 ? verifier.delegations : ['targets/releases', 'targets'];
        outcomes.push({ system: 'dct', trusted: roles, threshold: 1, checks: report.value.checks, lookedAt: report.value.lookedAt });
        break;
      }
    }
  }
  const decision = decideRule(rule.require, outcomes);
  if (decision.satisfied) {
    const validUntil = earliest(outcomes.flatMap((o) => o.checks.flatMap((c) => (c.status === 'valid' && c.validUntil ? [c.validUntil] : []))));
    return { outcome: 'allowed', image, digest, rule: rule.name, basis: 'verified', satisfiedBy: decision.satisfiedBy, ...(validUntil ? { validUntil } : {}) };
  }
  // A digest the pod names was never shown to exist: nothing signed is also what a registry without
  // that manifest looks like. Asked only here (cold path, nothing found), so signed images pay nothing.
  if (decision.code === 'UNSIGNED' && resolved.descriptor === undefined) {
    const manifest = await registry.getManifest(repo, digest, options);
    if (!manifest.ok && manifest.error.code === 'NOT_FOUND') return registryDenial(image, pinned, rule, manifest.error, 'looking up the image');
  }
  return deny(image, pinned, rule, decision.code, decision.reason, decision.checks, decision.failing.map((i) => rule.verifiers[i]!));
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function distinctSigners(checks: readonly SignatureCheck[]): number {
  return new Set(checks.flatMap((c) => (c.status === 'valid' ? [c.signer] : []))).size;
}

/** Who a verifier trusts, in words a denial can name: keys, identities, trust stores or roles. */
function trustedNames(verifier: CompiledVerifier): string[] {
  switch (verifier.type) {
    case 'cosign':
      return verifier.keys.map((k) => k.name);
    case 'keyless':
      return [...verifier.identityNames];
    case 'notation':
      return [`trust store ${verifier.trustStore.name}`];
    case 'dct':
      return verifier.delegations.length > 0 ? [...verifier.delegations] : ['the repository\'s Docker Content Trust signers'];
  }
}

function earliest(times: readonly string[]): string | undefined {
  let best: number | undefined;
  for (const t of times) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms) && (best === undefined || ms < best)) best = ms;
  }
  return best === undefined ? undefined : new Date(best).toISOString();
}

function registryDenial(image: string, ref: ImageReference, rule: CompiledRule, e: RegistryError, during: string): ImageVerdict {
  return deny(image, ref, rule, denyCodeForRegistry(e), `${during}: ${e.message}`, []);
}

export function denyCodeForRegistry(e: RegistryError): DenyCode {
  switch (e.code) {
    case 'NOT_FOUND':
      return 'NOT_FOUND';
    case 'UNAUTHORIZED':
    case 'DENIED':
      return 'REGISTRY_UNAUTHORIZED';
    case 'UNREACHABLE':
      return 'REGISTRY_UNREACHABLE';
    case 'TIMEOUT':
      return 'TIMEOUT';
    default:
      return 'REGISTRY_ERROR';
  }
}

function deny(
  image: string,
  ref: ImageReference | undefined,
  rule: CompiledRule | undefined,
  code: DenyCode,
  reason: string,
  checks: readonly SignatureCheck[],
  /** The verifiers that were not satisfied; the fix names their tools and trust. Default: all of the rule's. */
  blamed?: readonly CompiledVerifier[],
): ImageVerdict {
  const verifiers = blamed ?? rule?.verifiers ?? [];
  const cosignVerifiers = verifiers.flatMap((v) => (v.type === 'cosign' ? [v] : []));
  const fix = fixFor(code, {
    image,
    pinned: ref?.digest ? formatReference(ref) : undefined,
    rule: rule?.name,
    trustedKeys: [...new Set(verifiers.flatMap(trustedNames))],
    patterns: rule?.patterns ?? [],
    registry: ref?.registry,
    requiredAnnotations: Object.assign({}, ...cosignVerifiers.map((v) => v.annotations)) as Record<string, string>,
    systems: verifiers.map((v) => v.type),
  });
  return { outcome: 'denied', image, digest: ref?.digest, rule: rule?.name, code, reason, fix, checks };
}
