// One line on how to fix each denial. Written for the developer whose deployment was refused:
// it names the command to run or the person to ask, with the real image, rule and key names.
import type { DenyCode, ObjectDenyCode } from './types.js';

export interface FixContext {
  /** The image as the developer wrote it. */
  readonly image: string;
  /** Canonical name@digest when known, the exact thing to sign. */
  readonly pinned: string | undefined;
  readonly rule: string | undefined;
  /** Key names the rule trusts. */
  readonly trustedKeys: readonly string[];
  /** The rule's image patterns, for "ask to trust key K for pattern P". */
  readonly patterns: readonly string[];
  readonly registry: string | undefined;
  /** Annotations the rule requires, for the sign command. */
  readonly requiredAnnotations: Readonly<Record<string, string>>;
  /** The kinds of signature the rule accepts, so the fix names the right tool. Default: cosign keys. */
  readonly systems?: readonly ('cosign' | 'keyless' | 'notation' | 'dct')[];
}

function signCommand(system: 'cosign' | 'keyless' | 'notation' | 'dct', target: string, image: string, keys: string, annotationFlags: string): string {
  switch (system) {
    case 'cosign':
      return `signet sign ${target} --key <private key of ${keys}>${annotationFlags}`;
    case 'keyless':
      return `cosign sign ${target} (keyless, as one of: ${keys})${annotationFlags}`;
    case 'notation':
      return `notation sign ${target} with a certificate that chains to ${keys}`;
    case 'dct':
      // Docker Content Trust signs tags, not digests.
      return `docker trust sign ${image} (as a signer of ${keys})`;
  }
}

export function fixFor(code: DenyCode, c: FixContext): string {
  const target = c.pinned ?? c.image;
  const keys = c.trustedKeys.length > 0 ? c.trustedKeys.join(', ') : 'a trusted key';
  const annotationFlags = Object.entries(c.requiredAnnotations).map(([k, v]) => ` -a ${k}=${v}`).join('');
  const signCmd = signCommand(c.systems?.[0] ?? 'cosign', target, c.image, keys, annotationFlags);
  switch (code) {
    case 'INVALID_REFERENCE':
      return 'correct the image reference (lower-case repository, valid tag, full sha256 digest)';
    case 'NO_MATCHING_RULE':
      return 'use an image a policy rule covers, or ask your platform team to add a rule for this image';
    case 'DENIED_BY_RULE':
      return `rule ${c.rule ?? '?'} forbids these images; use an image from an allowed registry or ask your platform team`;
    case 'UNSIGNED':
      return `sign it with: ${signCmd}`;
    case 'UNTRUSTED_SIGNER':
      return `sign it with a key rule ${c.rule ?? '?'} trusts (${keys}), or ask your platform team to trust your key for ${c.patterns.join(', ') || 'this image'}`;
    case 'THRESHOLD_NOT_MET':
      return `have more of the trusted keys (${keys}) sign it: ${signCmd}`;
    case 'DIGEST_MISMATCH':
      return `the signature is for other content (a moved tag?): deploy the signed digest, or sign this one with: ${signCmd}`;
    case 'BAD_SIGNATURE':
      return `the signature is corrupt or tampered with: sign the image again with: ${signCmd}`;
    case 'MISSING_ANNOTATION':
      return `sign it with the required annotations: ${signCmd}`;
    case 'IDENTITY_MISMATCH':
      return `the signature names another repository: sign the image in the repository you deploy from: ${signCmd}`;
    case 'TIMESTAMP_INVALID':
      return `sign it again with an RFC 3161 timestamp from a TSA that rule ${c.rule ?? '?'} trusts (notation sign --timestamp-url <TSA URL> --timestamp-root-cert <TSA root> ${target}), or ask your platform team to trust that TSA`;
    case 'REVOKED':
      return `a certificate of its signing chain was revoked: sign it again with a certificate that is not revoked (${signCmd}), and find out why the old one was`;
    case 'REVOCATION_UNKNOWN':
      return `let the webhook reach the OCSP responder or CRL named in the signing certificates, then retry; on an air-gapped cluster set revocation: skip (or log) on rule ${c.rule ?? '?'}'s notation entry`;
    case 'NOT_FOUND':
      return `check the image name and tag, and that it was pushed to ${c.registry ?? 'the registry'}`;
    case 'REGISTRY_UNREACHABLE':
      return `check that ${c.registry ?? 'the registry'} is up and reachable from the webhook, then retry`;
    case 'REGISTRY_UNAUTHORIZED':
      return `give the webhook pull credentials for ${c.registry ?? 'the registry'} (a dockerconfigjson Secret)`;
    case 'REGISTRY_ERROR':
      return `${c.registry ?? 'the registry'} returned something unusable; retry, and report it to the registry's operators if it persists`;
    case 'TIMEOUT':
      return `retry; if it keeps timing out, check the latency of ${c.registry ?? 'the registry'} from the webhook`;
  }
}

/** The fix of a denial of a whole object (no image was checked). */
export function objectFixFor(code: ObjectDenyCode): string {
  switch (code) {
    case 'MALFORMED_OBJECT':
      return 'correct the pod spec: containers, initContainers and ephemeralContainers must be lists of containers with an image each; split an object that names more images than Signet checks in one';
    case 'KIND_MISMATCH':
      return 'the API server never sends this: send the object of the kind, API group and version that request.kind and request.resource name, and look for what rewrote the review on its way to Signet';
  }
}
