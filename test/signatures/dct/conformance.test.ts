// Every Connaisseur Notary v1 sample (real Docker Hub trust data and crafted edge cases, see
// test/fixtures/conformance/connaisseur-notaryv1/PROVENANCE.md) gives its documented result through
// the pure verifier. Upstream files are pretty-printed; the notary server served them compact, and
// JSON.stringify(JSON.parse(text)) reproduces those exact bytes (the snapshot hashes prove it).
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../../../src/reference/types.js';
import { keyIdOf } from '../../../src/signatures/dct/keys.js';
import { parseRoot } from '../../../src/signatures/dct/metadata.js';
import { checkRoleFile, checkRootFile, verifyDctTrustData } from '../../../src/signatures/dct/verify.js';
import type { DctVerifyInput, PinnedRootKey } from '../../../src/signatures/dct/verify.js';

const DIR = join(import.meta.dirname, '../../fixtures/conformance/connaisseur-notaryv1');
const text = (path: string): string => readFileSync(join(DIR, path), 'utf8');
const served = (path: string): Buffer => Buffer.from(JSON.stringify(JSON.parse(text(path))));
const pin = (name: string, path: string): PinnedRootKey => ({ name, key: createPublicKey(text(path)) });

const SAMPLE_V1 = 'sha256:799c0fa8aa4c9fbff5a99aef1b4b5c3abb9c2f34134345005982fad3489893c7' as Digest;
const SAMPLE_SIGN = 'sha256:a154797b8300165956ee1f16d98f3a1426301c1168f0462c73ce9bc03361cabf' as Digest;
const ALICE_TEST = 'sha256:ac904c9b191d14faf54b7952f2650a4bb21c201bf34131388b851e8ce992a652' as Digest;
// Inside every certificate's and every role's validity (alice's timestamp expires 2019-10-24).
const BEFORE_EXPIRY = new Date('2019-10-01T00:00:00Z');
const TODAY = new Date('2026-06-01T00:00:00Z');
const DERIVED_PIN = pin('derived', 'derived-pinned-root-key.pub');

function repository(image: 'sample-image' | 'alice-image', overrides: Partial<DctVerifyInput> = {}): DctVerifyInput {
  const delegations = new Map<string, Buffer>();
  if (image === 'alice-image') {
    for (const name of ['releases', 'phbelitz', 'chamsen']) delegations.set(`targets/${name}`, served(`alice-image/targets/${name}.json`));
  }
  return {
    gun: `docker.io/phbelitz/${image}`,
    files: {
      root: served(`${image}/root.json`),
      targets: served(`${image}/targets.json`),
      snapshot: served(`${image}/snapshot.json`),
      timestamp: served(`${image}/timestamp.json`),
    },
    pinnedRootKeys: [DERIVED_PIN],
    requiredDelegations: [],
    now: BEFORE_EXPIRY,
    delegations,
    lookup: { tag: image === 'sample-image' ? 'v1' : 'test', digest: image === 'sample-image' ? SAMPLE_V1 : ALICE_TEST, digestFromReference: false },
    ...overrides,
  };
}

