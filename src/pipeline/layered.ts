// Both trust layers for one image, on the full path and from caches alone; how the two verdicts
// combine is decide/layers.ts's rule.
import type { NamespaceScope } from '../policy/scope.js';
import type { CompiledTrust } from '../trust/compose.js';
import { tenantPolicyFor } from '../trust/compose.js';
import type { ImageVerdict } from '../decide/types.js';
import { combineLayers } from '../decide/layers.js';
import type { ImagePipeline } from './image-pipeline.js';
import type { RegistryClient } from '../registry/client.js';

export async function verifyLayered(pipeline: ImagePipeline, trust: CompiledTrust, image: string, scope: NamespaceScope, signal: AbortSignal | undefined, registry?: RegistryClient): Promise<ImageVerdict> {
  const tenant = tenantPolicyFor(trust, scope.namespace);
  if (!tenant) return pipeline.verify(image, trust.cluster, scope, signal, registry);
  // Both layers in parallel: the shared caches and coalescing make the second one nearly free.
  const [cluster, own] = await Promise.all([pipeline.verify(image, trust.cluster, scope, signal, registry), pipeline.verify(image, tenant, scope, signal, registry)]);
  return combineLayers(cluster, own, tenant.tenant.namespace);
}

/** The layered verdict from caches alone, or undefined when any layer needs I/O. */
export function cachedLayered(pipeline: ImagePipeline, trust: CompiledTrust, image: string, scope: NamespaceScope): ImageVerdict | undefined {
  const tenant = tenantPolicyFor(trust, scope.namespace);
  const cluster = pipeline.cached(image, trust.cluster, scope);
  if (!tenant || cluster === undefined) return cluster;
  const own = pipeline.cached(image, tenant, scope);
  if (own === undefined) return undefined;
  return combineLayers(cluster, own, tenant.tenant.namespace);
}
