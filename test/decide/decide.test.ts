import { decideRule, type VerifierOutcome } from '../../src/decide/decide.js';
import { fixFor } from '../../src/decide/explain.js';
import type { SignatureCheck } from '../../src/signatures/types.js';
import type { Digest } from '../../src/reference/types.js';

const D = ('sha256:' + 'a'.repeat(64)) as Digest;
const valid = (signer: string): SignatureCheck => ({ status: 'valid', system: 'cosign', signer, digest: D, annotations: {} });
const invalid = (reason: Extract<SignatureCheck, { status: 'invalid' }>['reason'], detail: string, signer?: string): SignatureCheck => ({
  status: 'invalid',
  system: 'cosign',
  reason,
  detail,
  ...(signer ? { signer } : {}),
});
const outcome = (checks: SignatureCheck[], threshold = 1, trusted = ['release', 'backup', 'ci']): VerifierOutcome => ({ system: 'cosign', trusted, threshold, checks, lookedAt: 'tag sha256-aa.sig in r/x' });

describe('decideRule', () => {
  test('one valid signature satisfies a threshold of 1', () => {
    expect(decideRule('all', [outcome([invalid('UNTRUSTED_SIGNER', 'x'), valid('release')])])).toEqual({ satisfied: true, satisfiedBy: [{ system: 'cosign', signers: ['release'] }] });
  });

  test('the same key signing twice counts once towards a threshold', () => {
    const d = decideRule('all', [outcome([valid('release'), valid('release')], 2)]);
    expect(d.satisfied).toBe(false);
    if (!d.satisfied) {
      expect(d.code).toBe('THRESHOLD_NOT_MET');
      expect(d.reason).toBe('2 distinct trusted signers are required but only 1 signed (release); not signed by: backup, ci');
    }
  });

  test('two distinct keys meet a threshold of 2', () => {
    expect(decideRule('all', [outcome([valid('release'), valid('ci')], 2)]).satisfied).toBe(true);
  });

  test('no signatures at all is UNSIGNED and says where it looked', () => {
    const d = decideRule('all', [outcome([])]);
    expect(!d.satisfied && [d.code, d.reason]).toEqual(['UNSIGNED', 'no cosign signature found (looked for tag sha256-aa.sig in r/x)']);
  });

  test('only foreign attachments (wrong type) still count as unsigned', () => {
    const d = decideRule('all', [outcome([invalid('WRONG_TYPE', 'text/plain layer')])]);
    expect(!d.satisfied && d.code).toBe('UNSIGNED');
  });

  test('a trusted signature over another digest beats an untrusted one in the explanation', () => {
    const d = decideRule('all', [outcome([invalid('UNTRUSTED_SIGNER', 'signed, but not by a trusted key'), invalid('DIGEST_MISMATCH', 'signature is for sha256:bb but the image is sha256:aa', 'release')])]);
    expect(!d.satisfied && [d.code, d.reason]).toEqual(['DIGEST_MISMATCH', 'signature is for sha256:bb but the image is sha256:aa (2 signatures examined)']);
  });

  test.each([
    ['PAYLOAD_MISMATCH', 'BAD_SIGNATURE'],
    ['MALFORMED', 'BAD_SIGNATURE'],
    ['BAD_SIGNATURE', 'BAD_SIGNATURE'],
    ['UNTRUSTED_SIGNER', 'UNTRUSTED_SIGNER'],
    ['MISSING_ANNOTATION', 'MISSING_ANNOTATION'],
    ['IDENTITY_MISMATCH', 'IDENTITY_MISMATCH'],
  ] as const)('%s maps to deny code %s', (reason, code) => {
    const d = decideRule('all', [outcome([invalid(reason, 'detail')])]);
    expect(!d.satisfied && d.code).toBe(code);
  });

  test('require all: every verifier must pass; require any: one is enough', () => {
    const good = outcome([valid('release')]);
    const bad = outcome([]);
    expect(decideRule('all', [good, bad]).satisfied).toBe(false);
    expect(decideRule('any', [bad, good])).toEqual({ satisfied: true, satisfiedBy: [{ system: 'cosign', signers: ['release'] }] });
    const none = decideRule('any', [bad, outcome([invalid('UNTRUSTED_SIGNER', 'not trusted')])]);
    expect(!none.satisfied && none.reason).toContain('none of the 2 accepted signature kinds is satisfied');
  });
});

// Written against surviving mutants (docs/mutation-testing.md): how several verifiers combine, and
// the exact reason text when none is satisfied.
describe('decideRule: combining verifiers', () => {
  const untrusted = outcome([invalid('UNTRUSTED_SIGNER', 'signed by an unknown key')]);
  const unsigned = outcome([]);

  test('a rule without verifiers is not satisfied, and says so', () => {
    expect(decideRule('any', [])).toEqual({ satisfied: false, code: 'UNSIGNED', reason: 'the rule lists no verifier', checks: [], failing: [] });
  });

  test('require any with one verifier: its own finding, not a summary of one', () => {
    expect(decideRule('any', [untrusted])).toEqual({ satisfied: false, code: 'UNTRUSTED_SIGNER', reason: 'signed by an unknown key', checks: untrusted.checks, failing: [0] });
  });

  test('require all with several failing: the first failing verifier speaks', () => {
    const d = decideRule('all', [untrusted, unsigned]);
    expect(d).toEqual({ satisfied: false, code: 'UNTRUSTED_SIGNER', reason: 'signed by an unknown key', checks: untrusted.checks, failing: [0] });
  });

  test('require any with several failing: every reason, in order, and every failing verifier', () => {
    const d = decideRule('any', [untrusted, unsigned]);
    expect(d).toEqual({
      satisfied: false,
      code: 'UNTRUSTED_SIGNER',
      reason: 'none of the 2 accepted signature kinds is satisfied: signed by an unknown key; no cosign signature found (looked for tag sha256-aa.sig in r/x)',
      checks: untrusted.checks,
      failing: [0, 1],
    });
  });
});

