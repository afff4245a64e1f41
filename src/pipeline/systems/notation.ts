// The Notation system for the pipeline: discovery/notation.ts finds the signatures of the admitted
// digest, signatures/notation verifies them against the rule's trust store and identities, asking
// discovery/notation-revocation.ts for OCSP answers and CRLs when a signing chain names them. One
// fetcher and one revocation cache serve every check of the process (answers kept until nextUpdate).
import { ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { CheckTarget, SystemCheckError, SystemReport } from './check.js';
import { NOTATION_ARTIFACT_TYPE } from '../../signatures/notation/envelope.js';
import type { NotationTrustPolicy } from '../../signatures/notation/trust.js';
import { verifyNotationSignatures } from '../../signatures/notation/verify.js';
import { discoverNotationSignatures } from '../../discovery/notation.js';
import { HttpRevocationFetcher } from '../../discovery/notation-revocation.js';
import { RevocationCache } from '../../signatures/notation/revocation.js';
import { selectNotationPolicy, type ScopedNotationPolicy } from '../../signatures/notation/notation-files.js';
import { quote } from '../../util/quote.js';

let revocation: { readonly fetcher: HttpRevocationFetcher; readonly cache: RevocationCache } | undefined;

function sharedRevocation(): { readonly fetcher: HttpRevocationFetcher; readonly cache: RevocationCache } {
  revocation ??= { fetcher: new HttpRevocationFetcher(), cache: new RevocationCache() };
  return revocation;
}

/** Closes the shared revocation fetcher's connections (tests, shutdown); the next check makes a new one. */
export async function closeNotationRevocation(): Promise<void> {
  const current = revocation;
  revocation = undefined;
  await current?.fetcher.close();
}

export { MAX_ENVELOPE_BYTES, MAX_NOTATION_SIGNATURES } from '../../discovery/notation.js';

/** All revocation fetches for one image's Notation signatures; the review budget is 8 s by default. */
export const REVOCATION_BUDGET_MS = 3000;

/** What this check needs of a compiled policy entry (CompiledNotationVerifier satisfies it). */
export type NotationCheckVerifier = NotationTrustPolicy & { readonly scoped?: { readonly source: string; readonly policies: readonly ScopedNotationPolicy[] } };

export async function checkNotation(target: CheckTarget, verifier: NotationCheckVerifier): Promise<Result<SystemReport, SystemCheckError>> {
  const lookedAt = `referrers of ${target.digest} in ${target.repo.registry}/${target.repo.repository} (artifact type ${NOTATION_ARTIFACT_TYPE})`;
  let policy: NotationTrustPolicy = verifier;
  if (verifier.scoped !== undefined) {
    // Notation's own trust policy file: the policy for this repository, chosen as notation verify chooses it.
    const repository = `${target.repo.registry}/${target.repo.repository}`;
    const chosen = selectNotationPolicy(verifier.scoped.policies, repository);
    if (chosen === undefined || chosen.verification.kind === 'skip') {
      const detail =
        chosen === undefined
          ? `no trust policy of ${verifier.scoped.source} applies to ${repository}: none names it in registryScopes and none is "*"`
          : `trust policy ${quote(chosen.name)} of ${verifier.scoped.source} skips verification for ${repository}; a verify rule admits only verified images (give such images a rule of their own)`;
      return ok({ checks: [{ status: 'invalid', system: 'notation', reason: 'UNTRUSTED_SIGNER', detail }], lookedAt });
    }
    policy = chosen.verification.policy;
  }
  const found = await discoverNotationSignatures(target);
  if (!found.ok) return found;
  if (found.value === undefined) return ok({ checks: [], lookedAt });
  const { target: signed, envelopes, rejected } = found.value;
  const shared = sharedRevocation();
  // Revocation checks of this image share one budget, well inside the review's: an unanswering
  // responder must end as REVOCATION_UNKNOWN (never let through by fail-open), not run the review
  // out of time into a TIMEOUT, which failurePolicy: open would admit.
  const budget = AbortSignal.timeout(REVOCATION_BUDGET_MS);
  const signal = target.signal !== undefined ? AbortSignal.any([target.signal, budget]) : budget;
  const checks = await verifyNotationSignatures({
    target: signed,
    envelopes,
    policy,
    now: target.now,
    revocation: { fetcher: shared.fetcher, cache: shared.cache, signal },
  });
  return ok({ checks: [...rejected, ...checks], lookedAt });
}
