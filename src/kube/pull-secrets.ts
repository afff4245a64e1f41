// Registry credentials from a pod's image pull secrets (opt-in): the secrets the pod spec names, then
// those of its service account (`default` when the spec names none), read through the Kubernetes API in
// the pod's own namespace. Both Secret types the kubelet uses are understood:
// `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`, the `auths` map) and the legacy
// `kubernetes.io/dockercfg` (`.dockercfg`, the bare map). The first secret that has credentials for a
// registry wins, in that order. Lookups are cached for a short time in a bounded cache, and concurrent
// lookups of the same object share one request.
// Credentials never appear in a problem message, a log line or an error: messages name secrets and
// registries only.

import { LRUCache } from 'lru-cache';
import type { CoreV1Api } from '@kubernetes/client-node';
import { deadlineOptions, describeKubeError, kubeErrorStatus } from './api.js';
import type { Result } from '../util/result.js';
import { err } from '../util/result.js';
import { parseDockerConfigJson } from '../registry/credentials.js';
import type { RegistryCredentials } from '../registry/types.js';
import { isRecord } from '../util/is-record.js';
import { SingleFlight } from '../util/single-flight.js';

/** A Kubernetes object name: a DNS subdomain. Anything else is not looked up. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface PullSecretOptions {
  readonly coreApi: CoreV1Api;
  /** How long a looked-up secret or service account is reused. Default 30 000 ms. */
  readonly ttlMs?: number;
  /** Cached objects at most (secrets and service accounts together). Default 1000. */
  readonly maxEntries?: number;
  /** Deadline of one API call; this runs inside an admission review. Default 2000 ms. */
  readonly requestTimeoutMs?: number;
  /** Secrets considered per pod at most (pod's and service account's together). Default 16. */
  readonly maxSecretsPerPod?: number;
  /** Told why a secret or service account gave nothing (missing, wrong type, API error). Never holds secret values. */
  readonly onProblem?: (message: string) => void;
  readonly now?: () => number;
}

export interface PullCredentialsRequest {
  /** The namespace of the pod (or workload): secrets are only ever read there. */
  readonly namespace: string;
  /** The pod spec (a Pod's `spec`, or a workload's `spec.template.spec`), as received. */
  readonly podSpec: unknown;
}

export interface PullSecretProvider {
  /** Registry host (as in RepositoryRef.registry, Docker Hub as `docker.io`) → credentials. Never rejects. */
  credentialsFor(request: PullCredentialsRequest): Promise<ReadonlyMap<string, RegistryCredentials>>;
}

type Lookup<T> = { readonly kind: 'found'; readonly value: T } | { readonly kind: 'nothing'; readonly why: string };
/** `transient`: a failure worth retrying soon (API trouble), cached only briefly. */
type Nothing = { readonly kind: 'nothing'; readonly why: string; readonly transient?: boolean };
type Fetched<T> = { readonly kind: 'found'; readonly value: T } | Nothing;

/** `[{name: a}, {name: b}]` → `[a, b]`, skipping malformed entries. */
function secretNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown) => (isRecord(entry) && typeof entry.name === 'string' && entry.name !== '' ? [entry.name] : []));
}

/** Reads the credentials out of a pull secret. The error names the secret's type or shape, never its values. */
export function credentialsFromSecret(secret: { readonly type?: unknown; readonly data?: unknown }): Result<ReadonlyMap<string, RegistryCredentials>, string> {
  const data = isRecord(secret.data) ? secret.data : {};
  const decode = (key: string): string | undefined => (typeof data[key] === 'string' ? Buffer.from(data[key], 'base64').toString('utf8') : undefined);
  switch (secret.type) {
    case 'kubernetes.io/dockerconfigjson': {
      const text = decode('.dockerconfigjson');
      if (text === undefined) return err('it has no .dockerconfigjson key');
      return parseDockerConfigJson(text);
    }
    case 'kubernetes.io/dockercfg': {
      const text = decode('.dockercfg');
      if (text === undefined) return err('it has no .dockercfg key');
      let legacy: unknown;
      try {
        legacy = JSON.parse(text);
      } catch {
        return err('.dockercfg is not valid JSON');
      }
      if (!isRecord(legacy)) return err('.dockercfg must be a JSON object');
      // The legacy format is the `auths` map on its own.
      return parseDockerConfigJson(JSON.stringify({ auths: legacy }));
    }
    default:
      return err(`its type is ${typeof secret.type === 'string' ? JSON.stringify(secret.type) : 'missing'}, not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg`);
  }
}

