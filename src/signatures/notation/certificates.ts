// The X.509 half of Notation verification: certificates from an envelope's x5c (or a trust store)
// parsed once, the signing-key → JWS algorithm table, and the certificate-chain rules of the Notary
// Project signing scheme: leaf first, each certificate signed by the next, ending in a self-signed
// root; CA and leaf usage; key sizes; no SHA-1. Pure: node:crypto checks signatures, @peculiar/x509
// reads the extensions node:crypto does not expose. Trust (is the root ours?) is decided elsewhere.
import 'reflect-metadata';
import { X509Certificate as NodeCertificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';

export type NotationAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

export type KeySpec =
  | { readonly kind: 'rsa'; readonly bits: number }
  | { readonly kind: 'ec'; readonly curve: 'P-256' | 'P-384' | 'P-521' }
  | { readonly kind: 'unsupported'; readonly description: string };

export interface Certificate {
  /** The exact DER bytes, for comparing with trust-store certificates. */
  readonly der: Buffer;
  readonly node: NodeCertificate;
  /** RFC 4514-style text, e.g. `C=US, ST=WA, O=Notary, CN=Notation Test Root`. */
  readonly subject: string;
  readonly issuer: string;
  /** `CN=<common name>` when the subject has one, else the whole subject: what messages show. */
  readonly displayName: string;
  /** The subject's RDNs as @peculiar/x509 names them, for trustedIdentities. */
  readonly subjectRdns: readonly Readonly<Record<string, readonly string[]>>[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly key: KeySpec;
  readonly keyUsage: { readonly flags: number; readonly critical: boolean } | undefined;
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  /** Extended key usage OIDs, or undefined when the extension is absent. */
  readonly extendedKeyUsages: readonly string[] | undefined;
  readonly extendedKeyUsageCritical: boolean;
  /** Critical extensions this verifier does not evaluate (a certificate carrying one is refused). */
  readonly unhandledCritical: readonly string[];
  /** The hash of the certificate's own signature algorithm (`SHA-256`), undefined when unknown. */
  readonly signatureHash: string | undefined;
  /** Serial number, hex as node:crypto writes it. */
  readonly serialNumber: string;
  /** http(s) OCSP responder URLs of the authority information access extension. */
  readonly ocspUrls: readonly string[];
  /** http(s) URLs of the CRL distribution points. */
  readonly crlUrls: readonly string[];
}

/** What is wrong with a chain: a cryptographic failure, or a chain that cannot be trusted as built. */
export interface ChainProblem {
  readonly reason: 'BAD_SIGNATURE' | 'UNTRUSTED_SIGNER';
  readonly detail: string;
}

// A real chain is 2–4 certificates and each under 2 KiB; the caps only stop hostile envelopes.
export const MAX_CHAIN_LENGTH = 10;
export const MAX_CERTIFICATE_BYTES = 16 * 1024;

const OID = {
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extendedKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  certificatePolicies: '2.5.29.32',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

/** Critical extensions whose meaning is fully covered by the rules below (or carries no restriction we skip). */
const HANDLED_CRITICAL: ReadonlySet<string> = new Set([OID.keyUsage, OID.basicConstraints, OID.extendedKeyUsage, OID.subjectAltName, OID.certificatePolicies]);

/** EKUs that make a certificate something other than a code-signing certificate (Notary Project signing scheme). */
const FORBIDDEN_LEAF_EKUS: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

const CURVES: Readonly<Record<string, 'P-256' | 'P-384' | 'P-521'>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

const RSA_ALGORITHMS: Readonly<Record<number, NotationAlgorithm>> = { 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' };
const EC_ALGORITHMS: Readonly<Record<string, NotationAlgorithm>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };

/** Parses one DER certificate; the error is a phrase ("is not a valid X.509 certificate"). */
export function parseCertificate(der: Buffer): Result<Certificate, string> {
  if (der.length > MAX_CERTIFICATE_BYTES) return err(`is ${der.length} bytes, more than any real certificate (limit ${MAX_CERTIFICATE_BYTES})`);
  let node: NodeCertificate;
  let parsed: x509.X509Certificate;
  let extensions: x509.Extension[];
  let subjectRdns: Record<string, string[]>[];
  let subject: string;
  let issuer: string;
  let key: KeySpec;
  try {
    node = new NodeCertificate(der);
    parsed = new x509.X509Certificate(der);
  } catch {
    return err('is not a valid DER X.509 certificate');
  }
  try {
    // Both parsers decode lazily in places; anything they cannot read makes the certificate unusable.
    extensions = parsed.extensions;
    subjectRdns = parsed.subjectName.toJSON();
    subject = parsed.subject;
    issuer = parsed.issuer;
    key = keySpecOf(node);
  } catch {
    return err('has extensions, names or a public key that cannot be parsed');
  }
  // Both parsers must agree that these are the same bytes (no trailing data one of them skipped).
  if (!Buffer.from(parsed.rawData).equals(der) || !node.raw.equals(der)) return err('has trailing data after the certificate');

  const seen = new Set<string>();
  for (const extension of extensions) {
    if (seen.has(extension.type)) return err(`repeats the extension ${extension.type}`);
    seen.add(extension.type);
  }

  let keyUsage: Certificate['keyUsage'];
  let basicConstraints: Certificate['basicConstraints'];
  let extendedKeyUsages: string[] | undefined;
  let extendedKeyUsageCritical = false;
  const ocspUrls: string[] = [];
  const crlUrls: string[] = [];
  const unhandledCritical: string[] = [];
  for (const extension of extensions) {
    if (extension instanceof x509.KeyUsagesExtension) keyUsage = { flags: extension.usages, critical: extension.critical };
    else if (extension instanceof x509.BasicConstraintsExtension) basicConstraints = { ca: extension.ca, pathLength: extension.pathLength };
    else if (extension instanceof x509.ExtendedKeyUsageExtension) {
      extendedKeyUsages = extension.usages.map(String);
      extendedKeyUsageCritical = extension.critical;
    } else if (extension instanceof x509.AuthorityInfoAccessExtension) {
      for (const name of extension.ocsp) if (name.type === 'url' && isHttpUrl(name.value)) ocspUrls.push(name.value);
    } else if (extension instanceof x509.CRLDistributionPointsExtension) {
      for (const point of extension.distributionPoints) {
        for (const name of point.distributionPoint?.fullName ?? []) {
          const url = name.uniformResourceIdentifier;
          if (url !== undefined && isHttpUrl(url)) crlUrls.push(url);
        }
      }
    }
    if (extension.critical && !HANDLED_CRITICAL.has(extension.type)) unhandledCritical.push(extension.type);
  }

  let signatureHash: string | undefined;
  try {
    const algorithm = parsed.signatureAlgorithm as { hash?: { name?: unknown } };
    signatureHash = typeof algorithm.hash?.name === 'string' ? algorithm.hash.name.toUpperCase() : undefined;
  } catch {
    signatureHash = undefined;
  }

  const commonName = subjectRdns.flatMap((rdn) => rdn['CN'] ?? [])[0];
  return ok({
    der,
    node,
    subject,
    issuer,
    displayName: commonName !== undefined ? `CN=${printable(commonName)}` : printable(subject || '(empty subject)'),
    subjectRdns,
    notBefore: node.validFromDate,
    notAfter: node.validToDate,
    key,
    keyUsage,
    basicConstraints,
    extendedKeyUsages,
    extendedKeyUsageCritical,
    unhandledCritical,
    signatureHash,
    serialNumber: node.serialNumber.toLowerCase(),
    // A hostile certificate could list many; a real one names one or two.
    ocspUrls: ocspUrls.slice(0, MAX_REVOCATION_URLS),
    crlUrls: crlUrls.slice(0, MAX_REVOCATION_URLS),
  });
}

const MAX_REVOCATION_URLS = 3;

function isHttpUrl(text: string): boolean {
  return /^https?:\/\/[^\s]{1,2000}$/.test(text);
}

function keySpecOf(node: NodeCertificate): KeySpec {
  const key = node.publicKey;
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { kind: 'rsa', bits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
    case 'ec': {
      const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      return curve !== undefined ? { kind: 'ec', curve } : { kind: 'unsupported', description: `ECDSA on curve ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown'}` };
    }
    default:
      return { kind: 'unsupported', description: `${key.asymmetricKeyType ?? 'unknown'} key` };
  }
}

export function describeKey(key: KeySpec): string {
  switch (key.kind) {
    case 'rsa':
      return `RSA-${key.bits}`;
    case 'ec':
      return `ECDSA ${key.curve}`;
    case 'unsupported':
      return key.description;
  }
}

/** The one JWS algorithm Notation allows for a signing key, or undefined for keys it does not allow. */
export function algorithmForKey(key: KeySpec): NotationAlgorithm | undefined {
  switch (key.kind) {
    case 'rsa':
      return RSA_ALGORITHMS[key.bits];
    case 'ec':
      return EC_ALGORITHMS[key.curve];
    case 'unsupported':
      return undefined;
  }
}

/**
 * The chain rules that do not depend on time or trust: order and signatures, a self-signed root at
 * the end, leaf and CA usage, key sizes, signature hashes. A one-certificate chain is a self-signed
 * signing certificate (Notation allows that when the certificate itself is in the trust store).
 */
export function checkChain(chain: readonly Certificate[]): Result<void, ChainProblem> {
  const leaf = chain[0];
  if (leaf === undefined) return err({ reason: 'UNTRUSTED_SIGNER', detail: 'the signature carries no certificate chain (x5c is empty)' });
  const root = chain[chain.length - 1]!;

  for (const [index, certificate] of chain.entries()) {
    const problem = commonProblem(certificate, index === 0 ? 'signing' : 'CA');
    if (problem !== undefined) return err({ reason: 'UNTRUSTED_SIGNER', detail: problem });
  }
  const leafProblem = signingCertificateProblem(leaf);
  if (leafProblem !== undefined) return err({ reason: 'UNTRUSTED_SIGNER', detail: leafProblem });
  for (let index = 1; index < chain.length; index++) {
    // A CA may have at most pathLength CA certificates below it, not counting the leaf.
    const caProblem = caCertificateProblem(chain[index]!, index - 1);
    if (caProblem !== undefined) return err({ reason: 'UNTRUSTED_SIGNER', detail: caProblem });
  }

  for (let index = 0; index + 1 < chain.length; index++) {
    const child = chain[index]!;
    const parent = chain[index + 1]!;
    if (child.issuer !== parent.subject) {
      return err({
        reason: 'UNTRUSTED_SIGNER',
        detail: `the certificate chain is out of order or incomplete: ${child.displayName} was issued by ${quoteName(child.issuer)}, but the next certificate is ${quoteName(parent.subject)}`,
      });
    }
    if (!verifiesWith(child, parent)) {
      return err({ reason: 'BAD_SIGNATURE', detail: `certificate ${child.displayName} in the chain is not signed by its issuer ${parent.displayName} (the chain was altered)` });
    }
  }
  if (root.issuer !== root.subject || !verifiesWith(root, root)) {
    return err({
      reason: 'UNTRUSTED_SIGNER',
      detail: `the certificate chain is incomplete: it ends with ${root.displayName} (issued by ${quoteName(root.issuer)}), which is not a self-signed root; the signature must carry the whole chain up to the root`,
    });
  }
  return ok(undefined);
}

/**
 * The rules of a time-stamping authority's chain (leaf first, ending in a root; RFC 3161 §2.3 and
 * the Notary Project signature specification): the TSA certificate is no CA, has a key usage with
 * digitalSignature and exactly one extended key usage, timeStamping, marked critical; CA
 * certificates are CAs with keyCertSign within their path length. Unlike a signing chain, the key
 * usage need not be critical. Signatures between the certificates are checked by whoever built the chain.
 */
export function timestampingChainProblem(chain: readonly Certificate[]): string | undefined {
  const leaf = chain[0];
  if (leaf === undefined) return 'the timestamp carries no certificate of its authority';
  for (const [index, certificate] of chain.entries()) {
    const problem = commonProblem(certificate, index === 0 ? 'timestamping' : 'TSA CA');
    if (problem !== undefined) return problem;
  }
  const name = `timestamping certificate ${leaf.displayName}`;
  if (leaf.basicConstraints?.ca === true) return `${name} is a CA certificate`;
  if (leaf.keyUsage === undefined || (leaf.keyUsage.flags & x509.KeyUsageFlags.digitalSignature) === 0) return `${name} must have a key usage with digitalSignature`;
  const forbidden = x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.dataEncipherment | x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.encipherOnly | x509.KeyUsageFlags.decipherOnly;
  if ((leaf.keyUsage.flags & forbidden) !== 0) return `${name} key usage allows more than digital signatures`;
  const ekus = leaf.extendedKeyUsages;
  if (ekus === undefined || ekus.length !== 1 || ekus[0] !== OID.timeStamping) return `${name} must have timeStamping as its only extended key usage`;
  if (!leaf.extendedKeyUsageCritical) return `${name} must mark its extended key usage critical`;
  for (let index = 1; index < chain.length; index++) {
    const certificate = chain[index]!;
    const caName = `TSA CA certificate ${certificate.displayName}`;
    if (certificate.basicConstraints?.ca !== true) return `${caName} is not marked as a CA (basic constraints CA:TRUE)`;
    const pathLength = certificate.basicConstraints.pathLength;
    if (pathLength !== undefined && pathLength < index - 1) return `${caName} allows ${pathLength} intermediate CA certificate(s) below it, but the chain has ${index - 1}`;
    if (certificate.keyUsage === undefined || (certificate.keyUsage.flags & x509.KeyUsageFlags.keyCertSign) === 0) return `${caName} must have a key usage with keyCertSign`;
  }
  return undefined;
}

/** Whether `child` names `parent` as its issuer and carries a signature `parent`'s key made. */
export function isIssuedBy(child: Certificate, parent: Certificate): boolean {
  return child.issuer === parent.subject && verifiesWith(child, parent);
}

/** Undefined when every certificate is valid at `at`, else which one is not and why. */
export function validityProblem(chain: readonly Certificate[], at: Date, when: string): string | undefined {
  for (const certificate of chain) {
    if (at.getTime() < certificate.notBefore.getTime()) {
      return `certificate ${certificate.displayName} is not valid until ${certificate.notBefore.toISOString()}, after ${when} (${at.toISOString()})`;
    }
    if (at.getTime() > certificate.notAfter.getTime()) {
      return `certificate ${certificate.displayName} expired at ${certificate.notAfter.toISOString()}, before ${when} (${at.toISOString()})`;
    }
  }
  return undefined;
}

function verifiesWith(child: Certificate, parent: Certificate): boolean {
  try {
    return child.node.verify(parent.node.publicKey);
  } catch {
    return false;
  }
}

function commonProblem(certificate: Certificate, role: string): string | undefined {
  const name = `${role} certificate ${certificate.displayName}`;
  if (certificate.unhandledCritical.length > 0) {
    return `${name} has critical extensions Signet does not evaluate (${certificate.unhandledCritical.join(', ')}), so it is refused`;
  }
  if (certificate.signatureHash === undefined) return `${name} is signed with an algorithm Signet does not recognise`;
  if (certificate.signatureHash === 'SHA-1') return `${name} is signed with SHA-1, which the Notary Project signing scheme does not allow`;
  switch (certificate.key.kind) {
    case 'rsa':
      if (certificate.key.bits < 2048) return `${name} has an RSA-${certificate.key.bits} key; at least 2048 bits are required`;
      return undefined;
    case 'ec':
      return undefined;
    case 'unsupported':
      return `${name} has a ${certificate.key.description}; only RSA (2048 bits or more) and ECDSA P-256/P-384/P-521 are allowed`;
  }
}

function signingCertificateProblem(leaf: Certificate): string | undefined {
  const name = `signing certificate ${leaf.displayName}`;
  if (leaf.basicConstraints?.ca === true) return `${name} is a CA certificate; signatures must be made with a non-CA certificate`;
  if (leaf.keyUsage === undefined) return `${name} has no key usage extension; it must have a critical key usage with digitalSignature`;
  if (!leaf.keyUsage.critical) return `${name} has a key usage extension that is not marked critical`;
  if ((leaf.keyUsage.flags & x509.KeyUsageFlags.digitalSignature) === 0) return `${name} key usage lacks digitalSignature`;
  if ((leaf.keyUsage.flags & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !== 0) {
    return `${name} key usage allows signing certificates or CRLs, which a signing certificate must not`;
  }
  const ekus = leaf.extendedKeyUsages;
  if (ekus !== undefined) {
    const forbidden = ekus.flatMap((oid) => (FORBIDDEN_LEAF_EKUS[oid] !== undefined ? [FORBIDDEN_LEAF_EKUS[oid]] : []));
    if (forbidden.length > 0) return `${name} has the extended key usage ${forbidden.join(', ')}; only codeSigning is allowed`;
    if (!ekus.includes(OID.codeSigning)) return `${name} has an extended key usage without codeSigning`;
  }
  return undefined;
}

function caCertificateProblem(certificate: Certificate, certificatesBelow: number): string | undefined {
  const name = `CA certificate ${certificate.displayName}`;
  if (certificate.basicConstraints?.ca !== true) return `${name} is not marked as a CA (basic constraints CA:TRUE), so it cannot issue certificates`;
  const pathLength = certificate.basicConstraints.pathLength;
  if (pathLength !== undefined && pathLength < certificatesBelow) {
    return `${name} allows ${pathLength} intermediate CA certificate(s) below it, but the chain has ${certificatesBelow}`;
  }
  if (certificate.keyUsage === undefined || !certificate.keyUsage.critical) return `${name} must have a critical key usage extension with keyCertSign`;
  if ((certificate.keyUsage.flags & x509.KeyUsageFlags.keyCertSign) === 0) return `${name} key usage lacks keyCertSign`;
  return undefined;
}

function quoteName(name: string): string {
  return name === '' ? '(empty name)' : printable(name);
}

/**
 * Certificate names are attacker-chosen text that ends up in one-line denial messages and logs:
 * control and line-separator characters are escaped, and the length is capped.
 */
export function printable(text: string, max = 200): string {
  let escaped = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
    escaped += control ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return escaped.length <= max ? escaped : `${escaped.slice(0, max)}…`;
}
