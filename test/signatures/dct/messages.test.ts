// The sentences the Docker Content Trust metadata reader gives for TUF files it cannot use (they end
// up in "… metadata of REPO cannot be used: …" denials). Each case edits one field of the real
// Notary v1 metadata of connaisseur's alice-image fixture and parses it with the real reader.
// Then the sentences of the lookup itself (which role decides, pinned delegation keys), on trust
// data built with tuf-builder.ts, each with its reason code.
import { readFileSync } from 'node:fs';
import type { Digest } from '../../../src/reference/types.js';
import { parseRoot, parseSnapshot, parseTargets, parseTimestamp } from '../../../src/signatures/dct/metadata.js';
import { consultedRoles, verifyBaseTrustData, verifyDctTrustData } from '../../../src/signatures/dct/verify.js';
import type { DctVerifyInput } from '../../../src/signatures/dct/verify.js';
import { buildRepository, ecdsaKey, pinnedKey, rootCertificateKey } from './tuf-builder.js';
import type { DelegationSpec, RepositorySpec, TestKey } from './tuf-builder.js';

const FIXTURE = new URL('../../fixtures/conformance/connaisseur-notaryv1/alice-image/', import.meta.url).pathname;

type Json = Record<string, unknown>;
type Parser = (bytes: Buffer) => { ok: true } | { ok: false; error: string };

const PARSERS: Record<'root' | 'targets' | 'snapshot' | 'timestamp', Parser> = { root: parseRoot, targets: parseTargets, snapshot: parseSnapshot, timestamp: parseTimestamp };

/** The fixture file with `change` applied to its parsed JSON (the whole document), as bytes. */
function edited(file: keyof typeof PARSERS, change: (document: Json, signed: Json) => void): Buffer {
  const document = JSON.parse(readFileSync(`${FIXTURE}${file}.json`, 'utf8')) as Json;
  change(document, document['signed'] as Json);
  return Buffer.from(JSON.stringify(document));
}

const HASH32 = Buffer.alloc(32, 1).toString('base64');
const delegation = (extra: Json = {}): Json => ({ name: 'targets/releases', keyids: ['k'], threshold: 1, paths: [''], ...extra });
const delegations = (roles: unknown): ((d: Json, s: Json) => void) => (_d, s) => {
  s['delegations'] = { keys: {}, roles };
};

test('every fixture file parses unchanged (the cases below change one thing each)', () => {
  for (const [file, parse] of Object.entries(PARSERS)) expect(parse(readFileSync(`${FIXTURE}${file}.json`)).ok).toBe(true);
});

