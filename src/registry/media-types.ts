// Manifest media types the client asks for and accepts, and the checks tying a manifest body to
// its declared type (distribution-spec: Content-Type must agree with the body's `mediaType`).

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

const ACCEPTED_MANIFEST_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2]);

// Docker schema1 is deprecated and carries its own signing scheme; asking only for the four types
// above should stop a registry from converting to it, and anything that still arrives is refused.
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** Without the list types many registries answer with one platform's manifest or a schema1 conversion. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2].join(', ');

/** `type/subtype` lower-cased, parameters dropped; '' when the header is absent. */
export function bareMediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

export type MediaTypeVerdict = { readonly kind: 'accepted'; readonly mediaType: string } | { readonly kind: 'schema1' } | { readonly kind: 'other'; readonly mediaType: string };

export function classifyManifestType(contentType: string | undefined): MediaTypeVerdict {
  const mediaType = bareMediaType(contentType);
  if (ACCEPTED_MANIFEST_TYPES.has(mediaType)) return { kind: 'accepted', mediaType };
  if (SCHEMA1_TYPES.has(mediaType)) return { kind: 'schema1' };
  return { kind: 'other', mediaType };
}

export type ManifestBodyVerdict =
  | { readonly kind: 'ok'; readonly json: Record<string, unknown> }
  | { readonly kind: 'schema1' }
  | { readonly kind: 'bad'; readonly reason: string };

/** Parses a manifest body and checks it against the media type the server declared. */
export function checkManifestBody(bytes: Buffer, declaredType: string): ManifestBodyVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { kind: 'bad', reason: 'body is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'bad', reason: 'body is not a JSON object' };
  }
  const json = parsed as Record<string, unknown>;
  if (json['schemaVersion'] === 1) return { kind: 'schema1' };
  if (json['schemaVersion'] !== 2) return { kind: 'bad', reason: `schemaVersion is ${JSON.stringify(json['schemaVersion'])}, expected 2` };
  const bodyType = json['mediaType'];
  if (bodyType !== undefined && bodyType !== declaredType) {
    return { kind: 'bad', reason: `body mediaType ${JSON.stringify(bodyType)} differs from Content-Type ${declaredType}` };
  }
  return { kind: 'ok', json };
}
