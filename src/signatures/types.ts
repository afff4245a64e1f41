// What a verifier reports about each signature it examined. Verifiers never do I/O and never
// decide admission: they say which signatures are valid and by whom; policy/ decides.
import type { Digest } from '../reference/types.js';

export type SignatureSystem = 'cosign' | 'notation' | 'dct';

/** Why one signature did not count. Each code is stable and documented. */
export type InvalidSignatureReason =
  /** The cryptographic signature does not verify with the key it claims or any trusted key tried. */
  | 'BAD_SIGNATURE'
  /** The signature is well-formed but made by none of the trusted keys. */
  | 'UNTRUSTED_SIGNER'
  /** A valid signature, but over a different image digest than the one being admitted. */
  | 'DIGEST_MISMATCH'
  /** The payload bytes do not hash to the digest recorded for them (tampered or substituted). */
  | 'PAYLOAD_MISMATCH'
  /** The signature or its payload cannot be parsed, or has the wrong shape. */
  | 'MALFORMED'
  /** The payload is of another kind (e.g. an attestation, an unrelated attachment). */
  | 'WRONG_TYPE'
  /** The payload names an image identity the policy does not accept. */
  | 'IDENTITY_MISMATCH'
  /** A required annotation in the payload is missing or has another value. */
  | 'MISSING_ANNOTATION'
  /** A timestamp the policy requires is missing, unverifiable, from an untrusted authority, or outside the chain's validity. */
  | 'TIMESTAMP_INVALID'
  /** A certificate of the signing chain is revoked (OCSP or CRL). */
  | 'REVOKED'
  /** The revocation status of the signing chain could not be learnt (responder down, stale or unsigned answers). */
  | 'REVOCATION_UNKNOWN';

export type SignatureCheck =
  | {
      readonly status: 'valid';
      readonly system: SignatureSystem;
      /** Name of the trusted key (or identity) that verified it, as named in the policy. */
      readonly signer: string;
      /** The image digest the signature covers (equal to the admitted digest). */
      readonly digest: Digest;
      /** Signed optional annotations, for policy requirements and for display. */
      readonly annotations: Readonly<Record<string, string>>;
      /**
       * When this signature stops counting (certificate or trust metadata expiry), as an ISO 8601
       * time; a cached verdict must not outlive it. Undefined for keys that do not expire.
       */
      readonly validUntil?: string;
      /** Checks the policy only logs (e.g. Notation revocation at level permissive) that found a problem. */
      readonly warnings?: readonly string[];
    }
  | {
      readonly status: 'invalid';
      readonly system: SignatureSystem;
      readonly reason: InvalidSignatureReason;
      /** One sentence a developer can act on, e.g. "signed over sha256:ab… but the image is sha256:cd…". */
      readonly detail: string;
      /** Set when the signature itself verified with a trusted key but failed a later check. */
      readonly signer?: string;
    };
