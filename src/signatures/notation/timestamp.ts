// The RFC 3161 countersignature of a Notation signature (`io.cncf.notary.timestampSignature`):
// a CMS SignedData over a TSTInfo whose message imprint is the hash of the signature value. This
// module reads the token with pkijs, checks the TSA's signature, the ESS signing-certificate-v2
// binding, the TSA chain up to a root of the `tsa` trust store (valid at the stamped time, RFC 3161
// §2.3 certificate rules), and returns the stamped time as the interval its accuracy allows. Pure:
// no clock, no network; whether the stamped time is used is verify.ts's decision.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createHash } from 'node:crypto';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { MAX_CHAIN_LENGTH, isIssuedBy, parseCertificate, timestampingChainProblem, type Certificate } from './certificates.js';

/** A real token is 2–8 KiB (three certificates at most); anything far larger is not one. */
export const MAX_TIMESTAMP_TOKEN_BYTES = 64 * 1024;
/** Certificates a token may carry: the TSA's chain and perhaps a cross-certificate. */
const MAX_TOKEN_CERTIFICATES = 8;

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  // ETSI baseline time-stamp policy: a token without an accuracy field is good to one second (RFC 3628 §5.1).
  baselineTimestampPolicy: '0.4.0.2023.1.1',
} as const;

const HASHES: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** A verified timestamp: the TSA vouches that the signature existed somewhere in [earliest, latest]. */
export interface VerifiedTimestamp {
  readonly genTime: Date;
  readonly earliest: Date;
  readonly latest: Date;
  /** The TSA's chain, its certificate first, ending in a root of the tsa trust store. */
  readonly chain: readonly Certificate[];
}

/**
 * Verifies `token` (DER TimeStampToken) as a countersignature of `signature` (the envelope's
 * signature value) by a TSA whose chain ends in one of `roots`. The error is a phrase that follows
 * "the timestamp …" e.g. "is signed by CN=x, whose chain ends at CN=y, which is not in the tsa trust store z".
 */