export function createPullSecretProvider(options: PullSecretOptions): PullSecretProvider {
  const ttlMs = options.ttlMs ?? 30_000;
  const timeoutMs = options.requestTimeoutMs ?? 2000;
  const maxSecrets = options.maxSecretsPerPod ?? 16;
  // Failed lookups are kept briefly too, so an API outage is not hammered by every admission.
  const failureTtlMs = Math.min(ttlMs, 5000);
  const cache = new LRUCache<string, Lookup<unknown>>({
    max: Math.max(1, options.maxEntries ?? 1000),
    ttl: ttlMs,
    ...(options.now !== undefined ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
  });
  const inFlight = new SingleFlight<Lookup<unknown>>();
  const problem = (message: string): void => {
    try {
      options.onProblem?.(message);
    } catch {
      // Logging trouble must not cost the review its credentials.
    }
  };

  const cached = <T>(key: string, fetch: () => Promise<Fetched<T>>): Promise<Lookup<T>> => {
    const hit = cache.get(key);
    if (hit !== undefined) return Promise.resolve(hit as Lookup<T>);
    const fetchAndKeep = (): Promise<Lookup<unknown>> =>
      fetch().then((result): Lookup<T> => {
        const lookup: Lookup<T> = result.kind === 'found' ? result : { kind: 'nothing', why: result.why };
        cache.set(key, lookup, result.kind === 'nothing' && result.transient === true ? { ttl: failureTtlMs } : {});
        return lookup;
      });
    return inFlight.run(key, fetchAndKeep).promise as Promise<Lookup<T>>;
  };

  // Told once per lookup, not on every cache hit, so a missing secret does not log on every admission.
  const reported = (nothing: Nothing): Nothing => {
    problem(nothing.why);
    return nothing;
  };

  const failure = (what: string, error: unknown): Nothing => {
    const status = kubeErrorStatus(error);
    if (status === 404) return { kind: 'nothing', why: `${what} does not exist` };
    return { kind: 'nothing', why: `${what} could not be read: ${describeKubeError(error, timeoutMs)}`, transient: true };
  };

  const serviceAccountSecrets = (namespace: string, name: string): Promise<Lookup<readonly string[]>> =>
    cached(`sa\0${namespace}\0${name}`, async (): Promise<Fetched<readonly string[]>> => {
      const what = `service account ${namespace}/${name}`;
      try {
        const account = await options.coreApi.readNamespacedServiceAccount({ namespace, name }, deadlineOptions(timeoutMs));
        return { kind: 'found', value: secretNames(account.imagePullSecrets) };
      } catch (error) {
        return reported(failure(what, error));
      }
    });

  const secretCredentials = (namespace: string, name: string): Promise<Lookup<ReadonlyMap<string, RegistryCredentials>>> =>
    cached(`secret\0${namespace}\0${name}`, async (): Promise<Fetched<ReadonlyMap<string, RegistryCredentials>>> => {
      const what = `image pull secret ${namespace}/${name}`;
      try {
        const secret = await options.coreApi.readNamespacedSecret({ namespace, name }, deadlineOptions(timeoutMs));
        const read = credentialsFromSecret(secret);
        return read.ok ? { kind: 'found', value: read.value } : reported({ kind: 'nothing', why: `${what} is not usable: ${read.error}` });
      } catch (error) {
        return reported(failure(what, error));
      }
    });

  return {
    credentialsFor: async ({ namespace, podSpec }) => {
      const found = new Map<string, RegistryCredentials>();
      try {
        if (!OBJECT_NAME.test(namespace) || namespace.length > 63) return found;
        const spec = isRecord(podSpec) ? podSpec : {};
        const usable = (name: string): boolean => OBJECT_NAME.test(name) && name.length <= 253;
        const named = [...new Set(secretNames(spec.imagePullSecrets))].filter(usable);
        const accountField = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '' ? spec.serviceAccountName : spec.serviceAccount;
        const account = typeof accountField === 'string' && accountField !== '' ? accountField : 'default';
        // The pod's own secrets and its service account are looked up at the same time.
        const accountLookup = usable(account) ? serviceAccountSecrets(namespace, account) : undefined;
        const lookups = named.slice(0, maxSecrets).map((name) => secretCredentials(namespace, name));
        const accountSecrets = await accountLookup;
        const fromAccount = accountSecrets?.kind === 'found' ? accountSecrets.value : [];
        const extra = [...new Set(fromAccount)].filter((name) => usable(name) && !named.includes(name));
        const room = Math.max(0, maxSecrets - lookups.length);
        if (named.length + extra.length > maxSecrets) {
          problem(`a pod in ${namespace} has ${named.length + extra.length} image pull secrets; only the first ${maxSecrets} are read`);
        }
        lookups.push(...extra.slice(0, room).map((name) => secretCredentials(namespace, name)));
        for (const lookup of await Promise.all(lookups)) {
          if (lookup.kind !== 'found') continue;
          for (const [registry, credentials] of lookup.value) if (!found.has(registry)) found.set(registry, credentials);
        }
      } catch (error) {
        problem(`image pull secrets in ${namespace} could not be read: ${describeKubeError(error)}`);
      }
      return found;
    },
  };
}
