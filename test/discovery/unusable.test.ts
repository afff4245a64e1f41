// One referrer that cannot be fetched as it should be is that referrer's problem (an invalid check);
// a failure to look at all stays an error of the whole lookup, so it can never read as "unsigned".
import { unusableFetch } from '../../src/discovery/unusable.js';
import type { RegistryError, RegistryErrorCode } from '../../src/registry/types.js';

const error = (code: RegistryErrorCode): RegistryError => ({ code, message: `registry r.example ${code.toLowerCase()}`, registry: 'r.example' });

describe('unusableFetch', () => {
  test('content that does not hash to its digest: PAYLOAD_MISMATCH for that referrer, in the system asked for', () => {
    expect(unusableFetch(error('DIGEST_MISMATCH'), 'Notation signature sha256:ab', 'notation')).toEqual({
      status: 'invalid',
      system: 'notation',
      reason: 'PAYLOAD_MISMATCH',
      detail: 'Notation signature sha256:ab: registry r.example digest_mismatch',
    });
  });

  test.each(['NOT_FOUND', 'TOO_LARGE', 'BAD_CONTENT'] as const)('%s: MALFORMED for that referrer', (code) => {
    expect(unusableFetch(error(code), 'Sigstore bundle referrer sha256:cd', 'cosign')).toEqual({
      status: 'invalid',
      system: 'cosign',
      reason: 'MALFORMED',
      detail: `Sigstore bundle referrer sha256:cd: registry r.example ${code.toLowerCase()}`,
    });
  });

  test.each(['UNREACHABLE', 'UNAUTHORIZED', 'DENIED', 'TIMEOUT', 'RATE_LIMITED', 'SERVER_ERROR', 'TOO_MANY_REDIRECTS', 'UNSUPPORTED'] as const)('%s: not the referrer\'s problem, so no check (the lookup fails)', (code) => {
    expect(unusableFetch(error(code), 'x', 'notation')).toBeUndefined();
  });
});
