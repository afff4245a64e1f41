// Reads X.509 certificates (Fulcio leaves, PKI leaves, CA certificates from a trust root) into the
// few facts verification needs: names, validity, CA constraints, key usages, the identities a
// signing certificate asserts (subject alternative names, Fulcio's OIDC issuer extension) and any
// critical extension we do not understand. Parsing happens once, up front, so a malformed
// certificate is a typed error here rather than an exception somewhere in a later check.
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { X509Certificate as SigstoreX509Certificate } from '@sigstore/core';
import type { ASN1Obj } from '@sigstore/core';
import { decodePem } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';

/** Fulcio's OIDC issuer: `.1.8` is a DER UTF8String, the deprecated `.1.1` holds the raw string bytes. */
export const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
export const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

const OID_KEY_USAGE = '2.5.29.15';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_EXTENDED_KEY_USAGE = '2.5.29.37';
export const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const OID_ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/**
 * Critical extensions whose meaning we honour (or which restrict nothing a signature check relies
 * on: key identifiers, and certificate policies, which cosign ignores as well). Any other critical
 * extension, name constraints included, makes the certificate unusable: ignoring a constraint the
 * issuer marked critical would accept more than the issuer allowed.
 */
const UNDERSTOOD_CRITICAL_EXTENSIONS: ReadonlySet<string> = new Set([
  OID_KEY_USAGE,
  OID_SUBJECT_ALT_NAME,
  OID_BASIC_CONSTRAINTS,
  OID_EXTENDED_KEY_USAGE,
  '2.5.29.14', // subject key identifier
  '2.5.29.35', // authority key identifier
  '2.5.29.32', // certificate policies
]);

// A Fulcio leaf is about 1 KiB, a 4096-bit RSA CA certificate about 2 KiB; 16 KiB is generous.
export const MAX_CERTIFICATE_BYTES = 16 * 1024;

export type SubjectAlternativeNameType = 'email' | 'uri' | 'dns' | 'otherName';

export interface SubjectAlternativeName {
  readonly type: SubjectAlternativeNameType;
  readonly value: string;
}

export interface ParsedCertificate {
  readonly der: Buffer;
  /** The same certificate in @sigstore/core's form, for handing to @sigstore/verify. */
  readonly sigstore: SigstoreX509Certificate;
  readonly publicKey: KeyObject;
  /** Distinguished name in one line (`CN=…, O=…`), for messages only; compare `subjectDer`. */
  readonly subject: string;
  /** The issuer's distinguished name in one line, for messages only; compare `issuerDer`. */
  readonly issuerName: string;
  /** How messages name this certificate: its subject, or its first alternative name when the subject is empty (Fulcio). */
  readonly label: string;
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Undefined when the certificate has no basicConstraints extension. */
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  /** Undefined when the certificate has no keyUsage extension (then every usage is allowed). */
  readonly keyUsage: { readonly digitalSignature: boolean; readonly keyCertSign: boolean } | undefined;
  /** OIDs of the extendedKeyUsage extension; undefined when absent (then every purpose is allowed). */
  readonly extendedKeyUsages: readonly string[] | undefined;
  readonly subjectAlternativeNames: readonly SubjectAlternativeName[];
  /** The OIDC issuer Fulcio recorded, or undefined for a certificate that records none (PKI). */
  readonly oidcIssuer: string | undefined;
  /** OIDs of critical extensions this verifier does not implement. */
  readonly unsupportedCriticalExtensions: readonly string[];
  /** Whether `this` signed `child` (signature only; names and constraints are chain.ts's job). */
  signed(child: ParsedCertificate): boolean;
}

