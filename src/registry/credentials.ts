// Registry credentials: reading a `.dockerconfigjson` (Kubernetes pull secret) into per-registry
// credentials, and the Basic header. Credentials never leave this module inside an error message.

import { createHash } from 'node:crypto';
import type { Result } from '../util/result.js';
import { ok, err } from '../util/result.js';
import type { RegistryCredentials } from './types.js';

/** The registry names Docker tooling uses for Docker Hub; all of them mean `docker.io` here. */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * Maps an `auths` key to the registry name used in RepositoryRef: `https://index.docker.io/v1/` → `docker.io`,
 * `https://host:5000/` → `host:5000`. Keys are host names, not URLs, in most pull secrets, but `docker login`
 * writes the URL form for Docker Hub.
 */
export function registryKeyOf(authsKey: string): string {
  let host = authsKey.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? 'docker.io' : host;
}

function stringField(entry: Record<string, unknown>, name: string): string | undefined {
  const value = entry[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Parses `.dockerconfigjson` content. Errors name the entry, never its secret values. */
export function parseDockerConfigJson(text: string): Result<ReadonlyMap<string, RegistryCredentials>, string> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return err('dockerconfigjson is not valid JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return err('dockerconfigjson must be a JSON object');
  const auths = (document as Record<string, unknown>)['auths'];
  if (auths === undefined) return ok(new Map());
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) return err('dockerconfigjson "auths" must be an object');

  const credentials = new Map<string, RegistryCredentials>();
  for (const [key, rawEntry] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof rawEntry !== 'object' || rawEntry === null || Array.isArray(rawEntry)) return err(`dockerconfigjson entry for ${JSON.stringify(key)} must be an object`);
    const entry = rawEntry as Record<string, unknown>;
    const registry = registryKeyOf(key);
    const identityToken = stringField(entry, 'identitytoken');
    const auth = stringField(entry, 'auth');
    let username = stringField(entry, 'username');
    let password = stringField(entry, 'password');
    if (auth !== undefined) {
      const decoded = Buffer.from(auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) return err(`dockerconfigjson entry for ${JSON.stringify(key)}: "auth" is not base64 of user:password`);
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    if (identityToken !== undefined) credentials.set(registry, { identityToken });
    else if (username !== undefined && password !== undefined) credentials.set(registry, { username, password });
    // An entry with neither (e.g. only "email") grants nothing; the registry is then used anonymously.
  }
  return ok(credentials);
}

export function basicAuthorization(credentials: { readonly username: string; readonly password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

// Credentials objects live as long as the client (or the pod-secret lookup) holding them; the hash is
// asked for on every uncached image, so it is worked out once per object.
const identities = new WeakMap<RegistryCredentials, string>();

/** A stable, non-reversible name for a credential, used in cache keys so nothing learnt crosses identities. */
export function credentialIdentity(credentials: RegistryCredentials | undefined): string {
  if (credentials === undefined) return 'anonymous';
  const known = identities.get(credentials);
  if (known !== undefined) return known;
  const identity = hashIdentity(credentials);
  identities.set(credentials, identity);
  return identity;
}

function hashIdentity(credentials: RegistryCredentials): string {
  const material = 'identityToken' in credentials ? `token\0${credentials.identityToken}` : `basic\0${credentials.username}\0${credentials.password}`;
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}
