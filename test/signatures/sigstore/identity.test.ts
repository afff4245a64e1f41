// Policy identities (identity.ts) and trust-root parsing (trust-root.ts): the rules and the words
// an operator reads when something does not match or does not parse.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { parseCertificateDer } from '../../../src/signatures/sigstore/certificate.js';
import { compileIdentityRule, describeIdentityRule, matchIdentity } from '../../../src/signatures/sigstore/identity.js';
import type { IdentityRule, IdentityRuleDocument } from '../../../src/signatures/sigstore/identity.js';
import { MATCH_WORK_LIMIT } from '../../../src/signatures/sigstore/identity.js';
import { parseTrustedRootJson, trustRootFromPem } from '../../../src/signatures/sigstore/trust-root.js';
import { loadPolicyText } from '../../../src/policy/load.js';
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

  test('issuer and issuerRegExp, subject and subjectRegExp exclude each other', () => {
    expect(compileIdentityRule({ issuer: 'i', issuerRegExp: 'i', subject: 's' })).toEqual({
      ok: false,
      error: { field: 'issuerRegExp', message: 'give issuer or issuerRegExp, not both' },
    });
  });

  test('issuerRegExp matches the whole issuer, never a certificate without one', () => {
    const rules = [rule({ issuerRegExp: 'https://oidc\\.(eu|us)\\.example\\.com', subject: 'dev@example.com' })];
    const names = [email('dev@example.com')];
    expect(matchIdentity({ issuer: 'https://oidc.eu.example.com', names }, rules)).toEqual({ matched: true, signer: 'https://oidc.eu.example.com dev@example.com' });
    expect(matchIdentity({ issuer: 'https://oidc.eu.example.com.evil.test', names }, rules)).toMatchObject({ matched: false });
    expect(matchIdentity({ issuer: undefined, names }, rules)).toEqual({
      matched: false,
      detail: 'signing certificate for "dev@example.com" was issued through no OIDC issuer, but the policy trusts that subject only through matching /https://oidc\\.(eu|us)\\.example\\.com/',
    });
    expect(describeIdentityRule(rules[0]!)).toBe('issuer matching /https://oidc\\.(eu|us)\\.example\\.com/ with subject "dev@example.com"');
  });

  test('patterns are RE2: a backreference or a lookaround is refused, naming the construct', () => {
    expect(compileIdentityRule({ issuer: 'i', subjectRegExp: '(a+)\\1' })).toEqual({
      ok: false,
      error: {
        field: 'subjectRegExp',
        message: 'uses a backreference ("\\\\1"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; spell out the repeated text instead',
      },
    });
    expect(compileIdentityRule({ issuerRegExp: '(?!https://evil).*', subject: 's' })).toMatchObject({ ok: false, error: { field: 'issuerRegExp', message: expect.stringMatching(/^uses a lookahead /) } });
  });

  test('a catastrophic pattern against its evil subject answers at once: no match', () => {
    // With RegExp, `(a+)+` against 34 a's and a "!" backtracks through about 2^34 paths.
    const started = performance.now();
    const match = matchIdentity({ issuer: 'i', names: [email(`${'a'.repeat(34)}!`)] }, [rule({ issuer: 'i', subjectRegExp: '(a+)+' })]);
    expect(match).toEqual({
      matched: false,
      detail: 'signing certificate identity "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" (OIDC issuer "i") matches none of the policy\'s identities: issuer "i" with subject matching /(a+)+/',
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('the work of matching one certificate is bounded: past the limit it matches nothing', () => {
    // 64 identities of the largest program size against a certificate full of long names: far more
    // work than MATCH_WORK_LIMIT, so matching stops and the signature does not count.
    const heavy = `(?:[a-z]|\\pL|\\pN){1,${120}}x`;
    const rules = Array.from({ length: 64 }, () => rule({ issuer: 'i', subjectRegExp: heavy }));
    const names = Array.from({ length: 16 }, () => email('a'.repeat(1000)));
    expect(rules[0]!.subject.kind === 'regexp' && rules[0]!.subject.pattern.cost(1000) * 64 * 16).toBeGreaterThan(MATCH_WORK_LIMIT);
    const started = performance.now();
    const match = matchIdentity({ issuer: 'i', names }, rules);
    const took = performance.now() - started;
    expect(match).toMatchObject({ matched: false, detail: expect.stringContaining('needs more work than the limit allows') });
    expect(took).toBeLessThan(2000);
    // The same certificate with a name the first identity accepts is matched before the limit.
    expect(matchIdentity({ issuer: 'i', names: [email('ax')] }, rules)).toEqual({ matched: true, signer: 'i ax' });
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

describe('a policy whose identity pattern RE2 cannot run', () => {
  test('is refused when it loads, naming the field and its line', async () => {
    const root = await makeCa('O=signet, CN=root');
    const pem = root.pem.trim().split('\n').map((line) => `              ${line}`).join('\n');
    const text = [
      'apiVersion: signet.dev/v1alpha1',
      'kind: ImagePolicy',
      'rules:',
      '  - name: keyless',
      '    images: ["registry.example.com/**"]',
      '    verify:',
      '      - type: keyless',
      '        requireRekor: false',
      '        trustedRoot:',
      '          certificates:',
      '            pem: |',
      pem,
      '        identities:',
      '          - issuer: https://token.actions.githubusercontent.com',
      "            subjectRegExp: '(https://github\\.com/acme/)\\1.*'",
      '',
    ].join('\n');
    const result = loadPolicyText(text, { baseDir: '/nonexistent', sourceName: 'inline.yaml' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const line = text.split('\n').findIndex((l) => l.includes('subjectRegExp')) + 1;
    expect(result.error.problems).toEqual([
      {
        path: 'rules[0].verify[0].identities[0].subjectRegExp',
        line,
        column: 28,
        message: 'uses a backreference ("\\\\1"), which Signet matches patterns in linear time (RE2 syntax) and cannot support it; spell out the repeated text instead',
      },
    ]);
    expect(result.error.message).toContain(`inline.yaml:${line}:28: rules[0].verify[0].identities[0].subjectRegExp: uses a backreference`);
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
