// Cluster trust and a namespace's own (tenant) trust, both applied: an image must satisfy the cluster
// policy AND every tenant rule that matches it. A tenant can only add requirements, so its denial
// always wins, and it is marked so that no mode or fail-open setting softens it (modes.ts). Pure.
import type { ImageVerdict } from './types.js';

export function combineLayers(cluster: ImageVerdict, own: ImageVerdict, tenantNamespace: string): ImageVerdict {
  return own.outcome === 'denied' ? { ...own, tenant: tenantNamespace } : cluster;
}
