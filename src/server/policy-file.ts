// Keeps the policy from a file current: loads it at start and re-loads it when its content
// changes. An invalid change is rejected as a whole; the last good policy stays in force.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { loadPolicyFile } from '../policy/load.js';
import type { CompiledPolicy } from '../policy/types.js';
import { pollEvery } from '../util/poll.js';

export interface PolicyWatcher {
  stop(): void;
}

export interface PolicyEvents {
  onLoad(policy: CompiledPolicy): void;
  onInvalid(message: string): void;
}

export async function watchPolicyFile(path: string, intervalMs: number, events: PolicyEvents): Promise<PolicyWatcher> {
  let lastVersion: string | undefined;
  let lastText: string | undefined;
  const load = async (): Promise<void> => {
    const text = await readFile(path, 'utf8').catch((e: unknown) => `\0unreadable: ${(e as Error).message}`);
    // Key files referenced by the policy can change too; the compiled version covers them.
    const textHash = createHash('sha256').update(text).digest('hex');
    const result = await loadPolicyFile(path);
    if (!result.ok) {
      if (textHash !== lastText) events.onInvalid(result.error.message);
      lastText = textHash;
      return;
    }
    lastText = textHash;
    if (result.value.version === lastVersion) return;
    lastVersion = result.value.version;
    events.onLoad(result.value);
  };
  await load();
  return pollEvery(intervalMs, load);
}
