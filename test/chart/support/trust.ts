// Loads the policy of a trust ConfigMap the way the webhook's --kube mode reads one: data key
// policy.yaml is the policy, and `file: NAME` in it names another data key of the same ConfigMap.
import { relative } from 'node:path';
import { loadPolicyText } from '../../../src/policy/index.js';
import type { CompiledPolicy, PolicyLoadError } from '../../../src/policy/index.js';
import { err, ok, type Result } from '../../../src/util/result.js';

interface ConfigMapLike {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly data?: unknown;
}

/** Stands for the ConfigMap's data keys as files in one directory, so relative paths resolve against it. */
const CONFIGMAP_DIR = '/configmap';

export function loadTrustConfigMap(configMap: ConfigMapLike): Result<CompiledPolicy, PolicyLoadError> {
  const data = (configMap.data ?? {}) as Record<string, unknown>;
  const where = `configmap ${configMap.metadata.namespace ?? ''}/${configMap.metadata.name}`;
  const text = data['policy.yaml'];
  if (typeof text !== 'string') throw new Error(`${where} has no policy.yaml data key`);
  return loadPolicyText(text, {
    baseDir: CONFIGMAP_DIR,
    sourceName: where,
    readKeyFile: (resolvedPath) => {
      const key = relative(CONFIGMAP_DIR, resolvedPath);
      const pem = data[key];
      if (key.startsWith('..') || key.includes('/') || key === 'policy.yaml' || typeof pem !== 'string') {
        return err(`${where} has no data key ${JSON.stringify(key)} for key file ${JSON.stringify(resolvedPath)}`);
      }
      return ok(pem);
    },
  });
}
