// The `type: dct` policy fragment: its JSON Schema, and compiling an entry into pinned root keys,
// a normalised server URL, a checked CA bundle and normalised delegation names, with a problem
// (field path + sentence) for everything an operator can get wrong.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { compileDctVerifier, dctVerifierSchema } from '../../../src/signatures/dct/policy.js';
import type { DctVerifierDocument } from '../../../src/signatures/dct/policy.js';
import type { VerifierCompileContext } from '../../../src/signatures/compile-context.js';
import { parsePublicKey } from '../../../src/keys/keys.js';
import type { TrustedKey } from '../../../src/keys/types.js';
import { err, ok } from '../../../src/util/result.js';
import { loadPolicyText } from '../../../src/policy/load.js';
import { rootCertificateKey } from './tuf-builder.js';

const publicPem = (): string => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

function trusted(name: string): TrustedKey {
  const parsed = parsePublicKey(name, publicPem());
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

const RELEASE_ROOT = trusted('release-root');

function context(files: Record<string, string> = {}): VerifierCompileContext {
  return {
    readFile: (path) => (files[path] !== undefined ? ok(files[path] as string) : err(`cannot read ${path}: no such file next to the policy`)),
    keys: new Map([[RELEASE_ROOT.name, RELEASE_ROOT]]),
  };
}

const entry = (overrides: Partial<DctVerifierDocument> = {}): DctVerifierDocument => ({
  type: 'dct',
  server: 'https://notary.example.com:4443',
  rootKeys: ['release-root'],
  ...overrides,
});

function problems(doc: DctVerifierDocument, ctx = context()) {
  const compiled = compileDctVerifier(doc, ctx);
  if (compiled.ok) throw new Error('expected problems');
  return compiled.error;
}

describe('schema', () => {
  // x-problem is the loader's own keyword (the message a person reads); `required` inside oneOf names
  // properties declared beside it, as the loader's ajv allows (strictRequired off).
  const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).addVocabulary(['x-problem']).compile(dctVerifierSchema);

  test.each([
    ['the minimal entry', entry()],
    [
      'every field',
      {
        ...entry(),
        caBundle: { file: 'ca.pem' },
        rootKeys: ['release-root', { file: 'root.crt' }, { pem: '-----BEGIN…' }],
        delegations: ['targets/releases', 'ci'],
        delegationKeys: { 'targets/releases': ['ci-signer', { file: 'ci.pub' }], ci: [{ pem: '-----BEGIN…' }] },
        insecureHttp: false,
      },
    ],
  ])('accepts %s', (_name, doc) => {
    expect(validate(doc)).toBe(true);
  });

  test.each([
    ['an unknown field', { ...entry(), gun: 'x' }],
    ['no rootKeys', { type: 'dct', server: 'https://n' }],
    ['empty rootKeys', entry({ rootKeys: [] })],
    ['a material with both file and pem', entry({ rootKeys: [{ file: 'a', pem: 'b' }] })],
    ['a material with neither', entry({ rootKeys: [{}] })],
    ['a nested delegation name', entry({ delegations: ['targets/releases/ci'] })],
    ['a nested delegation pinned', entry({ delegationKeys: { 'targets/releases/ci': ['k'] } })],
    ['a pinned delegation without keys', entry({ delegationKeys: { 'targets/releases': [] } })],
    ['a pinned key that is neither a name nor a PEM source', entry({ delegationKeys: { 'targets/releases': [{ key: 'x' }] as never } })],
    ['another type', { ...entry(), type: 'cosign' }],
  ])('refuses %s', (_name, doc) => {
    expect(validate(doc)).toBe(false);
  });
});

