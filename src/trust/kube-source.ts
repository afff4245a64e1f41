// Trust held in Kubernetes: watches the cluster trust ConfigMaps (label signet.dev/trust=cluster, in the
// webhook's namespace) and, when enabled, the tenant trust ConfigMaps (signet.dev/trust=tenant, in any
// namespace); compiles them with compose.ts whenever they change; and reports the result. A rejected
// change leaves the last good trust in force, is reported through onInvalid (the caller logs it and
// counts it), and gets a Warning Event (InvalidTrustPolicy) on each ConfigMap at fault.
// The first trust is reported only once every watcher has delivered its first view, so pods in a tenant
// namespace are never judged without that tenant's policy merely because its watch was slower.

import type { KubeConfig } from '@kubernetes/client-node';
import type { EventRecorder } from '../kube/events.js';
import { createTrustTracker } from './compose.js';
import type { CompiledTrust, LayerOutcome, TrustBundle, TrustProblem } from './compose.js';
import { watchConfigMaps } from '../kube/configmaps.js';
import type { ConfigMapWatcher, TrustConfigMap, WatcherEvent, WatcherStatus, WatchTuning } from '../kube/configmaps.js';

export const TRUST_LABEL = 'signet.dev/trust';
export const CLUSTER_TRUST_SELECTOR = `${TRUST_LABEL}=cluster`;
export const TENANT_TRUST_SELECTOR = `${TRUST_LABEL}=tenant`;

export interface KubeTrustOptions {
  readonly kubeConfig: KubeConfig;
  /** The webhook's own namespace: the only place cluster trust is read from. */
  readonly namespace: string;
  /** Also read tenant trust from every namespace (opt-in; needs cluster-wide list/watch of ConfigMaps). */
  readonly tenants: boolean;
  /** A new trust is in force; `changes` says which layers changed (loaded or removed). */
  readonly onLoad: (trust: CompiledTrust, changes: readonly LayerOutcome[]) => void;
  /** A change was rejected as a whole; `kept` says whether that layer's last good policy stays in force. */
  readonly onInvalid: (problem: TrustProblem, kept: boolean) => void;
  /** What the watchers do (listed, expired, failed, stalled), for logs. */
  readonly onWatchEvent?: (source: 'cluster' | 'tenant', event: WatcherEvent) => void;
  /** Posts InvalidTrustPolicy Events on the ConfigMaps at fault, when given. */
  readonly events?: EventRecorder;
  readonly tuning?: Partial<WatchTuning>;
}

export interface KubeTrustStatus {
  readonly cluster: WatcherStatus;
  readonly tenants: WatcherStatus | undefined;
  readonly version: string | undefined;
}

export interface KubeTrust {
  /** The trust in force, or undefined before the first valid cluster policy. */
  current(): CompiledTrust | undefined;
  /** Every watcher has listed, and its latest attempt made progress (the view is current). */
  healthy(): boolean;
  status(): KubeTrustStatus;
  /** Resolves once every watcher's first view has been compiled (valid or not). Never rejects. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/** A ConfigMap's data keys, and its binaryData keys decoded, as the files of one trust source. */
export function bundleOf(configMap: TrustConfigMap): TrustBundle {
  const files = new Map<string, string>(Object.entries(configMap.data));
  for (const [name, base64] of Object.entries(configMap.binaryData)) {
    files.set(name, Buffer.from(base64, 'base64').toString('utf8'));
  }
  return {
    origin: { kind: 'configmap', namespace: configMap.namespace, name: configMap.name, uid: configMap.uid, resourceVersion: configMap.resourceVersion },
    files,
  };
}

export function startKubeTrust(options: KubeTrustOptions): KubeTrust {
  const tracker = createTrustTracker();
  let clusterMaps: readonly TrustConfigMap[] | undefined;
  let tenantMaps: readonly TrustConfigMap[] | undefined;
  let reportedVersion: string | undefined;
  let markReady: () => void = () => undefined;
  const readiness = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const reject = (problem: TrustProblem, kept: boolean): void => {
    try {
      options.onInvalid(problem, kept);
    } catch {
      // The caller's logging must not stop trust updates.
    }
    for (const origin of problem.origins) {
      if (origin.kind !== 'configmap') continue;
      void options.events?.recordInvalidTrust({
        configMap: { namespace: origin.namespace, name: origin.name, uid: origin.uid, resourceVersion: origin.resourceVersion },
        message: problem.message,
      });
    }
  };

  const recompile = (): void => {
    if (clusterMaps === undefined || (options.tenants && tenantMaps === undefined)) return;
    const outcomes: LayerOutcome[] = [tracker.updateCluster(clusterMaps.map(bundleOf))];
    if (options.tenants) {
      const byNamespace = new Map<string, TrustBundle[]>();
      for (const configMap of tenantMaps ?? []) {
        const list = byNamespace.get(configMap.namespace) ?? [];
        list.push(bundleOf(configMap));
        byNamespace.set(configMap.namespace, list);
      }
      outcomes.push(...tracker.updateTenants(byNamespace));
    }
    for (const outcome of outcomes) if (outcome.kind === 'rejected') reject(outcome.problem, outcome.kept);
    const trust = tracker.current();
    if (trust !== undefined && trust.version !== reportedVersion) {
      reportedVersion = trust.version;
      try {
        options.onLoad(
          trust,
          outcomes.filter((outcome) => outcome.kind === 'loaded' || outcome.kind === 'removed'),
        );
      } catch {
        // As above: a failing listener cannot be allowed to freeze the trust.
      }
    }
    markReady();
  };

  const clusterWatcher: ConfigMapWatcher = watchConfigMaps({
    kubeConfig: options.kubeConfig,
    namespace: options.namespace,
    labelSelector: CLUSTER_TRUST_SELECTOR,
    onSnapshot: (items) => {
      clusterMaps = items;
      recompile();
    },
    onEvent: (event) => options.onWatchEvent?.('cluster', event),
    ...(options.tuning !== undefined ? { tuning: options.tuning } : {}),
  });
  const tenantWatcher: ConfigMapWatcher | undefined = options.tenants
    ? watchConfigMaps({
        kubeConfig: options.kubeConfig,
        namespace: undefined,
        labelSelector: TENANT_TRUST_SELECTOR,
        onSnapshot: (items) => {
          tenantMaps = items;
          recompile();
        },
        onEvent: (event) => options.onWatchEvent?.('tenant', event),
        ...(options.tuning !== undefined ? { tuning: options.tuning } : {}),
      })
    : undefined;

  return {
    current: () => tracker.current(),
    healthy: () => clusterWatcher.healthy() && (tenantWatcher?.healthy() ?? true),
    status: () => ({ cluster: clusterWatcher.status(), tenants: tenantWatcher?.status(), version: tracker.current()?.version }),
    ready: () => readiness,
    stop: async () => {
      await Promise.all([clusterWatcher.stop(), tenantWatcher?.stop()]);
    },
  };
}
