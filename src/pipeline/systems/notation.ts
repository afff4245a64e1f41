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

/** What this check needs of a compiled policy entry (CompiledNotationVerifier satisfies it). */
export type NotationCheckVerifier = NotationTrustPolicy;

export async function checkNotation(target: CheckTarget, verifier: NotationCheckVerifier): Promise<Result<SystemReport, SystemCheckError>> {
  const lookedAt = `referrers of ${target.digest} in ${target.repo.registry}/${target.repo.repository} (artifact type ${NOTATION_ARTIFACT_TYPE})`;
  const found = await discoverNotationSignatures(target);
  if (!found.ok) return found;
  if (found.value === undefined) return ok({ checks: [], lookedAt });
  const { target: signed, envelopes, rejected } = found.value;
  const shared = sharedRevocation();
  const checks = await verifyNotationSignatures({
    target: signed,
    envelopes,
    policy: verifier,
    now: target.now,
    revocation: { fetcher: shared.fetcher, cache: shared.cache, ...(target.signal !== undefined ? { signal: target.signal } : {}) },
  });
  return ok({ checks: [...rejected, ...checks], lookedAt });
}