test.each<[string, keyof typeof PARSERS, (document: Json, signed: Json) => void, string]>([
  // The envelope every role file shares.
  ['a document that is a list', 'timestamp', () => undefined, 'it is not a JSON object'],
  ['no signed object', 'timestamp', (d) => delete d['signed'], 'it has no "signed" object'],
  ['no expiry', 'timestamp', (_d, s) => delete s['expires'], 'it has no signed.expires time'],
  ['signatures that are not a list', 'timestamp', (d) => (d['signatures'] = {}), 'its signatures field is not a list'],
  ['a signature without a method', 'timestamp', (d) => (d['signatures'] = [{ keyid: 'k', sig: 'AA==' }]), 'signature 0 lacks a keyid, method or sig string'],
  // root.json
  ['roles that are a list', 'root', (_d, s) => (s['roles'] = []), 'signed.roles is not an object'],
  ['a role whose keyids are not strings', 'root', (_d, s) => ((s['roles'] as Json)['targets'] = { keyids: [1], threshold: 1 }), 'signed.roles.targets.keyids is not a list of strings'],
  ['a role listing too many keys', 'root', (_d, s) => ((s['roles'] as Json)['targets'] = { keyids: Array.from({ length: 65 }, (_, i) => `k${i}`), threshold: 1 }), 'signed.roles.targets.keyids lists more than 64 keys'],
  ['a zero threshold', 'root', (_d, s) => ((s['roles'] as Json)['snapshot'] = { keyids: ['k'], threshold: 0 }), 'signed.roles.snapshot.threshold is not a positive integer'],
  ['too many keys', 'root', (_d, s) => (s['keys'] = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, {}]))), 'signed.keys lists 65 keys; at most 64 are accepted'],
  // targets.json
  ['targets that are a list', 'targets', (_d, s) => (s['targets'] = []), 'signed.targets is not an object'],
  ['a target without a length', 'targets', (_d, s) => (s['targets'] = { v1: { hashes: { sha256: HASH32 } } }), 'target "v1" has no valid length'],
  ['a target without hashes', 'targets', (_d, s) => (s['targets'] = { v1: { length: 10 } }), 'target "v1" has no hashes object'],
  ['a target with a short sha256', 'targets', (_d, s) => (s['targets'] = { v1: { length: 10, hashes: { sha256: 'AAAA' } } }), 'target "v1" has a sha256 hash that is not 32 bytes of base64'],
  ['delegations that are a list', 'targets', (_d, s) => (s['delegations'] = []), 'signed.delegations is not an object'],
  ['delegation roles that are an object', 'targets', delegations({}), 'signed.delegations.roles is not a list'],
  ['too many delegations', 'targets', delegations(Array.from({ length: 65 }, (_, i) => delegation({ name: `targets/r${i}` }))), 'it declares 65 delegations; at most 64 are accepted'],
  ['a delegation declared twice', 'targets', delegations([delegation(), delegation()]), 'delegation targets/releases is declared twice'],
  ['a delegation not under targets/', 'targets', delegations([delegation({ name: 'releases' })]), 'signed.delegations.roles[0].name is not a delegation name (targets/<name>)'],
  ['delegation paths that are not strings', 'targets', delegations([delegation({ paths: [1] })]), 'delegation targets/releases has paths or path_hash_prefixes that are not lists of strings'],
  ['a delegation with paths and hash prefixes', 'targets', delegations([delegation({ path_hash_prefixes: ['ab'] })]), 'delegation targets/releases sets both paths and path_hash_prefixes'],
  ['upper-case hash prefixes', 'targets', delegations([delegation({ paths: undefined, path_hash_prefixes: ['AB'] })]), 'delegation targets/releases has path_hash_prefixes that are not lower-case hex'],
  // snapshot.json and timestamp.json
  ['snapshot meta that is a list', 'snapshot', (_d, s) => (s['meta'] = []), 'signed.meta is not an object'],
  ['timestamp meta that is a list', 'timestamp', (_d, s) => (s['meta'] = []), 'signed.meta is not an object'],
  ['a negative length', 'timestamp', (_d, s) => ((s['meta'] as Json)['snapshot'] = { length: -1, hashes: { sha256: HASH32 } }), 'signed.meta.snapshot.length is not a non-negative integer'],
  ['no hashes', 'timestamp', (_d, s) => ((s['meta'] as Json)['snapshot'] = { length: 1 }), 'signed.meta.snapshot.hashes is missing'],
  ['a short sha256', 'snapshot', (_d, s) => ((s['meta'] as Json)['root'] = { length: 1, hashes: { sha256: 'AAAA' } }), 'signed.meta["root"].hashes.sha256 is not 32 bytes of base64'],
  ['a short sha512', 'timestamp', (_d, s) => ((s['meta'] as Json)['snapshot'] = { length: 1, hashes: { sha256: HASH32, sha512: HASH32 } }), 'signed.meta.snapshot.hashes.sha512 is not 64 bytes of base64'],
])('%s', (name, file, change, message) => {
  const bytes = name === 'a document that is a list' ? Buffer.from('[]') : edited(file, change);
  expect(PARSERS[file](bytes)).toEqual({ ok: false, error: message });
});