export async function verifyTimestampToken(token: Uint8Array, signature: Uint8Array, roots: readonly Certificate[], storeName: string): Promise<Result<VerifiedTimestamp, string>> {
  if (token.length > MAX_TIMESTAMP_TOKEN_BYTES) return err(`is ${token.length} bytes, more than any real RFC 3161 token (limit ${MAX_TIMESTAMP_TOKEN_BYTES})`);
  let signed: pkijs.SignedData;
  let info: pkijs.TSTInfo;
  try {
    const content = pkijs.ContentInfo.fromBER(token);
    if (content.contentType !== OID.signedData) return err('is not a CMS SignedData (RFC 3161 TimeStampToken)');
    signed = new pkijs.SignedData({ schema: content.content });
    if (signed.encapContentInfo.eContentType !== OID.tstInfo || signed.encapContentInfo.eContent === undefined) return err('does not encapsulate a TSTInfo');
    info = pkijs.TSTInfo.fromBER(signed.encapContentInfo.eContent.getValue());
  } catch {
    return err('cannot be parsed as an RFC 3161 TimeStampToken');
  }
  if (info.version !== 1) return err(`has TSTInfo version ${info.version}, not 1`);
  if (signed.signerInfos.length !== 1) return err(`has ${signed.signerInfos.length} signers; a TSA token has one`);

  const imprintHash = HASHES[info.messageImprint.hashAlgorithm.algorithmId];
  if (imprintHash === undefined) return err(`hashes the signature with ${info.messageImprint.hashAlgorithm.algorithmId}; SHA-256, SHA-384 or SHA-512 is required`);
  const imprint = Buffer.from(info.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (!imprint.equals(createHash(imprintHash).update(signature).digest())) {
    return err('is for other content: its message imprint is not the hash of this signature value (a timestamp copied from another signature)');
  }

  const certificates = tokenCertificates(signed);
  if (!certificates.ok) return certificates;
  const signer = signingCertificate(signed.signerInfos[0]!, certificates.value);
  if (!signer.ok) return signer;

  let verified: boolean;
  let signerDer: Buffer | undefined;
  try {
    const result = await signed.verify({ signer: 0, data: toArrayBuffer(signature), checkChain: false, extendedMode: true });
    verified = result.signatureVerified === true;
    signerDer = result.signerCertificate !== undefined && result.signerCertificate !== null ? derOf(result.signerCertificate) : undefined;
  } catch {
    verified = false;
  }
  if (!verified || signerDer === undefined || !signerDer.equals(signer.value.der)) {
    return err(`does not verify with the key of its TSA certificate ${signer.value.displayName} (the token was altered)`);
  }

  const chain = chainToRoot(signer.value, certificates.value, roots, storeName);
  if (!chain.ok) return chain;
  const problem = timestampingChainProblem(chain.value);
  if (problem !== undefined) return err(`is unusable: ${problem}`);

  const genTime = info.genTime;
  for (const certificate of chain.value) {
    if (genTime.getTime() < certificate.notBefore.getTime() || genTime.getTime() > certificate.notAfter.getTime()) {
      return err(`was made at ${genTime.toISOString()}, outside the validity of its TSA certificate ${certificate.displayName} (${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()})`);
    }
  }
  const accuracy = accuracyMs(info);
  return ok({ genTime, earliest: new Date(genTime.getTime() - accuracy), latest: new Date(genTime.getTime() + accuracy), chain: chain.value });
}

function accuracyMs(info: pkijs.TSTInfo): number {
  const accuracy = info.accuracy;
  const seconds = accuracy?.seconds ?? 0;
  const millis = accuracy?.millis ?? 0;
  const micros = accuracy?.micros ?? 0;
  if (seconds === 0 && millis === 0 && micros === 0 && info.policy === OID.baselineTimestampPolicy) return 1000;
  return seconds * 1000 + millis + micros / 1000;
}

function tokenCertificates(signed: pkijs.SignedData): Result<Certificate[], string> {
  const listed = (signed.certificates ?? []).filter((entry): entry is pkijs.Certificate => entry instanceof pkijs.Certificate);
  if (listed.length === 0) return err('carries no certificates; the TSA must include its certificate (ask for it with certReq)');
  if (listed.length > MAX_TOKEN_CERTIFICATES) return err(`carries ${listed.length} certificates; at most ${MAX_TOKEN_CERTIFICATES} are read`);
  const parsed: Certificate[] = [];
  for (const [index, entry] of listed.entries()) {
    const certificate = parseCertificate(derOf(entry));
    if (!certificate.ok) return err(`has a certificate (number ${index + 1}) that ${certificate.error}`);
    parsed.push(certificate.value);
  }
  return ok(parsed);
}

/**
 * The TSA certificate the signed ESS signing-certificate-v2 attribute names by hash (RFC 5816):
 * without that binding a token could be re-signed under another certificate of the same key.
 */
function signingCertificate(signerInfo: pkijs.SignerInfo, certificates: readonly Certificate[]): Result<Certificate, string> {
  const attribute = signerInfo.signedAttrs?.attributes.find((candidate) => candidate.type === OID.signingCertificateV2);
  if (attribute === undefined) return err('has no signing-certificate-v2 attribute binding it to its TSA certificate (RFC 5816)');
  const essCertId = first(first(attribute.values[0]));
  const parts = essCertId instanceof asn1js.Sequence ? essCertId.valueBlock.value : [];
  let hash = 'sha256';
  let index = 0;
  const algorithm = parts[0];
  if (algorithm instanceof asn1js.Sequence) {
    const oid = algorithm.valueBlock.value[0];
    const named = oid instanceof asn1js.ObjectIdentifier ? HASHES[oid.valueBlock.toString()] : undefined;
    if (named === undefined) return err('names its TSA certificate by a hash other than SHA-256, SHA-384 or SHA-512');
    hash = named;
    index = 1;
  }
  const certHash = parts[index];
  if (!(certHash instanceof asn1js.OctetString)) return err('has a signing-certificate-v2 attribute that cannot be read');
  const expected = Buffer.from(certHash.valueBlock.valueHexView);
  const match = certificates.find((certificate) => createHash(hash).update(certificate.der).digest().equals(expected));
  if (match === undefined) return err('names a TSA certificate (signing-certificate-v2) that it does not carry');
  return ok(match);
}

function first(value: unknown): unknown {
  return value instanceof asn1js.Sequence ? value.valueBlock.value[0] : undefined;
}

/** From the TSA certificate up, through the token's certificates, to a root of the trust store. */
function chainToRoot(leaf: Certificate, pool: readonly Certificate[], roots: readonly Certificate[], storeName: string): Result<Certificate[], string> {
  const chain: Certificate[] = [leaf];
  let current = leaf;
  for (let step = 0; step < MAX_CHAIN_LENGTH; step++) {
    const trusted = roots.find((root) => root.der.equals(current.der));
    if (trusted !== undefined) return ok(chain);
    // Roots first: the chain should end in the store's own copy of the root.
    const issuer = [...roots, ...pool].find((candidate) => !candidate.der.equals(current.der) && isIssuedBy(current, candidate));
    if (issuer === undefined) {
      const end = isIssuedBy(current, current) ? `ends at ${current.displayName}` : `ends at ${current.displayName}, whose issuer it does not carry`;
      return err(`is signed by ${leaf.displayName}, whose chain ${end}, which is not in the tsa trust store ${storeName}`);
    }
    chain.push(issuer);
    current = issuer;
  }
  return err(`is signed by ${leaf.displayName}, whose chain is longer than ${MAX_CHAIN_LENGTH} certificates`);
}

function derOf(certificate: pkijs.Certificate): Buffer {
  return Buffer.from(certificate.toSchema().toBER(false));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
