// One row per deny code in the catalogue (src/decide/codes.ts): the reason and the fix a developer
// reads, produced through the real paths against a real docker-registry (and, for what a real
// registry never does, the hostile one): `signet verify` (verifyImage → decideRule → fixFor) and
// `signet review` of a Pod (the webhook's reviewAdmission and its kubectl message). The table is a
// Record over the catalogue, so a new code without a row fails the typecheck, and its keys are
// compared with the catalogue at run time; docs/denials.md must document every code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DENY_CODES, OBJECT_DENY_CODES, type DenyCode, type ObjectDenyCode } from '../../src/decide/types.js';
import { generateKeyPair, decryptPrivateKey, signPayload } from '../../src/signatures/cosign/private-key.js';
import { buildPayload } from '../../src/signatures/cosign/payload.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseReference } from '../../src/reference/parse.js';
import { signImage } from '../../src/signing/sign.js';
import { cosignSignatureTag } from '../../src/discovery/cosign.js';
import { parseAdmissionReview } from '../../src/admission/parse.js';
import { reviewAdmission } from '../../src/pipeline/review.js';
import { loadPolicyFile } from '../../src/trust/policy-file.js';
import { haveTools, startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { startHostileRegistry, type HostileRegistry } from '../support/hostile-registry.js';
import { rewriteStoredBlob, sha256 } from '../support/oci-image.js';
import { appendSigLayer, notationSign, pushTestImage, type PushedImage } from '../support/signers.js';
import { makePki } from '../signatures/notation/pki.js';
import { certificateOf } from '../signatures/notation/pki.js';
import { attachNotationEnvelope } from '../signatures/notation/referrer.js';
import { OpensslPki, envelopeBytes, signNotationJws, type IssuedCertificate, type OpensslCa } from '../support/openssl-pki.js';
import { startCrlServer, type RunningCrlServer } from '../support/revocation-servers.js';
import { closeNotationRevocation } from '../../src/pipeline/systems/notation.js';
import { admissionReview, workload } from '../support/admission.js';
import { freePort } from '../support/free-port.js';
import { signet } from '../support/cli.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** What the developer reads for one code: the reason after `CODE: ` and the line after `Fix: `. */
interface Expected {
  readonly reason: string;
  readonly fix: string;
}

interface ImageCase {
  /** The image as a pod spec would name it. */
  image(): string;
  /** Extra `signet verify` / `signet review` flags (e.g. a short --timeout). */
  readonly flags?: readonly string[];
  /** What `signet verify` reports. */
  verify(): Expected;
  /** What the webhook's review reports when it differs from `verify` (the review has its own time budget). */
  review?(): Expected;
}

interface ObjectCase {
  /** The object to review. */
  object(): Record<string, unknown>;
  /** request.kind of the review. */
  readonly kind: string;
  /** The object as the message names it. */
  readonly describes: string;
  /** What is wrong: the message is `<object>: <reason>. Fix: <fix>` (no per-image line). */
  readonly reason: string;
  readonly fix: string;
}

const available = haveTools('docker-registry', 'skopeo');
const maybe = available ? describe : describe.skip;

maybe('every deny code: the reason and the fix a developer reads', () => {
  let registry: RunningRegistry;
  let locked: RunningRegistry;
  let hostile: HostileRegistry;
  let client: RegistryClient;
  let dir: string;
  let policyPath: string;
  let downPort: number;
  const images: Record<string, PushedImage> = {};
  const at = (name: string): PushedImage => images[name]!;
  const pinned = (name: string): string => `${at(name).reference}@${at(name).digest}`;
  const sigTag = (name: string): string => cosignSignatureTag(at(name).digest);
  /** The digest the tampered signature's payload was signed with, and the digest of what the registry now serves. */
  let tamperedPayload = { before: '', after: '' };
  /** The Notation signature manifest on `timestamped` (signed without an RFC 3161 timestamp). */
  let notationSignature = '';
  /** REVOKED and REVOCATION_UNKNOWN: an openssl CA, its CRL served on loopback, and the Notation signatures made with its leaves. */
  let revocationCa: OpensslCa;
  let crls: RunningCrlServer;
  const revocationLeaves: Record<string, IssuedCertificate> = {};
  const revocationSignatures: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-deny-catalogue-'));
    registry = await startRegistry();
    locked = await startRegistry({ basicAuth: { username: 'ci', password: 'secret' } });
    hostile = await startHostileRegistry();
    downPort = await freePort();
    client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });

    const keys = { release: generateKeyPair('pw'), backup: generateKeyPair('pw'), stranger: generateKeyPair('pw') };
    for (const [name, pair] of Object.entries(keys)) writeFileSync(join(dir, `${name}.pub`), pair.publicKeyPem);
    const privateKey = (name: keyof typeof keys) => {
      const k = decryptPrivateKey(keys[name].privateKeyPem, 'pw');
      if (!k.ok) throw new Error(k.error.message);
      return k.value;
    };
    const sign = async (name: string, key: keyof typeof keys, annotations: Record<string, string> = {}): Promise<void> => {
      const ref = parseReference(at(name).reference);
      if (!ref.ok) throw new Error(ref.error.message);
      const signed = await signImage({ client, ref: ref.value, privateKey: privateKey(key), annotations });
      if (!signed.ok) throw new Error(signed.error.message);
    };

    for (const name of ['unsigned', 'untrusted', 'signed', 'moved', 'tampered', 'annotated', 'dual', 'strict', 'timestamped', 'revoked', 'unknown']) {
      images[name] = await pushTestImage(registry, dir, `shop/${name}:1`, `catalogue-${name}`);
    }
    await sign('untrusted', 'stranger');
    await sign('signed', 'release');
    await sign('annotated', 'release', { env: 'staging' });
    await sign('dual', 'release');
    await sign('tampered', 'release');

    // DIGEST_MISMATCH: the signature layer of `signed`, copied onto `moved`'s signature tag (with its
    // payload blob, pushed into `moved`'s repository).
    const signedSig = await client.getManifest(at('signed').repo, sigTag('signed'));
    if (!signedSig.ok) throw new Error(signedSig.error.message);
    const layer = (signedSig.value.json['layers'] as { digest: string; annotations: Record<string, string> }[])[0]!;
    const payload = await client.getBlob(at('signed').repo, { digest: layer.digest as never });
    if (!payload.ok) throw new Error(payload.error.message);
    await appendSigLayer(client, at('moved'), payload.value, layer.annotations);

    // IDENTITY_MISMATCH: a valid signature by release over `strict`'s digest that names another repository.
    const elsewhere = buildPayload({ dockerReference: `${registry.host}/shop/elsewhere`, digest: at('strict').digest });
    await appendSigLayer(client, at('strict'), elsewhere, { 'dev.cosignproject.cosign/signature': signPayload(privateKey('release'), elsewhere) });

    // BAD_SIGNATURE: the signed payload changed in the registry's storage after signing.
    const tamperedSig = await client.getManifest(at('tampered').repo, sigTag('tampered'));
    if (!tamperedSig.ok) throw new Error(tamperedSig.error.message);
    const tamperedLayer = (tamperedSig.value.json['layers'] as { digest: string }[])[0]!;
    await rewriteStoredBlob(registry, tamperedLayer.digest as never, (old) => {
      const changed = Buffer.from(old.toString('utf8').replace('"optional":null', '"optional":{  }'));
      tamperedPayload = { before: tamperedLayer.digest, after: sha256(changed) };
      return changed;
    });

    // TIMESTAMP_INVALID: a Notation signature without a timestamp, under a rule whose tsa trust store makes one required.
    const pki = await makePki();
    const tsaPki = await makePki();
    writeFileSync(join(dir, 'acme-root.pem'), pki.root.certificate.toString('pem'));
    writeFileSync(join(dir, 'tsa-root.pem'), tsaPki.root.certificate.toString('pem'));
    notationSignature = await notationSign(client, at('timestamped'), pki);

    // REVOKED: a Notation signature whose certificate is on its CA's CRL. REVOCATION_UNKNOWN: one whose
    // certificate names an OCSP responder nothing listens at, and no CRL.
    revocationCa = new OpensslPki(join(dir, 'openssl')).rootCa('acme-ca', '/C=US/ST=WA/O=Acme Rockets/CN=Acme Release CA');
    crls = await startCrlServer();
    revocationLeaves['revoked'] = revocationCa.issue('revoked', '/C=US/ST=WA/O=Acme Rockets/CN=revoked signer', { profile: 'codeSigning', crlUrl: crls.url('/acme.crl') });
    revocationLeaves['unknown'] = revocationCa.issue('unknown', '/C=US/ST=WA/O=Acme Rockets/CN=unreachable signer', { profile: 'codeSigning', ocspUrl: `http://127.0.0.1:${downPort}` });
    revocationCa.revoke(revocationLeaves['revoked']);
    crls.serve('/acme.crl', revocationCa.crl());
    writeFileSync(join(dir, 'openssl-root.pem'), revocationCa.certificate.certPem);
    for (const name of ['revoked', 'unknown']) {
      const leaf = revocationLeaves[name]!;
      const image = at(name);
      const envelope = signNotationJws({ key: leaf.keyPem, chain: [leaf, revocationCa.certificate], target: { mediaType: image.mediaType, digest: image.digest, size: image.size } });
      revocationSignatures[name] = await attachNotationEnvelope(client, image, envelopeBytes(envelope));
    }

    // REGISTRY_UNAUTHORIZED: an image in a registry that needs credentials the verifier does not have.
    // (Nothing needs to be pushed: the registry asks for credentials before it looks for the image.)

    // REGISTRY_ERROR and TIMEOUT: what a real registry does not do.
    for (const method of ['HEAD', 'GET']) {
      hostile.on(method, '/v2/broken/app/manifests/1', { kind: 'respond', status: 500, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"UNKNOWN","message":"storage backend down"}]}' });
      hostile.on(method, '/v2/slow/app/manifests/1', { kind: 'stall' });
    }

    policyPath = join(dir, 'policy.yaml');
    writeFileSync(
      policyPath,
      `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: catalogue}
keys:
  release: {file: release.pub}
  backup: {file: backup.pub}
rules:
  - name: banned
    images: ["docker.io/library/**"]
    action: deny
  - name: annotated
    images: ["${registry.host}/shop/annotated"]
    verify:
      - {type: cosign, keys: [release], annotations: {env: prod}}
  - name: two-keys
    images: ["${registry.host}/shop/dual"]
    verify:
      - {type: cosign, keys: [release, backup], threshold: 2}
  - name: strict
    images: ["${registry.host}/shop/strict"]
    verify:
      - {type: cosign, keys: [release], identity: repository}
  - name: timestamped
    images: ["${registry.host}/shop/timestamped"]
    verify:
      - type: notation
        trustStore: {type: ca, name: acme-ca, certificates: [{file: acme-root.pem}]}
        trustedIdentities: ["*"]
        tsaTrustStore: {name: acme-tsa, certificates: [{file: tsa-root.pem}]}
  - name: revocation
    images: ["${registry.host}/shop/revoked", "${registry.host}/shop/unknown"]
    verify:
      - type: notation
        trustStore: {type: ca, name: acme-release, certificates: [{file: openssl-root.pem}]}
        trustedIdentities: ["*"]
  - name: shop
    images: ["${registry.host}/shop/**", "${locked.host}/**", "${hostile.host}/**", "127.0.0.1:${downPort}/**"]
    verify:
      - {type: cosign, keys: [release]}
`,
    );
  }, 120_000);

  afterAll(async () => {
    await closeNotationRevocation();
    await crls?.stop();
    await client?.close();
    await hostile?.close();
    await locked?.stop();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const net = (): string[] => ['--insecure-registry', registry.host, '--insecure-registry', locked.host, '--insecure-registry', hostile.host, '--insecure-registry', `127.0.0.1:${downPort}`];
  const shopFix = (name: string): string => `signet sign ${pinned(name)} --key <private key of release>`;

  const IMAGE_CASES: Record<DenyCode, ImageCase> = {
    INVALID_REFERENCE: {
      image: () => `${registry.host}/Shop/App:1`,
      verify: () => ({
        reason: `invalid image reference "${registry.host}/Shop/App:1": repository name must be lower case: "Shop/App"`,
        fix: 'correct the image reference (lower-case repository, valid tag, full sha256 digest)',
      }),
    },
    NO_MATCHING_RULE: {
      image: () => 'quay.io/acme/cache:7',
      verify: () => ({
        reason: 'no policy rule matches quay.io/acme/cache and the policy denies unmatched images',
        fix: 'use an image a policy rule covers, or ask your platform team to add a rule for this image',
      }),
    },
    DENIED_BY_RULE: {
      image: () => 'nginx:1.27',
      verify: () => ({
        reason: 'rule banned denies images matching docker.io/library/**',
        fix: 'rule banned forbids these images; use an image from an allowed registry or ask your platform team',
      }),
    },
    UNSIGNED: {
      image: () => at('unsigned').reference,
      verify: () => ({
        reason: `no cosign signature found (looked for tag ${sigTag('unsigned')} and Sigstore bundle referrers in ${registry.host}/shop/unsigned)`,
        fix: `sign it with: ${shopFix('unsigned')}`,
      }),
    },
    UNTRUSTED_SIGNER: {
      image: () => at('untrusted').reference,
      verify: () => ({
        reason: 'signed, but not by a trusted key (tried: release); made with another key, or altered after signing',
        fix: `sign it with a key rule shop trusts (release), or ask your platform team to trust your key for ${registry.host}/shop/**, ${locked.host}/**, ${hostile.host}/**, 127.0.0.1:${downPort}/**`,
      }),
    },
    DIGEST_MISMATCH: {
      image: () => at('moved').reference,
      verify: () => ({
        reason: `signature is for ${at('signed').digest} but the image is ${at('moved').digest}`,
        fix: `the signature is for other content (a moved tag?): deploy the signed digest, or sign this one with: ${shopFix('moved')}`,
      }),
    },
    BAD_SIGNATURE: {
      image: () => at('tampered').reference,
      verify: () => ({
        reason: `signature payload ${tamperedPayload.before} in ${sigTag('tampered')}: registry ${registry.host} sent content for blob shop/tampered@${tamperedPayload.before} that hashes to ${tamperedPayload.after}`,
        fix: `the signature is corrupt or tampered with: sign the image again with: ${shopFix('tampered')}`,
      }),
    },
    MISSING_ANNOTATION: {
      image: () => at('annotated').reference,
      verify: () => ({
        reason: 'signature annotation env is "staging" but the policy requires "prod"',
        fix: `sign it with the required annotations: ${shopFix('annotated')} -a env=prod`,
      }),
    },
    IDENTITY_MISMATCH: {
      image: () => at('strict').reference,
      verify: () => ({
        reason: `signature is for repository ${registry.host}/shop/elsewhere but the image is from ${registry.host}/shop/strict`,
        fix: `the signature names another repository: sign the image in the repository you deploy from: ${shopFix('strict')}`,
      }),
    },
    THRESHOLD_NOT_MET: {
      image: () => at('dual').reference,
      verify: () => ({
        reason: '2 distinct trusted signers are required but only 1 signed (release); not signed by: backup',
        fix: `have more of the trusted keys (release, backup) sign it: signet sign ${pinned('dual')} --key <private key of release, backup>`,
      }),
    },
    TIMESTAMP_INVALID: {
      image: () => at('timestamped').reference,
      verify: () => ({
        reason: `Notation signature ${notationSignature}: the policy requires an RFC 3161 timestamp from the tsa trust store acme-tsa (verifyTimestamp: always), but the signature carries none`,
        fix: `sign it again with an RFC 3161 timestamp from a TSA that rule timestamped trusts (notation sign --timestamp-url <TSA URL> --timestamp-root-cert <TSA root> ${pinned('timestamped')}), or ask your platform team to trust that TSA`,
      }),
    },
    REVOKED: {
      image: () => at('revoked').reference,
      verify: () => ({
        reason: `Notation signature ${revocationSignatures['revoked']}: certificate CN=revoked signer (serial ${certificateOf(revocationLeaves['revoked']!.der).serialNumber}) was revoked at ${revocationCa.revokedAt(revocationLeaves['revoked']!).toISOString()} (keyCompromise), according to CRL ${crls.url('/acme.crl')}`,
        fix: `a certificate of its signing chain was revoked: sign it again with a certificate that is not revoked (notation sign ${pinned('revoked')} with a certificate that chains to trust store acme-release), and find out why the old one was`,
      }),
    },
    REVOCATION_UNKNOWN: {
      image: () => at('unknown').reference,
      verify: () => ({
        reason: `Notation signature ${revocationSignatures['unknown']}: the revocation status is unknown: certificate CN=unreachable signer: OCSP responder http://127.0.0.1:${downPort} refused the connection for an OCSP request (ECONNREFUSED)`,
        fix: "let the webhook reach the OCSP responder or CRL named in the signing certificates, then retry; on an air-gapped cluster set revocation: skip (or log) on rule revocation's notation entry",
      }),
    },
    NOT_FOUND: {
      image: () => `${registry.host}/shop/nope:1`,
      verify: () => ({
        reason: `resolving the tag: registry ${registry.host} answered 404 for manifest shop/nope:1 (not found; MANIFEST_UNKNOWN manifest unknown)`,
        fix: `check the image name and tag, and that it was pushed to ${registry.host}`,
      }),
    },
    REGISTRY_UNREACHABLE: {
      image: () => `127.0.0.1:${downPort}/shop/web:1.4`,
      verify: () => ({
        reason: `resolving the tag: registry 127.0.0.1:${downPort} refused the connection for manifest shop/web:1.4 (ECONNREFUSED)`,
        fix: `check that 127.0.0.1:${downPort} is up and reachable from the webhook, then retry`,
      }),
    },
    REGISTRY_UNAUTHORIZED: {
      image: () => `${locked.host}/private/app:1`,
      verify: () => ({
        reason: `resolving the tag: registry ${locked.host} could not authenticate for manifest private/app:1: it requires credentials and none are configured for ${locked.host}`,
        fix: `give the webhook pull credentials for ${locked.host} (a dockerconfigjson Secret)`,
      }),
    },
    REGISTRY_ERROR: {
      image: () => `${hostile.host}/broken/app:1`,
      verify: () => ({
        reason: `resolving the tag: registry ${hostile.host} answered 500 for manifest broken/app:1 (server error; UNKNOWN storage backend down)`,
        fix: `${hostile.host} returned something unusable; retry, and report it to the registry's operators if it persists`,
      }),
    },
    TIMEOUT: {
      image: () => `${hostile.host}/slow/app:1`,
      flags: ['--timeout', '700ms'],
      verify: () => ({
        reason: `resolving the tag: registry ${hostile.host} request for manifest slow/app:1 was cancelled: the caller's deadline passed`,
        fix: `retry; if it keeps timing out, check the latency of ${hostile.host} from the webhook`,
      }),
      // The webhook answers at its own budget, before the registry client gives up.
      review: () => ({
        reason: "verification timed out: no answer within the review's 700 ms budget",
        fix: `retry; if it keeps timing out, check the latency of ${hostile.host} from the webhook`,
      }),
    },
  };

  const OBJECT_CASES: Record<ObjectDenyCode, ObjectCase> = {
    MALFORMED_OBJECT: {
      kind: 'Deployment',
      object: () => {
        const d = workload('Deployment', 'shop', 'default', { containers: [{ name: 'web', image: at('signed').reference }] });
        const spec = d['spec'] as Record<string, unknown>;
        return { ...d, spec: { ...spec, template: { spec: { containers: 'web' } } } };
      },
      describes: 'Deployment default/shop',
      reason: 'cannot read container images: spec.template.spec.containers is not a list',
      fix: 'correct the pod spec: containers, initContainers and ephemeralContainers must be lists of containers with an image each; split an object that names more images than Signet checks in one',
    },
    KIND_MISMATCH: {
      kind: 'Pod',
      object: () => workload('Deployment', 'shop', 'default', { containers: [{ name: 'web', image: at('signed').reference }] }),
      describes: 'Pod default/shop',
      reason: 'request.kind is Pod but request.object is a "Deployment"',
      fix: 'the API server never sends this: send the object of the kind, API group and version that request.kind and request.resource name, and look for what rewrote the review on its way to Signet',
    },
  };

  test('the table has exactly one row per code in the catalogue', () => {
    expect(Object.keys(IMAGE_CASES).sort()).toEqual([...DENY_CODES].sort());
    expect(Object.keys(OBJECT_CASES).sort()).toEqual([...OBJECT_DENY_CODES].sort());
    // An image code and an object code never share a name (the decision log and metrics mix them).
    expect(DENY_CODES.filter((c) => (OBJECT_DENY_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  test('docs/denials.md documents every code in the catalogue, and no other', () => {
    const docs = readFileSync(join(ROOT, 'docs/denials.md'), 'utf8');
    const documented = [...docs.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...DENY_CODES, ...OBJECT_DENY_CODES].sort());
  });

  describe.each(DENY_CODES.map((code) => [code] as const))('%s', (code) => {
    const row = IMAGE_CASES[code];

    test('signet verify: the code, reason and fix of the verdict, and the lines printed', async () => {
      const json = await signet(['verify', row.image(), '--policy', policyPath, ...net(), ...(row.flags ?? []), '-o', 'json']);
      expect(json.stderr).toBe('');
      expect(json.code).toBe(1);
      const [verdict] = JSON.parse(json.stdout) as [{ outcome: string; code: string; reason: string; fix: string }];
      const expected = row.verify();
      expect({ outcome: verdict.outcome, code: verdict.code, reason: verdict.reason, fix: verdict.fix }).toEqual({ outcome: 'denied', code, ...expected });

      const text = await signet(['verify', row.image(), '--policy', policyPath, ...net(), ...(row.flags ?? [])]);
      expect(text.stdout).toContain(`\n  denied:  ${code}: ${expected.reason}\n  fix:     ${expected.fix}\n`);
    });

    test('signet review of a Pod: the denial line kubectl shows', async () => {
      const review = admissionReview({ kind: 'Pod', name: 'web', object: workload('Pod', 'web', 'default', { containers: [{ name: 'web', image: row.image() }] }) });
      const file = join(dir, `review-${code}.json`);
      writeFileSync(file, JSON.stringify(review));
      const r = await signet(['review', file, '--policy', policyPath, ...net(), ...(row.flags ?? [])]);
      expect(r.code).toBe(1);
      const expected = (row.review ?? row.verify)();
      const response = (JSON.parse(r.stdout) as { response: { allowed: boolean; status: { message: string } } }).response;
      expect(response.allowed).toBe(false);
      const lines = response.status.message.split('\n');
      expect(lines[0]).toBe('Pod default/web: 1 of 1 container image denied by signet policy "catalogue":');
      expect(lines).toHaveLength(2);
      // `container "web" (IMAGE[ -> DIGEST]): CODE: reason[ [rule R]]. Fix: fix`
      expect(lines[1]).toMatch(/^- container "web" \([^)]*\): /);
      expect(lines[1]!.replace(/^- container "web" \([^)]*\): /, '').replace(/ \[rule [a-z-]+\]\. Fix: /, '. Fix: ')).toBe(`${code}: ${expected.reason}. Fix: ${expected.fix}`);
    });
  });

  describe.each(OBJECT_DENY_CODES.map((code) => [code] as const))('%s', (code) => {
    const row = OBJECT_CASES[code];

    test('the webhook review: the decision code, and the message kubectl shows', async () => {
      const message = `${row.describes}: ${row.reason}. Fix: ${row.fix}`;
      const body = admissionReview({ kind: row.kind, name: 'shop', object: row.object() });
      const request = parseAdmissionReview(body);
      if (!request.ok) throw new Error(request.error);
      const policy = await loadPolicyFile(policyPath);
      if (!policy.ok) throw new Error(policy.error.message);
      const decision = await reviewAdmission(request.value, policy.value, () => Promise.reject(new Error('no image may be verified')), { budgetMs: 1000 }, { namespace: 'default', labels: undefined });
      expect(decision).toMatchObject({ outcome: 'denied', reason: code, response: { allowed: false, status: { code: 403, message } } });

      const file = join(dir, `review-${code}.json`);
      writeFileSync(file, JSON.stringify(body));
      const r = await signet(['review', file, '--policy', policyPath, ...net()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`${message}\n`);
    });
  });
});