describe('what a developer reads when the lookup denies', () => {
  const GUN = 'registry.example.com/team/app';
  const HEX1 = '1'.repeat(64);
  const HEX2 = '2'.repeat(64);
  const D1 = `sha256:${HEX1}` as Digest;
  const D2 = `sha256:${HEX2}` as Digest;
  let keys: Record<'root' | 'targets' | 'snapshot' | 'timestamp' | 'ci' | 'other', TestKey>;

  beforeAll(async () => {
    keys = { root: await rootCertificateKey(GUN), targets: ecdsaKey(), snapshot: ecdsaKey(), timestamp: ecdsaKey(), ci: ecdsaKey(), other: ecdsaKey() };
  });

  const releases = (overrides: Partial<DelegationSpec> = {}): DelegationSpec => ({ name: 'targets/releases', keys: [keys.ci], targets: { v1: HEX1 }, ...overrides });
  function input(repository: Partial<RepositorySpec>, overrides: Partial<DctVerifyInput> = {}): DctVerifyInput {
    const repo = buildRepository({ gun: GUN, rootKeys: [keys.root], targetsKeys: [keys.targets], snapshotKey: keys.snapshot, timestampKey: keys.timestamp, ...repository });
    return {
      gun: GUN,
      files: repo,
      delegations: repo.delegations,
      pinnedRootKeys: [pinnedKey('owner-root', keys.root)],
      requiredDelegations: [],
      now: new Date(),
      lookup: { tag: 'v1', digest: D1, digestFromReference: false },
      ...overrides,
    };
  }
  const pinCi = (): Map<string, ReturnType<typeof pinnedKey>[]> => new Map([['targets/releases', [pinnedKey('ci-signer', keys.ci)]]]);
  const short = (key: TestKey): string => `${key.id.slice(0, 12)}…`;

  test.each<[string, () => DctVerifyInput, string, () => string]>([
    [
      'the tag only in targets while the rule requires targets/releases (the strict option)',
      () => input({ targets: { v1: HEX1 }, delegations: [releases({ targets: {} })] }, { requiredDelegations: ['targets/releases'] }),
      'UNTRUSTED_SIGNER',
      () => `tag v1 of ${GUN} is signed only in the top-level targets role, which this rule excludes: its delegations option requires targets/releases (without it, Docker's order would accept targets)`,
    ],
    [
      'releases and targets disagree and the registry serves what only targets says',
      () => input({ targets: { v1: HEX2 }, delegations: [releases()] }, { lookup: { tag: 'v1', digest: D2, digestFromReference: false } }),
      'DIGEST_MISMATCH',
      () =>
        `Docker Content Trust (targets/releases of ${GUN}) says tag v1 is ${D1} but the registry serves ${D2} for it (was the tag pushed again after signing?); targets lists ${D2} for it, but targets/releases is read first, as Docker does`,
    ],
    [
      'a pinned delegation that lists none of the pinned keys',
      () => input({ delegations: [releases({ keys: [keys.other] })] }, { pinnedDelegationKeys: pinCi() }),
      'UNTRUSTED_SIGNER',
      () =>
        `the delegation targets/releases of ${GUN} is signed with the key(s) ${short(keys.other)}, none of them the pinned ci-signer: its signers were changed by whoever holds the targets key, or the policy pins the wrong key`,
    ],
    [
      'a pinned delegation that lists the pinned key but is signed by another',
      () => input({ delegations: [releases({ keys: [keys.ci, keys.other], signings: [{ key: keys.other }] })] }, { pinnedDelegationKeys: pinCi() }),
      'UNTRUSTED_SIGNER',
      () =>
        `metadata targets/releases of ${GUN} has 0 valid signature(s) by its pinned key(s) ci-signer, 1 required; it is signed by the key(s) ${short(keys.other)}, which the policy does not pin for targets/releases`,
    ],
    [
      'a consulted targets/releases that has expired, while targets lists the tag',
      () => input({ targets: { v1: HEX1 }, delegations: [releases({ expires: '2022-09-24T16:10:16Z' })] }, { now: new Date('2026-12-08T00:00:00Z') }),
      'BAD_SIGNATURE',
      () => `metadata targets/releases of ${GUN} expired at 2022-09-24T16:10:16.000Z (now 2026-12-08T00:00:00.000Z); the repository owner must re-sign or publish again`,
    ],
  ])('%s', (_name, make, reason, detail) => {
    expect(verifyDctTrustData(make())).toEqual([{ status: 'invalid', system: 'dct', reason, detail: detail(), ...(reason === 'DIGEST_MISMATCH' ? { signer: 'targets/releases' } : {}) }]);
  });

  test('a tag in no consulted role is no check at all (UNSIGNED), and the roles it was looked for in are named in order', () => {
    const docker = input({ targets: {}, delegations: [releases({ targets: {} })] });
    expect(verifyDctTrustData(docker)).toEqual([]);
    const base = verifyBaseTrustData(docker);
    expect(base.ok && consultedRoles(base.base)).toBe('targets/releases, then targets');
    const plain = verifyBaseTrustData(input({ targets: {} }));
    expect(plain.ok && consultedRoles(plain.base)).toBe('targets');
  });
});
