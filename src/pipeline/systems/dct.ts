// The Docker Content Trust system for the pipeline: the repository's TUF metadata from the notary
// server the rule names (discovery/dct.ts), judged by the pure verifier in two steps: the base roles
// first, then the delegations the verified base calls for. A failure to look is an error, never
// "unsigned"; a server that has no trust data for the repository is "unsigned".
import { repositoryName } from '../../reference/parse.js';
import { ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { CompiledDctVerifier } from '../../signatures/dct/policy.js';
import type { CheckTarget, SystemCheckError, SystemReport } from './check.js';
import type { SignatureCheck } from '../../signatures/types.js';
import { BASE_ROLES, fetchBaseRoles, fetchDelegations } from '../../discovery/dct.js';
import { consultedRoles, verifyBaseTrustData, verifyTargetLookup } from '../../signatures/dct/verify.js';

export { closeDctConnections } from '../../discovery/dct.js';

export async function checkDct(target: CheckTarget, verifier: CompiledDctVerifier): Promise<Result<SystemReport, SystemCheckError>> {
  const gun = repositoryName(target.repo);
  const where = `${gun} on ${verifier.server}`;
  const served = await fetchBaseRoles(verifier, gun, target.signal);
  if (!served.ok) return served;
  const { root, targets, snapshot, timestamp } = served.value;
  const absent = BASE_ROLES.filter((role) => served.value[role] === undefined).map((role) => `${role}.json`);
  if (absent.length === BASE_ROLES.length) {
    return ok({ checks: [], lookedAt: `Docker Content Trust data of ${where} (the server has none for this repository)` });
  }
  if (root === undefined || targets === undefined || snapshot === undefined || timestamp === undefined) {
    const check: SignatureCheck = {
      status: 'invalid',
      system: 'dct',
      reason: 'MALFORMED',
      detail: `the notary server has incomplete trust data for ${gun}: ${absent.join(', ')} missing`,
    };
    return ok({ checks: [check], lookedAt: `Docker Content Trust data of ${where}` });
  }

  const base = verifyBaseTrustData({
    gun,
    files: { root, targets, snapshot, timestamp },
    pinnedRootKeys: verifier.rootKeys,
    requiredDelegations: verifier.delegations,
    pinnedDelegationKeys: verifier.delegationKeys,
    now: target.now,
  });
  if (!base.ok) return ok({ checks: [base.check], lookedAt: `Docker Content Trust data of ${where}` });

  // Snapshot (now trusted) says how long each delegation file is; nothing longer is worth reading.
  const delegations = await fetchDelegations(verifier, gun, base.fetch, (role) => base.base.snapshot.body.meta.get(role)?.length, target.signal);
  if (!delegations.ok) return delegations;

  const checks = verifyTargetLookup(
    base.base,
    delegations.value,
    { tag: target.ref.tag, digest: target.digest, digestFromReference: target.ref.digest !== undefined },
    target.now,
  );
  const subject = target.ref.tag === undefined ? `digest ${target.digest}` : `tag ${target.ref.tag}`;
  return ok({ checks, lookedAt: `${subject} in ${consultedRoles(base.base)} of ${where}` });
}
