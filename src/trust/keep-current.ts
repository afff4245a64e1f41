// The one reload loop every trust source that is polled shares (a policy file, a mounted ConfigMap
// directory): look now, then every interval; hand over a compiled policy only when its version
// changes, report a problem once per distinct bad input, and keep the last good policy in force.
import type { CompiledPolicy } from '../policy/types.js';
import { pollEvery, type Poller } from '../util/poll.js';

export interface ReloadEvents {
  onLoad(policy: CompiledPolicy): void;
  onInvalid(message: string): void;
}

/** One look at a source. `key` names the bad input for de-duplication (default: the message). */
export type Look =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'loaded'; readonly policy: CompiledPolicy }
  | { readonly kind: 'invalid'; readonly message: string; readonly key?: string };

export async function keepCurrent(intervalMs: number, events: ReloadEvents, look: () => Promise<Look>, describeCrash: (error: unknown) => string): Promise<Poller> {
  let lastVersion: string | undefined;
  let lastProblem: string | undefined;
  const apply = (outcome: Look): void => {
    switch (outcome.kind) {
      case 'unchanged':
        return;
      case 'invalid': {
        const key = outcome.key ?? outcome.message;
        if (key !== lastProblem) events.onInvalid(outcome.message);
        lastProblem = key;
        return;
      }
      case 'loaded':
        lastProblem = undefined;
        if (outcome.policy.version === lastVersion) return;
        lastVersion = outcome.policy.version;
        events.onLoad(outcome.policy);
    }
  };
  const tick = async (): Promise<void> => {
    let outcome: Look;
    try {
      outcome = await look();
    } catch (error) {
      outcome = { kind: 'invalid', message: describeCrash(error) };
    }
    try {
      apply(outcome);
    } catch (error) {
      // A callback that throws (say, composing the new trust) must not end the loop or crash the
      // process: it is reported like a bad input, and the last good policy stays in force.
      try {
        events.onInvalid(describeCrash(error));
      } catch {
        // Reporting failed too; the next look tries again.
      }
    }
  };
  await tick();
  return pollEvery(intervalMs, tick);
}