/** One DER certificate; the error is a phrase to follow "certificate …". */
export function parseCertificateDer(der: Buffer): Result<ParsedCertificate, string> {
  if (der.length > MAX_CERTIFICATE_BYTES) return err(`is ${der.length} bytes, larger than any real certificate`);
  let node: NodeX509Certificate;
  let sigstore: SigstoreX509Certificate;
  try {
    node = new NodeX509Certificate(der);
    sigstore = SigstoreX509Certificate.parse(Buffer.from(der));
  } catch (thrown) {
    return err(`is not a valid X.509 certificate (${thrown instanceof Error ? thrown.message : 'parse error'})`);
  }
  try {
    return readFacts(der, node, sigstore);
  } catch (thrown) {
    // @sigstore/core reads fields lazily and throws on a malformed one; all reading happens above.
    return err(`has a malformed field (${thrown instanceof Error ? thrown.message : 'parse error'})`);
  }
}

/**
 * Every block of a PEM text, which must all be CERTIFICATE blocks (at most `maxCount`).
 * Errors are phrases to follow the caller's description of the text.
 */
export function parseCertificatesPem(text: string, maxCount: number): Result<ParsedCertificate[], string> {
  const blocks = decodePem(text);
  if (!blocks.ok) return err(`is not valid PEM: ${blocks.error}`);
  if (blocks.value.length === 0) return err('holds no PEM certificate ("-----BEGIN CERTIFICATE-----")');
  if (blocks.value.length > maxCount) return err(`holds ${blocks.value.length} certificates; at most ${maxCount} are accepted`);
  const certificates: ParsedCertificate[] = [];
  for (const [index, block] of blocks.value.entries()) {
    if (block.type !== 'CERTIFICATE') return err(`block ${index + 1} is a ${block.type}, not a CERTIFICATE`);
    const parsed = parseCertificateDer(block.der);
    if (!parsed.ok) return err(`certificate ${index + 1} ${parsed.error}`);
    certificates.push(parsed.value);
  }
  return ok(certificates);
}

function readFacts(der: Buffer, node: NodeX509Certificate, sigstore: SigstoreX509Certificate): Result<ParsedCertificate, string> {
  const notBefore = sigstore.notBefore;
  const notAfter = sigstore.notAfter;
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) return err('has an unreadable validity period');

  const unsupportedCriticalExtensions: string[] = [];
  const seen = new Set<string>();
  for (const extension of sigstore.extensions) {
    const oid = extension.subs[0]?.toOID();
    if (oid === undefined) return err('has an extension without an OID');
    // RFC 5280 forbids repeating an extension; two copies could be read two ways.
    if (seen.has(oid)) return err(`has the extension ${oid} twice`);
    seen.add(oid);
    const critical = extension.subs.length === 3 && extension.subs[1]?.toBoolean() === true;
    if (critical && !UNDERSTOOD_CRITICAL_EXTENSIONS.has(oid)) unsupportedCriticalExtensions.push(oid);
  }

  const constraints = sigstore.extBasicConstraints;
  let basicConstraints: ParsedCertificate['basicConstraints'];
  if (constraints !== undefined) {
    const pathLength = constraints.pathLenConstraint;
    if (pathLength !== undefined && (pathLength < 0n || pathLength > 1000n)) return err('has an invalid pathLenConstraint');
    basicConstraints = { ca: constraints.isCA, pathLength: pathLength === undefined ? undefined : Number(pathLength) };
  }
  const usage = sigstore.extKeyUsage;
  const keyUsage = usage === undefined ? undefined : { digitalSignature: usage.digitalSignature, keyCertSign: usage.keyCertSign };

  const ekuExtension = sigstore.extension(OID_EXTENDED_KEY_USAGE);
  const extendedKeyUsages = ekuExtension === undefined ? undefined : sequenceOf(ekuExtension.valueObj).map((purpose) => purpose.toOID());

  const sanExtension = sigstore.extension(OID_SUBJECT_ALT_NAME);
  const subjectAlternativeNames = sanExtension === undefined ? [] : readGeneralNames(sequenceOf(sanExtension.valueObj));

  const issuer = readOidcIssuer(sigstore);
  if (!issuer.ok) return issuer;

  const publicKey = node.publicKey;
  // Node reports an empty name (every Fulcio leaf's subject) as undefined.
  const subject = oneLine(node.subject ?? '');
  const firstName = subjectAlternativeNames[0];
  return ok({
    der,
    sigstore,
    publicKey,
    subject: subject || '(empty subject)',
    issuerName: oneLine(node.issuer ?? '') || '(empty issuer)',
    label: subject !== '' ? subject : firstName !== undefined ? firstName.value : `serial ${node.serialNumber}`,
    subjectDer: sigstore.subject,
    issuerDer: sigstore.issuer,
    notBefore,
    notAfter,
    basicConstraints,
    keyUsage,
    extendedKeyUsages,
    subjectAlternativeNames,
    oidcIssuer: issuer.value,
    unsupportedCriticalExtensions,
    signed(child: ParsedCertificate): boolean {
      try {
        return new NodeX509Certificate(child.der).verify(publicKey);
      } catch {
        return false;
      }
    },
  });
}

