// The pure Docker Content Trust verifier on trust data built in the test (tuf-builder.ts): every
// rule and every failure path, each asserting the reason code and the sentence a developer reads.
import { createHash } from 'node:crypto';
import type { Digest } from '../../../src/reference/types.js';
import type { SignatureCheck } from '../../../src/signatures/types.js';
import { keyIdOf } from '../../../src/signatures/dct/keys.js';
import { consultedRoles, verifyBaseTrustData, verifyDctTrustData } from '../../../src/signatures/dct/verify.js';
import type { DctVerifyInput, PinnedKey } from '../../../src/signatures/dct/verify.js';
import {
  buildRepository,
  ecdsaKey,
  ed25519Key,
  keyEntry,
  pinnedKey,
  rootCertificateKey,
  rsaKey,
  signFile,
} from './tuf-builder.js';
import type { BuiltRepository, DelegationSpec, RepositorySpec, TestKey } from './tuf-builder.js';

const GUN = 'registry.example.com/team/app';
const HEX1 = '1'.repeat(64);
const HEX2 = '2'.repeat(64);
const D1 = `sha256:${HEX1}` as Digest;
const D2 = `sha256:${HEX2}` as Digest;
const DAY = 86_400_000;

let rootKey: TestKey & { certificatePem: string };
let targetsKey: TestKey;
let snapshotKey: TestKey;
let timestampKey: TestKey;
let releasesKey: TestKey;
let aliceKey: TestKey;

beforeAll(async () => {
  rootKey = await rootCertificateKey(GUN);
  targetsKey = ecdsaKey();
  snapshotKey = ecdsaKey();
  timestampKey = ecdsaKey();
  releasesKey = ecdsaKey();
  aliceKey = ecdsaKey();
});

function spec(overrides: Partial<RepositorySpec> = {}): RepositorySpec {
  return { gun: GUN, rootKeys: [rootKey], targetsKeys: [targetsKey], snapshotKey, timestampKey, targets: { v1: HEX1 }, ...overrides };
}

function input(repo: BuiltRepository, overrides: Partial<DctVerifyInput> = {}): DctVerifyInput {
  return {
    gun: GUN,
    files: { root: repo.root, targets: repo.targets, snapshot: repo.snapshot, timestamp: repo.timestamp },
    pinnedRootKeys: [pinnedKey('owner-root', rootKey)],
    requiredDelegations: [],
    now: new Date(),
    delegations: repo.delegations,
    lookup: { tag: 'v1', digest: D1, digestFromReference: false },
    ...overrides,
  };
}

const verify = (repo: BuiltRepository, overrides: Partial<DctVerifyInput> = {}): SignatureCheck[] => verifyDctTrustData(input(repo, overrides));

/** The single invalid check's reason and detail. */
function failure(checks: SignatureCheck[]): { reason: string; detail: string } {
  expect(checks).toHaveLength(1);
  const [check] = checks;
  if (check?.status !== 'invalid') throw new Error(`expected an invalid check, got ${JSON.stringify(checks)}`);
  return { reason: check.reason, detail: check.detail };
}

describe('valid trust data', () => {
  test('a tag in targets: one valid check, signer "targets", valid until the earliest expiry', () => {
    const timestampExpiry = new Date(Date.now() + 5 * DAY);
    const repo = buildRepository(spec({ expires: { timestamp: timestampExpiry.toISOString() } }));
    expect(verify(repo)).toEqual([{ status: 'valid', system: 'dct', signer: 'targets', digest: D1, annotations: {}, validUntil: timestampExpiry.toISOString() }]);
  });

  test('a root certificate that expires first bounds validUntil', async () => {
    const notAfter = new Date(Math.floor((Date.now() + 2 * DAY) / 1000) * 1000);
    const shortRoot = await rootCertificateKey(GUN, { notAfter });
    const repo = buildRepository(spec({ rootKeys: [shortRoot] }));
    const [check] = verify(repo, { pinnedRootKeys: [pinnedKey('short', shortRoot)] });
    expect(check).toMatchObject({ status: 'valid', validUntil: notAfter.toISOString() });
  });

  test.each([
    ['Ed25519 (eddsa)', () => ed25519Key()],
    ['RSA-PSS', () => rsaKey(2048, 'rsapss')],
    ['RSA PKCS#1 v1.5', () => rsaKey(2048, 'rsapkcs1v15')],
    ['ECDSA P-384', () => ecdsaKey('P-384')],
  ])('targets signed with %s verifies', (_name, makeKey) => {
    const key = makeKey();
    expect(verify(buildRepository(spec({ targetsKeys: [key] })))[0]).toMatchObject({ status: 'valid', signer: 'targets' });
  });

  test('the signature method is compared case-insensitively, as notary does', () => {
    const repo = buildRepository(spec({ signings: { targets: [{ key: targetsKey, methodLabel: 'ECDSA' }] } }));
    expect(repo.targets.toString('utf8')).toContain('"method":"ECDSA"');
    expect(verify(repo)[0]).toMatchObject({ status: 'valid' });
  });

  test('a digest-only reference is found by its digest; another digest is unsigned', () => {
    const repo = buildRepository(spec({ targets: { v1: HEX1, v2: HEX2 } }));
    expect(verify(repo, { lookup: { tag: undefined, digest: D2, digestFromReference: true } })[0]).toMatchObject({ status: 'valid', digest: D2 });
    expect(verify(repo, { lookup: { tag: undefined, digest: `sha256:${'3'.repeat(64)}` as Digest, digestFromReference: true } })).toEqual([]);
  });

  test('snapshots that do not list root (older repositories) are accepted', () => {
    expect(verify(buildRepository(spec({ snapshotWithoutRoot: true })))[0]).toMatchObject({ status: 'valid' });
  });
});

