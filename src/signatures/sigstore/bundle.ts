// Sigstore bundles in both directions: reading the bundle JSON cosign v3 stores as an OCI referrer
// (strictly: duplicate member names are refused before the protobuf reader sees the document), and
// assembling an equivalent v0.1 bundle from a classic cosign `.sig` layer (certificate annotation +
// Rekor `dev.sigstore.cosign/bundle` annotation + signature over the payload blob), so that both
// formats are verified by the same code.
import { createHash } from 'node:crypto';
import { ValidationError, assertBundle, bundleFromJSON } from '@sigstore/bundle';
import type { Bundle } from '@sigstore/bundle';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { decodeSignatureBase64 } from '../cosign/key-crypto.js';
import { isJsonObject, parseStrictJson, parseStrictJsonBytes } from '../../util/strict-json.js';
import type { JsonValue } from '../../util/strict-json.js';
import { quote } from '../../util/quote.js';
import type { ParsedCertificate } from './certificate.js';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const BUNDLE_V01_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle+json;version=0.1';
const ACCEPTED_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(?:\+json;version=0\.[123]|\.v0\.3\+json)$/;

/** A bundle document; the error is a phrase to follow "bundle …". */
export function parseBundle(bytes: Uint8Array): Result<Bundle, string> {
  const parsed = parseStrictJsonBytes(bytes);
  if (!parsed.ok) return err(`is not valid JSON: ${parsed.error}`);
  if (!isJsonObject(parsed.value)) return err('is not a JSON object');
  const mediaType = parsed.value['mediaType'];
  if (typeof mediaType !== 'string' || !ACCEPTED_MEDIA_TYPE.test(mediaType)) {
    return err(`has mediaType ${quote(mediaType ?? null)}, not a Sigstore bundle v0.1 to v0.3`);
  }
  try {
    const bundle = bundleFromJSON(parsed.value);
    assertBundle(bundle);
    return ok(bundle);
  } catch (thrown) {
    if (thrown instanceof ValidationError) return err(`lacks required fields (${(thrown.fields ?? []).slice(0, 5).join(', ') || thrown.message})`);
    return err(`cannot be read (${thrown instanceof Error ? thrown.message.slice(0, 200) : 'parse error'})`);
  }
}

export interface CosignLayerEvidence {
  readonly leaf: ParsedCertificate;
  /** The signed simple-signing payload blob. */
  readonly payload: Buffer;
  readonly signature: Buffer;
  /** Text of the layer's `dev.sigstore.cosign/bundle` annotation. */
  readonly tlogAnnotation: string;
}

/**
 * The v0.1 bundle a classic cosign signature amounts to: a message signature over the payload,
 * the certificate, and one log entry whose inclusion promise is the annotation's SET.
 * The error is a phrase to follow "transparency-log annotation …".
 */
export function bundleFromCosignLayer(evidence: CosignLayerEvidence): Result<Bundle, string> {
  const parsed = parseStrictJson(evidence.tlogAnnotation);
  if (!parsed.ok) return err(`is not valid JSON: ${parsed.error}`);
  if (!isJsonObject(parsed.value)) return err('is not a JSON object');
  const set = parsed.value['SignedEntryTimestamp'];
  const payload = parsed.value['Payload'];
  if (typeof set !== 'string' || decodeSignatureBase64(set) === undefined) return err('has no base64 SignedEntryTimestamp');
  if (!isJsonObject(payload)) return err('has no Payload object');
  const body = payload['body'];
  const integratedTime = payload['integratedTime'];
  const logIndex = payload['logIndex'];
  const logID = payload['logID'];
  if (typeof body !== 'string') return err('Payload has no body string');
  if (!isCount(integratedTime) || !isCount(logIndex)) return err('Payload integratedTime and logIndex must be non-negative integers');
  if (typeof logID !== 'string' || !/^[0-9a-f]{64}$/.test(logID)) return err('Payload logID is not a hex SHA-256');
  const bodyBytes = decodeSignatureBase64(body);
  if (bodyBytes === undefined) return err('Payload body is not base64');
  // The entry's kind and version are part of what the log signed; the bundle must state the same.
  const entry = parseStrictJsonBytes(bodyBytes);
  const kind = entry.ok && isJsonObject(entry.value) ? entry.value['kind'] : undefined;
  const apiVersion = entry.ok && isJsonObject(entry.value) ? entry.value['apiVersion'] : undefined;
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') return err('Payload body is not a Rekor entry with kind and apiVersion');

  try {
    return ok(
      bundleFromJSON({
        mediaType: BUNDLE_V01_MEDIA_TYPE,
        verificationMaterial: {
          x509CertificateChain: { certificates: [{ rawBytes: evidence.leaf.der.toString('base64') }] },
          tlogEntries: [
            {
              logIndex: String(logIndex),
              logId: { keyId: Buffer.from(logID, 'hex').toString('base64') },
              kindVersion: { kind, version: apiVersion },
              integratedTime: String(integratedTime),
              inclusionPromise: { signedEntryTimestamp: set },
              canonicalizedBody: body,
            },
          ],
        },
        messageSignature: {
          messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(evidence.payload).digest('base64') },
          signature: evidence.signature.toString('base64'),
        },
      }),
    );
  } catch (thrown) {
    return err(`cannot be turned into a bundle (${thrown instanceof Error ? thrown.message.slice(0, 200) : 'error'})`);
  }
}

function isCount(value: JsonValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
