// The story for one image: reference → rule → digest → signatures → verdict. Every failure
// becomes a denied verdict with a code, a reason and a fix; nothing here throws on bad input.
import type { CompiledPolicy, CompiledRule } from '../policy/types.js';
import { matchRule } from '../policy/match.js';
import type { NamespaceScope } from '../policy/scope.js';
import { formatReference, parseReference, repositoryName, repositoryOf, withDigest } from '../reference/parse.js';
import type { Digest, ImageReference } from '../reference/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { RegistryError } from '../registry/types.js';
import { discoverCosignSignatures } from '../discovery/cosign.js';
import { verifyCosignSignatures } from '../signatures/cosign/verify.js';
import { decideRule, type VerifierOutcome } from '../verdict/decide.js';
import { fixFor } from '../verdict/explain.js';
import type { DenyCode, ImageVerdict } from '../verdict/types.js';
import type { SignatureCheck } from '../signatures/types.js';

export interface ImageCheckContext {
  readonly policy: CompiledPolicy;
  readonly registry: RegistryClient;
  /** Aborts when the review's time budget is spent. */
  readonly signal?: AbortSignal;
  /** Where the image will run; rules may be restricted to namespaces. */
  readonly scope?: NamespaceScope;
}

export async function verifyImage(image: string, ctx: ImageCheckContext): Promise<ImageVerdict> {
  const parsed = parseReference(image);
  if (!parsed.ok) {
    return deny(image, undefined, undefined, 'INVALID_REFERENCE', parsed.error.message, []);
  }
  const ref = parsed.value;
  const repo = repositoryOf(ref);
  const name = repositoryName(repo);
  const rule = matchRule(ctx.policy, name, ctx.scope);

  // Decisions that need no registry are taken before any network I/O.
  if (!rule) {
    if (ctx.policy.defaults.unmatched === 'allow') {
      return { outcome: 'allowed', image, digest: ref.digest, rule: undefined, basis: 'default-allow', satisfiedBy: [] };
    }
    return deny(image, ref, undefined, 'NO_MATCHING_RULE', `no policy rule matches ${name} and the policy denies unmatched images`, []);
  }
  if (rule.action === 'allow') {
    return { outcome: 'allowed', image, digest: ref.digest, rule: rule.name, basis: 'exempt', satisfiedBy: [] };
  }
  if (rule.action === 'deny') {
    return deny(image, ref, rule, 'DENIED_BY_RULE', `rule ${rule.name} denies images matching ${rule.patterns.join(', ')}`, []);
  }

  const options = ctx.signal ? { signal: ctx.signal } : {};
  let digest: Digest;
  if (ref.digest) {
    digest = ref.digest;
  } else {
    const resolved = await ctx.registry.resolve(repo, ref.tag ?? 'latest', options);
    if (!resolved.ok) return registryDenial(image, ref, rule, resolved.error, 'resolving the tag');
    digest = resolved.value.digest;
  }
  const pinned = withDigest(ref, digest);

  const outcomes: VerifierOutcome[] = [];
  // One discovery per digest, shared by every cosign verifier of the rule.
  let cosign: Awaited<ReturnType<typeof discoverCosignSignatures>> | undefined;
  for (const verifier of rule.verifiers) {
    switch (verifier.type) {
      case 'cosign': {
        cosign ??= await discoverCosignSignatures(ctx.registry, repo, digest, options);
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
        outcomes.push({
          system: 'cosign',
          trusted: verifier.keys.map((k) => k.name),
          threshold: verifier.threshold,
          checks,
          lookedAt: `tag ${cosign.value.tag} in ${name}`,
        });
        break;
      }
    }
  }
  const decision = decideRule(rule.require, outcomes);
  if (decision.satisfied) {
    return { outcome: 'allowed', image, digest, rule: rule.name, basis: 'verified', satisfiedBy: decision.satisfiedBy };
  }
  return deny(image, pinned, rule, decision.code, decision.reason, decision.checks);
}

function registryDenial(image: string, ref: ImageReference, rule: CompiledRule, e: RegistryError, during: string): ImageVerdict {
  const code = denyCodeForRegistry(e);
  return deny(image, ref, rule, code, `${during}: ${e.message}`, []);
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
): ImageVerdict {
  const cosignVerifiers = rule?.verifiers.filter((v) => v.type === 'cosign') ?? [];
  const fix = fixFor(code, {
    image,
    pinned: ref?.digest ? formatReference(ref) : undefined,
    rule: rule?.name,
    trustedKeys: [...new Set(cosignVerifiers.flatMap((v) => v.keys.map((k) => k.name)))],
    patterns: rule?.patterns ?? [],
    registry: ref?.registry,
    requiredAnnotations: Object.assign({}, ...cosignVerifiers.map((v) => v.annotations)) as Record<string, string>,
  });
  return { outcome: 'denied', image, digest: ref?.digest, rule: rule?.name, code, reason, fix, checks };
}