describe('compileDctVerifier', () => {
  test('resolves key names, normalises the server and delegation names, and freezes the result', () => {
    const compiled = compileDctVerifier(entry({ server: 'https://notary.example.com:4443/', delegations: ['releases', 'targets/ci'] }), context());
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    expect(compiled.value).toEqual({
      type: 'dct',
      server: 'https://notary.example.com:4443',
      caBundle: undefined,
      insecureHttp: false,
      rootKeys: [{ name: 'release-root', key: RELEASE_ROOT.key }],
      delegations: ['targets/releases', 'targets/ci'],
      delegationKeys: new Map(),
    });
    expect(Object.isFrozen(compiled.value)).toBe(true);
    expect(Object.isFrozen(compiled.value.rootKeys)).toBe(true);
  });

  test('an unknown key name lists the known ones', () => {
    expect(problems(entry({ rootKeys: ['relase-root'] }))).toEqual([
      { path: 'rootKeys[0]', message: 'no key named "relase-root" in the top-level keys map (known: release-root)' },
    ]);
  });

  test.each([
    ['http://notary.example.com', 'plain http is refused; use https, or set insecureHttp: true for a test server'],
    ['notary.example.com:4443', '"notary.example.com:4443" does not start with https://'],
    ['ftp://notary.example.com', '"ftp://notary.example.com" does not start with https://'],
    ['not a url', '"not a url" is not a URL; write it like https://notary.example.com:4443'],
    ['https://user:pw@notary.example.com', 'the URL must not contain credentials'],
    ['https://notary.example.com/?x=1', 'the URL must not have a query or fragment'],
  ])('server %s is refused', (server, message) => {
    expect(problems(entry({ server }))).toEqual([{ path: 'server', message }]);
  });

  test('plain http is allowed with insecureHttp', () => {
    const compiled = compileDctVerifier(entry({ server: 'http://127.0.0.1:4443', insecureHttp: true }), context());
    expect(compiled.ok && compiled.value).toMatchObject({ server: 'http://127.0.0.1:4443', insecureHttp: true });
  });

  test('root keys given as PEM: a public key, or a certificate named by its CN', async () => {
    const certificate = await rootCertificateKey('docker.io/team/app');
    const compiled = compileDctVerifier(entry({ rootKeys: [{ pem: publicPem() }, { file: 'roots/app.crt' }] }), context({ 'roots/app.crt': certificate.certificatePem }));
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    expect(compiled.value.rootKeys.map((k) => k.name)).toEqual(['rootKeys[0]', 'roots/app.crt (CN=docker.io/team/app)']);
    expect(compiled.value.rootKeys[1]?.key.equals(certificate.publicKey)).toBe(true);
  });

  test('every unusable root key entry is reported with its path', () => {
    const privatePem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(
      problems(entry({ rootKeys: [{ pem: privatePem }, { pem: `${publicPem()}${publicPem()}` }, { pem: weak }, { file: 'missing.pem' }, { pem: 'hello' }] })),
    ).toEqual([
      { path: 'rootKeys[0].pem', message: 'key rootKeys[0] is a private key; give the public key' },
      { path: 'rootKeys[1].pem', message: 'found 2 PEM blocks; give one key or certificate per entry' },
      { path: 'rootKeys[2].pem', message: 'key rootKeys[2]: RSA key is 1024 bits; at least 2048 are required' },
      { path: 'rootKeys[3].file', message: 'cannot read missing.pem: no such file next to the policy' },
      { path: 'rootKeys[4].pem', message: 'no PEM block found; expected a PUBLIC KEY or CERTIFICATE' },
    ]);
  });

  test('the CA bundle must be PEM certificates', async () => {
    const { certificatePem } = await rootCertificateKey('ca');
    const good = compileDctVerifier(entry({ caBundle: { file: 'ca.pem' } }), context({ 'ca.pem': certificatePem }));
    expect(good.ok && good.value.caBundle).toBe(certificatePem);
    expect(problems(entry({ caBundle: { pem: publicPem() } }))).toEqual([{ path: 'caBundle.pem', message: 'block 1 of the CA bundle is a PUBLIC KEY, not a CERTIFICATE' }]);
    expect(problems(entry({ caBundle: { pem: 'nothing here' } }))).toEqual([{ path: 'caBundle.pem', message: 'the CA bundle holds no "-----BEGIN CERTIFICATE-----" block' }]);
    expect(problems(entry({ caBundle: { file: 'nope.pem' } }))).toEqual([{ path: 'caBundle.file', message: 'cannot read nope.pem: no such file next to the policy' }]);
  });

  test('a delegation named twice (short and long form) is a problem', () => {
    expect(problems(entry({ delegations: ['releases', 'targets/releases'] }))).toEqual([{ path: 'delegations[1]', message: 'targets/releases is listed twice' }]);
  });

  test('delegation keys: names, PEM public keys (a docker trust .pub with its role header) and certificates, under the full role name', async () => {
    const certificate = await rootCertificateKey('ci');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    // What `docker trust key generate ci` writes: a PUBLIC KEY block with a "role" header.
    const dockerPub = spki.replace('-----BEGIN PUBLIC KEY-----\n', '-----BEGIN PUBLIC KEY-----\nrole: ci\n\n');
    const compiled = compileDctVerifier(
      entry({ delegations: ['releases'], delegationKeys: { releases: ['release-root', { file: 'ci.pub' }, { pem: certificate.certificatePem }] } }),
      context({ 'ci.pub': dockerPub }),
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
    const pinned = compiled.value.delegationKeys.get('targets/releases') ?? [];
    expect(pinned.map((key) => key.name)).toEqual(['release-root', 'ci.pub', 'delegationKeys.releases[2] (CN=ci)']);
    expect(pinned[1]?.key.equals(publicKey)).toBe(true);
    expect(pinned[2]?.key.equals(certificate.publicKey)).toBe(true);
    expect(Object.isFrozen(pinned)).toBe(true);
  });

  test('delegation keys on a role the entry does not require (even targets/releases in Docker\'s order), pinned twice, or unusable, are problems with their paths', () => {
    expect(problems(entry({ delegationKeys: { 'targets/qa': ['release-root'] } }))).toEqual([
      {
        path: 'delegationKeys.targets/qa',
        message: "a pin protects only a role the entry requires: without delegations, Docker's order also accepts tags signed with the repository's targets key, which no pin covers; add delegations: [targets/qa]",
      },
    ]);
    expect(problems(entry({ delegationKeys: { releases: ['release-root'] } }))).toEqual([
      {
        path: 'delegationKeys.releases',
        message: "a pin protects only a role the entry requires: without delegations, Docker's order also accepts tags signed with the repository's targets key, which no pin covers; add delegations: [targets/releases]",
      },
    ]);
    expect(problems(entry({ delegations: ['targets/qa'], delegationKeys: { releases: ['release-root'] } }))).toEqual([
      { path: 'delegationKeys.releases', message: 'targets/releases is not in delegations, so this entry never requires it; add it to delegations or remove the pin' },
    ]);
    expect(problems(entry({ delegations: ['releases'], delegationKeys: { releases: ['release-root'], 'targets/releases': ['release-root'] } }))).toEqual([
      { path: 'delegationKeys.targets/releases', message: 'targets/releases is pinned twice (as targets/releases and as its short name)' },
    ]);
    expect(problems(entry({ delegations: ['releases'], delegationKeys: { releases: ['ci-signer', { pem: 'hello' }] } }))).toEqual([
      { path: 'delegationKeys.releases[0]', message: 'no key named "ci-signer" in the top-level keys map (known: release-root)' },
      { path: 'delegationKeys.releases[1].pem', message: 'no PEM block found; expected a PUBLIC KEY or CERTIFICATE' },
    ]);
  });
});

describe('through the policy loader', () => {
  const policy = (dct: string): string => `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
keys:
  acme-root: {publicKey: ${JSON.stringify(publicPem())}}
  ci-signer: {publicKey: ${JSON.stringify(publicPem())}}
rules:
  - name: acme
    images: ["registry.acme.example/**"]
    verify:
      - type: dct
        server: https://notary.acme.example:4443
        rootKeys: [acme-root]
${dct}
`;

  test('a pinned targets/releases loads; the compiled entry carries its keys', () => {
    const loaded = loadPolicyText(policy('        delegations: [targets/releases]\n        delegationKeys:\n          targets/releases: [ci-signer]'), { baseDir: '/', sourceName: 'inline.yaml' });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    const [verifier] = loaded.value.rules[0]?.verifiers ?? [];
    expect(verifier?.type === 'dct' && [...verifier.delegationKeys.entries()].map(([role, keys]) => [role, keys.map((k) => k.name)])).toEqual([['targets/releases', ['ci-signer']]]);
  });

  test.each([
    [
      'a role name that is not a first-level delegation',
      '        delegationKeys:\n          "targets/a/b": [ci-signer]',
      'rules[0].verify[0].delegationKeys["targets/a/b"]',
      11,
      'invalid name "targets/a/b": name a first-level delegation, targets/<name> or <name> (letters, digits, dot, underscore, hyphen)',
    ],
    [
      'a role the entry never reads',
      '        delegationKeys:\n          qa: [ci-signer]',
      'rules[0].verify[0].delegationKeys.qa',
      15,
      "a pin protects only a role the entry requires: without delegations, Docker's order also accepts tags signed with the repository's targets key, which no pin covers; add delegations: [targets/qa]",
    ],
  ])('%s is refused on its line', (_name, dct, path, column, message) => {
    const loaded = loadPolicyText(policy(dct), { baseDir: '/', sourceName: 'inline.yaml' });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.error.problems).toEqual([{ path, line: 14, column, message }]);
  });
});

test('the policy examples of docs/verifiers/dct.md load', async () => {
  const markdown = readFileSync(new URL('../../../docs/verifiers/dct.md', import.meta.url), 'utf8');
  const examples = [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] as string);
  expect(examples.length).toBeGreaterThanOrEqual(2);
  const { certificatePem } = await rootCertificateKey('release-manager');
  for (const example of examples) {
    const text = example.startsWith('apiVersion:') ? example : `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\n${example}`;
    const loaded = loadPolicyText(text, { baseDir: '/policy', sourceName: 'dct.md', readKeyFile: (path) => ok(path.endsWith('.crt') || path.endsWith('ca.pem') ? certificatePem : publicPem()) });
    expect(loaded.ok ? 'loaded' : loaded.error).toBe('loaded');
  }
});
