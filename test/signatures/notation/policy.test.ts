// The `type: notation` policy fragment: its JSON Schema (validated with ajv as the policy loader
// does) and the compiler that reads trust-store files and identities into the compiled verifier.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compileNotationVerifier, notationVerifierSchema, type NotationVerifierDocument } from '../../../src/signatures/notation/policy.js';
import type { VerifierCompileContext } from '../../../src/signatures/compile-context.js';
import { err, ok } from '../../../src/util/result.js';

const DIR = join(import.meta.dirname, '../../fixtures/conformance/notation-go');
const ROOT_PEM = readFileSync(join(DIR, 'truststore/NotationTestRoot.pem'), 'utf8');
const WABBIT_PEM = readFileSync(join(DIR, 'truststore/wabbit-networks.io.crt'), 'utf8');

/** Files relative to the conformance folder, as the policy loader resolves them relative to the policy file. */
const context: VerifierCompileContext = {
  readFile: (relativePath) => {
    try {
      return ok(readFileSync(join(DIR, relativePath), 'utf8'));
    } catch {
      return err(`cannot read ${JSON.stringify(relativePath)} next to the policy`);
    }
  },
  keys: new Map(),
};

describe('notationVerifierSchema', () => {
  // x-problem is the loader's own keyword (the message a person reads); `required` inside oneOf names
  // properties declared beside it, as the loader's ajv allows (strictRequired off).
  const validate = new Ajv2020({ strict: true, strictRequired: false, allErrors: true }).addVocabulary(['x-problem']).compile(notationVerifierSchema);

  test.each([
    ['file certificates, "*"', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'root.pem' }] }, trustedIdentities: ['*'] }],
    [
      'inline pem, a name, subjects and a level',
      { type: 'notation', trustStore: { type: 'signingAuthority', name: 'acme-sa', certificates: [{ pem: ROOT_PEM }] }, trustedIdentities: ['x509.subject: C=US, ST=WA, O=Notary'], level: 'permissive' },
    ],
    [
      'a tsa trust store and verifyTimestamp',
      { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'], tsaTrustStore: { name: 'stamps', certificates: [{ file: 'tsa.pem' }] }, verifyTimestamp: 'afterCertExpiry' },
    ],
  ])('accepts %s', (_what, document) => {
    expect(validate(document)).toBe(true);
  });

  test.each([
    ['no trustedIdentities', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a' }] } }, 'trustedIdentities'],
    ['an unknown store type', { type: 'notation', trustStore: { type: 'tsa', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'] }, '/trustStore/type'],
    ['both file and pem', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a', pem: 'b' }] }, trustedIdentities: ['*'] }, '/trustStore/certificates/0'],
    ['no certificates', { type: 'notation', trustStore: { type: 'ca', certificates: [] }, trustedIdentities: ['*'] }, '/trustStore/certificates'],
    ['level skip', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'], level: 'skip' }, '/level'],
    ['an unknown field', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'], keys: ['x'] }, 'additionalProperties'],
    ['revocation off', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'], revocation: 'off' }, '/revocation'],
    ['verifyTimestamp never', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'], verifyTimestamp: 'never' }, '/verifyTimestamp'],
    ['a tsa store without certificates', { type: 'notation', trustStore: { type: 'ca', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'], tsaTrustStore: { name: 'x' } }, 'certificates'],
    ['a bad store name', { type: 'notation', trustStore: { type: 'ca', name: 'no spaces', certificates: [{ file: 'a' }] }, trustedIdentities: ['*'] }, '/trustStore/name'],
  ])('refuses %s', (_what, document, where) => {
    expect(validate(document)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain(where);
  });
});

describe('compileNotationVerifier', () => {
  const document = (overrides: Partial<NotationVerifierDocument> = {}): NotationVerifierDocument => ({
    type: 'notation',
    trustStore: { type: 'ca', certificates: [{ file: 'truststore/NotationTestRoot.pem' }] },
    trustedIdentities: ['*'],
    ...overrides,
  });

  test('a file store with defaults: name = store type, level strict', () => {
    const compiled = compileNotationVerifier(document(), context);
    expect(compiled).toMatchObject({
      ok: true,
      value: { type: 'notation', trustStore: { type: 'ca', name: 'ca', certificates: [{ displayName: 'CN=Notation Test Root' }] }, trustedIdentities: { kind: 'any' }, level: 'strict' },
    });
    expect(compiled.ok && Object.isFrozen(compiled.value) && Object.isFrozen(compiled.value.trustStore)).toBe(true);
  });

  test('inline PEM with two roots, a name, identities and a level; a repeated root is kept once', () => {
    const compiled = compileNotationVerifier(
      document({
        trustStore: { type: 'signingAuthority', name: 'acme-sa', certificates: [{ pem: `${ROOT_PEM}\n${WABBIT_PEM}` }, { file: 'truststore/NotationTestRoot.pem' }] },
        trustedIdentities: ['x509.subject: C=US, ST=WA, O=Notary'],
        level: 'audit',
      }),
      context,
    );
    expect(compiled).toMatchObject({
      ok: true,
      value: {
        trustStore: { type: 'signingAuthority', name: 'acme-sa', certificates: [{ displayName: 'CN=Notation Test Root' }, { displayName: 'CN=wabbit-networks.io' }] },
        trustedIdentities: { kind: 'subjects', subjects: [{ text: 'C=US, ST=WA, O=Notary' }] },
        level: 'audit',
      },
    });
    expect(compiled.ok && compiled.value.trustStore.certificates).toHaveLength(2);
  });

  test('every problem is reported with its path and a sentence', () => {
    const leafPem = certificateFromSample();
    const compiled = compileNotationVerifier(
      document({
        trustStore: {
          type: 'ca',
          certificates: [
            { file: 'truststore/missing.pem' },
            { pem: 'not pem at all' },
            { pem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' },
            { pem: leafPem },
            { file: 'a', pem: 'b' },
          ],
        },
        trustedIdentities: ['x509.subject: CN=bare'],
      }),
      context,
    );
    expect(compiled).toEqual({
      ok: false,
      error: [
        { path: 'trustStore.certificates[0].file', message: 'cannot read "truststore/missing.pem" next to the policy' },
        { path: 'trustStore.certificates[1].pem', message: 'no PEM block found; expected "-----BEGIN CERTIFICATE-----"' },
        { path: 'trustStore.certificates[2].pem', message: 'the PEM block is "PUBLIC KEY"; a trust store holds only CERTIFICATE blocks' },
        {
          path: 'trustStore.certificates[3].pem',
          message:
            'the PEM block (CN=Notation Test Root, issued by C=US, ST=WA, L=Seattle, O=Notary, CN=Notation Test Root) is not self-signed; put the root certificate of the signing chain in the trust store',
        },
        { path: 'trustStore.certificates[4]', message: 'give exactly one of file or pem' },
        { path: 'trustedIdentities[0]', message: 'the subject must name at least C, ST and O (missing C, ST, O), so that it cannot match unrelated certificates' },
      ],
    });
  });

  test('a tsa trust store: its roots, its name (default tsa) and verifyTimestamp (default always); its problems have its path', () => {
    expect(compileNotationVerifier(document(), context)).toMatchObject({ ok: true, value: { verifyTimestamp: 'always' } });
    expect(compileNotationVerifier(document(), context)).not.toHaveProperty('value.tsaTrustStore');
    expect(compileNotationVerifier(document({ tsaTrustStore: { certificates: [{ file: 'truststore/wabbit-networks.io.crt' }] }, verifyTimestamp: 'afterCertExpiry' }), context)).toMatchObject({
      ok: true,
      value: { tsaTrustStore: { name: 'tsa', certificates: [{ displayName: 'CN=wabbit-networks.io' }] }, verifyTimestamp: 'afterCertExpiry' },
    });
    expect(compileNotationVerifier(document({ tsaTrustStore: { name: 'stamps', certificates: [{ pem: certificateFromSample() }] } }), context)).toMatchObject({
      ok: false,
      error: [{ path: 'tsaTrustStore.certificates[0].pem', message: expect.stringContaining('is not self-signed') }],
    });
  });

  test('revocation: enforce at strict, log at permissive and audit, unless the entry says (skip for air-gapped clusters)', () => {
    expect(compileNotationVerifier(document(), context)).toMatchObject({ ok: true, value: { revocation: 'enforce' } });
    expect(compileNotationVerifier(document({ level: 'permissive' }), context)).toMatchObject({ ok: true, value: { revocation: 'log' } });
    expect(compileNotationVerifier(document({ level: 'audit' }), context)).toMatchObject({ ok: true, value: { revocation: 'log' } });
    expect(compileNotationVerifier(document({ revocation: 'skip' }), context)).toMatchObject({ ok: true, value: { level: 'strict', revocation: 'skip' } });
  });

  test('a file that is not a certificate names the file', () => {
    const compiled = compileNotationVerifier(document({ trustStore: { type: 'ca', certificates: [{ file: 'PROVENANCE.md' }] } }), context);
    expect(compiled).toEqual({
      ok: false,
      error: [{ path: 'trustStore.certificates[0].file', message: 'certificate file "PROVENANCE.md": no PEM block found; expected "-----BEGIN CERTIFICATE-----"' }],
    });
  });
});

/** The sample's signing certificate (not self-signed: issued by the root of the same name) as PEM. */
function certificateFromSample(): string {
  const envelope = JSON.parse(readFileSync(join(DIR, 'ca_valid_sig_env.json'), 'utf8')) as { header: { x5c: string[] } };
  const body = envelope.header.x5c[0]!.match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
