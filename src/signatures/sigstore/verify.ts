// Verifies Sigstore signatures on an image: keyless (Fulcio certificate + Rekor) and PKI
// certificates on classic cosign `.sig` layers, and Sigstore bundles (cosign v3's default, stored
// as OCI referrers) signed with a certificate or with one of the policy's keys. Pure: it gets the
// fetched bytes, the compiled trust and the current time, and reports one SignatureCheck per layer
// and per bundle; it never fetches and never decides admission.
// Order matters: integrity of the bytes, then the signature and its evidence (log entry, time,
// certificate path, identity), and only then are the signed claims (digest, type) believed.
import { dsse } from '@sigstore/core';
import type { Bundle } from '@sigstore/bundle';
import type { Digest } from '../../reference/types.js';
import { parsePublicKey } from '../../keys/keys.js';
import type { TrustedKey } from '../../keys/types.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { InvalidSignatureReason, SignatureCheck } from '../types.js';
import { normaliseRepository } from '../cosign/identity.js';
import { decodeSignatureBase64, isPlausibleSignature, verifyWithKey } from '../cosign/key-crypto.js';
import { quote } from '../../util/quote.js';
import { parsePayload } from '../cosign/payload.js';
import { digestLike } from '../../reference/digest.js';
import { BUNDLE_ANNOTATION } from '../cosign/tlog.js';
import { keyClaimedByHint } from '../cosign/claimed-key.js';
import { CERTIFICATE_ANNOTATION, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from '../cosign/verify.js';
import type { CosignSignatureLayer } from '../cosign/verify.js';
import { bundleFromCosignLayer, parseBundle } from './bundle.js';
import { parseCertificateDer, parseCertificatesPem } from './certificate.js';
import type { ParsedCertificate } from './certificate.js';
import { verifyCertificatePath } from './chain.js';
import type { VerifiedPath } from './chain.js';
import { matchIdentity } from './identity.js';
import type { IdentityRule } from './identity.js';
import { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, describeSubjects, parseStatement, subjectFor } from './statement.js';
import type { StatementSubject } from './statement.js';
import { signedEntity, verifyCertificateEvidence, verifyLoggedSignature } from './transparency.js';
import type { SigstoreTrustRoot } from './trust-root.js';

export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';

// A signature is at most a few hundred bytes (RSA-16384: 2 KiB); anything far larger is not one.
const MAX_SIGNATURE_BYTES = 8 * 1024;
// Fulcio chains have one intermediate; PKI chains rarely more than two.
const MAX_CHAIN_CERTIFICATES = 8;

/** Certificates from a trust root, for identities the policy names. */
export interface KeylessTrust {
  readonly kind: 'keyless';
  readonly trustRoot: SigstoreTrustRoot;
  readonly identities: readonly IdentityRule[];
  /**
   * true: a transparency-log entry must vouch for the signature and the certificate is checked at the
   * log's time (Fulcio). false: logs are ignored and the certificate must be valid now (private PKI).
   */
  readonly requireRekor: boolean;
}

/** Bundles signed with one of the policy's public keys (cosign v3 `sign --key`). */
export interface KeyTrust {
  readonly kind: 'key';
  readonly keys: readonly TrustedKey[];
  /** Simple-signing annotations a cosign rule requires; bundles carry none, so any requirement fails. */
  readonly annotations: Readonly<Record<string, string>>;
  /** 'repository': the statement's subject name must be the image's repository. */
  readonly identity: 'ignore' | 'repository';
}

export type SigstoreTrust = KeylessTrust | KeyTrust;

export interface BundleBlob {
  /** Where the bundle came from, for messages, e.g. `referrer sha256:…`. */
  readonly source: string;
  readonly bytes: Buffer;
}

export interface SigstoreVerifyInput {
  /** The digest being admitted. */
  readonly imageDigest: Digest;
  /** Normalised `registry/repository` of the image, for KeyTrust's identity check. */
  readonly imageRepository?: string;
  readonly trust: SigstoreTrust;
  /** Layers of the `sha256-<hex>.sig` manifest (only KeylessTrust looks at them). */
  readonly layers: readonly CosignSignatureLayer[];
  /** Position of `layers[0]` in the manifest, for messages ("signature layer 3"), when they are checked a few at a time; default 1. */
  readonly firstLayerPosition?: number;
  /** Bundle documents from the image's referrers. */
  readonly bundles: readonly BundleBlob[];
  readonly now: Date;
  /** Statement predicate types that count as a signature; default: cosign's signing predicate only. */
  readonly predicateTypes?: readonly string[];
}

type Invalid = Extract<SignatureCheck, { status: 'invalid' }>;

/** One check per `.sig` layer (for keyless trust) and per bundle, in that order. */
export function verifySigstoreSignatures(input: SigstoreVerifyInput): SignatureCheck[] {
  const layerChecks =
    input.trust.kind === 'keyless'
      ? input.layers.map((layer, index) => verifyKeylessLayer(input, input.trust as KeylessTrust, layer, index + (input.firstLayerPosition ?? 1)))
      : [];
  return [...layerChecks, ...input.bundles.map((blob) => verifyBundle(input, blob))];
}

function invalid(reason: InvalidSignatureReason, detail: string, signer?: string): Invalid {
  return signer === undefined
    ? { status: 'invalid', system: 'cosign', reason, detail }
    : { status: 'invalid', system: 'cosign', reason, detail, signer };
}

// ---------------------------------------------------------------------------------------------
// Classic `.sig` layers with a certificate

function verifyKeylessLayer(input: SigstoreVerifyInput, trust: KeylessTrust, layer: CosignSignatureLayer, position: number): SignatureCheck {
  const where = `signature layer ${position}`;
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
    return invalid('WRONG_TYPE', `${where} has media type ${quote(layer.mediaType)}, not a cosign simple-signing payload`);
  }
  const blobDigest = digestLike(layer.digest, layer.payload);
  if (blobDigest !== layer.digest || layer.payload.length !== layer.size) {
    return invalid('PAYLOAD_MISMATCH', `${where} payload does not match its descriptor (${layer.size} bytes, ${layer.digest})`);
  }

  const signatureText = layer.annotations[SIGNATURE_ANNOTATION];
  const signature = signatureText === undefined ? undefined : decodeSignatureBase64(signatureText);
  if (signature === undefined || signature.length === 0 || signature.length > MAX_SIGNATURE_BYTES) {
    return invalid('MALFORMED', `${where} has no usable ${SIGNATURE_ANNOTATION} annotation (standard base64 of a signature)`);
  }
  const certificateText = layer.annotations[CERTIFICATE_ANNOTATION];
  if (certificateText === undefined) {
    return invalid(
      'UNTRUSTED_SIGNER',
      `${where} is signed with a key, not a certificate (no ${CERTIFICATE_ANNOTATION} annotation); keyless trust accepts only certificates from its trust root`,
    );
  }
  const leaf = parseCertificatesPem(certificateText, 1);
  if (!leaf.ok) return invalid('MALFORMED', `${where} ${CERTIFICATE_ANNOTATION} annotation ${leaf.error}`);
  const chainText = layer.annotations[CHAIN_ANNOTATION];
  const intermediates = chainText === undefined ? ok([]) : parseCertificatesPem(chainText, MAX_CHAIN_CERTIFICATES);
  if (!intermediates.ok) return invalid('MALFORMED', `${where} ${CHAIN_ANNOTATION} annotation ${intermediates.error}`);
  const certificate = leaf.value[0] as ParsedCertificate;

  let path: VerifiedPath;
  if (trust.requireRekor) {
    const tlogText = layer.annotations[BUNDLE_ANNOTATION];
    if (tlogText === undefined) {
      return invalid('MISSING_ANNOTATION', `${where} has no transparency-log entry (${BUNDLE_ANNOTATION} annotation), but the policy requires one (requireRekor)`);
    }
    const bundle = bundleFromCosignLayer({ leaf: certificate, payload: layer.payload, signature, tlogAnnotation: tlogText });
    if (!bundle.ok) return invalid('MALFORMED', `${where} transparency-log annotation ${bundle.error}`);
    const logged = verifyLogged(bundle.value, layer.payload, certificate, intermediates.value, trust.trustRoot);
    if (!logged.ok) return prefixed(where, logged.error);
    path = logged.value;
  } else {
    const unlogged = verifyUnlogged(layer.payload, signature, certificate, intermediates.value, trust.trustRoot, input.now);
    if (!unlogged.ok) return prefixed(where, unlogged.error);
    path = unlogged.value;
  }

  const identity = matchIdentity({ issuer: certificate.oidcIssuer, names: certificate.subjectAlternativeNames }, trust.identities);
  if (!identity.matched) return invalid('UNTRUSTED_SIGNER', `${where}: ${identity.detail}`);
  const signer = identity.signer;

  const payload = parsePayload(layer.payload);
  if (!payload.ok) return invalid(payload.error.reason, `${where}: ${payload.error.detail}`, signer);
  if (payload.value.dockerManifestDigest !== input.imageDigest) {
    return invalid('DIGEST_MISMATCH', `signature is for ${payload.value.dockerManifestDigest} but the image is ${input.imageDigest}`, signer);
  }
  return valid(input, signer, stringAnnotations(payload.value.optional), trust.requireRekor ? undefined : path.validUntil);
}

