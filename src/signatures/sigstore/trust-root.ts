// The trust material keyless verification starts from, parsed once when the policy is compiled:
// a Sigstore TrustedRoot document (`trusted_root.json`, protobuf-specs JSON: Fulcio CAs, Rekor and
// CT log keys, timestamp authorities, each with a validity window), or plain PEM (CA certificates
// plus optional Rekor and CT log public keys) for operators who run their own CA or pin keys by hand.
// Nothing here is ever fetched: refreshing a trust root (TUF) is an operator's job, off the request path.
import { createHash, createPublicKey } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import type { TrustMaterial } from '@sigstore/verify';
import { decodePem, encodePem, parsePublicKey } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { isJsonObject, parseStrictJson } from '../../util/strict-json.js';
import { quote } from '../../util/quote.js';
import { parseCertificateDer, parseCertificatesPem } from './certificate.js';
import type { ParsedCertificate } from './certificate.js';
import type { CertificateAuthority } from './chain.js';

export type LogAuthority = TrustMaterial['tlogs'][number];
export type TimestampAuthority = TrustMaterial['timestampAuthorities'][number];

export interface SigstoreTrustRoot {
  /** Trusted CAs for signing certificates (Fulcio instances or an operator's PKI). */
  readonly authorities: readonly CertificateAuthority[];
  /** Rekor instances whose signed entry timestamps and checkpoints are trusted. */
  readonly tlogs: readonly LogAuthority[];
  /** Certificate transparency logs; when any are listed, Fulcio certificates must carry a valid SCT. */
  readonly ctlogs: readonly LogAuthority[];
  readonly timestampAuthorities: readonly TimestampAuthority[];
  /**
   * Whether the logs are known by their origin name (a TrustedRoot's baseUrl), which a checkpoint's
   * signature line must name. Bare PEM keys have no name, so with them only signed entry timestamps
   * can be checked, not inclusion proofs.
   */
  readonly logOriginsKnown: boolean;
}

const TRUSTED_ROOT_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(?:\+json;version=0\.1|\.v0\.[12]\+json)$/;
const BEGINNING_OF_TIME = new Date(0);
// The latest time a JavaScript Date can hold; what @sigstore/verify uses for an open-ended window.
const END_OF_TIME = new Date(8_640_000_000_000_000);
const MAX_PEM_CERTIFICATES = 16;
const MAX_PEM_KEYS = 16;

/** A TrustedRoot JSON document. The error is one sentence naming the field at fault. */
export function parseTrustedRootJson(text: string): Result<SigstoreTrustRoot, string> {
  const parsed = parseStrictJson(text);
  if (!parsed.ok) return err(`the trusted root is not valid JSON: ${parsed.error}`);
  if (!isJsonObject(parsed.value)) return err('the trusted root is not a JSON object');
  const mediaType = parsed.value['mediaType'];
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPE.test(mediaType)) {
    return err(
      `the trusted root has mediaType ${quote(mediaType ?? null)}; expected application/vnd.dev.sigstore.trustedroot+json;version=0.1 or application/vnd.dev.sigstore.trustedroot.v0.2+json`,
    );
  }

  let root: TrustedRoot;
  let material: TrustMaterial;
  try {
    root = TrustedRoot.fromJSON(parsed.value);
    material = toTrustMaterial(root);
  } catch (thrown) {
    return err(`the trusted root holds an unusable key or certificate (${thrown instanceof Error ? thrown.message : 'parse error'})`);
  }

  const authorities: CertificateAuthority[] = [];
  for (const [index, authority] of root.certificateAuthorities.entries()) {
    const where = `certificateAuthorities[${index}]`;
    const certificates: ParsedCertificate[] = [];
    for (const [position, certificate] of (authority.certChain?.certificates ?? []).entries()) {
      const read = parseCertificateDer(Buffer.from(certificate.rawBytes));
      if (!read.ok) return err(`the trusted root's ${where}.certChain.certificates[${position}] ${read.error}`);
      certificates.push(read.value);
    }
    if (certificates.length === 0) return err(`the trusted root's ${where} has no certificates`);
    const top = certificates[certificates.length - 1] as ParsedCertificate;
    authorities.push({
      name: authority.uri !== '' ? `${authority.uri} (${top.label})` : top.label,
      certificates,
      validFor: { start: authority.validFor?.start ?? BEGINNING_OF_TIME, end: authority.validFor?.end },
    });
  }
  for (const [index, log] of [...material.tlogs, ...material.ctlogs].entries()) {
    if (log.logID.length === 0) return err(`the trusted root's transparency log ${index + 1} (${quote(log.baseURL)}) has no log ID`);
  }
  return ok({
    authorities,
    tlogs: material.tlogs,
    ctlogs: material.ctlogs,
    timestampAuthorities: material.timestampAuthorities,
    logOriginsKnown: true,
  });
}