describe('real Docker Hub trust data (sample-image, alice-image)', () => {
  test('sample-image v1 is valid, signed in targets, valid until the earliest expiry', () => {
    expect(verifyDctTrustData(repository('sample-image'))).toEqual([
      // The timestamp (2019-11-11T…) expires first.
      { status: 'valid', system: 'dct', signer: 'targets', digest: SAMPLE_V1, annotations: {}, validUntil: expect.stringMatching(/^2019-11-1\dT/) },
    ]);
  });

  test('sample-image tag "sign" resolves to its own digest; v1 digest for tag sign is a mismatch', () => {
    expect(verifyDctTrustData(repository('sample-image', { lookup: { tag: 'sign', digest: SAMPLE_SIGN, digestFromReference: false } }))[0]).toMatchObject({ status: 'valid' });
    expect(verifyDctTrustData(repository('sample-image', { lookup: { tag: 'sign', digest: SAMPLE_V1, digestFromReference: false } }))).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'DIGEST_MISMATCH',
        signer: 'targets',
        detail: `Docker Content Trust (targets of docker.io/phbelitz/sample-image) says tag sign is ${SAMPLE_SIGN} but the registry serves ${SAMPLE_V1} for it (was the tag pushed again after signing?)`,
      },
    ]);
  });

  test('a digest-only reference is found by searching the targets', () => {
    expect(verifyDctTrustData(repository('sample-image', { lookup: { tag: undefined, digest: SAMPLE_SIGN, digestFromReference: true } }))[0]).toMatchObject({
      status: 'valid',
      signer: 'targets',
      digest: SAMPLE_SIGN,
    });
  });

  test('an unknown tag is unsigned: no checks at all', () => {
    expect(verifyDctTrustData(repository('sample-image', { lookup: { tag: 'v2', digest: SAMPLE_V1, digestFromReference: false } }))).toEqual([]);
  });

  test('with a real clock the data is expired: the timestamp (checked first) says so', () => {
    const [check] = verifyDctTrustData(repository('sample-image', { now: TODAY }));
    expect(check).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
    expect(check?.status === 'invalid' && check.detail).toMatch(/^metadata timestamp of docker\.io\/phbelitz\/sample-image expired at 2019-11-1\dT[\d:.]+Z \(now 2026-06-01T00:00:00\.000Z\)/);
  });

  test('pinning the keys of validator-01_notaryv1.yaml (other repositories) makes root untrusted', () => {
    const yaml = text('validator-01_notaryv1.yaml');
    const pems = [...yaml.matchAll(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g)].map((m) => m[0].replace(/^\s+/gm, ''));
    expect(pems).toHaveLength(2);
    const keys = pems.map((pem, index) => ({ name: ['default', 'sse'][index] as string, key: createPublicKey(pem) }));
    for (const key of [...keys, pin('root.pub', 'keys/root.pub')]) {
      expect(verifyDctTrustData(repository('sample-image', { pinnedRootKeys: [key] }))).toEqual([
        {
          status: 'invalid',
          system: 'dct',
          reason: 'UNTRUSTED_SIGNER',
          detail: `root metadata of docker.io/phbelitz/sample-image is not signed by the pinned root key ${key.name}; it was signed by another root key (wrong key pinned, or the trust data is not the owner's)`,
        },
      ]);
    }
  });

  test('the same root key signs alice-image; its published targets/releases decides by default', () => {
    expect(verifyDctTrustData(repository('alice-image'))).toEqual([
      { status: 'valid', system: 'dct', signer: 'targets/releases', digest: ALICE_TEST, annotations: {}, validUntil: expect.stringMatching(/^2019-10-2\dT/) },
    ]);
  });

  test('required delegations: every one must have signed, each becomes a signer', () => {
    const checks = verifyDctTrustData(repository('alice-image', { requiredDelegations: ['targets/phbelitz', 'targets/chamsen'] }));
    expect(checks.map((c) => c.status === 'valid' && c.signer)).toEqual(['targets/phbelitz', 'targets/chamsen']);
    expect(verifyDctTrustData(repository('alice-image', { requiredDelegations: ['targets/ci'] }))).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'UNTRUSTED_SIGNER',
        detail: 'the policy requires the delegation targets/ci, but the targets metadata of docker.io/phbelitz/alice-image declares only targets/phbelitz, targets/releases, targets/chamsen',
      },
    ]);
  });

  test('a changed byte in a delegation file breaks the snapshot hash chain', () => {
    const input = repository('alice-image');
    const releases = Buffer.from(served('alice-image/targets/releases.json').toString('utf8').replace('"version":', '"version" :'));
    const checks = verifyDctTrustData({ ...input, delegations: new Map([['targets/releases', releases]]) });
    expect(checks).toEqual([
      {
        status: 'invalid',
        system: 'dct',
        reason: 'PAYLOAD_MISMATCH',
        detail: `the targets/releases metadata the notary server sent for docker.io/phbelitz/alice-image does not match snapshot: ${releases.length} bytes instead of ${releases.length - 1}`,
      },
    ]);
  });

  test('pretty-printed files are not what the server sent: the hash chain refuses them', () => {
    const input = repository('sample-image');
    const checks = verifyDctTrustData({ ...input, files: { ...input.files, snapshot: Buffer.from(text('sample-image/snapshot.json')) } });
    expect(checks[0]).toMatchObject({ status: 'invalid', reason: 'PAYLOAD_MISMATCH' });
  });
});