// ---------------------------------------------------------------------------------------------
// Sigstore bundles (DSSE envelope with an in-toto statement)

function verifyBundle(input: SigstoreVerifyInput, blob: BundleBlob): SignatureCheck {
  const where = `bundle ${blob.source}`;
  const parsed = parseBundle(blob.bytes);
  if (!parsed.ok) return invalid('MALFORMED', `${where} ${parsed.error}`);
  const bundle = parsed.value;
  if (bundle.content.$case !== 'dsseEnvelope') {
    return invalid('WRONG_TYPE', `${where} holds a message signature, not a DSSE envelope as cosign uses for images`);
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return invalid('WRONG_TYPE', `${where} envelope has payloadType ${quote(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const signature = envelope.signatures[0]?.sig ?? Buffer.alloc(0);
  if (signature.length === 0 || signature.length > MAX_SIGNATURE_BYTES) return invalid('MALFORMED', `${where} has no usable DSSE signature`);

  let signer: string;
  let validUntil: Date | undefined;
  const trust = input.trust;
  if (trust.kind === 'keyless') {
    const material = bundle.verificationMaterial.content;
    if (material.$case === 'publicKey') {
      return invalid('UNTRUSTED_SIGNER', `${where} is signed with a key (hint ${quote(material.publicKey.hint)}), not a certificate; keyless trust accepts only certificates from its trust root`);
    }
    const ders = material.$case === 'certificate' ? [material.certificate.rawBytes] : material.x509CertificateChain.certificates.map((c) => c.rawBytes);
    if (ders.length > MAX_CHAIN_CERTIFICATES) return invalid('MALFORMED', `${where} carries ${ders.length} certificates; at most ${MAX_CHAIN_CERTIFICATES} are accepted`);
    const certificates: ParsedCertificate[] = [];
    for (const [index, der] of ders.entries()) {
      const certificate = parseCertificateDer(Buffer.from(der));
      if (!certificate.ok) return invalid('MALFORMED', `${where} certificate ${index + 1} ${certificate.error}`);
      certificates.push(certificate.value);
    }
    const [leaf, ...intermediates] = certificates as [ParsedCertificate, ...ParsedCertificate[]];
    const checked = trust.requireRekor
      ? verifyLogged(bundle, undefined, leaf, intermediates, trust.trustRoot)
      : verifyUnlogged(dsse.preAuthEncoding(envelope.payloadType, envelope.payload), signature, leaf, intermediates, trust.trustRoot, input.now);
    if (!checked.ok) return prefixed(where, checked.error);
    const identity = matchIdentity({ issuer: leaf.oidcIssuer, names: leaf.subjectAlternativeNames }, trust.identities);
    if (!identity.matched) return invalid('UNTRUSTED_SIGNER', `${where}: ${identity.detail}`);
    signer = identity.signer;
    validUntil = trust.requireRekor ? undefined : checked.value.validUntil;
  } else {
    const signed = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
    const key = trust.keys.find((candidate) => verifyWithKey(candidate, signed, signature));
    if (key === undefined) {
      const tried = trust.keys.map((candidate) => candidate.name).join(', ') || 'none';
      const material = bundle.verificationMaterial.content;
      const claimed = material.$case === 'publicKey' ? keyClaimedByHint(material.publicKey.hint, trust.keys) : undefined;
      if (claimed !== undefined && isPlausibleSignature(signature)) {
        return invalid('BAD_SIGNATURE', `${where} signature does not verify with trusted key ${claimed.name}, the key its hint names: the envelope was most likely altered after signing`);
      }
      const problem = !isPlausibleSignature(signature)
        ? 'has a signature that is not a well-formed ECDSA (DER), RSA or Ed25519 signature'
        : bundle.verificationMaterial.content.$case === 'publicKey'
          ? 'is signed, but not by a trusted key'
          : 'is signed with a certificate (keyless), which key-based trust does not check, and not by a trusted key';
      return invalid(isPlausibleSignature(signature) ? 'UNTRUSTED_SIGNER' : 'BAD_SIGNATURE', `${where} ${problem} (tried: ${tried})`);
    }
    signer = key.name;
  }

  const statement = parseStatement(envelope.payload);
  if (!statement.ok) return invalid(statement.error.reason, `${where}: ${statement.error.detail}`, signer);
  const accepted = input.predicateTypes ?? [COSIGN_SIGN_PREDICATE_TYPE];
  if (!accepted.includes(statement.value.predicateType)) {
    return invalid(
      'WRONG_TYPE',
      `${where} is an attestation with predicateType ${quote(statement.value.predicateType)}, not a cosign signature (${COSIGN_SIGN_PREDICATE_TYPE})`,
      signer,
    );
  }
  const subject = subjectFor(statement.value, input.imageDigest);
  if (subject === undefined) {
    return invalid('DIGEST_MISMATCH', `signature is for ${describeSubjects(statement.value)} but the image is ${input.imageDigest}`, signer);
  }
  if (trust.kind === 'key') {
    const problem = keyRuleProblem(trust, subject, input.imageRepository);
    if (problem !== undefined) return invalid(problem.reason, `${where}: ${problem.detail}`, signer);
  }
  return valid(input, signer, {}, validUntil);
}

/** What a cosign key rule asks beyond the signature: annotations (bundles have none) and the repository. */
function keyRuleProblem(trust: KeyTrust, subject: StatementSubject, imageRepository: string | undefined): { reason: InvalidSignatureReason; detail: string } | undefined {
  const required = Object.entries(trust.annotations);
  if (required.length > 0) {
    const wanted = required.map(([name, value]) => `${name}=${quote(value)}`).join(', ');
    return { reason: 'MISSING_ANNOTATION', detail: `bundle signatures carry no signed annotations, but the policy requires ${wanted}` };
  }
  if (trust.identity === 'repository') {
    if (imageRepository === undefined) return { reason: 'IDENTITY_MISMATCH', detail: 'identity check requested, but the image repository was not given' };
    const image = normaliseRepository(imageRepository);
    const signed = subject.name === undefined ? undefined : normaliseRepository(subject.name);
    if (!image.ok || signed === undefined || !signed.ok || signed.value !== image.value) {
      return { reason: 'IDENTITY_MISMATCH', detail: `signature is for repository ${quote(subject.name ?? '(unnamed)')} but the image is from ${imageRepository}` };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Shared certificate checks

/**
 * Rekor mode: the log evidence and signature are authenticated first (with the certificate's key),
 * then the path is validated at the time the log vouches for, then the library's certificate
 * checks (SCTs) run against that path.
 */
function verifyLogged(
  bundle: Bundle,
  artifact: Buffer | undefined,
  leaf: ParsedCertificate,
  intermediates: readonly ParsedCertificate[],
  trustRoot: SigstoreTrustRoot,
): Result<VerifiedPath, { reason: InvalidSignatureReason; detail: string }> {
  const entity = signedEntity(bundle, artifact);
  if (!entity.ok) return entity;
  const times = verifyLoggedSignature(entity.value, leaf, trustRoot);
  if (!times.ok) return times;
  let path: VerifiedPath | undefined;
  for (const time of times.value) {
    const checked = verifyCertificatePath(leaf, intermediates, trustRoot.authorities, time);
    if (!checked.ok) return err({ reason: 'UNTRUSTED_SIGNER', detail: `certificate not trusted at the logged signing time: ${checked.error}` });
    path ??= checked.value;
  }
  if (path === undefined) return err({ reason: 'MISSING_ANNOTATION', detail: 'signature has no trusted signing time' });
  // The second pass adds only SCT checks; without CT log keys there is nothing to check them against
  // (the library would refuse every SCT it cannot verify, even with a threshold of zero).
  if (trustRoot.ctlogs.length === 0) return ok(path);
  const evidence = verifyCertificateEvidence(entity.value, path, trustRoot);
  return evidence.ok ? ok(path) : evidence;
}

/** PKI mode: no log and no trusted time, so the path must be valid now; the signature is checked directly. */
function verifyUnlogged(
  signed: Buffer,
  signature: Buffer,
  leaf: ParsedCertificate,
  intermediates: readonly ParsedCertificate[],
  trustRoot: SigstoreTrustRoot,
  now: Date,
): Result<VerifiedPath, { reason: InvalidSignatureReason; detail: string }> {
  const checked = verifyCertificatePath(leaf, intermediates, trustRoot.authorities, now);
  if (!checked.ok) return err({ reason: 'UNTRUSTED_SIGNER', detail: `certificate not trusted: ${checked.error}` });
  const key = parsePublicKey(`certificate ${leaf.label}`, leaf.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  if (!key.ok) return err({ reason: 'UNTRUSTED_SIGNER', detail: `signing certificate's key is not usable: ${key.error.message}` });
  if (!verifyWithKey(key.value, signed, signature)) {
    return err({ reason: 'BAD_SIGNATURE', detail: "signature does not verify with the signing certificate's key" });
  }
  return checked;
}

function prefixed(where: string, failure: { reason: InvalidSignatureReason; detail: string }): Invalid {
  return invalid(failure.reason, `${where}: ${failure.detail}`);
}

function valid(input: SigstoreVerifyInput, signer: string, annotations: Readonly<Record<string, string>>, validUntil: Date | undefined): SignatureCheck {
  const check = { status: 'valid', system: 'cosign', signer, digest: input.imageDigest, annotations } as const;
  return validUntil === undefined ? check : { ...check, validUntil: validUntil.toISOString() };
}

/** The string-valued optional fields; other JSON types (e.g. containers/image's numeric timestamp) are left out. */
function stringAnnotations(optional: Record<string, unknown> | null): Record<string, string> {
  if (optional === null) return {};
  return Object.fromEntries(Object.entries(optional).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
