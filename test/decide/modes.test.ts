// The decision's rules for a denied image, as a table over every deny code: which are on the image's
// merits, which are outages that fail-open may tolerate, and that a tenant's denial is always enforced.
import { DENY_CLASS, DENY_CODES, isOnTheMerits, isOutage, type DenyCode } from '../../src/decide/codes.js';
import { combineLayers } from '../../src/decide/layers.js';
import { judge, modeOf } from '../../src/decide/modes.js';
import type { ImageVerdict } from '../../src/decide/types.js';
import { loadPolicyText } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/types.js';

function policy(defaults: string, ruleMode?: string): CompiledPolicy {
  const text = `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: p}\ndefaults: {${defaults}}\nrules:\n  - name: apps\n    images: ["r.example/**"]\n${ruleMode ? `    mode: ${ruleMode}\n` : ''}    action: deny\n`;
  const loaded = loadPolicyText(text, { baseDir: '/', sourceName: 'p.yaml' });
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}

function denied(code: DenyCode, rule: string | undefined = 'apps', tenant?: string): ImageVerdict {
  return { outcome: 'denied', image: 'r.example/app', digest: undefined, rule, code, reason: 'r', fix: 'f', checks: [], ...(tenant ? { tenant } : {}) };
}

const allowed: ImageVerdict = { outcome: 'allowed', image: 'r.example/app', digest: undefined, rule: 'apps', basis: 'verified', satisfiedBy: [] };
const OUTAGES: DenyCode[] = ['REGISTRY_UNREACHABLE', 'REGISTRY_ERROR', 'TIMEOUT'];
// Never cached, never let through by fail-open: no registry credentials, or a revocation status nobody could give.
const ACCESS: DenyCode[] = ['REGISTRY_UNAUTHORIZED', 'REVOCATION_UNKNOWN'];

describe('deny code classes', () => {
  test.each([...DENY_CODES])('%s: merits unless registry trouble; outage only for unreachable, error and timeout', (code) => {
    expect(isOutage(code)).toBe(OUTAGES.includes(code));
    expect(isOnTheMerits(code)).toBe(!OUTAGES.includes(code) && !ACCESS.includes(code));
    expect(DENY_CLASS[code]).toBe(ACCESS.includes(code) ? 'access' : OUTAGES.includes(code) ? 'outage' : 'image');
  });
});

describe('judge', () => {
  test('an allowed image passes, whatever the policy', () => {
    expect(judge(policy('mode: audit'), allowed)).toEqual({ kind: 'pass' });
  });

  test.each([...DENY_CODES])('%s under enforce with failurePolicy closed: enforced', (code) => {
    expect(judge(policy('failurePolicy: closed'), denied(code))).toEqual({ kind: 'enforce' });
  });

  test.each([...DENY_CODES])('%s under failurePolicy open: only an outage is tolerated as fail-open', (code) => {
    expect(judge(policy('failurePolicy: open'), denied(code))).toEqual(OUTAGES.includes(code) ? { kind: 'tolerate', as: 'fail-open' } : { kind: 'enforce' });
  });

  test.each([...DENY_CODES])("%s from a tenant's rule: enforced under warn, audit and fail-open", (code) => {
    for (const defaults of ['mode: warn', 'mode: audit', 'failurePolicy: open', 'mode: warn, failurePolicy: open']) {
      expect(judge(policy(defaults), denied(code, 'apps', 'team-a'))).toEqual({ kind: 'enforce' });
    }
  });

  test('warn and audit, from the default or from the rule; the rule wins over the default', () => {
    expect(judge(policy('mode: warn'), denied('UNSIGNED'))).toEqual({ kind: 'tolerate', as: 'warn' });
    expect(judge(policy('mode: audit'), denied('UNSIGNED'))).toEqual({ kind: 'tolerate', as: 'audit' });
    expect(judge(policy('mode: enforce', 'warn'), denied('UNSIGNED'))).toEqual({ kind: 'tolerate', as: 'warn' });
    expect(judge(policy('mode: warn', 'enforce'), denied('UNSIGNED'))).toEqual({ kind: 'enforce' });
    // Audit wins over fail-open for an outage: it is only recorded, never shown.
    expect(judge(policy('mode: audit, failurePolicy: open'), denied('TIMEOUT'))).toEqual({ kind: 'tolerate', as: 'audit' });
    // A verdict with no rule (unmatched) is judged in the default mode.
    expect(modeOf(policy('mode: warn', 'enforce'), { ...denied('NO_MATCHING_RULE'), rule: undefined })).toBe('warn');
  });
});

describe('combineLayers', () => {
  test("the tenant's denial wins and is marked with the tenant; otherwise the cluster's verdict stands", () => {
    const clusterDenied = denied('UNSIGNED');
    const own = denied('UNTRUSTED_SIGNER', 'team-rule');
    expect(combineLayers(allowed, own, 'team-a')).toEqual({ ...own, tenant: 'team-a' });
    expect(combineLayers(clusterDenied, own, 'team-a')).toEqual({ ...own, tenant: 'team-a' });
    expect(combineLayers(clusterDenied, allowed, 'team-a')).toBe(clusterDenied);
    expect(combineLayers(allowed, allowed, 'team-a')).toBe(allowed);
  });
});
