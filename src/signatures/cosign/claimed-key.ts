// Which trusted key a signature says it was made with, when no trusted key verifies it. A key-based
// cosign signature names no key, so "made by another key" and "altered after signing" look the same
// from the bytes alone; but a Rekor entry recorded with the signature (the `dev.sigstore.cosign/bundle`
// annotation cosign writes by default) names the signing key, and a Sigstore bundle carries a key hint.
// When that key is a trusted one, the signature was altered: BAD_SIGNATURE, not UNTRUSTED_SIGNER.
// The claim is not authenticated (whoever altered the signature could alter it too); it only chooses
// between two denials, never admits anything.
import { createHash } from 'node:crypto';
import type { TrustedKey } from '../../keys/types.js';
import { decodePem, decodeStrictBase64, spkiDer } from '../../keys/keys.js';
import { isJsonObject, parseStrictJson, parseStrictJsonBytes, type JsonValue } from '../../util/strict-json.js';

// A bundle annotation is a few KiB; a claim is only looked for in one of sane size.
const MAX_CLAIM_CHARS = 64 * 1024;

/** The trusted key whose public key the `.sig` layer's Rekor entry (hashedrekord) records, if any. */
export function keyClaimedByTlog(bundleText: string | undefined, keys: readonly TrustedKey[]): TrustedKey | undefined {
  if (bundleText === undefined || bundleText.length > MAX_CLAIM_CHARS || keys.length === 0) return undefined;
  const bundle = parseStrictJson(bundleText);
  if (!bundle.ok) return undefined;
  const body = at(bundle.value, ['Payload', 'body']);
  const bodyBytes = typeof body === 'string' ? decodeStrictBase64(body) : undefined;
  const entry = bodyBytes === undefined ? undefined : parseStrictJsonBytes(bodyBytes);
  if (entry === undefined || !entry.ok || at(entry.value, ['kind']) !== 'hashedrekord') return undefined;
  const content = at(entry.value, ['spec', 'signature', 'publicKey', 'content']);
  const pem = typeof content === 'string' ? decodeStrictBase64(content) : undefined;
  const blocks = pem === undefined ? undefined : decodePem(pem.toString('utf8'));
  const block = blocks?.ok === true && blocks.value.length === 1 ? blocks.value[0] : undefined;
  if (block === undefined || block.type !== 'PUBLIC KEY') return undefined;
  return keys.find((key) => spkiDer(key).equals(block.der));
}

/**
 * The trusted key a Sigstore bundle's `publicKey.hint` names: the SHA-256 of the key's
 * SubjectPublicKeyInfo, in hex or base64 (clients differ), optionally prefixed `sha256:`.
 */
export function keyClaimedByHint(hint: string, keys: readonly TrustedKey[]): TrustedKey | undefined {
  if (hint === '' || hint.length > 200) return undefined;
  const bare = hint.startsWith('sha256:') ? hint.slice('sha256:'.length) : hint;
  return keys.find((key) => {
    const digest = createHash('sha256').update(spkiDer(key)).digest();
    return [digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')].includes(bare);
  });
}

function at(value: JsonValue, path: readonly string[]): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const name of path) {
    if (current === undefined || !isJsonObject(current) || !Object.hasOwn(current, name)) return undefined;
    current = current[name];
  }
  return current;
}
