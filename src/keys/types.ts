import type { KeyObject } from 'node:crypto';

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'ed25519' | 'rsa';

/** A public key the operators trust, parsed once when the policy is loaded. */
export interface TrustedKey {
  /** The name the policy gives the key; shown in verdicts and denial messages. */
  readonly name: string;
  readonly key: KeyObject;
  readonly algorithm: KeyAlgorithm;
  /** `sha256:<hex>` of the SubjectPublicKeyInfo DER, to identify the key in logs without printing it. */
  readonly fingerprint: string;
}
