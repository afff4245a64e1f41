// Notation's own trustpolicy.json and trust store folder, used as they are by a Signet policy file
// (`notationTrustPolicy`), judged end to end by `signet verify` against images in the real
// docker-registry signed with an openssl-made chain; and the problems a policy author reads when
// the Notation files cannot be used.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../../src/registry/client.js';
import { listDirectoryFromDisk, loadPolicyFile, readKeyFileFromDisk } from '../../../src/trust/policy-file.js';
import { loadPolicyText } from '../../../src/policy/index.js';
import { haveTools, startRegistry, type RunningRegistry } from '../../support/registry-server.js';
import { pushTestImage, type PushedImage } from '../../support/signers.js';
import { signet } from '../../support/cli.js';
import { OpensslPki, envelopeBytes, signNotationJws, type IssuedCertificate, type OpensslCa } from '../../support/openssl-pki.js';
import { attachNotationEnvelope } from './referrer.js';
import { checkNotation } from '../../../src/pipeline/systems/notation.js';
import type { CompiledNotationVerifier } from '../../../src/signatures/notation/policy.js';

const available = haveTools('openssl', 'docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

maybe("Notation's trustpolicy.json and trust store folder, used as they are", () => {
  let dir: string;
  let registry: RunningRegistry;
  let client: RegistryClient;
  let acme: OpensslCa;
  let other: OpensslCa;
  let signer: IssuedCertificate;
  const images: Record<string, PushedImage> = {};
  const signatures: Record<string, string> = {};
  let policyPath: string;

  const trustPolicyJson = (host: string): unknown => ({
    version: '1.0',
    trustPolicies: [
      {
        name: 'acme-images',
        registryScopes: [`${host}/acme/app`, `${host}/acme/stranger`],
        signatureVerification: { level: 'strict', override: { revocation: 'log' } },
        trustStores: ['ca:acme'],
        trustedIdentities: ['x509.subject: C=US, ST=WA, O=Acme Rockets'],
      },
      { name: 'legacy', registryScopes: [`${host}/acme/legacy`], signatureVerification: { level: 'skip' } },
      { name: 'everything-else', registryScopes: ['*'], signatureVerification: { level: 'strict' }, trustStores: ['ca:other'], trustedIdentities: ['*'] },
    ],
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-notation-files-'));
    registry = await startRegistry();
    client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    const pki = new OpensslPki(join(dir, 'pki'));
    acme = pki.rootCa('acme', '/C=US/ST=WA/O=Acme Rockets/CN=Acme Root');
    other = pki.rootCa('other', '/C=US/ST=WA/O=Other/CN=Other Root');
    signer = acme.issue('signer', '/C=US/ST=WA/O=Acme Rockets/CN=acme release', { profile: 'codeSigning' });
    const stranger = acme.issue('stranger', '/C=US/ST=OR/O=Somebody Else/CN=somebody', { profile: 'codeSigning' });

    // As `notation cert add --type ca --store acme root.crt` and `notation policy import` leave them.
    const store = join(dir, 'notation', 'truststore', 'x509', 'ca');
    mkdirSync(join(store, 'acme'), { recursive: true });
    mkdirSync(join(store, 'other'), { recursive: true });
    writeFileSync(join(store, 'acme', 'acme-root.crt'), acme.certificate.certPem);
    writeFileSync(join(store, 'other', 'other-root.pem'), other.certificate.certPem);
    writeFileSync(join(dir, 'notation', 'trustpolicy.json'), JSON.stringify(trustPolicyJson(registry.host), null, 2));

    for (const name of ['app', 'tool', 'stranger', 'legacy']) {
      images[name] = await pushTestImage(registry, dir, `acme/${name}:1`, `notation-files-${name}`);
      const leaf = name === 'stranger' ? stranger : signer;
      const image = images[name]!;
      signatures[name] = await attachNotationEnvelope(client, image, envelopeBytes(signNotationJws({ key: leaf.keyPem, chain: [leaf, acme.certificate], target: { mediaType: image.mediaType, digest: image.digest, size: image.size } })));
    }

    policyPath = join(dir, 'policy.yaml');
    writeFileSync(
      policyPath,
      `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: notation-files}
rules:
  - name: acme
    images: ["${registry.host}/acme/**"]
    verify:
      - type: notation
        notationTrustPolicy:
          file: notation/trustpolicy.json
          trustStoreDir: notation/truststore
`,
    );
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const verify = async (name: string): Promise<{ code: number; verdict: { outcome: string; code?: string; reason?: string } }> => {
    const run = await signet(['verify', images[name]!.reference, '--policy', policyPath, '--insecure-registry', registry.host, '-o', 'json']);
    expect(run.stderr).toBe('');
    const [verdict] = JSON.parse(run.stdout) as [{ outcome: string; code?: string; reason?: string }];
    return { code: run.code, verdict };
  };

  test('the policy compiles the Notation trust policies and their stores', async () => {
    const loaded = await loadPolicyFile(policyPath);
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect(loaded.value.rules[0]!.verifiers[0]).toMatchObject({
      type: 'notation',
      scoped: {
        source: 'notation/trustpolicy.json',
        policies: [
          { name: 'acme-images', verification: { kind: 'verify', policy: { trustStore: { type: 'ca', name: 'acme', certificates: [{ displayName: 'CN=Acme Root' }] }, level: 'strict', revocation: 'log' } } },
          { name: 'legacy', verification: { kind: 'skip' } },
          { name: 'everything-else', scopes: ['*'], verification: { kind: 'verify', policy: { trustStore: { name: 'other' }, revocation: 'enforce' } } },
        ],
      },
    });
  });

  test('an image its scoped trust policy trusts is admitted by signet verify', async () => {
    expect(await verify('app')).toMatchObject({ code: 0, verdict: { outcome: 'allowed' } });
  });

  test('an identity the scoped trust policy does not list: UNTRUSTED_SIGNER naming the identities', async () => {
    expect(await verify('stranger')).toMatchObject({
      code: 1,
      verdict: {
        outcome: 'denied',
        code: 'UNTRUSTED_SIGNER',
        reason: `Notation signature ${signatures['stranger']}: signed by "C=US, ST=OR, O=Somebody Else, CN=somebody", which matches none of the trusted identities ("C=US, ST=WA, O=Acme Rockets")`,
      },
    });
  });

  test('a repository no scope names falls to the "*" policy, whose store does not hold the root', async () => {
    expect(await verify('tool')).toMatchObject({
      code: 1,
      verdict: {
        outcome: 'denied',
        code: 'UNTRUSTED_SIGNER',
        reason: `Notation signature ${signatures['tool']}: signed by CN=acme release, whose chain ends at CN=Acme Root, which is not a certificate of the trust store other`,
      },
    });
  });

  test('a repository whose trust policy skips verification is not admitted by a verify rule', async () => {
    expect(await verify('legacy')).toMatchObject({
      code: 1,
      verdict: {
        outcome: 'denied',
        code: 'UNTRUSTED_SIGNER',
        reason: `trust policy "legacy" of notation/trustpolicy.json skips verification for ${registry.host}/acme/legacy; a verify rule admits only verified images (give such images a rule of their own)`,
      },
    });
  });

  test('a trust policy naming several ca stores trusts a chain that ends in any of them, named after that store', async () => {
    const base = join(dir, 'several');
    mkdirSync(base, { recursive: true });
    const document = trustPolicyJson(registry.host) as { trustPolicies: Record<string, unknown>[] };
    document.trustPolicies[0]!['trustStores'] = ['ca:other', 'ca:acme'];
    writeFileSync(join(base, 'trustpolicy.json'), JSON.stringify(document));
    writeFileSync(join(base, 'policy.yaml'), `apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: acme\n    images: ["${registry.host}/acme/**"]\n    verify:\n      - type: notation\n        notationTrustPolicy: {file: trustpolicy.json, trustStoreDir: ../notation/truststore}\n`);
    const loaded = await loadPolicyFile(join(base, 'policy.yaml'));
    if (!loaded.ok) throw new Error(loaded.error.message);
    const image = images['app']!;
    const report = await checkNotation({ registry: client, repo: image.repo, digest: image.digest, now: new Date() } as never, loaded.value.rules[0]!.verifiers[0] as CompiledNotationVerifier);
    expect(report).toMatchObject({ ok: true, value: { checks: [{ status: 'valid', signer: 'acme (CN=acme release)' }] } });
  });

  test('the example of docs/verifiers/notation.md compiles against these files', () => {
    const markdown = readFileSync(new URL('../../../docs/verifiers/notation.md', import.meta.url), 'utf8');
    const example = /<!-- tested-example: notation-files -->\n```yaml\n([\s\S]*?)\n```\n/.exec(markdown)?.[1];
    if (example === undefined) throw new Error('docs/verifiers/notation.md has no tested example "notation-files"');
    const loaded = loadPolicyText(`${example}\n`, { baseDir: dir, sourceName: 'docs/verifiers/notation.md (notation-files)', readKeyFile: readKeyFileFromDisk, listDirectory: listDirectoryFromDisk });
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect(loaded.value.rules[0]!.verifiers[0]).toMatchObject({ scoped: { policies: [{ name: 'acme-images' }, { name: 'legacy' }, { name: 'everything-else' }] } });
  });

  describe('problems a policy author reads', () => {
    const compile = (trustPolicy: unknown, files: Record<string, string> = {}): string => {
      const base = mkdtempSync(join(dir, 'case-'));
      mkdirSync(join(base, 'store', 'x509', 'ca', 'acme'), { recursive: true });
      writeFileSync(join(base, 'store', 'x509', 'ca', 'acme', 'root.crt'), acme.certificate.certPem);
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(base, path, '..'), { recursive: true });
        writeFileSync(join(base, path), text);
      }
      writeFileSync(join(base, 'trustpolicy.json'), typeof trustPolicy === 'string' ? trustPolicy : JSON.stringify(trustPolicy));
      const text = 'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: r\n    images: ["r.example/**"]\n    verify:\n      - type: notation\n        notationTrustPolicy: {file: trustpolicy.json, trustStoreDir: store}\n';
      writeFileSync(join(base, 'policy.yaml'), text);
      return base;
    };
    const problemsOf = async (base: string): Promise<string> => {
      const loaded = await loadPolicyFile(join(base, 'policy.yaml'));
      if (loaded.ok) throw new Error('expected the policy to be refused');
      return loaded.error.message;
    };
    const policyWith = (entry: Record<string, unknown>): unknown => ({
      version: '1.0',
      trustPolicies: [{ name: 'p', registryScopes: ['*'], signatureVerification: { level: 'strict' }, trustStores: ['ca:acme'], trustedIdentities: ['*'], ...entry }],
    });

    test.each([
      ['an override of authenticity', policyWith({ signatureVerification: { level: 'strict', override: { authenticity: 'log' } } }), 'overrides "authenticity" with "log"; Signet can only override revocation (enforce, log or skip), and follows the level for the other checks'],
      ['a store folder that does not exist', policyWith({ trustStores: ['ca:missing'] }), 'trust store ca:missing: cannot list folder'],
      ['a store type Notation does not have', policyWith({ trustStores: ['x509:acme'] }), 'names the trust store "x509:acme"; expected "ca:<name>", "signingAuthority:<name>" or "tsa:<name>"'],
      ['skip for "*"', policyWith({ signatureVerification: { level: 'skip' } }), 'skips verification for "*", which Notation does not allow'],
      ['another version', { version: '2.0', trustPolicies: [] }, 'has version "2.0"; Signet reads Notation trust policy version "1.0"'],
      ['an identity without C, ST, O', policyWith({ trustedIdentities: ['x509.subject: CN=bare'] }), 'the subject must name at least C, ST and O'],
      ...['registry.example/app:v1', `registry.example/app@sha256:${'a'.repeat(64)}`, 'registry.example/*', 'library/nginx', 'Registry.Example/App'].map(
        (scope): [string, unknown, string] => [`the registry scope ${scope}`, policyWith({ registryScopes: [scope] }), `has the registry scope ${JSON.stringify(scope)}, which is not "*" or a fully qualified repository (registry/name, without tag, digest or wildcard)`],
      ),
    ])('%s', async (_what, trustPolicy, message) => {
      expect(await problemsOf(compile(trustPolicy))).toContain(message);
    });

    test('a DER certificate file in a store is named, with the conversion to run', async () => {
      const base = compile(policyWith({}), { 'store/x509/ca/acme/root.der': acme.certificate.der.toString('latin1') });
      expect(await problemsOf(base)).toContain('trust store ca:acme: "root.der" is not PEM; Signet reads PEM certificates (convert DER with openssl x509 -inform der)');
    });

    test('without folders (policy text from a ConfigMap) the Notation form is refused with the reason', () => {
      const loaded = loadPolicyText(
        'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: r\n    images: ["r.example/**"]\n    verify:\n      - type: notation\n        notationTrustPolicy: {file: trustpolicy.json, trustStoreDir: store}\n',
        { baseDir: dir, sourceName: 'configmap', readKeyFile: () => ({ ok: true, value: JSON.stringify(policyWith({})) }) },
      );
      expect(loaded.ok).toBe(false);
      expect(!loaded.ok && loaded.error.message).toContain('Notation trust store folders can be read only next to a single policy file, not from ConfigMaps or a composed policy directory');
    });

    test('the Signet form and the Notation form cannot be mixed', () => {
      const loaded = loadPolicyText(
        'apiVersion: signet.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: r\n    images: ["r.example/**"]\n    verify:\n      - type: notation\n        notationTrustPolicy: {file: trustpolicy.json, trustStoreDir: store}\n        trustedIdentities: ["*"]\n',
        { baseDir: dir, sourceName: 'mixed' },
      );
      expect(!loaded.ok && loaded.error.message).toContain("notationTrustPolicy takes everything from Notation's files: remove trustStore, trustedIdentities, level, tsaTrustStore, verifyTimestamp and revocation from this entry");
    });
  });
});
