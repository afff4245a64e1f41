// RFC 7235 challenge parsing, including the cases naive comma splitting gets wrong.

import { parseWwwAuthenticate } from '../../src/registry/www-authenticate.js';

function params(header: string): Array<[string, Record<string, string>]> {
  return parseWwwAuthenticate(header).map((c) => [c.scheme, Object.fromEntries(c.params)]);
}

describe('parseWwwAuthenticate', () => {
  test('a Docker Hub style Bearer challenge with a comma inside the quoted scope', () => {
    expect(params('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"')).toEqual([
      ['bearer', { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull,push' }],
    ]);
  });

  test('scheme and parameter names are case-insensitive; spaces around = and commas are allowed', () => {
    expect(params('BEARER Realm = "https://a/token" ,  Service=reg')).toEqual([['bearer', { realm: 'https://a/token', service: 'reg' }]]);
  });

  test('several challenges in one header', () => {
    expect(params('Basic realm="registry", Bearer realm="https://a/t",service="s"')).toEqual([
      ['basic', { realm: 'registry' }],
      ['bearer', { realm: 'https://a/t', service: 's' }],
    ]);
  });

  test('escaped quotes and backslashes in quoted values', () => {
    expect(params('Bearer realm="https://a/t",error="say \\"hi\\" \\\\ bye"')).toEqual([['bearer', { realm: 'https://a/t', error: 'say "hi" \\ bye' }]]);
  });

  test('token68 and bare schemes', () => {
    const parsed = parseWwwAuthenticate('Negotiate abc+/==, Basic');
    expect(parsed.map((c) => [c.scheme, c.token68, c.params.size])).toEqual([
      ['negotiate', 'abc+/==', 0],
      ['basic', undefined, 0],
    ]);
  });

  test('a challenge with a repeated parameter is dropped, others survive', () => {
    expect(params('Bearer realm="https://a/t",realm="https://evil/t", Basic realm="r"')).toEqual([['basic', { realm: 'r' }]]);
  });

  test('an unterminated quoted string ends parsing', () => {
    expect(params('Basic realm="r", Bearer realm="https://a/t')).toEqual([['basic', { realm: 'r' }]]);
  });

  test('garbage gives no challenges rather than an exception', () => {
    for (const header of ['', ',,,', '=', '"quoted"', 'Bearer =x', '\u0000\u0001']) {
      expect(() => parseWwwAuthenticate(header)).not.toThrow();
    }
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate('"quoted"')).toEqual([]);
  });

  test('a parameter named __proto__ is plain data', () => {
    const [challenge] = parseWwwAuthenticate('Bearer __proto__="x",realm="https://a/t"');
    expect(challenge?.params.get('__proto__')).toBe('x');
    expect(challenge?.params.get('realm')).toBe('https://a/t');
  });
});