describe('crafted single files (signed with keys/)', () => {
  // 06 and 07 list the crafted keys for all roles; their root certificate names securesystems.de.
  const CRAFTED_GUN = 'securesystems.de';
  const craftedRoot = parseRoot(served('07_root_multiple_signatures.json'));
  if (!craftedRoot.ok) throw new Error(craftedRoot.error);
  const { keys, roles } = craftedRoot.value.body;
  const role = (name: 'targets' | 'snapshot' | 'timestamp') => roles.get(name)!;
  const ROOT = pin('root.pub', 'keys/root.pub');
  const TARGETS = pin('targets.pub', 'keys/targets.pub');

  test('the key IDs in keys/*_id.txt are the recomputed notary key IDs', () => {
    for (const name of ['root', 'targets', 'snapshot', 'timestamp', 'del1', 'del2']) {
      const id = text(`keys/${name}_id.txt`).trim();
      if (name === 'root') {
        // The root key is a certificate in the metadata; its ID covers the PEM certificate.
        expect(keys.has(id)).toBe(true);
        continue;
      }
      const der = createPublicKey(text(`keys/${name}.pub`)).export({ type: 'spki', format: 'der' });
      expect(keyIdOf('ecdsa', der.toString('base64'))).toBe(id);
    }
  });

  test('01: a correctly signed but expired root is refused as expired', () => {
    expect(checkRootFile(served('01_expired_root.json'), CRAFTED_GUN, [ROOT], TODAY)).toEqual({
      status: 'invalid',
      system: 'dct',
      reason: 'BAD_SIGNATURE',
      detail: 'metadata root of securesystems.de expired at 1990-01-01T12:12:13.219Z (now 2026-06-01T00:00:00.000Z); the repository owner must re-sign or publish again',
    });
  });

  test('02: a targets file whose signature does not verify', () => {
    const check = checkRoleFile('Targets', served('02_invalid_signature_targets.json'), 'targets', CRAFTED_GUN, keys, role('targets'), TODAY);
    expect(check).toMatchObject({ status: 'invalid', reason: 'BAD_SIGNATURE' });
    expect(check?.detail).toBe(
      'metadata targets of securesystems.de has 0 valid signature(s) by the 1 key(s) root lists for it, 1 required: the signature by key d0cef4ea6349… (ecdsa) does not verify',
    );
  });

  test('03: a validly signed but expired snapshot', () => {
    expect(checkRoleFile('Snapshot', served('03_expired_snapshot.json'), 'snapshot', CRAFTED_GUN, keys, role('snapshot'), TODAY)?.detail).toBe(
      'metadata snapshot of securesystems.de expired at 1990-10-27T08:00:05.282Z (now 2026-06-01T00:00:00.000Z); the repository owner must re-sign or publish again',
    );
  });

  const del1 = createPublicKey(text('keys/del1.pub')).export({ type: 'spki', format: 'der' }).toString('base64');
  const delegationKeys = new Map([[text('keys/del1_id.txt').trim(), { keytype: 'ecdsa', keyval: { private: null, public: del1 } }]]);
  const delegationRole = { keyids: [text('keys/del1_id.txt').trim()], threshold: 1 };

  test('04: a delegation file whose signature does not verify', () => {
    const check = checkRoleFile('Targets', served('04_invalid_signature_delegation.json'), 'targets/del1', CRAFTED_GUN, delegationKeys, delegationRole, TODAY);
    expect(check?.detail).toMatch(/^metadata targets\/del1 of securesystems\.de has 0 valid signature\(s\) by the 1 key\(s\) targets lists for it, 1 required: the signature by key 00d6123c8d50… \(ecdsa\) does not verify$/);
  });

  test('05: a validly signed but expired delegation', () => {
    const check = checkRoleFile('Targets', served('05_expired_delegation.json'), 'targets/del1', CRAFTED_GUN, delegationKeys, delegationRole, TODAY);
    expect(check).toMatchObject({ reason: 'BAD_SIGNATURE' });
    expect(check?.detail).toMatch(/^metadata targets\/del1 of securesystems\.de expired at 1970-08-26T12:12:13\.219Z/);
    // Its signature itself is fine: before expiry it is trusted.
    expect(checkRoleFile('Targets', served('05_expired_delegation.json'), 'targets/del1', CRAFTED_GUN, delegationKeys, delegationRole, new Date('1970-01-01T00:00:00Z'))).toBeUndefined();
  });

  test('06: a root without signatures is untrusted', () => {
    expect(checkRootFile(served('06_no_signature_root.json'), CRAFTED_GUN, [ROOT], TODAY)).toEqual({
      status: 'invalid',
      system: 'dct',
      reason: 'UNTRUSTED_SIGNER',
      detail: 'root metadata of securesystems.de carries no signatures',
    });
  });

  test('07: every pinned key must have signed root', () => {
    const file = served('07_root_multiple_signatures.json');
    expect(checkRootFile(file, CRAFTED_GUN, [ROOT, TARGETS], TODAY)).toBeUndefined();
    expect(checkRootFile(file, CRAFTED_GUN, [ROOT], TODAY)).toBeUndefined();
    const del1Pin = pin('del1.pub', 'keys/del1.pub');
    expect(checkRootFile(file, CRAFTED_GUN, [ROOT, del1Pin], TODAY)?.detail).toBe(
      "root metadata of securesystems.de is not signed by the pinned root key del1.pub; it was signed by another root key (wrong key pinned, or the trust data is not the owner's)",
    );
  });

  test('07: root certificates must name the repository (notary binds root to its GUN)', () => {
    const check = checkRootFile(served('07_root_multiple_signatures.json'), 'docker.io/someone/else', [ROOT], TODAY);
    expect(check).toMatchObject({ reason: 'BAD_SIGNATURE' });
    expect(check?.detail).toBe(
      'metadata root of docker.io/someone/else has 0 valid signature(s) by its own 1 root key(s), 1 required: ' +
        "key 52e8085cd75b…: its certificate names securesystems.de, not docker.io/someone/else; " +
        "a signature names key d0cef4ea6349…, which is not one of the role's keys",
    );
  });
});