describe('fixFor: one line per deny code', () => {
  const base = { image: 'r.example/app:1', pinned: 'r.example/app@sha256:ab', rule: 'prod', trustedKeys: ['release', 'ci'], patterns: ['r.example/**', 'ghcr.io/x/*'], registry: 'r.example', requiredAnnotations: {} };
  const none = { ...base, rule: undefined, trustedKeys: [], patterns: [], registry: undefined };

  test('the sign command names the right tool for each signature system, with annotations', () => {
    const annotated = { ...base, requiredAnnotations: { env: 'prod', team: 'a' } };
    expect(fixFor('UNSIGNED', annotated)).toBe('sign it with: signet sign r.example/app@sha256:ab --key <private key of release, ci> -a env=prod -a team=a');
    expect(fixFor('UNSIGNED', { ...annotated, systems: ['keyless'] })).toBe('sign it with: cosign sign r.example/app@sha256:ab (keyless, as one of: release, ci) -a env=prod -a team=a');
    expect(fixFor('UNSIGNED', { ...base, systems: ['notation', 'cosign'] })).toBe('sign it with: notation sign r.example/app@sha256:ab with a certificate that chains to release, ci');
    expect(fixFor('UNSIGNED', { ...base, systems: ['dct'] })).toBe('sign it with: docker trust sign r.example/app:1 (as a signer of release, ci)');
    expect(fixFor('UNSIGNED', { ...none, pinned: undefined })).toBe('sign it with: signet sign r.example/app:1 --key <private key of a trusted key>');
  });

  test('every code, with and without the rule, keys, patterns and registry known', () => {
    expect(fixFor('DENIED_BY_RULE', base)).toBe('rule prod forbids these images; use an image from an allowed registry or ask your platform team');
    expect(fixFor('DENIED_BY_RULE', none)).toBe('rule ? forbids these images; use an image from an allowed registry or ask your platform team');
    expect(fixFor('UNTRUSTED_SIGNER', base)).toBe('sign it with a key rule prod trusts (release, ci), or ask your platform team to trust your key for r.example/**, ghcr.io/x/*');
    expect(fixFor('UNTRUSTED_SIGNER', none)).toBe('sign it with a key rule ? trusts (a trusted key), or ask your platform team to trust your key for this image');
    expect(fixFor('NOT_FOUND', base)).toBe('check the image name and tag, and that it was pushed to r.example');
    expect(fixFor('NOT_FOUND', none)).toBe('check the image name and tag, and that it was pushed to the registry');
    expect(fixFor('REGISTRY_UNREACHABLE', base)).toBe('check that r.example is up and reachable from the webhook, then retry');
    expect(fixFor('REGISTRY_UNREACHABLE', none)).toBe('check that the registry is up and reachable from the webhook, then retry');
    expect(fixFor('REGISTRY_UNAUTHORIZED', base)).toBe('give the webhook pull credentials for r.example (a dockerconfigjson Secret)');
    expect(fixFor('REGISTRY_UNAUTHORIZED', none)).toBe('give the webhook pull credentials for the registry (a dockerconfigjson Secret)');
    expect(fixFor('REGISTRY_ERROR', base)).toBe("r.example returned something unusable; retry, and report it to the registry's operators if it persists");
    expect(fixFor('REGISTRY_ERROR', none)).toBe("the registry returned something unusable; retry, and report it to the registry's operators if it persists");
    expect(fixFor('TIMEOUT', base)).toBe('retry; if it keeps timing out, check the latency of r.example from the webhook');
  });
});

describe('decideRule: reasons in full', () => {
  test('a threshold not met lists every signer that did sign', () => {
    const d = decideRule('all', [outcome([valid('release'), valid('ci')], 3)]);
    expect(d).toMatchObject({ satisfied: false, code: 'THRESHOLD_NOT_MET', reason: '3 distinct trusted signers are required but only 2 signed (release, ci); not signed by: backup' });
  });

  test('foreign attachments (wrong type) are not findings: not the reason, not counted among those examined', () => {
    const onlyForeign = decideRule('all', [outcome([invalid('WRONG_TYPE', 'an SBOM, not a signature')])]);
    expect(onlyForeign).toMatchObject({ code: 'UNSIGNED', reason: 'no cosign signature found (looked for tag sha256-aa.sig in r/x)' });
    const mixed = decideRule('all', [outcome([invalid('WRONG_TYPE', 'an SBOM, not a signature'), invalid('UNTRUSTED_SIGNER', 'signed by an unknown key')])]);
    expect(mixed).toMatchObject({ code: 'UNTRUSTED_SIGNER', reason: 'signed by an unknown key' });
  });
});