describe('root', () => {
  test('every pinned key must have signed it; the missing ones are named', () => {
    const other = ecdsaKey();
    const { reason, detail } = failure(verify(buildRepository(spec()), { pinnedRootKeys: [pinnedKey('owner-root', rootKey), pinnedKey('backup-root', other)] }));
    expect(reason).toBe('UNTRUSTED_SIGNER');
    expect(detail).toBe(
      `root metadata of ${GUN} is not signed by the pinned root key backup-root; it was signed by another root key (wrong key pinned, or the trust data is not the owner's)`,
    );
  });

  test('two pinned keys that both signed: accepted (the signature keyid is not consulted)', () => {
    const backup = ecdsaKey();
    const repo = buildRepository(spec({ signings: { root: [{ key: rootKey }, { key: backup, keyid: 'f'.repeat(64) }] } }));
    expect(verify(repo, { pinnedRootKeys: [pinnedKey('owner-root', rootKey), pinnedKey('backup-root', backup)] })[0]).toMatchObject({ status: 'valid' });
  });

  test('a pinned key signature alone is not enough: root must meet its own threshold', () => {
    const pinnedOnly = ecdsaKey();
    const repo = buildRepository(spec({ signings: { root: [{ key: pinnedOnly }] } }));
    const { reason, detail } = failure(verify(repo, { pinnedRootKeys: [pinnedKey('pinned', pinnedOnly)] }));
    expect(reason).toBe('BAD_SIGNATURE');
    expect(detail).toBe(`metadata root of ${GUN} has 0 valid signature(s) by its own 1 root key(s), 1 required: a signature names key ${pinnedOnly.id.slice(0, 12)}…, which is not one of the role's keys`);
  });

  test('root keys must be certificates naming the GUN and valid now', async () => {
    const plain = ecdsaKey();
    const plainRoot = failure(verify(buildRepository(spec({ rootKeys: [plain] })), { pinnedRootKeys: [pinnedKey('plain', plain)] }));
    expect(plainRoot.detail).toContain(`key ${plain.id.slice(0, 12)}…: root keys must be certificates`);

    const expired = await rootCertificateKey(GUN, { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
    const old = failure(verify(buildRepository(spec({ rootKeys: [expired] })), { pinnedRootKeys: [pinnedKey('old', expired)] }));
    expect(old).toMatchObject({ reason: 'BAD_SIGNATURE' });
    expect(old.detail).toMatch(/its certificate expired at \d{4}-/);

    const future = await rootCertificateKey(GUN, { notBefore: new Date(Date.now() + DAY) });
    expect(failure(verify(buildRepository(spec({ rootKeys: [future] })), { pinnedRootKeys: [pinnedKey('future', future)] })).detail).toMatch(/its certificate is valid only from/);
  });

  test('a root threshold of 2 needs two distinct root certificates', async () => {
    const second = await rootCertificateKey(GUN);
    const repo = buildRepository(spec({ rootKeys: [rootKey, second], thresholds: { root: 2 }, signings: { root: [{ key: rootKey }, { key: rootKey }] } }));
    expect(failure(verify(repo)).detail).toMatch(/^metadata root of .+ has 1 valid signature\(s\) by its own 2 root key\(s\), 2 required$/);
    const both = buildRepository(spec({ rootKeys: [rootKey, second], thresholds: { root: 2 } }));
    expect(verify(both)[0]).toMatchObject({ status: 'valid' });
  });

  test('expired root', () => {
    const { reason, detail } = failure(verify(buildRepository(spec({ expires: { root: '2020-01-01T00:00:00Z' } }))));
    expect(reason).toBe('BAD_SIGNATURE');
    expect(detail).toMatch(new RegExp(`^metadata root of ${GUN.replace(/\./g, '\\.')} expired at 2020-01-01T00:00:00\\.000Z \\(now \\d{4}-`));
  });
});

describe('targets, snapshot and timestamp signatures', () => {
  test('a signature by a key root does not list for the role does not count', () => {
    const stranger = ecdsaKey();
    const { reason, detail } = failure(verify(buildRepository(spec({ signings: { targets: [{ key: stranger }] } }))));
    expect(reason).toBe('BAD_SIGNATURE');
    expect(detail).toBe(
      `metadata targets of ${GUN} has 0 valid signature(s) by the 1 key(s) root lists for it, 1 required: a signature names key ${stranger.id.slice(0, 12)}…, which is not one of the role's keys`,
    );
  });

  test('a signature claiming a listed keyid but made by another key does not verify', () => {
    const stranger = ecdsaKey();
    const detail = failure(verify(buildRepository(spec({ signings: { snapshot: [{ key: stranger, keyid: snapshotKey.id }] } })))).detail;
    expect(detail).toBe(
      `metadata snapshot of ${GUN} has 0 valid signature(s) by the 1 key(s) root lists for it, 1 required: the signature by key ${snapshotKey.id.slice(0, 12)}… (ecdsa) does not verify`,
    );
  });

  test('a key stored under an ID that is not its content hash cannot sign', () => {
    const fakeId = 'e'.repeat(64);
    const repo = buildRepository(
      spec({
        edit: {
          root: (signed) => {
            const keys = signed['keys'] as Record<string, unknown>;
            keys[fakeId] = keyEntry(timestampKey);
            (signed['roles'] as Record<string, { keyids: string[] }>)['timestamp'] = { keyids: [fakeId], threshold: 1 } as never;
          },
        },
        signings: { timestamp: [{ key: timestampKey, keyid: fakeId }] },
      }),
    );
    expect(failure(verify(repo)).detail).toBe(
      `metadata timestamp of ${GUN} has 0 valid signature(s) by the 1 key(s) root lists for it, 1 required: key eeeeeeeeeeee… has the key ID ${timestampKey.id.slice(0, 12)}… when recomputed`,
    );
  });

  test('a threshold counts distinct keys: a key signing twice counts once', () => {
    const twice = buildRepository(spec({ targetsKeys: [targetsKey, ecdsaKey()], thresholds: { targets: 2 }, signings: { targets: [{ key: targetsKey }, { key: targetsKey }] } }));
    expect(failure(verify(twice)).detail).toMatch(/^metadata targets of .+ has 1 valid signature\(s\) by the 2 key\(s\) root lists for it, 2 required$/);
  });

  test('a threshold counts distinct keys: one key listed twice (as a certificate and as a raw key) counts once', async () => {
    const certificate = await rootCertificateKey('targets signer');
    const spki = certificate.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const raw: TestKey = { ...certificate, keytype: 'ecdsa', publicB64: spki, id: keyIdOf('ecdsa', spki) };
    const repo = buildRepository(spec({ targetsKeys: [certificate, raw], thresholds: { targets: 2 } }));
    expect(failure(verify(repo)).detail).toMatch(/^metadata targets of .+ has 1 valid signature\(s\) by the 2 key\(s\) root lists for it, 2 required$/);
    const distinct = buildRepository(spec({ targetsKeys: [certificate, targetsKey], thresholds: { targets: 2 } }));
    expect(verify(distinct)[0]).toMatchObject({ status: 'valid' });
  });

  test('RSA keys under 2048 bits are refused', () => {
    const weak = rsaKey(1024, 'rsapss');
    expect(failure(verify(buildRepository(spec({ targetsKeys: [weak] })))).detail).toContain(`key ${weak.id.slice(0, 12)}… cannot be used: its RSA key has 1024 bits; at least 2048 are required`);
  });

  test('a method that does not fit the key, or an unknown method, does not verify', () => {
    for (const method of ['eddsa', 'rsapss', 'rsapkcs1v15', 'hmac']) {
      const repo = buildRepository(spec({ signings: { targets: [{ key: targetsKey, methodLabel: method }] } }));
      expect(failure(verify(repo)).detail).toContain(`(${method}) does not verify`);
    }
  });

  test('ECDSA signatures must be raw r||s: a DER signature is refused', () => {
    const derSigning = { ...targetsKey, sign: (message: Buffer) => ecdsaDer(targetsKey, message) };
    const repo = buildRepository(spec({ signings: { targets: [{ key: derSigning }] } }));
    expect(failure(verify(repo)).detail).toContain('(ecdsa) does not verify');
  });

  test.each(['timestamp', 'snapshot', 'targets'] as const)('expired %s', (role) => {
    const repo = buildRepository(spec({ expires: { [role]: '2021-03-04T05:06:07.123456789+01:00' } }));
    const { reason, detail } = failure(verify(repo));
    expect(reason).toBe('BAD_SIGNATURE');
    expect(detail.startsWith(`metadata ${role} of ${GUN} expired at 2021-03-04T04:06:07.123Z (now `)).toBe(true);
    expect(detail.endsWith('); the repository owner must re-sign or publish again')).toBe(true);
  });
});

describe('the hash chain over the served bytes', () => {
  test('snapshot bytes that differ from what timestamp records (same length)', () => {
    const repo = buildRepository(spec());
    const snapshot = Buffer.from(repo.snapshot.toString('utf8').replace('"version":1', '"version":2'));
    expect(failure(verify({ ...repo, snapshot }))).toEqual({
      reason: 'PAYLOAD_MISMATCH',
      detail: `the snapshot metadata the notary server sent for ${GUN} does not match timestamp: its sha256 differs`,
    });
  });

  test('targets bytes of another length than snapshot records', () => {
    const repo = buildRepository(spec());
    const targets = Buffer.from(`${repo.targets.toString('utf8')} `);
    expect(failure(verify({ ...repo, targets }))).toEqual({
      reason: 'PAYLOAD_MISMATCH',
      detail: `the targets metadata the notary server sent for ${GUN} does not match snapshot: ${targets.length} bytes instead of ${targets.length - 1}`,
    });
  });

  test('a root other than the one snapshot lists (a second, validly signed root)', () => {
    const repo = buildRepository(spec());
    const other = buildRepository(spec({ expires: { root: new Date(Date.now() + 100 * DAY).toISOString() } }));
    expect(failure(verify({ ...repo, root: other.root })).detail).toMatch(/^the root metadata the notary server sent for .+ does not match snapshot: /);
  });

  test('a sha512 that differs is caught even when sha256 matches', () => {
    const repo = buildRepository(
      spec({
        edit: {
          snapshot: (signed) => {
            const meta = signed['meta'] as Record<string, { hashes: Record<string, string> }>;
            (meta['targets'] as { hashes: Record<string, string> }).hashes['sha512'] = Buffer.alloc(64).toString('base64');
          },
        },
      }),
    );
    expect(failure(verify(repo)).detail).toBe(`the targets metadata the notary server sent for ${GUN} does not match snapshot: its sha512 differs`);
  });

  test('a snapshot that does not list targets', () => {
    const repo = buildRepository(spec({ edit: { snapshot: (signed) => void delete (signed['meta'] as Record<string, unknown>)['targets'] } }));
    expect(failure(verify(repo))).toEqual({ reason: 'MALFORMED', detail: `snapshot metadata of ${GUN} does not list targets` });
  });
});

describe('delegations', () => {
  const releases = (overrides: Partial<DelegationSpec> = {}): DelegationSpec => ({
    name: 'targets/releases',
    keys: [releasesKey],
    targets: { v1: HEX1 },
    ...overrides,
  });

  test('a published targets/releases is read first; a tag only it lists is signed by it', () => {
    const repo = buildRepository(spec({ targets: {}, delegations: [releases()] }));
    expect(verify(repo)).toEqual([expect.objectContaining({ status: 'valid', signer: 'targets/releases' })]);
  });

  test('what the base step asks to fetch: the releases file, or nothing; and the roles it reads, in order', () => {
    const withReleases = verifyBaseTrustData(input(buildRepository(spec({ delegations: [releases()] }))));
    if (!withReleases.ok) throw new Error(withReleases.check.detail);
    expect([withReleases.fetch, withReleases.base.consult, consultedRoles(withReleases.base)]).toEqual([
      ['targets/releases'],
      ['targets/releases', 'targets'],
      'targets/releases, then targets',
    ]);
    const unpublished = verifyBaseTrustData(input(buildRepository(spec({ delegations: [releases({ published: false })] }))));
    expect(unpublished.ok && [unpublished.fetch, unpublished.base.consult]).toEqual([[], ['targets']]);
    const required = verifyBaseTrustData(input(buildRepository(spec({ delegations: [releases(), { name: 'targets/alice', keys: [aliceKey], targets: {} }] })), { requiredDelegations: ['targets/releases', 'targets/alice'] }));
    expect(required.ok && [required.fetch, consultedRoles(required.base)]).toEqual([['targets/releases', 'targets/alice'], 'targets/releases and targets/alice']);
  });

  test("Docker's order: a tag only targets lists is signed by targets, even with a published targets/releases", () => {
    const repo = buildRepository(spec({ targets: { only: HEX1 }, delegations: [releases()] }));
    expect(verify(repo, { lookup: { tag: 'only', digest: D1, digestFromReference: false } })).toEqual([
      expect.objectContaining({ status: 'valid', signer: 'targets', digest: D1 }),
    ]);
    // The strict option: only the listed delegations count.
    expect(failure(verify(repo, { requiredDelegations: ['targets/releases'], lookup: { tag: 'only', digest: D1, digestFromReference: false } })).reason).toBe('UNTRUSTED_SIGNER');
  });

  test('conflicting hashes: the first role in the order wins, and a digest only the later role vouches for is a mismatch', () => {
    const repo = buildRepository(spec({ targets: { v1: HEX2 }, delegations: [releases()] }));
    expect(verify(repo)).toEqual([expect.objectContaining({ status: 'valid', signer: 'targets/releases', digest: D1 })]);
    const mismatch = verify(repo, { lookup: { tag: 'v1', digest: D2, digestFromReference: false } });
    expect(failure(mismatch).reason).toBe('DIGEST_MISMATCH');
    expect(mismatch[0]).toMatchObject({ signer: 'targets/releases' });
  });

  test('a digest-only reference in Docker\'s order: a name releases lists is releases\' alone', () => {
    // targets lists v1 with D2, but releases lists v1 (with D1): D2 is not what any Docker client trusts for v1.
    const shadowed = buildRepository(spec({ targets: { v1: HEX2 }, delegations: [releases()] }));
    expect(verify(shadowed, { lookup: { tag: undefined, digest: D2, digestFromReference: true } })).toEqual([]);
    expect(verify(shadowed, { lookup: { tag: undefined, digest: D1, digestFromReference: true } })).toEqual([expect.objectContaining({ status: 'valid', signer: 'targets/releases' })]);
    // Under another name only targets lists, D2 is signed by targets.
    const other = buildRepository(spec({ targets: { v1: HEX2, v2: HEX2 }, delegations: [releases()] }));
    expect(verify(other, { lookup: { tag: undefined, digest: D2, digestFromReference: true } })).toEqual([expect.objectContaining({ status: 'valid', signer: 'targets' })]);
  });

  test('a tag in no role is unsigned (no check), whatever the order', () => {
    const repo = buildRepository(spec({ targets: { v1: HEX1 }, delegations: [releases()] }));
    expect(verify(repo, { lookup: { tag: 'v9', digest: D1, digestFromReference: false } })).toEqual([]);
    expect(verify(repo, { requiredDelegations: ['targets/releases'], lookup: { tag: 'v9', digest: D1, digestFromReference: false } })).toEqual([]);
  });

  test('a consulted targets/releases that cannot be trusted denies even when targets lists the tag (notary would skip it)', () => {
    // spec() signs v1 in targets too.
    const expired = buildRepository(spec({ delegations: [releases({ expires: '2022-09-24T16:10:16Z' })] }));
    expect(failure(verify(expired)).reason).toBe('BAD_SIGNATURE');
    const underThreshold = buildRepository(spec({ delegations: [releases({ keys: [releasesKey, aliceKey], threshold: 2, signings: [{ key: releasesKey }] })] }));
    expect(failure(verify(underThreshold))).toEqual({
      reason: 'BAD_SIGNATURE',
      detail: `metadata targets/releases of ${GUN} has 1 valid signature(s) by the 2 key(s) targets lists for it, 2 required`,
    });
  });

  test('other delegations alone do not change the default: targets decides', () => {
    const repo = buildRepository(spec({ delegations: [{ name: 'targets/alice', keys: [aliceKey], targets: { v1: HEX2 } }] }));
    expect(verify(repo)[0]).toMatchObject({ status: 'valid', signer: 'targets', digest: D1 });
  });

  test('required delegations must all have signed, and agree', () => {
    const alice = { name: 'targets/alice', keys: [aliceKey], targets: { v1: HEX1 } };
    const both = buildRepository(spec({ targets: {}, delegations: [releases(), alice] }));
    expect(verify(both, { requiredDelegations: ['targets/releases', 'targets/alice'] }).map((c) => c.status === 'valid' && c.signer)).toEqual([
      'targets/releases',
      'targets/alice',
    ]);

    const aliceMissing = buildRepository(spec({ targets: {}, delegations: [releases(), { ...alice, targets: {} }] }));
    expect(failure(verify(aliceMissing, { requiredDelegations: ['targets/releases', 'targets/alice'] }))).toEqual({
      reason: 'UNTRUSTED_SIGNER',
      detail: `tag v1 of ${GUN} is signed by targets/releases but not by the required targets/alice`,
    });

    const disagree = buildRepository(spec({ targets: {}, delegations: [releases(), { ...alice, targets: { v1: HEX2 } }] }));
    expect(failure(verify(disagree, { requiredDelegations: ['targets/releases', 'targets/alice'] }))).toEqual({
      reason: 'DIGEST_MISMATCH',
      detail: `Docker Content Trust (targets/alice of ${GUN}) says tag v1 is ${D2} but the registry serves ${D1} for it (was the tag pushed again after signing?) (targets/releases: ${D1}, targets/alice: ${D2})`,
    });
  });

  test('a tag signed by none of the required delegations but present in targets says so; absent everywhere is unsigned', () => {
    const repo = buildRepository(spec({ delegations: [releases({ targets: {} })] }));
    expect(failure(verify(repo, { requiredDelegations: ['targets/releases'] }))).toEqual({
      reason: 'UNTRUSTED_SIGNER',
      detail: `tag v1 of ${GUN} is signed only in the top-level targets role, which this rule excludes: its delegations option requires targets/releases (without it, Docker's order would accept targets)`,
    });
    expect(verify(repo, { requiredDelegations: ['targets/releases'], lookup: { tag: 'v9', digest: D1, digestFromReference: false } })).toEqual([]);
  });

  test('a delegation may only sign names inside its paths; outside them, targets decides', () => {
    const outside = buildRepository(spec({ targets: {}, delegations: [releases({ paths: ['release-'] })] }));
    expect(verify(outside)).toEqual([]);
    const fallback = buildRepository(spec({ targets: { v1: HEX2 }, delegations: [releases({ paths: ['release-'] })] }));
    expect(verify(fallback, { lookup: { tag: 'v1', digest: D2, digestFromReference: false } })).toEqual([expect.objectContaining({ status: 'valid', signer: 'targets', digest: D2 })]);
    const inside = buildRepository(spec({ targets: {}, delegations: [releases({ paths: ['release-'], targets: { 'release-1': HEX1 } })] }));
    expect(verify(inside, { lookup: { tag: 'release-1', digest: D1, digestFromReference: false } })[0]).toMatchObject({ status: 'valid' });
    expect(verify(outside, { lookup: { tag: undefined, digest: D1, digestFromReference: true } })).toEqual([]);
  });

  test('path hash prefixes are not paths: as in notary (which has no such field), such a delegation signs nothing', () => {
    const prefix = createHash('sha256').update('v1').digest('hex').slice(0, 2);
    const match = buildRepository(spec({ targets: {}, delegations: [releases({ pathHashPrefixes: [prefix] })] }));
    expect(verify(match)).toEqual([]);
    expect(verify(match, { lookup: { tag: undefined, digest: D1, digestFromReference: true } })).toEqual([]);
    const inTargets = buildRepository(spec({ targets: { v1: HEX2 }, delegations: [releases({ pathHashPrefixes: [prefix] })] }));
    expect(verify(inTargets, { lookup: { tag: 'v1', digest: D2, digestFromReference: false } })[0]).toMatchObject({ status: 'valid', signer: 'targets' });
  });

  test('a delegation signed by a key targets does not list for it', () => {
    const repo = buildRepository(spec({ delegations: [releases({ signings: [{ key: aliceKey }] })] }));
    expect(failure(verify(repo))).toEqual({
      reason: 'BAD_SIGNATURE',
      detail: `metadata targets/releases of ${GUN} has 0 valid signature(s) by the 1 key(s) targets lists for it, 1 required: a signature names key ${aliceKey.id.slice(0, 12)}…, which is not one of the role's keys`,
    });
  });

  test('an expired delegation', () => {
    const repo = buildRepository(spec({ delegations: [releases({ expires: '2022-09-24T16:10:16.644751607+02:00' })] }));
    expect(failure(verify(repo)).detail.startsWith(`metadata targets/releases of ${GUN} expired at 2022-09-24T14:10:16.644Z`)).toBe(true);
  });

  test('a delegation the snapshot lists but the server does not serve', () => {
    const repo = buildRepository(spec({ delegations: [releases()] }));
    expect(failure(verify(repo, { delegations: new Map() }))).toEqual({
      reason: 'MALFORMED',
      detail: `snapshot metadata of ${GUN} lists the delegation targets/releases, but the notary server does not serve it`,
    });
  });

  test('a delegation file with other bytes than snapshot records', () => {
    const repo = buildRepository(spec({ delegations: [releases()] }));
    const other = buildRepository(spec({ delegations: [releases({ targets: { v1: HEX2 } })] }));
    expect(failure(verify(repo, { delegations: other.delegations })).reason).toBe('PAYLOAD_MISMATCH');
  });
});

describe('pinned delegation keys', () => {
  const releases = (overrides: Partial<DelegationSpec> = {}): DelegationSpec => ({ name: 'targets/releases', keys: [releasesKey], targets: { v1: HEX1 }, ...overrides });
  const pins = (...keys: [string, TestKey][]): Map<string, PinnedKey[]> => new Map([['targets/releases', keys.map(([name, key]) => pinnedKey(name, key))]]);

  test('a delegation signed by its pinned key is valid', () => {
    const repo = buildRepository(spec({ targets: {}, delegations: [releases()] }));
    expect(verify(repo, { pinnedDelegationKeys: pins(['ci', releasesKey]) })).toEqual([expect.objectContaining({ status: 'valid', signer: 'targets/releases' })]);
  });

  test('a delegation key listed as a certificate matches its pinned public key', async () => {
    const certificate = await rootCertificateKey('ci');
    const repo = buildRepository(spec({ targets: {}, delegations: [releases({ keys: [certificate] })] }));
    expect(verify(repo, { pinnedDelegationKeys: pins(['ci', certificate]) })[0]).toMatchObject({ status: 'valid', signer: 'targets/releases' });
  });

  test('one of several pinned keys is enough when the threshold is 1', () => {
    const repo = buildRepository(spec({ targets: {}, delegations: [releases({ keys: [aliceKey] })] }));
    expect(verify(repo, { pinnedDelegationKeys: pins(['ci', releasesKey], ['alice', aliceKey]) })[0]).toMatchObject({ status: 'valid' });
  });

  test('a delegation that does not list the pinned key fails before its file is fetched', () => {
    const repo = buildRepository(spec({ delegations: [releases({ keys: [aliceKey] })] }));
    const base = verifyBaseTrustData(input(repo, { pinnedDelegationKeys: pins(['ci', releasesKey]) }));
    expect(base.ok).toBe(false);
    expect(!base.ok && base.check.reason).toBe('UNTRUSTED_SIGNER');
  });

  test('listed but not signing: the signatures that count must be by pinned keys, up to the threshold', () => {
    const signedByAlice = buildRepository(spec({ delegations: [releases({ keys: [releasesKey, aliceKey], signings: [{ key: aliceKey }] })] }));
    expect(failure(verify(signedByAlice, { pinnedDelegationKeys: pins(['ci', releasesKey]) })).reason).toBe('UNTRUSTED_SIGNER');
    const twoOfTwo = buildRepository(spec({ targets: {}, delegations: [releases({ keys: [releasesKey, aliceKey], threshold: 2 })] }));
    expect(failure(verify(twoOfTwo, { pinnedDelegationKeys: pins(['ci', releasesKey]) })).reason).toBe('UNTRUSTED_SIGNER');
    expect(verify(twoOfTwo, { pinnedDelegationKeys: pins(['ci', releasesKey], ['alice', aliceKey]) })[0]).toMatchObject({ status: 'valid' });
  });

  test('a pin applies only to a role that is read: an unpublished targets/releases leaves targets to decide', () => {
    const repo = buildRepository(spec({ delegations: [releases({ keys: [aliceKey], published: false })] }));
    expect(verify(repo, { pinnedDelegationKeys: pins(['ci', releasesKey]) })[0]).toMatchObject({ status: 'valid', signer: 'targets' });
  });

  test('pins apply to required delegations too', () => {
    const alice = { name: 'targets/alice', keys: [aliceKey], targets: { v1: HEX1 } };
    const repo = buildRepository(spec({ targets: {}, delegations: [alice] }));
    const pinned = (key: TestKey) => new Map([['targets/alice', [pinnedKey('alice', key)]]]);
    expect(verify(repo, { requiredDelegations: ['targets/alice'], pinnedDelegationKeys: pinned(aliceKey) })[0]).toMatchObject({ status: 'valid', signer: 'targets/alice' });
    expect(failure(verify(repo, { requiredDelegations: ['targets/alice'], pinnedDelegationKeys: pinned(releasesKey) })).reason).toBe('UNTRUSTED_SIGNER');
  });
});

describe('lookups', () => {
  test('a digest that is not sha256 cannot be compared', () => {
    const sha512 = `sha512:${'a'.repeat(128)}` as Digest;
    expect(failure(verify(buildRepository(spec()), { lookup: { tag: 'v1', digest: sha512, digestFromReference: true } }))).toEqual({
      reason: 'MALFORMED',
      detail: `Docker Content Trust records sha256 digests only; the image digest is ${sha512}`,
    });
  });

  test('a target entry without a sha256 hash', () => {
    const repo = buildRepository(
      spec({ edit: { targets: (signed) => void ((signed['targets'] as Record<string, unknown>)['v1'] = { hashes: { sha512: Buffer.alloc(64).toString('base64') }, length: 3 }) } }),
    );
    expect(failure(verify(repo))).toEqual({ reason: 'MALFORMED', detail: `targets of ${GUN} lists tag v1 without a sha256 hash` });
  });

  test('a mismatch for a digest the pod pinned is worded for the pod', () => {
    expect(failure(verify(buildRepository(spec()), { lookup: { tag: 'v1', digest: D2, digestFromReference: true } })).detail).toBe(
      `Docker Content Trust (targets of ${GUN}) says tag v1 is ${D1} but the pod pins ${D2}`,
    );
  });
});

describe('malformed files', () => {
  test.each([
    ['not JSON', () => Buffer.from('{"signed":'), /^root metadata of .+ cannot be used: it is not valid JSON \(/],
    ['a duplicate member name', () => Buffer.from('{"signed":{"_type":"Root","_type":"Root"},"signatures":[]}'), /duplicate member name "_type"/],
    ['another _type', () => signFile({ _type: 'Targets', expires: '2099-01-01T00:00:00Z', version: 1 }, []), /its signed._type is "Targets", expected "Root"/],
    ['a bad expiry time', () => signFile({ _type: 'Root', expires: '2099-13-01T00:00:00Z', version: 1 }, []), /its signed.expires "2099-13-01T00:00:00Z" is not an RFC 3339 time/],
    ['a fractional version', () => Buffer.from('{"signed":{"_type":"Root","expires":"2099-01-01T00:00:00Z","version":1.5},"signatures":[]}'), /its signed.version is not a non-negative integer/],
  ])('a root with %s is refused as MALFORMED', (_name, make, message) => {
    const repo = buildRepository(spec());
    const { reason, detail } = failure(verify({ ...repo, root: make() }));
    expect(reason).toBe('MALFORMED');
    expect(detail).toMatch(message);
  });

  test('a number without a canonical form (a float elsewhere in signed) is refused', () => {
    const bytes = Buffer.from('{"signed":{"_type":"Root","expires":"2099-01-01T00:00:00Z","version":1,"extra":0.5},"signatures":[]}');
    expect(failure(verify({ ...buildRepository(spec()), root: bytes })).detail).toBe(
      `root metadata of ${GUN} cannot be used: its signed object has no canonical form: the number 0.5 is not an integer`,
    );
  });

  test('more signatures than are ever examined', () => {
    const signatures = Array.from({ length: 33 }, () => ({ keyid: 'a', method: 'ecdsa', sig: 'AA==' }));
    const bytes = Buffer.from(JSON.stringify({ signed: { _type: 'Root', expires: '2099-01-01T00:00:00Z', version: 1 }, signatures }));
    expect(failure(verify({ ...buildRepository(spec()), root: bytes })).detail).toBe(`root metadata of ${GUN} cannot be used: it carries 33 signatures; at most 32 are examined`);
  });
});

function ecdsaDer(key: TestKey, message: Buffer): Buffer {
  // Re-encode the raw r||s the key produced as ASN.1 DER, the encoding cosign uses and notary does not.
  const raw = key.sign(message);
  const integer = (bytes: Buffer): Buffer => {
    let trimmed = bytes;
    while (trimmed.length > 1 && trimmed[0] === 0 && ((trimmed[1] ?? 0) & 0x80) === 0) trimmed = trimmed.subarray(1);
    if (((trimmed[0] ?? 0) & 0x80) !== 0) trimmed = Buffer.concat([Buffer.from([0]), trimmed]);
    return Buffer.concat([Buffer.from([0x02, trimmed.length]), trimmed]);
  };
  const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
