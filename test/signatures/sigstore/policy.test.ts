// The `keyless` policy entry: its JSON Schema (compiled the way src/policy/schema.ts compiles the
// policy schema) and compileSigstoreVerifier, with trust material from the conformance fixtures.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compileSigstoreVerifier, sigstoreVerifierSchema } from '../../../src/signatures/sigstore/policy.js';
import type { SigstoreVerifierDocument } from '../../../src/signatures/sigstore/policy.js';
import type { VerifierCompileContext } from '../../../src/signatures/compile-context.js';
import { err, ok } from '../../../src/util/result.js';

const FILES: Record<string, URL> = {
  'trust/trusted_root.json': new URL('../../fixtures/conformance/cosign-sigstore-bundle/trusted_root_pgi.json', import.meta.url),
  'trust/fulcio.pem': new URL('../../fixtures/conformance/containers-image-cosign/keys/fulcio_v1.crt.pem', import.meta.url),
  'trust/rekor.pub': new URL('../../fixtures/conformance/containers-image-cosign/keys/rekor.pub', import.meta.url),
  'trust/pki-root.pem': new URL('../../fixtures/conformance/containers-image-cosign/keys/pki_root_crts.pem', import.meta.url),
  'trust/cosign.pub': new URL('../../fixtures/conformance/containers-image-cosign/keys/cosign.pub', import.meta.url),
};

const context: VerifierCompileContext = {
  readFile: (path) => {
    const file = FILES[path];
    return file === undefined ? err(`cannot read ${path}: no such file next to the policy`) : ok(readFileSync(file, 'utf8'));
  },
  keys: new Map(),
};

const GITHUB = { issuer: 'https://github.com/login/oauth', subject: 'mitr@redhat.com' };

function compile(document: Omit<SigstoreVerifierDocument, 'type'>) {
  return compileSigstoreVerifier({ type: 'keyless', ...document }, context);
}

describe('sigstoreVerifierSchema', () => {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, discriminator: true, strictRequired: false });
  ajv.addVocabulary(['x-problem']);
  const validate = ajv.compile({ type: 'object', required: ['type'], discriminator: { propertyName: 'type' }, oneOf: [sigstoreVerifierSchema] });

  test.each([
    { type: 'keyless', trustedRoot: { file: 'trust/trusted_root.json' }, identities: [GITHUB] },
    { type: 'keyless', trustedRoot: { json: '{}' }, identities: [{ issuer: 'x', subjectRegExp: '.*' }], requireRekor: true, threshold: 1 },
    { type: 'keyless', trustedRoot: { certificates: { file: 'ca.pem' }, rekorKeys: { pem: 'PEM' } }, identities: [{ subject: 'a@b' }], requireRekor: false },
  ])('accepts %j', (document) => {
    expect(validate(document)).toBe(true);
  });

  test.each([
    ['both file and json', { type: 'keyless', trustedRoot: { file: 'a', json: '{}' }, identities: [GITHUB] }],
    ['no trust material', { type: 'keyless', trustedRoot: {}, identities: [GITHUB] }],
    ['rekorKeys without certificates', { type: 'keyless', trustedRoot: { file: 'a', rekorKeys: { file: 'r' } }, identities: [GITHUB] }],
    ['subject and subjectRegExp', { type: 'keyless', trustedRoot: { file: 'a' }, identities: [{ issuer: 'i', subject: 's', subjectRegExp: 's' }] }],
    ['an identity without subject', { type: 'keyless', trustedRoot: { file: 'a' }, identities: [{ issuer: 'i' }] }],
    ['no identities', { type: 'keyless', trustedRoot: { file: 'a' }, identities: [] }],
    ['an unknown field', { type: 'keyless', trustedRoot: { file: 'a' }, identities: [GITHUB], keys: ['k'] }],
    ['a PEM source with both file and pem', { type: 'keyless', trustedRoot: { certificates: { file: 'a', pem: 'b' } }, identities: [GITHUB] }],
  ])('rejects %s', (_why, document) => {
    expect(validate(document)).toBe(false);
  });
});

