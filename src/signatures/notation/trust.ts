// The trust material one Notation verifier uses: a named trust store of root certificates (of type
// `ca` for the notary.x509 signing scheme or `signingAuthority` for notary.x509.signingAuthority),
// the trusted identities, and the verification level. Also reads trust-store PEM into certificates,
// once, when the policy is compiled; the request path only compares DER bytes.
import { decodePem } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { parseCertificate, printable, type Certificate } from './certificates.js';
import type { TrustedIdentities } from './identity.js';
import type { RevocationMode } from './revocation.js';

export type TrustStoreType = 'ca' | 'signingAuthority';

/**
 * What Notation's trust policy levels enforce (anything not enforced is only noted, i.e. ignored here):
 * strict — integrity, authenticity, authentic timestamp (certificate validity), expiry;
 * permissive — integrity and authenticity; audit — integrity only.
 * The signed target always has to be the admitted image, at every level.
 */
export type VerificationLevel = 'strict' | 'permissive' | 'audit';

export interface NotationTrustStore {
  readonly type: TrustStoreType;
  /** Shown in every signer name: `<name> (CN=<leaf common name>)`. */
  readonly name: string;
  /** Root certificates (self-signed); a chain is trusted when its last certificate equals one of these byte for byte. */
  readonly certificates: readonly Certificate[];
}

/** Roots of time-stamping authorities (Notation's trust store type `tsa`). */
export interface NotationTsaTrustStore {
  readonly name: string;
  readonly certificates: readonly Certificate[];
}

/**
 * When an RFC 3161 timestamp decides the time a notary.x509 chain must have been valid at
 * (Notation's `verifyTimestamp`): `always` — whenever a tsa trust store is configured, and the
 * signature must then carry a timestamp; `afterCertExpiry` — only once a chain certificate has
 * expired (until then the chain must be valid now, and a timestamp is not needed).
 */
export type VerifyTimestamp = 'always' | 'afterCertExpiry';

export interface NotationTrustPolicy {
  readonly trustStore: NotationTrustStore;
  /** More ca / signingAuthority stores (a Notation trust policy may name several); the signing scheme picks the type. */
  readonly otherTrustStores?: readonly NotationTrustStore[];
  readonly trustedIdentities: TrustedIdentities;
  readonly level: VerificationLevel;
  /** Without it, timestamps are ignored and a notary.x509 chain must be valid now (as in Notation). */
  readonly tsaTrustStore?: NotationTsaTrustStore;
  /** Default `always`. */
  readonly verifyTimestamp?: VerifyTimestamp;
  /** Default: `enforce` at level strict, `log` otherwise (Notation's levels). */
  readonly revocation?: RevocationMode;
}

// A trust store is a handful of roots; the cap keeps a mistaken bundle (a whole OS store) out.
export const MAX_TRUST_STORE_CERTIFICATES = 64;

/**
 * Every CERTIFICATE block of `pem`. Each must be a self-signed certificate, because a chain can only
 * be anchored by its root; the error is a sentence naming the block.
 */
export function parseTrustStorePem(pem: string): Result<Certificate[], string> {
  const blocks = decodePem(pem);
  if (!blocks.ok) return err(blocks.error);
  if (blocks.value.length === 0) return err('no PEM block found; expected "-----BEGIN CERTIFICATE-----"');
  if (blocks.value.length > MAX_TRUST_STORE_CERTIFICATES) return err(`holds ${blocks.value.length} certificates; a trust store holds at most ${MAX_TRUST_STORE_CERTIFICATES} roots`);
  const certificates: Certificate[] = [];
  for (const [index, block] of blocks.value.entries()) {
    const where = blocks.value.length > 1 ? `PEM block ${index + 1}` : 'the PEM block';
    if (block.type !== 'CERTIFICATE') {
      return err(`${where} is "${block.type}"; a trust store holds only CERTIFICATE blocks`);
    }
    const certificate = parseCertificate(block.der);
    if (!certificate.ok) return err(`${where} ${certificate.error}`);
    const self = certificate.value;
    let selfSigned: boolean;
    try {
      selfSigned = self.issuer === self.subject && self.node.verify(self.node.publicKey);
    } catch {
      selfSigned = false;
    }
    if (!selfSigned) {
      return err(
        `${where} (${self.displayName}, issued by ${printable(self.issuer)}) is not self-signed; put the root certificate of the signing chain in the trust store`,
      );
    }
    certificates.push(self);
  }
  return ok(certificates);
}
