// trustedIdentities: the RFC 4514 subset Notation uses, the required attributes, and subset matching.
import { isSubjectSubset, parseDistinguishedName, parseTrustedIdentities, subjectAttributes } from '../../../src/signatures/notation/identity.js';

describe('parseDistinguishedName', () => {
  test.each([
    ['C=US, ST=WA, O=wabbit-networks.io', [['C', 'US'], ['ST', 'WA'], ['O', 'wabbit-networks.io']]],
    ['  c = US ,st=WA,   o=Acme  ', [['C', 'US'], ['ST', 'WA'], ['O', 'Acme']]],
    ['O=Acme\\, Inc., C=US', [['O', 'Acme, Inc.'], ['C', 'US']]],
    ['O=Acme\\2C Inc., C=US', [['O', 'Acme, Inc.'], ['C', 'US']]],
    ['O=M\\C3\\BCller, C=DE', [['O', 'Müller'], ['C', 'DE']]],
    ['O=trailing\\ , C=US', [['O', 'trailing '], ['C', 'US']]],
    ['2.5.4.10=Acme, S=WA', [['O', 'Acme'], ['ST', 'WA']]],
    ['O=a=b', [['O', 'a=b']]],
  ])('%s', (text, attributes) => {
    expect(parseDistinguishedName(text)).toEqual({ ok: true, value: new Map(attributes as [string, string][]) });
  });

  test.each([
    ['C=US,, O=Acme', 'has an empty attribute'],
    ['C=US, O=a+OU=b', 'multi-valued attribute ("+"), which is not supported'],
    ['C=US, C=CA', 'names C twice, which is ambiguous'],
    ['C=US, Acme', '"Acme" is not TYPE=value'],
    ['C=US, O=', 'attribute O: the value is empty'],
    ['C=US, O=Acme\\', 'unfinished "\\" escape'],
    ['C=US, O=\\FF\\FE', 'not valid UTF-8'],
    ['C=US, 9x=1', 'is not an attribute type'],
  ])('%s is refused', (text, message) => {
    const parsed = parseDistinguishedName(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(message);
  });
});

describe('parseTrustedIdentities', () => {
  test('"*" alone trusts any identity', () => {
    expect(parseTrustedIdentities(['*'])).toEqual({ ok: true, value: { kind: 'any' } });
  });

  test('subjects keep their text for messages', () => {
    const parsed = parseTrustedIdentities(['x509.subject: C=US, ST=WA, O=Acme', 'x509.subject:C=DE,ST=BE,O=Beta,CN=x']);
    expect(parsed).toMatchObject({ ok: true, value: { kind: 'subjects', subjects: [{ text: 'C=US, ST=WA, O=Acme' }, { text: 'C=DE,ST=BE,O=Beta,CN=x' }] } });
  });

  test('every problem is reported with its index', () => {
    expect(parseTrustedIdentities(['x509.subject: O=Acme', 'CN=bare', 'x509.subject: C=US, ST=WA, O=ok', 'x509.subject: C=US,,'])).toEqual({
      ok: false,
      error: [
        { index: 0, message: 'the subject must name at least C, ST and O (missing C, ST), so that it cannot match unrelated certificates' },
        { index: 1, message: 'an identity is "*" or starts with "x509.subject:", e.g. "x509.subject: C=US, ST=WA, O=acme"' },
        { index: 3, message: 'distinguished name "C=US,," has an empty attribute (check the commas)' },
      ],
    });
  });

  test('"*" cannot be mixed with subjects, and the list cannot be empty', () => {
    expect(parseTrustedIdentities(['x509.subject: C=US, ST=WA, O=Acme', '*'])).toEqual({
      ok: false,
      error: [{ index: 0, message: '"*" already trusts every identity; it cannot be combined with other entries' }],
    });
    expect(parseTrustedIdentities([])).toMatchObject({ ok: false });
  });
});

describe('matching', () => {
  const subject = subjectAttributes([{ C: ['US'] }, { ST: ['WA'] }, { L: ['Seattle'] }, { O: ['Notary'] }, { CN: ['Notation Test Root'] }])!;

  test('a subset matches; extra leaf attributes do not matter', () => {
    const trusted = parseDistinguishedName('C=US, ST=WA, O=Notary');
    expect(trusted.ok && isSubjectSubset(trusted.value, subject)).toBe(true);
  });

  test('values compare exactly (case matters), and every listed attribute must be present', () => {
    for (const text of ['C=US, ST=WA, O=notary', 'C=US, ST=WA, O=Notary, OU=Builds']) {
      const trusted = parseDistinguishedName(text);
      expect(trusted.ok && isSubjectSubset(trusted.value, subject)).toBe(false);
    }
  });

  test('subjects with repeated or multi-valued attributes cannot be matched', () => {
    expect(subjectAttributes([{ OU: ['a'] }, { OU: ['b'] }])).toBeUndefined();
    expect(subjectAttributes([{ OU: ['a'], CN: ['b'] }])).toBeUndefined();
    expect(subjectAttributes([{ OU: ['a', 'b'] }])).toBeUndefined();
  });
});
