// Where the server's trust comes from — a policy file, a mounted ConfigMap directory, or
// ConfigMaps watched through the Kubernetes API — behind one interface: the trust in force
// (cluster policy plus tenant policies), replaced whole on every valid change, never on an invalid one.
import type { KubeConfig } from '@kubernetes/client-node';
import type { CompiledPolicy } from '../policy/types.js';
import { composeTrust, type CompiledTrust } from './compose.js';
import { watchTrustDirectory } from './directory.js';
import type { WatchTuning } from '../kube/configmaps.js';
import type { EventRecorder } from '../kube/events.js';
import { watchPolicyFile } from './policy-file.js';

export type TrustSourceConfig =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'directory'; readonly dir: string }
  | {
      readonly kind: 'kube';
      readonly kubeConfig: KubeConfig;
      /** The webhook's namespace, where cluster trust ConfigMaps live. */
      readonly namespace: string;
      readonly tenants: boolean;
      readonly tuning?: Partial<WatchTuning>;
    };

export interface TrustEvents {
  onLoad(trust: CompiledTrust, previous: CompiledTrust | undefined): void;
  /** A change was rejected; `kept` is true when earlier trust stays in force. */
  onInvalid(message: string, kept: boolean): void;
}

export interface RunningTrustSource {
  current(): CompiledTrust | undefined;
  /** False while the source may be missing changes (API watch down); the last trust stays in force. */
  healthy(): boolean;
  stop(): Promise<void>;
}

export async function startTrustSource(config: TrustSourceConfig, reloadIntervalMs: number, events: TrustEvents, recorder?: EventRecorder): Promise<RunningTrustSource> {
  let current: CompiledTrust | undefined;
  const loadPolicy = (policy: CompiledPolicy): void => {
    const previous = current;
    current = composeTrust(policy);
    events.onLoad(current, previous);
  };
  const invalid = (message: string): void => events.onInvalid(message, current !== undefined);
  switch (config.kind) {
    case 'file': {
      const watcher = await watchPolicyFile(config.path, reloadIntervalMs, { onLoad: loadPolicy, onInvalid: invalid });
      return { current: () => current, healthy: () => true, stop: async () => watcher.stop() };
    }
    case 'directory': {
      const watcher = await watchTrustDirectory(config.dir, reloadIntervalMs, { onLoad: loadPolicy, onInvalid: invalid });
      return { current: () => current, healthy: () => true, stop: async () => watcher.stop() };
    }
    case 'kube': {
      // Loaded here only: the Kubernetes client is heavy, and file-based trust never needs it.
      const { startKubeTrust } = await import('./kube-source.js');
      const source = startKubeTrust({
        kubeConfig: config.kubeConfig,
        namespace: config.namespace,
        tenants: config.tenants,
        onLoad: (trust) => {
          const previous = current;
          current = trust;
          events.onLoad(trust, previous);
        },
        onInvalid: (problem, kept) => events.onInvalid(problem.message, kept),
        ...(recorder ? { events: recorder } : {}),
        ...(config.tuning ? { tuning: config.tuning } : {}),
      });
      // Serve only once the first view of the cluster's trust has been compiled (valid or not).
      await source.ready();
      return { current: () => current, healthy: () => source.healthy(), stop: () => source.stop() };
    }
  }
}
