// normaliseRepository: the docker-reference spellings cosign and containers/image write, as a table.
import { normaliseRepository } from '../../../src/signatures/cosign/identity.js';

describe('normaliseRepository', () => {
  test.each([
    ['busybox', 'docker.io/library/busybox'],
    ['busybox:1.36', 'docker.io/library/busybox'],
    ['library/busybox', 'docker.io/library/busybox'],
    ['someone/tool', 'docker.io/someone/tool'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox'],
    ['index.docker.io/busybox', 'docker.io/library/busybox'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox'],
    ['ghcr.io/acme/app@sha256:' + 'a'.repeat(64), 'ghcr.io/acme/app'],
    ['ghcr.io/acme/app:v1@sha256:' + 'a'.repeat(64), 'ghcr.io/acme/app'],
    ['localhost/test', 'localhost/test'],
    ['localhost:5000/test', 'localhost:5000/test'],
    ['192.168.64.2:5000/skopeo-signed:tag', '192.168.64.2:5000/skopeo-signed'],
    ['[::1]:5000/a/b/c', '[::1]:5000/a/b/c'],
    ['GHCR.IO/acme/app', 'ghcr.io/acme/app'],
    ['Registry/app', 'registry/app'],
    ['registry.example.com/a__b/c-d.e', 'registry.example.com/a__b/c-d.e'],
  ])('%s -> %s', (reference, expected) => {
    expect(normaliseRepository(reference)).toEqual({ ok: true, value: expected });
  });

  test.each([
    ['', 'it is empty'],
    ['ghcr.io/Acme/app', 'its repository path "Acme/app" is not valid'],
    ['ghcr.io/acme/app:', 'its tag is not valid'],
    ['ghcr.io/acme/app@sha256', 'its digest part is not a digest'],
    ['ghcr.io/acme//app', 'its repository path "acme//app" is not valid'],
    ['ghcr.io/', 'its repository path "" is not valid'],
    ['bad_host.io:x/app', 'its registry host "bad_host.io:x" is not valid'],
    ['a b/c', 'its repository path "a b/c" is not valid'],
  ])('%j is refused: %s', (reference, message) => {
    expect(normaliseRepository(reference)).toEqual({ ok: false, error: message });
  });
});
