// The cosign "simple signing" payload: the JSON document a cosign signature covers. Builds it with
// the exact bytes cosign (Go encoding/json) writes, and parses it strictly enough that one payload
// can never be read two ways: member names may differ in ASCII case (Go matches them
// case-insensitively, and cosign's docs show `Critical` and `Docker-manifest-digest`), but two names
// that fold to the same field, unknown fields outside `optional`, and duplicate names are refused.
import type { Digest } from '../../reference/types.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { isJsonObject, parseStrictJsonBytes } from '../../util/strict-json.js';
import { quote } from '../../util/quote.js';
import type { JsonObject, JsonValue } from '../../util/strict-json.js';
import { asDigest } from '../../reference/digest.js';

export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

export interface SimpleSigningPayload {
  dockerReference: string;
  dockerManifestDigest: Digest;
  type: string;
  optional: Record<string, unknown> | null;
}

export interface PayloadError {
  readonly reason: 'MALFORMED' | 'WRONG_TYPE';
  readonly detail: string;
}

/**
 * The payload cosign signs for `dockerReference` at `digest`, byte for byte:
 * `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},"type":"cosign container image signature"},"optional":…}`.
 * `optional` is null without annotations (as cosign writes it when no `-a` is given), otherwise an
 * object with the annotations sorted by name, as Go sorts map keys.
 */
export function buildPayload(input: { dockerReference: string; digest: Digest; annotations?: Record<string, string> }): Buffer {
  const annotationNames = Object.keys(input.annotations ?? {}).sort(compareUtf8);
  const optional =
    annotationNames.length === 0
      ? 'null'
      : `{${annotationNames
          .map((name) => `${goJsonString(name)}:${goJsonString((input.annotations as Record<string, string>)[name] as string)}`)
          .join(',')}}`;
  const json =
    `{"critical":{"identity":{"docker-reference":${goJsonString(input.dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJsonString(input.digest)}},` +
    `"type":${goJsonString(COSIGN_SIGNATURE_TYPE)}},"optional":${optional}}`;
  return Buffer.from(json, 'utf8');
}

/** Parse a payload whose signature has already been verified. */
export function parsePayload(bytes: Buffer): Result<SimpleSigningPayload, PayloadError> {
  const malformed = (detail: string): Result<SimpleSigningPayload, PayloadError> =>
    err({ reason: 'MALFORMED', detail: `signed payload ${detail}` });

  const parsed = parseStrictJsonBytes(bytes);
  if (!parsed.ok) return malformed(`is not valid JSON: ${parsed.error}`);
  if (!isJsonObject(parsed.value)) return malformed('is not a JSON object');

  const top = knownFields(parsed.value, 'the payload', ['critical', 'optional']);
  if (!top.ok) return malformed(top.error);
  const critical = top.value.get('critical');
  if (!isJsonObject(critical)) return malformed('has no "critical" object');

  const criticalFields = knownFields(critical, 'critical', ['identity', 'image', 'type']);
  if (!criticalFields.ok) return malformed(criticalFields.error);
  const type = criticalFields.value.get('type');
  if (typeof type !== 'string') return malformed('has no string critical.type');
  if (type !== COSIGN_SIGNATURE_TYPE) {
    return err({
      reason: 'WRONG_TYPE',
      detail: `signed payload has type ${quote(type)}, not ${quote(COSIGN_SIGNATURE_TYPE)}`,
    });
  }

  const image = criticalFields.value.get('image');
  if (!isJsonObject(image)) return malformed('has no critical.image object');
  const imageFields = knownFields(image, 'critical.image', ['docker-manifest-digest']);
  if (!imageFields.ok) return malformed(imageFields.error);
  const digestText = imageFields.value.get('docker-manifest-digest');
  if (typeof digestText !== 'string') return malformed('has no string critical.image.docker-manifest-digest');
  const digest = asDigest(digestText);
  if (digest === undefined) {
    return malformed(`names ${quote(digestText)} as the image digest, which is not a valid digest`);
  }

  const identity = criticalFields.value.get('identity');
  if (!isJsonObject(identity)) return malformed('has no critical.identity object');
  const identityFields = knownFields(identity, 'critical.identity', ['docker-reference']);
  if (!identityFields.ok) return malformed(identityFields.error);
  const dockerReference = identityFields.value.get('docker-reference');
  if (typeof dockerReference !== 'string') return malformed('has no string critical.identity.docker-reference');

  // Go decodes a missing `optional` as nil, so cosign accepts its absence; so do we.
  const optional = top.value.get('optional') ?? null;
  if (optional !== null && !isJsonObject(optional)) return malformed('has an "optional" member that is neither null nor an object');

  return ok({ dockerReference, dockerManifestDigest: digest, type, optional });
}

/**
 * Map an object's members onto the expected field names, matching ASCII case-insensitively as
 * Go does for these ASCII names. Refuses names that match no field (Go would ignore them, but a
 * name using Unicode folding such as the Kelvin sign would then mean a field to Go and nothing to
 * us) and two names that fold to the same field (Go would keep the last; that ambiguity is an attack).
 */
function knownFields(object: JsonObject, where: string, fields: readonly string[]): Result<Map<string, JsonValue>, string> {
  const found = new Map<string, JsonValue>();
  for (const [name, value] of Object.entries(object)) {
    const folded = asciiLower(name);
    const field = fields.find((candidate) => candidate === folded);
    if (field === undefined) return err(`has an unexpected member ${quote(name)} in ${where}`);
    if (found.has(field)) return err(`has two members that both mean ${quote(field)} in ${where}`);
    found.set(field, value);
  }
  return ok(found);
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * A JSON string as Go's encoding/json writes it: HTML-sensitive characters and U+2028/U+2029
 * escaped, \b \f \n \r \t short escapes (Go ≥ 1.22), other controls as \u00XX.
 */
function goJsonString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    switch (char) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      default:
        break;
    }
    if (code < 0x20 || char === '<' || char === '>' || char === '&' || code === 0x2028 || code === 0x2029) {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      // A lone surrogate has no UTF-8 form; Go would have replaced the invalid bytes with U+FFFD.
      out += '\ufffd';
    } else {
      out += char;
    }
  }
  return `${out}"`;
}