/** The members of the single SEQUENCE an extension value (an OCTET STRING) wraps. */
function sequenceOf(extensionValue: ASN1Obj): ASN1Obj[] {
  const sequence = extensionValue.subs[0];
  if (sequence === undefined || extensionValue.subs.length !== 1 || sequence.tag.number !== 0x10 || !sequence.tag.constructed) {
    throw new Error('extension value is not a SEQUENCE');
  }
  return sequence.subs;
}

// GeneralName CHOICE tags (RFC 5280 §4.2.1.6).
const OTHER_NAME = 0;
const RFC822_NAME = 1;
const DNS_NAME = 2;
const URI = 6;

function readGeneralNames(names: readonly ASN1Obj[]): SubjectAlternativeName[] {
  const found: SubjectAlternativeName[] = [];
  for (const name of names) {
    if (!name.tag.isContextSpecific()) throw new Error('subjectAltName holds a name that is not a GeneralName');
    switch (name.tag.number) {
      case RFC822_NAME:
        found.push({ type: 'email', value: ia5(name.value) });
        break;
      case DNS_NAME:
        found.push({ type: 'dns', value: ia5(name.value) });
        break;
      case URI:
        found.push({ type: 'uri', value: ia5(name.value) });
        break;
      case OTHER_NAME: {
        // Fulcio puts "username" identities here: otherName { OID, [0] EXPLICIT UTF8String }.
        const wrapped = name.subs[1]?.subs[0];
        if (wrapped !== undefined && wrapped.tag.number === 0x0c && !wrapped.tag.constructed) {
          found.push({ type: 'otherName', value: utf8(wrapped.value) });
        }
        break;
      }
      default:
        // IP addresses, directory names and the like never name a signer; they are not matched.
        break;
    }
  }
  return found;
}

function readOidcIssuer(certificate: SigstoreX509Certificate): Result<string | undefined, string> {
  const v2 = certificate.extension(OID_FULCIO_ISSUER_V2);
  if (v2 !== undefined) {
    const text = v2.valueObj.subs[0];
    if (text === undefined || v2.valueObj.subs.length !== 1 || text.tag.number !== 0x0c || text.tag.constructed) {
      return err(`has an OIDC issuer extension (${OID_FULCIO_ISSUER_V2}) that is not a UTF8String`);
    }
    return ok(utf8(text.value));
  }
  const v1 = certificate.extension(OID_FULCIO_ISSUER_V1);
  return ok(v1 === undefined ? undefined : utf8(v1.value));
}

/** Node prints names one attribute a line, most significant first; messages read better most specific first. */
function oneLine(name: string): string {
  return name
    .split('\n')
    .filter((part) => part !== '')
    .reverse()
    .join(', ');
}

function ia5(bytes: Buffer): string {
  if (!bytes.every((byte) => byte >= 0x20 && byte < 0x7f)) throw new Error('a subjectAltName is not printable ASCII');
  return bytes.toString('ascii');
}

function utf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('a text field is not valid UTF-8');
  }
}
