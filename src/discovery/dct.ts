// Fetching a repository's Docker Content Trust (TUF) metadata from the notary server a policy names:
// the four base roles at once, then the delegations the verified base calls for, each read capped.
// One client (and connection pool) per compiled verifier; it goes away with the policy that held it.
// A failure to look (network, TLS, auth, deadline, oversized answer) is an error; a role the server
// does not have is `undefined`.
import type { RegistryError } from '../registry/types.js';
import type { CompiledDctVerifier } from '../signatures/dct/policy.js';
import { ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { TrustServerClient } from './dct-trust-server.js';

const KIB = 1024;
const MIB = 1024 * KIB;
// Targets grows with the number of signed tags (about 150 bytes each); the others stay small.
const BASE_ROLE_CAPS = { root: 1 * MIB, targets: 8 * MIB, snapshot: 1 * MIB, timestamp: 64 * KIB } as const;
const MAX_DELEGATION_BYTES = 8 * MIB;
/** The policy allows 8 required delegations; the default needs one. Never fetch more. */
const MAX_DELEGATION_FETCHES = 8;

export const BASE_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type BaseRole = (typeof BASE_ROLES)[number];

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

/** root, targets, snapshot and timestamp of `gun`, fetched in parallel; a role the server lacks is undefined. */
export async function fetchBaseRoles(verifier: CompiledDctVerifier, gun: string, signal: AbortSignal | undefined): Promise<Result<Record<BaseRole, Buffer | undefined>, RegistryError>> {
  const client = clientFor(verifier);
  const results = await Promise.all(BASE_ROLES.map((role) => client.fetchRole(gun, role, BASE_ROLE_CAPS[role], signal)));
  const served: Partial<Record<BaseRole, Buffer | undefined>> = {};
  for (const [index, result] of results.entries()) {
    if (!result.ok) return result;
    served[BASE_ROLES[index]!] = result.value;
  }
  return ok(served as Record<BaseRole, Buffer | undefined>);
}

/**
 * The delegation roles the verified base asked for (at most MAX_DELEGATION_FETCHES), each read no
 * longer than the (verified) snapshot says it is; roles the server lacks are left out.
 */
export async function fetchDelegations(
  verifier: CompiledDctVerifier,
  gun: string,
  roles: readonly string[],
  lengthInSnapshot: (role: string) => number | undefined,
  signal: AbortSignal | undefined,
): Promise<Result<Map<string, Buffer>, RegistryError>> {
  const client = clientFor(verifier);
  const fetched = await Promise.all(
    roles.slice(0, MAX_DELEGATION_FETCHES).map(async (role) => {
      const cap = Math.min(lengthInSnapshot(role) ?? MAX_DELEGATION_BYTES, MAX_DELEGATION_BYTES);
      return { role, result: await client.fetchRole(gun, role, cap, signal) };
    }),
  );
  const delegations = new Map<string, Buffer>();
  for (const { role, result } of fetched) {
    if (!result.ok) return result;
    if (result.value !== undefined) delegations.set(role, result.value);
  }
  return ok(delegations);
}
