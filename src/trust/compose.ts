// Turns trust sources (ConfigMaps from the API, or a mounted ConfigMap directory) into the compiled trust
// the webhook decides with: one cluster policy and, per namespace, an optional tenant policy. Pure
// functions plus one small holder of the last good state; no I/O.
//
// Merge rule (docs/kubernetes.md, "Trust in ConfigMaps"): the sources of one layer (the cluster's, or
// one tenant namespace's) are merged into one set of files. Exactly one of them carries `policy.yaml`;
// every other data key is a file the policy can name with `file: <key>`. The same key in two sources
// (policy.yaml included) is a configuration error that rejects the layer as a whole: nothing is
// silently overridden, and no ordering decides. A rejected layer keeps its last good policy.

import { createHash } from 'node:crypto';
import { dirname, isAbsolute, relative } from 'node:path';
import { loadPolicyText, MAX_KEY_FILE_BYTES } from '../policy/load.js';
import type { KeyFileReader } from '../policy/compile.js';
import { loadTenantPolicyText } from '../policy/tenants.js';
import type { CompiledTenantPolicy } from '../policy/tenants.js';
import type { CompiledPolicy, PolicyLoadError, PolicyProblem } from '../policy/types.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { FrozenMap } from '../util/frozen-map.js';

/** The data key holding a policy. */
export const POLICY_KEY = 'policy.yaml';

/**
 * Relative `file:` paths are resolved against this directory by the policy loader; it never exists on
 * disk, because key files are read from the sources' data, never from the file system.
 */
const VIRTUAL_ROOT = '/signet-trust-sources';

export type TrustOrigin =
  | { readonly kind: 'configmap'; readonly namespace: string; readonly name: string; readonly uid: string | undefined; readonly resourceVersion: string | undefined }
  | { readonly kind: 'directory'; readonly path: string };

/** One source of trust files: a ConfigMap's data, or the files of a mounted ConfigMap directory. */
export interface TrustBundle {
  readonly origin: TrustOrigin;
  /** File name (data key) → text. */
  readonly files: ReadonlyMap<string, string>;
}

export type TrustLayer = 'cluster' | 'tenant';

export interface TrustProblem {
  readonly code: 'TRUST_INVALID';
  readonly layer: TrustLayer;
  /** The tenant namespace; undefined for the cluster layer. */
  readonly namespace: string | undefined;
  /** Where the problem is: Events about it go to these ConfigMaps. Empty when nothing exists to blame. */
  readonly origins: readonly TrustOrigin[];
  /** For logs and Events: what is wrong, naming the ConfigMaps (multi-line for policy problems). */
  readonly message: string;
  /** The policy's own problems with line and column, when the policy text was at fault. */
  readonly problems: readonly PolicyProblem[];
}

/** The trust in force: the cluster policy and the tenant policies by namespace. */
export interface CompiledTrust {
  readonly cluster: CompiledPolicy;
  /** Namespace → that namespace's tenant policy. A tenant's keys and rules apply in its namespace only. */
  readonly tenants: ReadonlyMap<string, CompiledTenantPolicy>;
  /** `sha256:<hex>` over the cluster version and every tenant's namespace and version; for cache keys. */
  readonly version: string;
}

/** `configmap signet/trust` or `directory /etc/signet/trust`, as operators read it. */
export function describeOrigin(origin: TrustOrigin): string {
  return origin.kind === 'configmap' ? `configmap ${origin.namespace}/${origin.name}` : `directory ${origin.path}`;
}

function describeOrigins(origins: readonly TrustOrigin[]): string {
  return origins.map(describeOrigin).join(', ');
}


