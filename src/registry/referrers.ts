// Reading referrer lists: descriptors out of an OCI image index (from the referrers API or the
// `sha256-<hex>` fallback tag), and the `Link: <...>; rel="next"` pagination header. Pure functions;
// a malformed entry makes the whole list unusable rather than silently shorter.

import type { Result } from '../util/result.js';
import { ok, err } from '../util/result.js';
import { asDigest } from '../reference/digest.js';
import type { Descriptor } from './types.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one descriptor object; the error text says which field is wrong. */
export function parseDescriptor(value: unknown): Result<Descriptor, string> {
  if (!isObject(value)) return err('a descriptor is not an object');
  const mediaType = value['mediaType'];
  const digestText = value['digest'];
  const size = value['size'];
  if (typeof mediaType !== 'string' || mediaType === '') return err('a descriptor has no mediaType');
  const digest = typeof digestText === 'string' ? asDigest(digestText) : undefined;
  if (digest === undefined) return err('a descriptor has a missing or malformed digest');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return err(`descriptor ${digest} has an invalid size`);
  const artifactType = value['artifactType'];
  if (artifactType !== undefined && typeof artifactType !== 'string') return err(`descriptor ${digest} has a non-string artifactType`);
  const rawAnnotations = value['annotations'];
  let annotations: Record<string, string> | undefined;
  if (rawAnnotations !== undefined) {
    if (!isObject(rawAnnotations)) return err(`descriptor ${digest} has annotations that are not an object`);
    annotations = {};
    for (const [key, annotation] of Object.entries(rawAnnotations)) {
      if (typeof annotation !== 'string') return err(`descriptor ${digest} has a non-string annotation ${JSON.stringify(key.slice(0, 80))}`);
      Object.defineProperty(annotations, key, { value: annotation, enumerable: true, writable: false, configurable: false });
    }
  }
  return ok({
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  });
}

/** The `manifests` of an image index as descriptors. */
export function indexDescriptors(index: Record<string, unknown>): Result<Descriptor[], string> {
  const manifests = index['manifests'];
  if (!Array.isArray(manifests)) return err('the index has no manifests array');
  const descriptors: Descriptor[] = [];
  for (const entry of manifests) {
    const descriptor = parseDescriptor(entry);
    if (!descriptor.ok) return descriptor;
    descriptors.push(descriptor.value);
  }
  return ok(descriptors);
}

/** The target of the `rel="next"` link in a Link header (RFC 8288), or undefined. */
export function nextLinkOf(linkHeader: string | undefined): string | undefined {
  if (linkHeader === undefined) return undefined;
  for (const match of linkHeader.matchAll(/<([^>]*)>([^<]*)/g)) {
    const target = match[1];
    const params = match[2] ?? '';
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(params);
    const relValue = rel?.[1] ?? rel?.[2];
    if (target !== undefined && relValue !== undefined && relValue.toLowerCase().split(/\s+/).includes('next')) return target;
  }
  return undefined;
}
