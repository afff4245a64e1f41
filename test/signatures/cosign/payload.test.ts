// Building and parsing the simple-signing payload: byte-exact with cosign's output, strict on input.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Digest } from '../../../src/reference/types.js';
import { buildPayload, parsePayload } from '../../../src/signatures/cosign/payload.js';
import { asDigest } from '../../../src/reference/digest.js';

const FIXTURES = new URL('../../fixtures/conformance/containers-image-cosign/', import.meta.url);
const DIGEST = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00' as Digest;
const OTHER = 'sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a' as Digest;

function json(text: string) {
  return parsePayload(Buffer.from(text, 'utf8'));
}

const valid = (critical: string, optional = 'null') => `{"critical":${critical},"optional":${optional}}`;
const CRITICAL = `{"identity":{"docker-reference":"r.example/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"}`;

describe('buildPayload', () => {
  test('is byte-identical to the payload cosign wrote for the conformance sample', () => {
    const cosignMade = readFileSync(new URL('dir-img-cosign-valid/signature-1.payload.bin', FIXTURES));
    expect(buildPayload({ dockerReference: '192.168.64.2:5000/cosign-signed-single-sample', digest: DIGEST }).equals(cosignMade)).toBe(true);
  });

  test('writes annotations sorted by name in optional, escaping as Go encoding/json does', () => {
    const bytes = buildPayload({ dockerReference: 'r.example/app', digest: DIGEST, annotations: { z: 'last', a: 'x<y>&z\u2028"\\\n\u0001' } });
    expect(bytes.toString('utf8')).toBe(
      `{"critical":{"identity":{"docker-reference":"r.example/app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},` +
        '"optional":{"a":"x\\u003cy\\u003e\\u0026z\\u2028\\"\\\\\\n\\u0001","z":"last"}}',
    );
  });

  test('empty annotations are written as null, like cosign without -a', () => {
    expect(buildPayload({ dockerReference: 'r', digest: DIGEST, annotations: {} }).toString()).toMatch(/"optional":null}$/);
  });

  test('round-trips through parsePayload and JSON.parse for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })), (reference, annotations) => {
        const bytes = buildPayload({ dockerReference: reference, digest: DIGEST, annotations });
        const parsed = parsePayload(bytes);
        const expectedOptional = Object.keys(annotations).length === 0 ? null : annotations;
        expect(parsed).toEqual({
          ok: true,
          value: { dockerReference: reference, dockerManifestDigest: DIGEST, type: 'cosign container image signature', optional: expectedOptional },
        });
        expect(JSON.parse(bytes.toString('utf8'))).toEqual({
          critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': DIGEST }, type: 'cosign container image signature' },
          optional: expectedOptional,
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('parsePayload', () => {
  test('reads a cosign payload', () => {
    expect(json(valid(CRITICAL, '{"env":"prod","n":1}'))).toEqual({
      ok: true,
      value: { dockerReference: 'r.example/app', dockerManifestDigest: DIGEST, type: 'cosign container image signature', optional: { env: 'prod', n: 1 } },
    });
  });

  test('a missing optional is null (Go zero value)', () => {
    expect(json(`{"critical":${CRITICAL}}`)).toMatchObject({ ok: true, value: { optional: null } });
  });

  test('accepts case variants of field names, as cosign (Go) does', () => {
    const text = `{"Critical":{"IDENTITY":{"Docker-Reference":"r"},"image":{"Docker-manifest-digest":"${DIGEST}"},"Type":"cosign container image signature"},"OPTIONAL":null}`;
    expect(json(text)).toMatchObject({ ok: true, value: { dockerReference: 'r', dockerManifestDigest: DIGEST } });
  });

  test.each([
    ['an exact duplicate digest', `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"${OTHER}","docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`, 'signed payload is not valid JSON: duplicate member name "docker-manifest-digest" at offset'],
    ['a case-folded duplicate', `{"critical":${CRITICAL},"Critical":${CRITICAL},"optional":null}`, 'signed payload has two members that both mean "critical" in the payload'],
    ['a duplicate inside optional', valid(CRITICAL, '{"a":"1","a":"2"}'), 'duplicate member name "a"'],
    ['a Kelvin-sign name Go would fold to a field', `{"critical":{"identity":{"docker-reference":"r"},"image":{"doc\u212Aer-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`, 'signed payload has an unexpected member "doc\u212Aer-manifest-digest" in critical.image'],
    ['an unknown top-level member', `{"critical":${CRITICAL},"optional":null,"extra":1}`, 'signed payload has an unexpected member "extra" in the payload'],
    ['an unknown member in critical', valid(CRITICAL.replace('"type"', '"extra":1,"type"')), 'signed payload has an unexpected member "extra" in critical'],
    ['no critical', '{"optional":null}', 'signed payload has no "critical" object'],
    ['critical null', '{"critical":null}', 'signed payload has no "critical" object'],
    ['no type', valid(`{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"${DIGEST}"}}`), 'signed payload has no string critical.type'],
    ['no image', valid('{"identity":{"docker-reference":"r"},"type":"cosign container image signature"}'), 'signed payload has no critical.image object'],
    ['a numeric digest', valid(CRITICAL.replace(`"${DIGEST}"`, '5')), 'signed payload has no string critical.image.docker-manifest-digest'],
    ['no identity', valid(`{"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"}`), 'signed payload has no critical.identity object'],
    ['a null docker-reference', valid(CRITICAL.replace('"r.example/app"', 'null')), 'signed payload has no string critical.identity.docker-reference'],
    ['optional as an array', valid(CRITICAL, '[]'), 'signed payload has an "optional" member that is neither null nor an object'],
    ['an array', '[]', 'signed payload is not a JSON object'],
    ['trailing data', valid(CRITICAL) + ' {}', 'unexpected data after the JSON value'],
    ['a trailing comma', `{"critical":${CRITICAL},}`, 'expected a member name'],
    ['a comment', `{"critical":${CRITICAL} /* hi */}`, 'expected "," or "}" in object'],
    ['a lone surrogate escape', valid(CRITICAL, '{"a":"\\ud800"}'), 'lone high surrogate escape'],
    ['a raw control character', valid(CRITICAL, '{"a":"x\ty"}'), 'control character in string'],
    ['a leading zero', valid(CRITICAL, '{"a":01}'), 'expected "," or "}" in object'],
    ['a huge number', valid(CRITICAL, '{"a":1e400}'), 'number out of range'],
    ['deep nesting', valid(CRITICAL, '{"a":' + '['.repeat(100) + ']'.repeat(100) + '}'), 'nesting deeper than 64 levels'],
  ])('rejects %s as MALFORMED', (_label, text, detail) => {
    const result = json(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.reason).toBe('MALFORMED');
    expect(result.error.detail).toContain(detail);
  });

  test('rejects a byte-order mark and invalid UTF-8', () => {
    const text = valid(CRITICAL);
    expect(parsePayload(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]))).toMatchObject({
      ok: false,
      error: { reason: 'MALFORMED', detail: 'signed payload is not valid JSON: unexpected character "\uFEFF" at offset 0' },
    });
    const broken = Buffer.from(valid(CRITICAL, '{"a":"XX"}'));
    broken[broken.indexOf('XX')] = 0xff;
    expect(parsePayload(broken)).toEqual({ ok: false, error: { reason: 'MALFORMED', detail: 'signed payload is not valid JSON: not valid UTF-8' } });
  });

  test('a wrong type is WRONG_TYPE, not MALFORMED', () => {
    expect(json(valid(CRITICAL.replace('cosign container image signature', 'atomic container signature')))).toEqual({
      ok: false,
      error: { reason: 'WRONG_TYPE', detail: 'signed payload has type "atomic container signature", not "cosign container image signature"' },
    });
  });

  test('the type must match exactly (no case folding of values)', () => {
    expect(json(valid(CRITICAL.replace('cosign container image signature', 'Cosign container image signature')))).toMatchObject({
      ok: false,
      error: { reason: 'WRONG_TYPE' },
    });
  });

  test('a member named __proto__ in optional is plain data, not a prototype', () => {
    const result = json(valid(CRITICAL, '{"__proto__":{"polluted":"yes"}}'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.getPrototypeOf(result.value.optional)).toBe(Object.prototype);
    expect(Object.hasOwn(result.value.optional as object, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('asDigest, the digest check a payload\'s docker-manifest-digest passes', () => {
  test.each([
    [DIGEST, true],
    ['sha512:' + 'a'.repeat(128), true],
    ['sha384:' + 'a'.repeat(96), true],
    ['sha256:' + 'A'.repeat(64), false],
    ['sha256:' + 'a'.repeat(63), false],
    ['sha512:' + 'a'.repeat(64), false],
    ['sha1:' + 'a'.repeat(40), false],
    [' ' + DIGEST, false],
    [DIGEST + '\n', false],
  ])('%j valid: %s', (text, expected) => {
    expect(asDigest(text) !== undefined).toBe(expected);
  });
});
