// An allowed verdict is never served past the expiry of what satisfied it (docs/adr/0004): the
// webhook over HTTPS with an injected clock, a real docker-registry, and an image signed keyless with
// a private PKI (requireRekor: false, so the signing certificate must be valid at the time of the
// review and its notAfter is the verdict's validUntil). The caches are set to keep tags and verdicts
// for a day, so only validUntil can end the cached verdict; the clock is moved past the certificate's
// notAfter and the very next review must see the certificate as expired.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../../src/registry/client.js';
import { haveTools, startRegistry, type RunningRegistry } from '../support/registry-server.js';
import { keylessSign, makeTestSigstore, pushTestImage, type PushedImage } from '../support/signers.js';
import { makeLeaf } from '../signatures/sigstore/fake-sigstore.js';
import { denialLine, startWebhook, type Webhook } from './support.js';

const maybe = haveTools('docker-registry', 'skopeo', 'openssl') ? describe : describe.skip;

const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

maybe('cached verdicts end with the signature material that satisfied them', () => {
  let registry: RunningRegistry;
  let dir: string;
  let hook: Webhook;
  /** The webhook's clock (epoch ms). */
  let clock = Date.now();
  /** The signing certificate's notAfter: whole seconds, two hours from the start. */
  const notAfter = new Date(Math.floor((Date.now() + 2 * 60 * MINUTE) / 1000) * 1000);
  const images: Record<'byTag' | 'byDigest', PushedImage> = {} as Record<'byTag' | 'byDigest', PushedImage>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-expiry-'));
    registry = await startRegistry();
    const sigstore = await makeTestSigstore('expiry');
    const leaf = await makeLeaf(sigstore.intermediate, { uri: SUBJECT, oidcIssuer: ISSUER, notBefore: new Date(Date.now() - 60 * MINUTE), notAfter });
    const client = new RegistryClient({ hosts: { [registry.host]: { insecureHttp: true } } });
    try {
      for (const name of ['byTag', 'byDigest'] as const) {
        images[name] = await pushTestImage(registry, dir, `keyless/${name.toLowerCase()}:v1`);
        await keylessSign(client, images[name], sigstore, leaf, 'sig');
      }
    } finally {
      await client.close();
    }
    writeFileSync(join(dir, 'trusted_root.json'), sigstore.trustedRootJson);
    const policyPath = join(dir, 'policy.yaml');
    writeFileSync(
      policyPath,
      `apiVersion: signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: expiry}
rules:
  - name: pki-signed
    images: ["${registry.host}/keyless/**"]
    verify:
      - type: keyless
        trustedRoot: {file: trusted_root.json}
        requireRekor: false
        identities:
          - {issuer: "${ISSUER}", subject: "${SUBJECT}"}
`,
    );
    hook = await startWebhook({
      policyPath,
      registry: { hosts: { [registry.host]: { insecureHttp: true } } },
      cache: { tagTtlMs: DAY, verdictTtlMs: DAY, negativeTtlMs: 5000 },
      now: () => clock,
    });
  }, 120_000);

  afterAll(async () => {
    await hook?.stop();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectExpired = async (image: string, digest: string) => {
    const r = await hook.reviewPod('default', image);
    expect(r.allowed).toBe(false);
    const line = denialLine(r);
    expect(line).toContain(`(${image} -> ${digest}): UNTRUSTED_SIGNER: `);
    // Judged at the review's time, past the certificate's notAfter.
    expect(line).toContain(`to ${notAfter.toISOString()}, so it was not valid at ${new Date(clock).toISOString()}`);
    expect(line).toContain('[rule pki-signed]');
  };

  test.each([
    ['by tag', 'byTag'],
    ['by digest', 'byDigest'],
  ] as const)('an image referenced %s: allowed (and warned) while the certificate is valid, denied from the first review after notAfter', async (_how, which) => {
    clock = Date.now();
    const pushed = images[which];
    const image = which === 'byTag' ? pushed.reference : `${pushed.reference.replace(/:v1$/, '')}@${pushed.digest}`;

    const first = await hook.reviewPod('default', image);
    expect(first.allowed).toBe(true);
    // The verdict's validUntil is the certificate's notAfter, and the user is told so (the warning is
    // clipped to 120 characters, which leaves the time out for the longer digest reference).
    if (which === 'byTag') expect(first.warnings).toEqual([`signet: app (${image}) signature material expires at ${notAfter.toISOString()}; re-sign soon`]);
    // Served again (from the caches: the clock has not moved), and still just before notAfter.
    expect((await hook.reviewPod('default', image)).allowed).toBe(true);
    clock = notAfter.getTime() - MINUTE;
    expect((await hook.reviewPod('default', image)).allowed).toBe(true);
    expect((await hook.reviewPod('default', image)).allowed).toBe(true);

    clock = notAfter.getTime() + 1000;
    await expectExpired(image, pushed.digest);
    await expectExpired(image, pushed.digest);
  });
});
