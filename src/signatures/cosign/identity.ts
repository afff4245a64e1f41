// Normalises the image name a signature claims (critical.identity.docker-reference) so it can be
// compared with the repository being admitted. Producers write it differently: cosign writes the
// repository as go-containerregistry prints it (`index.docker.io/library/busybox`, no tag),
// containers/image the full normalised reference with tag (`docker.io/library/busybox:1.36`).
// Only the repository matters here; tag and digest are dropped (the digest is checked separately).
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';

const DOCKER_HUB = 'docker.io';
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]+)?$/;

/**
 * `registry/repository` for a Docker-style reference, Docker Hub spelled `docker.io` with the
 * `library/` prefix for official images, the host lower-cased; tag and digest removed.
 */
export function normaliseRepository(reference: string): Result<string, string> {
  if (reference === '') return err('it is empty');
  const at = reference.indexOf('@');
  const named = at === -1 ? reference : reference.slice(0, at);
  if (at !== -1 && !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/.test(reference.slice(at + 1))) {
    return err('its digest part is not a digest');
  }

  // Docker's rule: the first component is a registry host only if it looks like one.
  const slash = named.indexOf('/');
  const first = slash === -1 ? '' : named.slice(0, slash);
  const hasHost =
    slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  let host = hasHost ? first.toLowerCase() : DOCKER_HUB;
  let path = hasHost ? named.slice(slash + 1) : named;
  if (!HOST.test(host)) return err(`its registry host ${quote(first)} is not valid`);
  if (host === 'index.docker.io') host = DOCKER_HUB;

  const colon = path.lastIndexOf(':');
  if (colon !== -1) {
    if (!TAG.test(path.slice(colon + 1))) return err('its tag is not valid');
    path = path.slice(0, colon);
  }
  const components = path.split('/');
  if (!components.every((component) => PATH_COMPONENT.test(component))) {
    return err(`its repository path ${quote(path)} is not valid`);
  }
  if (host === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  return ok(`${host}/${path}`);
}
