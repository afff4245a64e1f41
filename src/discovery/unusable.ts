// One referrer (a signature manifest, a bundle, an envelope) that cannot be fetched as it should be is
// that referrer's problem, reported as an invalid check for it; a failure to look at all (network,
// auth, deadline) is an error of the whole lookup, never "unsigned".
import type { RegistryError } from '../registry/types.js';
import type { SignatureCheck, SignatureSystem } from '../signatures/types.js';

/** The check for a fetch failure about this one item; undefined for failures to look. */
export function unusableFetch(error: RegistryError, what: string, system: SignatureSystem): SignatureCheck | undefined {
  switch (error.code) {
    case 'DIGEST_MISMATCH':
      return { status: 'invalid', system, reason: 'PAYLOAD_MISMATCH', detail: `${what}: ${error.message}` };
    case 'NOT_FOUND':
    case 'TOO_LARGE':
    case 'BAD_CONTENT':
      return malformedCheck(system, `${what}: ${error.message}`);
    // UNSUPPORTED (405/501, a schema1 manifest, a redirect to plain http) says the registry cannot
    // serve what we asked: a failure to look, like the others below, never a verdict on the referrer.
    default:
      return undefined;
  }
}

export function malformedCheck(system: SignatureSystem, detail: string): SignatureCheck {
  return { status: 'invalid', system, reason: 'MALFORMED', detail };
}
