import { decideRule, type VerifierOutcome } from '../../src/decide/decide.js';
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
