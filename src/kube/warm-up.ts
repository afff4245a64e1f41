// Cache warm-up: verify the images of the pods already running, so the first rollout after a
// restart or a trust change meets warm caches instead of sending a burst to registries. Optional,
// needs `list pods` cluster-wide, bounded in pods, concurrency and time, and never blocks serving.
import type { CoreV1Api } from '@kubernetes/client-node';
import { extractImages } from '../admission/extract.js';
import type { NamespaceScope } from '../policy/scope.js';
import type { ImageVerdict } from '../decide/types.js';
import { deadlineOptions } from './api.js';

export interface WarmUpOptions {
  readonly coreApi: CoreV1Api;
  readonly verify: (image: string, scope: NamespaceScope) => Promise<ImageVerdict>;
  /** Pods looked at, at most (large clusters: the first pages are enough to warm the common images). */
  readonly maxPods?: number;
  readonly pageSize?: number;
  /** Verifications in flight at once, so warm-up never competes hard with live reviews. */
  readonly concurrency?: number;
  /** Stops the warm-up (shutdown, or a newer trust made it stale). */
  readonly signal?: AbortSignal;
}

export interface WarmUpReport {
  readonly pods: number;
  /** Distinct (image, namespace) pairs verified. */
  readonly images: number;
  readonly allowed: number;
  readonly denied: number;
  readonly stopped: boolean;
}

export async function warmUp(o: WarmUpOptions): Promise<WarmUpReport> {
  const maxPods = o.maxPods ?? 5000;
  const pageSize = o.pageSize ?? 500;
  const pairs = new Map<string, { image: string; namespace: string }>();
  let pods = 0;
  let token: string | undefined;
  do {
    if (o.signal?.aborted) break;
    const page = await o.coreApi.listPodForAllNamespaces({ limit: pageSize, ...(token ? { _continue: token } : {}) }, deadlineOptions(10_000, o.signal));
    for (const pod of page.items) {
      if (pods >= maxPods) break;
      const phase = pod.status?.phase;
      if (phase !== 'Running' && phase !== 'Pending') continue;
      pods++;
      const namespace = pod.metadata?.namespace ?? '';
      const found = extractImages('Pod', pod);
      if (!found.supported) continue;
      for (const { image } of found.images) pairs.set(`${namespace}\u0000${image}`, { image, namespace });
    }
    token = page.metadata?._continue || undefined;
  } while (token && pods < maxPods);

  let allowed = 0;
  let denied = 0;
  const queue = [...pairs.values()];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next && !o.signal?.aborted; next = queue.shift()) {
      const verdict = await o.verify(next.image, { namespace: next.namespace || undefined, labels: undefined });
      if (verdict.outcome === 'allowed') allowed++;
      else denied++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));
  return { pods, images: pairs.size, allowed, denied, stopped: o.signal?.aborted ?? false };
}
