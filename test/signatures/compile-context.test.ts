// Trust material given as a file next to the policy or inline: one schema and one reader for every
// signature system, so each says the same thing about the same mistake.
import { readPemSource, type VerifierCompileContext } from '../../src/signatures/compile-context.js';
import { loadPolicyText } from '../../src/policy/load.js';
import { err, ok } from '../../src/util/result.js';

const ctx: VerifierCompileContext = {
  keys: new Map(),
  readFile: (path) => (path === 'root.pem' ? ok('PEM FROM FILE') : err(`cannot read ${path}: no such file next to the policy`)),
};

describe('readPemSource', () => {
  test('inline text names the .pem field; a file names the .file field', () => {
    expect(readPemSource({ pem: 'INLINE' }, 'rootKeys[0]', ctx)).toEqual(ok({ text: 'INLINE', field: 'rootKeys[0].pem' }));
    expect(readPemSource({ file: 'root.pem' }, 'caBundle', ctx)).toEqual(ok({ text: 'PEM FROM FILE', field: 'caBundle.file' }));
  });

  test('an unreadable file is a problem at its .file field, with the reader\'s sentence', () => {
    expect(readPemSource({ file: 'gone.pem' }, 'caBundle', ctx)).toEqual(err({ path: 'caBundle.file', message: 'cannot read gone.pem: no such file next to the policy' }));
  });

  test('both or neither: exactly one is asked for', () => {
    expect(readPemSource({ file: 'root.pem', pem: 'x' }, 'p', ctx)).toEqual(err({ path: 'p', message: 'give exactly one of file or pem' }));
    expect(readPemSource({}, 'p', ctx)).toEqual(err({ path: 'p', message: 'give exactly one of file or pem' }));
  });
});

describe('one message for file-or-pem in every system', () => {
  const policy = (verify: string): string =>
    `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: p}\nrules:\n  - name: r\n    images: ["r.example/**"]\n    verify:\n      - ${verify}\n`;

  test.each([
    ['dct caBundle', '{type: dct, server: "https://notary.example", rootKeys: [{pem: x}], caBundle: {file: a.pem, pem: x}}'],
    ['notation certificate', '{type: notation, trustStore: {type: ca, certificates: [{file: a.pem, pem: x}]}, trustedIdentities: ["*"]}'],
    ['keyless certificates', '{type: keyless, trustedRoot: {certificates: {file: a.pem, pem: x}}, identities: [{issuer: "https://i.example", subject: s}]}'],
  ])('%s with both file and pem', (_name, entry) => {
    const loaded = loadPolicyText(policy(entry), { baseDir: '/', sourceName: 'p.yaml' });
    expect(loaded.ok).toBe(false);
    expect(!loaded.ok && loaded.error.problems.map((p) => p.message)).toContain('give exactly one of file (path to a PEM file) or pem (inline PEM text)');
  });
});
