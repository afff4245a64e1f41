// The Docker Content Trust system for the pipeline: fetches the repository's TUF metadata from the
// notary server the rule names (root, targets, snapshot and timestamp in parallel, then the
// delegations the verified targets and snapshot call for), and hands the bytes to the pure
// verifier. A failure to look (network, TLS, auth, deadline, oversized answer) is an error, never
// "unsigned"; a server that has no trust data for the repository is "unsigned".
import { repositoryName } from '../../reference/parse.js';
import { ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { CompiledDctVerifier } from '../../signatures/dct/policy.js';
import type { CheckTarget, SystemCheckError, SystemReport } from './check.js';
import type { SignatureCheck } from '../../signatures/types.js';
import { TrustServerClient } from '../../discovery/dct-trust-server.js';
import { verifyBaseTrustData, verifyTargetLookup } from '../../signatures/dct/verify.js';

const KIB = 1024;
const MIB = 1024 * KIB;
// Targets grows with the number of signed tags (about 150 bytes each); the others stay small.
const BASE_ROLE_CAPS = { root: 1 * MIB, targets: 8 * MIB, snapshot: 1 * MIB, timestamp: 64 * KIB } as const;
const MAX_DELEGATION_BYTES = 8 * MIB;
/** The policy allows 8 required delegations; the default needs one. Never fetch more. */
const MAX_DELEGATION_FETCHES = 8;

// One client (and connection pool) per compiled verifier; it goes away with the policy that held it.
const clients = new WeakMap<CompiledDctVerifier, TrustServerClient>();

function clientFor(verifier: CompiledDctVerifier): TrustServerClient {
  let client = clients.get(verifier);
  if (client === undefined) {
    client = new TrustServerClient({
      server: verifier.server,
      insecureHttp: verifier.insecureHttp,
      ...(verifier.caBundle !== undefined ? { caBundle: verifier.caBundle } : {}),
    });
    clients.set(verifier, client);
  }
  return client;
}

/** Closes the connections of a verifier's client (policy replaced, shutdown, end of a test). */
export async function closeDctConnections(verifier: CompiledDctVerifier): Promise<void> {
  const client = clients.get(verifier);
  clients.delete(verifier);
  await client?.close();
}

export async function checkDct(target: CheckTarget, verifier: CompiledDctVerifier): Promise<Result<SystemReport, SystemCheckError>> {
  const client = clientFor(verifier);
  const gun = repositoryName(target.repo);
  const where = `${gun} on ${verifier.server}`;
  const roles = ['root', 'targets', 'snapshot', 'timestamp'] as const;
  const results = await Promise.all(roles.map((role) => client.fetchRole(gun, role, BASE_ROLE_CAPS[role], target.signal)));
  const served: (Buffer | undefined)[] = [];
  for (const result of results) {
    if (!result.ok) return result;
    served.push(result.value);
  }
  const [root, targets, snapshot, timestamp] = served;
  const absent = roles.filter((_, index) => served[index] === undefined).map((role) => `${role}.json`);
  if (absent.length === roles.length) {
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
    now: target.now,
  });
  if (!base.ok) return ok({ checks: [base.check], lookedAt: `Docker Content Trust data of ${where}` });

  const wanted = base.fetch.slice(0, MAX_DELEGATION_FETCHES);
  const fetched = await Promise.all(
    wanted.map(async (role) => {
      // Snapshot (now trusted) says how long the file is; nothing longer is worth reading.
      const cap = Math.min(base.base.snapshot.body.meta.get(role)?.length ?? MAX_DELEGATION_BYTES, MAX_DELEGATION_BYTES);
      return { role, result: await client.fetchRole(gun, role, cap, target.signal) };
    }),
  );
  const delegations = new Map<string, Buffer>();
  for (const { role, result } of fetched) {
    if (!result.ok) return result;
    if (result.value !== undefined) delegations.set(role, result.value);
  }

  const checks = verifyTargetLookup(
    base.base,
    delegations,
    { tag: target.ref.tag, digest: target.digest, digestFromReference: target.ref.digest !== undefined },
    target.now,
  );
  const subject = target.ref.tag === undefined ? `digest ${target.digest}` : `tag ${target.ref.tag}`;
  return ok({ checks, lookedAt: `${subject} in ${base.base.consult.join(' and ')} of ${where}` });
}
