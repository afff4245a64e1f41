// How a policy treats a denied image: enforced, let through with a warning (warn mode, or fail-open on
// an outage), or only recorded (audit). A tenant's denial is always enforced: tenant rules only add
// requirements, and no cluster setting may soften them. Pure.
import type { CompiledPolicy, Mode } from '../policy/types.js';
import { isOutage } from './codes.js';
import type { ImageVerdict } from './types.js';

/** What to do with one image's verdict. */
export type Judgement =
  | { readonly kind: 'pass' }
  | { readonly kind: 'enforce' }
  /** Denied but let through: `warn` and `fail-open` say so in an admission warning, `audit` only logs it. */
  | { readonly kind: 'tolerate'; readonly as: 'warn' | 'audit' | 'fail-open' };

export function judge(policy: CompiledPolicy, verdict: ImageVerdict): Judgement {
  if (verdict.outcome === 'allowed') return { kind: 'pass' };
  const mode = modeOf(policy, verdict);
  const failOpen = verdict.tenant === undefined && policy.defaults.failurePolicy === 'open' && isOutage(verdict.code);
  if (mode === 'enforce' && !failOpen) return { kind: 'enforce' };
  return { kind: 'tolerate', as: mode === 'audit' ? 'audit' : failOpen ? 'fail-open' : 'warn' };
}

/** The mode a verdict is judged in: its rule's, the default's, or enforce for a tenant's denial. */
export function modeOf(policy: CompiledPolicy, verdict: ImageVerdict): Mode {
  if (verdict.outcome === 'denied' && verdict.tenant !== undefined) return 'enforce';
  return modeFor(policy, verdict.rule);
}

export function modeFor(policy: CompiledPolicy, ruleName: string | undefined): Mode {
  const rule = ruleName === undefined ? undefined : policy.rules.find((r) => r.name === ruleName);
  return rule?.mode ?? policy.defaults.mode;
}
