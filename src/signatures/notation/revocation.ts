// Revocation of a Notation signing chain, as notation-core-go checks it: every certificate but the
// root, by OCSP when it names a responder (request built here, response signed by its issuer or by a
// responder the issuer delegated to, fresh per thisUpdate/nextUpdate), falling back to its CRL
// distribution point when OCSP gives no answer (CRL signed by the issuer, not past nextUpdate). A
// certificate that names neither cannot be revoked. The chain is as bad as its worst certificate:
// revoked, else unknown, else good.
//
// This module does no I/O: the bytes come through a RevocationFetcher the caller injects (HTTP lives
// in discovery/notation-revocation.ts). Verified answers are kept in a RevocationCache until their
// nextUpdate (at most a day), bounded in entries, so a busy webhook asks each responder rarely.
import * as pkijs from 'pkijs';
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { isIssuedBy, parseCertificate, type Certificate } from './certificates.js';

/** Fetches revocation material over the network for the verifier; every failure is a sentence. */
export interface RevocationFetcher {
  /** POSTs a DER OCSP request to `url`; the DER response body of a 200 answer. */
  ocsp(url: string, request: Uint8Array, signal?: AbortSignal): Promise<Result<Uint8Array, string>>;
  /** GETs the DER CRL at `url` (at most MAX_CRL_BYTES). */
  crl(url: string, signal?: AbortSignal): Promise<Result<Uint8Array, string>>;
}

/** What the policy does with the outcome (Notation's `revocation` override): enforce, only log, or not check at all. */
export type RevocationMode = 'enforce' | 'log' | 'skip';

export const MAX_CRL_BYTES = 8 * 1024 * 1024;
export const MAX_OCSP_RESPONSE_BYTES = 64 * 1024;
/** A verified answer is reused until its nextUpdate, but never longer than this. */
const MAX_CACHE_MS = 24 * 3600_000;
/** An answer without nextUpdate (OCSP allows it) is reused this long. */
const NO_NEXT_UPDATE_CACHE_MS = 3600_000;
/** Responder and webhook clocks differ; a thisUpdate this far in the future is still accepted. */
const CLOCK_SKEW_MS = 5 * 60_000;