export interface PemTrustMaterial {
  readonly certificates: string;
  readonly rekorKeys?: string;
  readonly ctLogKeys?: string;
}

/** Which part of the PEM material is at fault, and a sentence saying how. */
export interface PemTrustProblem {
  readonly part: keyof PemTrustMaterial;
  readonly message: string;
}

/**
 * PEM trust material: CA certificates (each one a trust anchor), and optionally Rekor and CT log
 * public keys, each log identified by the SHA-256 of its SubjectPublicKeyInfo as Rekor and RFC 6962 do.
 */
export function trustRootFromPem(pem: PemTrustMaterial): Result<SigstoreTrustRoot, PemTrustProblem> {
  const certificates = parseCertificatesPem(pem.certificates, MAX_PEM_CERTIFICATES);
  if (!certificates.ok) return err({ part: 'certificates', message: `the CA certificates ${certificates.error}` });
  const tlogs = pem.rekorKeys === undefined ? ok([]) : logKeys(pem.rekorKeys, 'Rekor');
  if (!tlogs.ok) return err({ part: 'rekorKeys', message: tlogs.error });
  const ctlogs = pem.ctLogKeys === undefined ? ok([]) : logKeys(pem.ctLogKeys, 'CT log');
  if (!ctlogs.ok) return err({ part: 'ctLogKeys', message: ctlogs.error });
  return ok({
    authorities: [
      {
        name: certificates.value.map((certificate) => certificate.label).join('; '),
        certificates: certificates.value,
        validFor: { start: BEGINNING_OF_TIME, end: undefined },
      },
    ],
    tlogs: tlogs.value,
    ctlogs: ctlogs.value,
    timestampAuthorities: [],
    logOriginsKnown: false,
  });
}

function logKeys(text: string, kind: string): Result<LogAuthority[], string> {
  const blocks = decodePem(text);
  if (!blocks.ok) return err(`the ${kind} keys are not valid PEM: ${blocks.error}`);
  if (blocks.value.length === 0) return err(`the ${kind} keys hold no PEM public key ("-----BEGIN PUBLIC KEY-----")`);
  if (blocks.value.length > MAX_PEM_KEYS) return err(`the ${kind} keys hold ${blocks.value.length} keys; at most ${MAX_PEM_KEYS} are accepted`);
  const logs: LogAuthority[] = [];
  for (const [index, block] of blocks.value.entries()) {
    // parsePublicKey's messages read "key <name> …": "key 2 of the Rekor keys is a private key; …".
    const key = parsePublicKey(`${index + 1} of the ${kind} keys`, encodePem(block.type, block.der));
    if (!key.ok) return err(key.error.message);
    const spki = key.value.key.export({ type: 'spki', format: 'der' });
    logs.push({
      logID: createHash('sha256').update(spki).digest(),
      baseURL: `${kind} key ${index + 1}`,
      publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
      validFor: { start: BEGINNING_OF_TIME, end: END_OF_TIME },
    });
  }
  return ok(logs);
}