describe('compileSigstoreVerifier', () => {
  test('a TrustedRoot file: Fulcio CAs, the Rekor log and CT logs parsed once; defaults requireRekor true, threshold 1', () => {
    const compiled = compile({ trustedRoot: { file: 'trust/trusted_root.json' }, identities: [GITHUB] });
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    expect(compiled.value).toMatchObject({ type: 'keyless', threshold: 1, trust: { kind: 'keyless', requireRekor: true } });
    expect(compiled.value.trust.trustRoot.authorities).toHaveLength(2);
    expect(compiled.value.trust.trustRoot.tlogs.map((log) => log.logID.toString('hex'))).toEqual(['c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d']);
    expect(compiled.value.trust.trustRoot.ctlogs.length).toBeGreaterThan(0);
    expect(compiled.value.identityNames).toEqual(['issuer "https://github.com/login/oauth" with subject "mitr@redhat.com"']);
    expect(Object.isFrozen(compiled.value)).toBe(true);
  });

  test('inline TrustedRoot JSON works like the file', () => {
    const json = readFileSync(FILES['trust/trusted_root.json'] as URL, 'utf8');
    expect(compile({ trustedRoot: { json }, identities: [GITHUB] })).toMatchObject({ ok: true });
  });

  test('PEM certificates and Rekor keys from files', () => {
    const compiled = compile({ trustedRoot: { certificates: { file: 'trust/fulcio.pem' }, rekorKeys: { file: 'trust/rekor.pub' } }, identities: [GITHUB] });
    expect(compiled).toMatchObject({ ok: true, value: { trust: { trustRoot: { logOriginsKnown: false } } } });
  });

  test('PKI without Rekor: requireRekor false, identity without issuer', () => {
    expect(compile({ trustedRoot: { certificates: { file: 'trust/pki-root.pem' } }, identities: [{ subject: 'qiwan@redhat.com' }], requireRekor: false })).toMatchObject({
      ok: true,
      value: { trust: { requireRekor: false } },
    });
  });

  test('problems carry the field path and an actionable sentence', () => {
    expect(compile({ trustedRoot: { file: 'trust/missing.json' }, identities: [GITHUB] })).toEqual({
      ok: false,
      error: [{ path: 'trustedRoot.file', message: 'cannot read trust/missing.json: no such file next to the policy' }],
    });
    expect(compile({ trustedRoot: { json: '{"mediaType": "application/json"}' }, identities: [GITHUB] })).toEqual({
      ok: false,
      error: [
        {
          path: 'trustedRoot.json',
          message:
            'the trusted root has mediaType "application/json"; expected application/vnd.dev.sigstore.trustedroot+json;version=0.1 or application/vnd.dev.sigstore.trustedroot.v0.2+json',
        },
      ],
    });
    expect(compile({ trustedRoot: { json: '{"a": 1, "a": 2}' }, identities: [GITHUB] })).toMatchObject({
      ok: false,
      error: [{ path: 'trustedRoot.json', message: expect.stringMatching(/^the trusted root is not valid JSON: duplicate/) }],
    });
    expect(compile({ trustedRoot: { certificates: { file: 'trust/rekor.pub' } }, identities: [GITHUB], requireRekor: false })).toEqual({
      ok: false,
      error: [{ path: 'trustedRoot.certificates', message: 'the CA certificates block 1 is a PUBLIC KEY, not a CERTIFICATE' }],
    });
    expect(compile({ trustedRoot: { certificates: { file: 'trust/fulcio.pem' }, rekorKeys: { file: 'trust/fulcio.pem' } }, identities: [GITHUB] })).toMatchObject({
      ok: false,
      error: [{ path: 'trustedRoot.rekorKeys', message: expect.stringMatching(/^key 1 of the Rekor keys/) }],
    });
  });

  test('requireRekor (the default) with trust material that lists no Rekor log is refused', () => {
    expect(compile({ trustedRoot: { certificates: { file: 'trust/fulcio.pem' } }, identities: [GITHUB] })).toEqual({
      ok: false,
      error: [
        {
          path: 'requireRekor',
          message:
            'requireRekor is true (the default) but the trusted root lists no Rekor log; add rekorKeys, or set requireRekor: false for a private PKI without a transparency log',
        },
      ],
    });
  });

  test('an invalid regular expression and an impossible threshold are both reported', () => {
    expect(
      compile({ trustedRoot: { file: 'trust/trusted_root.json' }, identities: [GITHUB, { issuer: 'https://x', subjectRegExp: '([a-z' }], threshold: 3 }),
    ).toEqual({
      ok: false,
      error: [{ path: 'identities[1].subjectRegExp', message: expect.stringMatching(/^is not a valid regular expression: /) }],
    });
    expect(compile({ trustedRoot: { file: 'trust/trusted_root.json' }, identities: [GITHUB], threshold: 2 })).toEqual({
      ok: false,
      error: [{ path: 'threshold', message: 'threshold 2 can never be met: only 1 identity is listed' }],
    });
  });
});