function hashFields(fields: readonly string[]): string {
  const hash = createHash('sha256');
  for (const field of fields) {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(bytes.length));
    hash.update(length).update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Builds the trust in force from a cluster policy and tenant policies. */
export function composeTrust(cluster: CompiledPolicy, tenants: ReadonlyMap<string, CompiledTenantPolicy> = new Map()): CompiledTrust {
  const namespaces = [...tenants.keys()].sort();
  const version = hashFields(['signet-trust-1', cluster.version, ...namespaces.flatMap((namespace) => [namespace, tenants.get(namespace)?.version ?? ''])]);
  return Object.freeze({ cluster, tenants: new FrozenMap(namespaces.map((namespace) => [namespace, tenants.get(namespace)!] as const)), version });
}

/** The tenant policy that applies in `namespace`, if any. An unknown namespace has none. */
export function tenantPolicyFor(trust: CompiledTrust, namespace: string | undefined): CompiledTenantPolicy | undefined {
  return namespace === undefined || namespace === '' ? undefined : trust.tenants.get(namespace);
}

interface MergedLayer {
  readonly policyText: string;
  readonly policyOrigin: TrustOrigin;
  readonly files: ReadonlyMap<string, { readonly text: string; readonly origin: TrustOrigin }>;
}

function problem(layer: TrustLayer, namespace: string | undefined, origins: readonly TrustOrigin[], message: string, problems: readonly PolicyProblem[] = []): TrustProblem {
  return Object.freeze({ code: 'TRUST_INVALID', layer, namespace, origins: Object.freeze([...origins]), message, problems: Object.freeze([...problems]) });
}

function layerName(layer: TrustLayer, namespace: string | undefined): string {
  return layer === 'cluster' ? 'cluster trust' : `tenant trust of namespace ${namespace ?? ''}`;
}

/** Merges the sources of one layer; every data key may appear once across all of them. */
function mergeLayer(layer: TrustLayer, namespace: string | undefined, bundles: readonly TrustBundle[]): Result<MergedLayer, TrustProblem> {
  const files = new Map<string, { text: string; origin: TrustOrigin }>();
  const clashes = new Map<string, TrustOrigin[]>();
  for (const bundle of bundles) {
    for (const [name, text] of bundle.files) {
      const first = files.get(name);
      if (first === undefined) {
        files.set(name, { text, origin: bundle.origin });
        continue;
      }
      const list = clashes.get(name) ?? [first.origin];
      list.push(bundle.origin);
      clashes.set(name, list);
    }
  }
  if (clashes.size > 0) {
    const names = [...clashes.keys()].sort();
    const involved = [...new Set(names.flatMap((name) => clashes.get(name) ?? []))];
    const detail = names.map((name) => `${JSON.stringify(name)} is in ${describeOrigins(clashes.get(name) ?? [])}`).join('; ');
    return err(
      problem(
        layer,
        namespace,
        involved,
        `${layerName(layer, namespace)} is invalid: the same data key appears in more than one ConfigMap (${detail}); every key, ${POLICY_KEY} included, must appear in exactly one, so nothing is silently overridden`,
      ),
    );
  }
  const policy = files.get(POLICY_KEY);
  if (policy === undefined) {
    const where = bundles.length === 0 ? 'there are no trust ConfigMaps' : `none of ${describeOrigins(bundles.map((bundle) => bundle.origin))} has a ${POLICY_KEY} key`;
    return err(problem(layer, namespace, bundles.map((bundle) => bundle.origin), `${layerName(layer, namespace)} is invalid: ${where}; exactly one must hold the policy under ${POLICY_KEY}`));
  }
  return ok({ policyText: policy.text, policyOrigin: policy.origin, files });
}

/** Key files are data keys of the layer's sources: `file: release.pub`, never a path on disk. */
function keyReader(merged: MergedLayer, origins: readonly TrustOrigin[]): KeyFileReader {
  return (resolvedPath) => {
    const written = isAbsolute(resolvedPath) && dirname(resolvedPath) === VIRTUAL_ROOT ? relative(VIRTUAL_ROOT, resolvedPath) : undefined;
    const available = [...merged.files.keys()].filter((name) => name !== POLICY_KEY).sort();
    const choices = available.length === 0 ? 'they hold no other keys' : `available: ${available.join(', ')}`;
    if (written === undefined) {
      return err(`key files are read from the trust ConfigMaps, never from disk: write file: <data key> (${choices})`);
    }
    const entry = merged.files.get(written);
    if (entry === undefined || written === POLICY_KEY) return err(`no data key ${JSON.stringify(written)} in ${describeOrigins(origins)} (${choices})`);
    const bytes = Buffer.byteLength(entry.text, 'utf8');
    if (bytes > MAX_KEY_FILE_BYTES) return err(`data key ${JSON.stringify(written)} of ${describeOrigin(entry.origin)} is ${bytes} bytes; at most ${MAX_KEY_FILE_BYTES} are allowed`);
    return ok(entry.text);
  };
}

function sourceName(origin: TrustOrigin): string {
  return origin.kind === 'configmap' ? `configmap ${origin.namespace}/${origin.name} (${POLICY_KEY})` : `${origin.path.replace(/\/+$/, '')}/${POLICY_KEY}`;
}

function policyProblem(layer: TrustLayer, namespace: string | undefined, merged: MergedLayer, error: PolicyLoadError): TrustProblem {
  // Blame the ConfigMap with the policy; a key file's problem is reported by the policy at its keys entry.
  return problem(layer, namespace, [merged.policyOrigin], error.message, error.problems);
}

/** Compiles the cluster layer from its sources. */
export function compileClusterTrust(bundles: readonly TrustBundle[]): Result<CompiledPolicy, TrustProblem> {
  const merged = mergeLayer('cluster', undefined, bundles);
  if (!merged.ok) return merged;
  const origins = bundles.map((bundle) => bundle.origin);
  const loaded = loadPolicyText(merged.value.policyText, { baseDir: VIRTUAL_ROOT, sourceName: sourceName(merged.value.policyOrigin), readKeyFile: keyReader(merged.value, origins) });
  return loaded.ok ? loaded : err(policyProblem('cluster', undefined, merged.value, loaded.error));
}

/** Compiles one tenant namespace's layer from its sources (all in that namespace). */
export function compileTenantTrust(namespace: string, bundles: readonly TrustBundle[]): Result<CompiledTenantPolicy, TrustProblem> {
  const strangers = bundles.filter((bundle) => bundle.origin.kind !== 'configmap' || bundle.origin.namespace !== namespace);
  if (strangers.length > 0) {
    return err(problem('tenant', namespace, strangers.map((bundle) => bundle.origin), `${describeOrigins(strangers.map((bundle) => bundle.origin))} cannot hold tenant trust for namespace ${namespace}`));
  }
  const merged = mergeLayer('tenant', namespace, bundles);
  if (!merged.ok) return merged;
  const origins = bundles.map((bundle) => bundle.origin);
  const loaded = loadTenantPolicyText(merged.value.policyText, {
    namespace,
    baseDir: VIRTUAL_ROOT,
    sourceName: sourceName(merged.value.policyOrigin),
    readKeyFile: keyReader(merged.value, origins),
  });
  return loaded.ok ? loaded : err(policyProblem('tenant', namespace, merged.value, loaded.error));
}

/** Identity of a layer's input: sources and their exact contents. Equal inputs compile to equal results. */
function inputFingerprint(bundles: readonly TrustBundle[]): string {
  const ordered = [...bundles].sort((a, b) => describeOrigin(a.origin).localeCompare(describeOrigin(b.origin)));
  return hashFields(
    ordered.flatMap((bundle) => [
      describeOrigin(bundle.origin),
      ...[...bundle.files.keys()].sort().flatMap((name) => [name, bundle.files.get(name) ?? '']),
      '\0end',
    ]),
  );
}

/** What applying new sources to one layer did. */
export type LayerOutcome =
  | { readonly kind: 'loaded'; readonly layer: TrustLayer; readonly namespace: string | undefined; readonly policy: CompiledPolicy }
  | { readonly kind: 'unchanged'; readonly layer: TrustLayer; readonly namespace: string | undefined }
  /** A tenant namespace's sources are all gone, and so is its tenant policy. */
  | { readonly kind: 'removed'; readonly layer: 'tenant'; readonly namespace: string }
  /** Rejected as a whole; `kept` says whether a last good policy stays in force for this layer. */
  | { readonly kind: 'rejected'; readonly layer: TrustLayer; readonly namespace: string | undefined; readonly problem: TrustProblem; readonly kept: boolean };

export interface TrustTracker {
  /** Applies the cluster sources. Identical input is `unchanged` and is not reported again. */
  updateCluster(bundles: readonly TrustBundle[]): LayerOutcome;
  /** Applies every tenant namespace's sources at once; namespaces missing from the map lose their tenant policy. */
  updateTenants(bundlesByNamespace: ReadonlyMap<string, readonly TrustBundle[]>): LayerOutcome[];
  /** The trust in force; undefined until a cluster policy has loaded. */
  current(): CompiledTrust | undefined;
}

/**
 * Holds the last good policy of every layer. A rejected change leaves that layer's last good policy in
 * force (a tenant that never had a valid policy has none, so only the cluster decision applies there).
 */
export function createTrustTracker(): TrustTracker {
  let cluster: { input: string; good: CompiledPolicy | undefined } = { input: '', good: undefined };
  const tenants = new Map<string, { input: string; good: CompiledTenantPolicy | undefined }>();
  let trust: CompiledTrust | undefined;

  const recompose = (): void => {
    if (cluster.good === undefined) {
      trust = undefined;
      return;
    }
    const good = new Map<string, CompiledTenantPolicy>();
    for (const [namespace, state] of tenants) if (state.good !== undefined) good.set(namespace, state.good);
    const next = composeTrust(cluster.good, good);
    if (next.version !== trust?.version) trust = next;
  };

  return {
    updateCluster: (bundles) => {
      const input = inputFingerprint(bundles);
      if (input === cluster.input) return { kind: 'unchanged', layer: 'cluster', namespace: undefined };
      const compiled = compileClusterTrust(bundles);
      if (!compiled.ok) {
        cluster = { input, good: cluster.good };
        return { kind: 'rejected', layer: 'cluster', namespace: undefined, problem: compiled.error, kept: cluster.good !== undefined };
      }
      cluster = { input, good: compiled.value };
      recompose();
      return { kind: 'loaded', layer: 'cluster', namespace: undefined, policy: compiled.value };
    },
    updateTenants: (bundlesByNamespace) => {
      const outcomes: LayerOutcome[] = [];
      for (const namespace of [...tenants.keys()]) {
        if (bundlesByNamespace.has(namespace)) continue;
        tenants.delete(namespace);
        outcomes.push({ kind: 'removed', layer: 'tenant', namespace });
      }
      for (const namespace of [...bundlesByNamespace.keys()].sort()) {
        const bundles = bundlesByNamespace.get(namespace) ?? [];
        const input = inputFingerprint(bundles);
        const previous = tenants.get(namespace);
        if (previous !== undefined && previous.input === input) {
          outcomes.push({ kind: 'unchanged', layer: 'tenant', namespace });
          continue;
        }
        const compiled = compileTenantTrust(namespace, bundles);
        if (!compiled.ok) {
          tenants.set(namespace, { input, good: previous?.good });
          outcomes.push({ kind: 'rejected', layer: 'tenant', namespace, problem: compiled.error, kept: previous?.good !== undefined });
          continue;
        }
        tenants.set(namespace, { input, good: compiled.value });
        outcomes.push({ kind: 'loaded', layer: 'tenant', namespace, policy: compiled.value });
      }
      recompose();
      return outcomes;
    },
    current: () => trust,
  };
}