const OID = {
  ocspBasic: '1.3.6.1.5.5.7.48.1.1',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

const CRL_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'unused', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise'];

export type CertificateRevocation =
  | { readonly status: 'good'; readonly until: Date }
  /** Names no OCSP responder and no CRL: nothing can say it was revoked (Notation: "non-revocable"). */
  | { readonly status: 'notRevocable' }
  | { readonly status: 'revoked'; readonly at: Date; readonly reason: string | undefined; readonly source: string; readonly until: Date }
  | { readonly status: 'unknown'; readonly why: string };

export type ChainRevocation =
  | { readonly status: 'good' }
  | { readonly status: 'revoked'; readonly detail: string }
  | { readonly status: 'unknown'; readonly detail: string };

/** What is kept of a verified CRL: its times and its revoked serial numbers, not the parsed document. */
export interface VerifiedCrl {
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** Serial number (hex of the DER integer's content) → when and why. */
  readonly revoked: ReadonlyMap<string, { readonly at: Date; readonly reason: string | undefined }>;
}

/** A CRL of 8 MiB lists some 200 000 certificates; the cache holds at most this many entries in all. */
const MAX_CACHED_CRL_ENTRIES = 500_000;

/** Verified per-certificate answers (good or revoked) and verified CRLs, each until its nextUpdate. */
export class RevocationCache {
  readonly #answers: LRUCache<string, CertificateRevocation>;
  readonly #crls: LRUCache<string, VerifiedCrl>;

  constructor(options: { maxAnswers?: number; maxCrls?: number } = {}) {
    this.#answers = new LRUCache({ max: options.maxAnswers ?? 4096 });
    this.#crls = new LRUCache({ max: options.maxCrls ?? 32, maxSize: MAX_CACHED_CRL_ENTRIES, sizeCalculation: (crl) => Math.max(1, crl.revoked.size) });
  }

  answer(key: string, now: Date): CertificateRevocation | undefined {
    const found = this.#answers.get(key);
    if (found === undefined || found.status === 'unknown' || found.status === 'notRevocable') return found;
    return found.until.getTime() > now.getTime() ? found : undefined;
  }

  rememberAnswer(key: string, answer: CertificateRevocation, now: Date): void {
    if (answer.status !== 'good' && answer.status !== 'revoked') return;
    const ttl = Math.min(answer.until.getTime() - now.getTime(), MAX_CACHE_MS);
    if (ttl > 0) this.#answers.set(key, answer, { ttl });
  }

  /** `key` names the URL and the issuer the CRL was verified against. */
  crl(key: string, now: Date): VerifiedCrl | undefined {
    const found = this.#crls.get(key);
    return found !== undefined && found.nextUpdate.getTime() > now.getTime() ? found : undefined;
  }

  rememberCrl(key: string, crl: VerifiedCrl, now: Date): void {
    const ttl = Math.min(crl.nextUpdate.getTime() - now.getTime(), MAX_CACHE_MS);
    if (ttl > 0 && crl.revoked.size <= MAX_CACHED_CRL_ENTRIES) this.#crls.set(key, crl, { ttl });
  }
}

export interface RevocationContext {
  readonly fetcher: RevocationFetcher;
  readonly cache: RevocationCache;
  readonly now: Date;
  readonly signal?: AbortSignal;
}

/** The chain's revocation status (leaf first, root last; the root itself is not checked). */
export async function checkChainRevocation(chain: readonly Certificate[], context: RevocationContext): Promise<ChainRevocation> {
  const unknowns: string[] = [];
  for (let index = 0; index + 1 < chain.length; index++) {
    const certificate = chain[index]!;
    const issuer = chain[index + 1]!;
    const answer = await certificateRevocation(certificate, issuer, context);
    switch (answer.status) {
      case 'revoked':
        return {
          status: 'revoked',
          detail: `certificate ${certificate.displayName} (serial ${certificate.serialNumber}) was revoked at ${answer.at.toISOString()}${answer.reason !== undefined ? ` (${answer.reason})` : ''}, according to ${answer.source}`,
        };
      case 'unknown':
        unknowns.push(`certificate ${certificate.displayName}: ${answer.why}`);
        break;
      case 'good':
      case 'notRevocable':
        break;
    }
  }
  if (unknowns.length > 0) return { status: 'unknown', detail: `the revocation status is unknown: ${unknowns.join('; ')}` };
  return { status: 'good' };
}

async function certificateRevocation(certificate: Certificate, issuer: Certificate, context: RevocationContext): Promise<CertificateRevocation> {
  if (certificate.ocspUrls.length === 0 && certificate.crlUrls.length === 0) return { status: 'notRevocable' };
  const key = createHash('sha256').update(certificate.der).update(issuer.der).digest('hex');
  const cached = context.cache.answer(key, context.now);
  if (cached !== undefined) return cached;

  let pkiCertificate: pkijs.Certificate;
  let pkiIssuer: pkijs.Certificate;
  try {
    pkiCertificate = pkijs.Certificate.fromBER(certificate.der);
    pkiIssuer = pkijs.Certificate.fromBER(issuer.der);
  } catch {
    return { status: 'unknown', why: 'its certificate cannot be read for a revocation check' };
  }
  const failures: string[] = [];
  for (const url of certificate.ocspUrls) {
    const answer = await ocspStatus(url, pkiCertificate, pkiIssuer, issuer, context);
    if (answer.ok) {
      context.cache.rememberAnswer(key, answer.value, context.now);
      return answer.value;
    }
    failures.push(`OCSP responder ${url} ${answer.error}`);
  }
  for (const url of certificate.crlUrls) {
    const answer = await crlStatus(url, pkiCertificate, pkiIssuer, issuer, context);
    if (answer.ok) {
      context.cache.rememberAnswer(key, answer.value, context.now);
      return answer.value;
    }
    failures.push(`CRL ${url} ${answer.error}`);
  }
  return { status: 'unknown', why: failures.join(', ') };
}

/** A definite answer (good or revoked) from one responder, or why it gave none. */
async function ocspStatus(url: string, certificate: pkijs.Certificate, pkiIssuer: pkijs.Certificate, issuer: Certificate, context: RevocationContext): Promise<Result<CertificateRevocation, string>> {
  let request: Uint8Array;
  const certIds: pkijs.CertID[] = [];
  try {
    const ocspRequest = new pkijs.OCSPRequest();
    await ocspRequest.createForCertificate(certificate, { hashAlgorithm: 'SHA-256', issuerCertificate: pkiIssuer });
    request = new Uint8Array(ocspRequest.toSchema(true).toBER(false));
    // Some responders answer with a SHA-1 CertID whatever the request used; both name the same certificate.
    for (const hashAlgorithm of ['SHA-256', 'SHA-1']) {
      const certId = new pkijs.CertID();
      await certId.createForCertificate(certificate, { hashAlgorithm, issuerCertificate: pkiIssuer });
      certIds.push(certId);
    }
  } catch {
    return err('could not be asked: the OCSP request cannot be built');
  }
  const fetched = await context.fetcher.ocsp(url, request, context.signal);
  if (!fetched.ok) return err(fetched.error);
  if (fetched.value.length > MAX_OCSP_RESPONSE_BYTES) return err(`sent ${fetched.value.length} bytes, more than an OCSP response needs`);

  let basic: pkijs.BasicOCSPResponse;
  try {
    const response = pkijs.OCSPResponse.fromBER(fetched.value);
    const status = response.responseStatus.valueBlock.valueDec;
    if (status !== 0) return err(`answered with OCSP status ${status} (${['successful', 'malformedRequest', 'internalError', 'tryLater', '', 'sigRequired', 'unauthorized'][status] ?? 'unknown'})`);
    if (response.responseBytes?.responseType !== OID.ocspBasic) return err('answered with a response type other than basic OCSP');
    basic = pkijs.BasicOCSPResponse.fromBER(response.responseBytes.response.valueBlock.valueHexView);
  } catch {
    return err('sent something that is not an OCSP response');
  }

  const signer = await ocspSigner(basic, pkiIssuer, issuer, context.now);
  if (!signer.ok) return signer;
  const single = basic.tbsResponseData.responses.slice(0, 16).find((candidate) => certIds.some((certId) => candidate.certID.isEqual(certId)));
  if (single === undefined) return err('answered about other certificates');
  const now = context.now.getTime();
  if (single.thisUpdate.getTime() > now + CLOCK_SKEW_MS) return err(`answered with thisUpdate ${single.thisUpdate.toISOString()}, in the future`);
  if (single.nextUpdate !== undefined && single.nextUpdate.getTime() < now) return err(`answered with a stale response (nextUpdate ${single.nextUpdate.toISOString()})`);
  const until = single.nextUpdate ?? new Date(now + NO_NEXT_UPDATE_CACHE_MS);
  const tag = (single.certStatus as { idBlock?: { tagNumber?: number } }).idBlock?.tagNumber;
  switch (tag) {
    case 0:
      // Without nextUpdate nothing says how long "good" holds: an old answer could be replayed (the
      // request carries no nonce, over plain http). notation-core-go does not count it either; a
      // "revoked" answer stands whatever its age.
      if (single.nextUpdate === undefined) return err('answered "good" without a nextUpdate, so how long it holds is unknown');
      return ok({ status: 'good', until });
    case 1: {
      const revoked = revokedInfo(single.certStatus);
      return ok({ status: 'revoked', at: revoked.at ?? single.thisUpdate, reason: revoked.reason, source: `OCSP responder ${url}`, until });
    }
    default:
      return err('does not know the certificate (status unknown)');
  }
}

/** The responder's certificate: the issuer itself, or one the issuer made for OCSP signing (RFC 6960 §4.2.2.2). */
async function ocspSigner(basic: pkijs.BasicOCSPResponse, pkiIssuer: pkijs.Certificate, issuer: Certificate, now: Date): Promise<Result<void, string>> {
  const engine = pkijs.getCrypto(true);
  const candidates = [pkiIssuer, ...(basic.certs ?? []).slice(0, 4)];
  for (const candidate of candidates) {
    const verified = await engine.verifyWithPublicKey(basic.tbsResponseData.tbsView, basic.signature, candidate.subjectPublicKeyInfo, basic.signatureAlgorithm).catch(() => false);
    if (!verified) continue;
    if (candidate === pkiIssuer) return ok(undefined);
    const parsed = parseCertificate(Buffer.from(candidate.toSchema().toBER(false)));
    if (!parsed.ok) return err(`signed its answer with a certificate that ${parsed.error}`);
    const delegate = parsed.value;
    if (!isIssuedBy(delegate, issuer)) return err(`signed its answer with ${delegate.displayName}, which ${issuer.displayName} did not issue`);
    if (!(delegate.extendedKeyUsages ?? []).includes(OID.ocspSigning)) return err(`signed its answer with ${delegate.displayName}, which lacks the OCSPSigning extended key usage`);
    if (now.getTime() < delegate.notBefore.getTime() || now.getTime() > delegate.notAfter.getTime()) return err(`signed its answer with ${delegate.displayName}, which is not valid now`);
    return ok(undefined);
  }
  return err(`sent an answer that neither ${issuer.displayName} nor a responder it delegated to signed`);
}

function revokedInfo(status: unknown): { at: Date | undefined; reason: string | undefined } {
  const parts = (status as { valueBlock?: { value?: unknown[] } }).valueBlock?.value ?? [];
  const time = parts[0] as { toDate?: () => Date } | undefined;
  const reasonBlock = parts[1] as { valueBlock?: { value?: { valueBlock?: { valueDec?: number } }[] } } | undefined;
  const code = reasonBlock?.valueBlock?.value?.[0]?.valueBlock?.valueDec;
  return { at: typeof time?.toDate === 'function' ? time.toDate() : undefined, reason: code !== undefined ? CRL_REASONS[code] : undefined };
}

async function crlStatus(url: string, certificate: pkijs.Certificate, pkiIssuer: pkijs.Certificate, issuer: Certificate, context: RevocationContext): Promise<Result<CertificateRevocation, string>> {
  const key = `${url} ${createHash('sha256').update(issuer.der).digest('hex')}`;
  let crl = context.cache.crl(key, context.now);
  if (crl === undefined) {
    const fetched = await context.fetcher.crl(url, context.signal);
    if (!fetched.ok) return err(fetched.error);
    const verified = await verifiedCrl(fetched.value, pkiIssuer, issuer);
    if (!verified.ok) return verified;
    crl = verified.value;
    context.cache.rememberCrl(key, crl, context.now);
  }
  const now = context.now.getTime();
  if (crl.thisUpdate.getTime() > now + CLOCK_SKEW_MS) return err(`has thisUpdate ${crl.thisUpdate.toISOString()}, in the future`);
  if (crl.nextUpdate.getTime() < now) return err(`is stale (nextUpdate ${crl.nextUpdate.toISOString()})`);
  const entry = crl.revoked.get(serialOf(certificate.serialNumber));
  if (entry === undefined) return ok({ status: 'good', until: crl.nextUpdate });
  return ok({ status: 'revoked', at: entry.at, reason: entry.reason, source: `CRL ${url}`, until: crl.nextUpdate });
}

/** The CRL, once its issuer, signature, extensions and nextUpdate are acceptable, reduced to what is looked up. */
async function verifiedCrl(bytes: Uint8Array, pkiIssuer: pkijs.Certificate, issuer: Certificate): Promise<Result<VerifiedCrl, string>> {
  let crl: pkijs.CertificateRevocationList;
  try {
    crl = pkijs.CertificateRevocationList.fromBER(bytes);
  } catch {
    return err('is not a DER certificate revocation list');
  }
  if (!crl.issuer.isEqual(pkiIssuer.subject)) return err(`was issued by another CA than ${issuer.displayName}`);
  const verified = await crl.verify({ issuerCertificate: pkiIssuer }).catch(() => false);
  if (!verified) return err(`is not signed by ${issuer.displayName}`);
  const critical = (crl.crlExtensions?.extensions ?? []).filter((extension) => extension.critical).map((extension) => extension.extnID);
  if (critical.length > 0) return err(`has critical extensions Signet does not evaluate (${critical.join(', ')}), such as a delta CRL`);
  if (crl.nextUpdate === undefined) return err('has no nextUpdate, so its freshness cannot be judged');
  const revoked = new Map<string, { at: Date; reason: string | undefined }>();
  for (const entry of crl.revokedCertificates ?? []) {
    const reasonExtension = entry.crlEntryExtensions?.extensions.find((extension) => extension.extnID === '2.5.29.21');
    const reasonCode = (reasonExtension?.parsedValue as { valueBlock?: { valueDec?: number } } | undefined)?.valueBlock?.valueDec;
    revoked.set(serialOf(entry.userCertificate), { at: entry.revocationDate.value, reason: reasonCode !== undefined ? CRL_REASONS[reasonCode] : undefined });
  }
  return ok({ thisUpdate: crl.thisUpdate.value, nextUpdate: crl.nextUpdate.value, revoked });
}

function serialOf(serial: { readonly valueBlock: { readonly valueHexView: Uint8Array } }): string {
  return Buffer.from(serial.valueBlock.valueHexView).toString('hex');
}
