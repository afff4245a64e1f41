// Policy identities (identity.ts) and trust-root parsing (trust-root.ts): the rules and the words
// an operator reads when something does not match or does not parse.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { parseCertificateDer } from '../../../src/signatures/sigstore/certificate.js';
import { compileIdentityRule, describeIdentityRule, matchIdentity } from '../../../src/signatures/sigstore/identity.js';
import type { IdentityRule, IdentityRuleDocument } from '../../../src/signatures/sigstore/identity.js';
import { parseTrustedRootJson, trustRootFromPem } from '../../../src/signatures/sigstore/trust-root.js';
import { makeCa, makeLeaf, makeRekor, trustedRootJson } from './fake-sigstore.js';

function rule(document: IdentityRuleDocument): IdentityRule {
  const compiled = compileIdentityRule(document);
  if (!compiled.ok) throw new Error(compiled.error.message);
  return compiled.value;
}

const ACTIONS = 'https://token.actions.githubusercontent.com';
const email = (value: string) => ({ type: 'email' as const, value });
const uri = (value: string) => ({ type: 'uri' as const, value });

describe('identity rules', () => {
  test('compile errors name the field', () => {
    expect(compileIdentityRule({ issuer: 'i' })).toEqual({ ok: false, error: { field: 'subject', message: 'an identity needs subject or subjectRegExp' } });
    expect(compileIdentityRule({ issuer: 'i', subject: 's', subjectRegExp: 's' })).toEqual({
      ok: false,
      error: { field: 'subjectRegExp', message: 'give subject or subjectRegExp, not both' },
    });
    expect(compileIdentityRule({ issuer: 'i', subjectRegExp: '(' })).toMatchObject({ ok: false, error: { field: 'subjectRegExp' } });
  });

  test('exact subjects compare whole strings; issuers must be equal', () => {
    const rules = [rule({ issuer: ACTIONS, subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main' })];
    const identity = { issuer: ACTIONS, names: [uri('https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main')] };
    expect(matchIdentity(identity, rules)).toEqual({ matched: true, signer: `${ACTIONS} https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main` });
    expect(matchIdentity({ ...identity, issuer: `${ACTIONS}/` }, rules)).toMatchObject({ matched: false });
    expect(matchIdentity({ ...identity, names: [uri('https://github.com/acme/app/.github/workflows/release.yml@refs/heads/mainx')] }, rules)).toMatchObject({ matched: false });
  });

  test('regular expressions are anchored at both ends', () => {
    const rules = [rule({ issuer: 'https://accounts.google.com', subjectRegExp: '.*@example\\.com' })];
    expect(matchIdentity({ issuer: 'https://accounts.google.com', names: [email('dev@example.com')] }, rules)).toMatchObject({ matched: true });
    expect(matchIdentity({ issuer: 'https://accounts.google.com', names: [email('dev@example.com.evil.test')] }, rules)).toMatchObject({ matched: false });
  });

  test('names longer than 1024 characters are never matched by a regular expression', () => {
    const rules = [rule({ issuer: 'i', subjectRegExp: 'a+' })];
    expect(matchIdentity({ issuer: 'i', names: [email('a'.repeat(1024))] }, rules)).toMatchObject({ matched: true });
    expect(matchIdentity({ issuer: 'i', names: [email('a'.repeat(1025))] }, rules)).toMatchObject({ matched: false });
  });

  test('any of several alternative names may match; the matching one names the signer', () => {
    const rules = [rule({ issuer: 'i', subject: 'second@example.com' })];
    expect(matchIdentity({ issuer: 'i', names: [email('first@example.com'), email('second@example.com')] }, rules)).toEqual({ matched: true, signer: 'i second@example.com' });
  });

  test('describeIdentityRule', () => {
    expect(describeIdentityRule(rule({ issuer: 'i', subject: 's' }))).toBe('issuer "i" with subject "s"');
    expect(describeIdentityRule(rule({ subjectRegExp: 'a.*' }))).toBe('subject matching /a.*/ (no OIDC issuer)');
  });

  test("Fulcio's username identity (otherName 1.3.6.1.4.1.57264.1.7) is a subject too", async () => {
    const root = await makeCa('O=signet, CN=root');
    const oid = Buffer.from('060a2b0601040183bf300107', 'hex');
    const value = Buffer.concat([Buffer.from([0xa0, 0x09, 0x0c, 0x07]), Buffer.from('octocat')]);
    const otherName = Buffer.concat([Buffer.from([0xa0, oid.length + value.length]), oid, value]);
    const names = Buffer.concat([Buffer.from([0x30, otherName.length]), otherName]);
    const leaf = await makeLeaf(root, { oidcIssuer: 'https://example.test', extensions: [new x509.Extension('2.5.29.17', true, names)] });
    const parsed = parseCertificateDer(leaf.der);
    expect(parsed).toMatchObject({ ok: true, value: { subjectAlternativeNames: [{ type: 'otherName', value: 'octocat' }], oidcIssuer: 'https://example.test' } });
  });
});

describe('trust roots', () => {
  test.each([
    ['not JSON', 'nope', /^the trusted root is not valid JSON: /],
    ['not an object', '[]', /^the trusted root is not a JSON object$/],
    ['no media type', '{}', /^the trusted root has mediaType null; expected /],
  ])('a TrustedRoot that is %s', (_why, text, message) => {
    expect(parseTrustedRootJson(text)).toMatchObject({ ok: false, error: expect.stringMatching(message) });
  });

  test('a certificate authority with broken certificate bytes names the field', async () => {
    const root = await makeCa('O=signet, CN=root');
    const document = JSON.parse(trustedRootJson({ chain: [root], rekor: makeRekor() })) as { certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[] };
    (document.certificateAuthorities[0]!.certChain.certificates[0] as { rawBytes: string }).rawBytes = Buffer.from('junk').toString('base64');
    expect(parseTrustedRootJson(JSON.stringify(document))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^the trusted root (holds an unusable key or certificate|'s certificateAuthorities\[0\]\.certChain\.certificates\[0\] is not a valid X\.509)/),
    });
  });

  test('a Rekor log whose key bytes are not a key', async () => {
    const root = await makeCa('O=signet, CN=root');
    const document = JSON.parse(trustedRootJson({ chain: [root], rekor: makeRekor() })) as { tlogs: { publicKey: { rawBytes: string } }[] };
    (document.tlogs[0] as { publicKey: { rawBytes: string } }).publicKey.rawBytes = Buffer.from('junk').toString('base64');
    expect(parseTrustedRootJson(JSON.stringify(document))).toMatchObject({ ok: false, error: expect.stringMatching(/^the trusted root holds an unusable key or certificate/) });
  });

  test('PEM material: the Rekor log ID is the SHA-256 of the key, so the public-good key gets the public-good log ID', async () => {
    const root = await makeCa('O=signet, CN=root');
    const rekor = makeRekor();
    const material = trustRootFromPem({ certificates: root.pem, rekorKeys: rekor.publicKeyPem });
    expect(material).toMatchObject({ ok: true, value: { logOriginsKnown: false, authorities: [{ name: 'CN=root, O=signet' }] } });
    if (material.ok) expect(material.value.tlogs[0]?.logID.toString('hex')).toBe(rekor.logID);
  });

  test('PEM material refuses private keys and empty texts, naming the part', async () => {
    const root = await makeCa('O=signet, CN=root');
    expect(trustRootFromPem({ certificates: root.pem, rekorKeys: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' })).toEqual({
      ok: false,
      error: { part: 'rekorKeys', message: 'key 1 of the Rekor keys is a private key; give the public key' },
    });
    expect(trustRootFromPem({ certificates: root.pem, ctLogKeys: '' })).toEqual({
      ok: false,
      error: { part: 'ctLogKeys', message: 'the CT log keys hold no PEM public key ("-----BEGIN PUBLIC KEY-----")' },
    });
  });
});
