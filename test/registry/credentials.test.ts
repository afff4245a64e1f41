// Reading .dockerconfigjson pull secrets into per-registry credentials.

import { credentialIdentity, parseDockerConfigJson, registryKeyOf } from '../../src/registry/credentials.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('parseDockerConfigJson', () => {
  test('reads auth, username/password and identitytoken entries', () => {
    const parsed = parseDockerConfigJson(JSON.stringify({
      auths: {
        'registry.example.com': { auth: b64('alice:pa:ss') },
        'other.example.com:5000': { username: 'bob', password: 'pw' },
        'https://index.docker.io/v1/': { identitytoken: 'refresh-me' },
        'empty.example.com': { email: 'nobody@example.com' },
      },
    }));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect([...parsed.value]).toEqual([
      ['registry.example.com', { username: 'alice', password: 'pa:ss' }],
      ['other.example.com:5000', { username: 'bob', password: 'pw' }],
      ['docker.io', { identityToken: 'refresh-me' }],
    ]);
  });

  test('a file without auths gives no credentials', () => {
    expect(parseDockerConfigJson('{"credsStore":"desktop"}')).toEqual({ ok: true, value: new Map() });
  });

  test.each([
    ['not json', 'dockerconfigjson is not valid JSON'],
    ['[]', 'dockerconfigjson must be a JSON object'],
    ['{"auths":[]}', 'dockerconfigjson "auths" must be an object'],
    ['{"auths":{"r.example":"x"}}', 'dockerconfigjson entry for "r.example" must be an object'],
  ])('%s is refused: %s', (text, message) => {
    expect(parseDockerConfigJson(text)).toEqual({ ok: false, error: message });
  });

  test('a malformed auth field is refused without echoing it', () => {
    const secret = b64('no-colon-secret');
    const parsed = parseDockerConfigJson(JSON.stringify({ auths: { 'r.example': { auth: secret } } }));
    expect(parsed).toEqual({ ok: false, error: 'dockerconfigjson entry for "r.example": "auth" is not base64 of user:password' });
    expect(JSON.stringify(parsed)).not.toContain(secret);
  });
});

describe('registryKeyOf', () => {
  test.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['https://Registry.Example.com:5000/', 'registry.example.com:5000'],
    ['ghcr.io', 'ghcr.io'],
  ])('%s -> %s', (key, expected) => {
    expect(registryKeyOf(key)).toBe(expected);
  });
});

describe('credentialIdentity', () => {
  test('differs per credential, hides the secret, and is stable', () => {
    const a = credentialIdentity({ username: 'u', password: 'one' });
    expect(a).toBe(credentialIdentity({ username: 'u', password: 'one' }));
    expect(a).not.toBe(credentialIdentity({ username: 'u', password: 'two' }));
    expect(a).not.toBe(credentialIdentity({ identityToken: 'one' }));
    expect(credentialIdentity(undefined)).toBe('anonymous');
    expect(a).not.toContain('one');
  });
});
