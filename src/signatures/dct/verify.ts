// Verifies Docker Content Trust (Notary v1 / TUF) metadata for one image, with Connaisseur's root
// pinning and Docker's lookup order, and reports what the trusted data says about the image's tag or
// digest. Pure: it receives the files exactly as the notary server served them, the pinned keys and
// the clock, and returns SignatureChecks; it never fetches and never decides admission.
//
// Two steps, because which delegation files are needed is only known once targets is trusted:
//   verifyBaseTrustData   root (pinned keys, its own threshold, expiry), timestamp, snapshot, targets
//                         (signatures by the keys root lists, expiry, hashes over the served bytes),
//                         then which roles to consult (and whether they list the pinned delegation
//                         keys) and which delegation files to fetch;
//   verifyTargetLookup    those delegations (declared in targets, signed by their keys and by the
//                         pinned ones, hashes in snapshot, not expired), then the tag or digest:
//                         in Docker's order (targets/releases, then targets: the first role that
//                         lists it decides) or, when the policy names delegations, in every one.
// A consulted delegation that cannot be trusted (expired, under its threshold, not signed by the
// pinned keys) denies with its reason. Notary's client skips an expired or under-threshold role with
// a warning and falls back to targets; an admission check fails closed instead, so a broken releases
// role is seen rather than silently bypassed.
// Trust is anchored only in the pinned keys: a file is believed only after its signatures and its
// hash chain (timestamp → snapshot → root/targets/delegations) check out.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Digest } from '../../reference/types.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { InvalidSignatureReason, SignatureCheck } from '../types.js';
import type { JsonValue } from '../../util/strict-json.js';
import { parseTufKey, verifyTufSignature } from './keys.js';
import type { TufKey } from './keys.js';
import { parseRoot, parseSnapshot, parseTargets, parseTimestamp } from './metadata.js';
import type { DelegatedRole, FileMeta, RoleKeys, RootBody, SignedFile, SnapshotBody, TargetsBody } from './metadata.js';

/** Docker signs into this delegation when it exists, and looks a tag up there before targets. */
export const RELEASES_ROLE = 'targets/releases';

/** A key the policy pins (for root or a delegation): a public key, or the key of a pinned certificate. */
export interface PinnedKey {
  /** As the policy names it; shown when the metadata is not signed by it. */
  readonly name: string;
  readonly key: KeyObject;
}

export type PinnedRootKey = PinnedKey;

export interface DctBaseFiles {
  readonly root: Buffer;
  readonly targets: Buffer;
  readonly snapshot: Buffer;
  readonly timestamp: Buffer;
}

export interface DctBaseInput {
  /** Globally unique name of the repository: `<registry>/<repository>`, e.g. `docker.io/library/alpine`. */
  readonly gun: string;
  readonly files: DctBaseFiles;
  /** Every one of them must have signed root (Connaisseur's rule). */
  readonly pinnedRootKeys: readonly PinnedRootKey[];
  /** Delegations (`targets/<name>`) that must all have signed the image; empty = Docker's order. */
  readonly requiredDelegations: readonly string[];
  /**
   * Per delegation: keys its signatures must come from. The delegation must list one of them, and
   * its threshold of valid signatures must be by them. Absent or empty: no delegation is pinned.
   */
  readonly pinnedDelegationKeys?: ReadonlyMap<string, readonly PinnedKey[]>;
  readonly now: Date;
}

type InvalidCheck = Extract<SignatureCheck, { status: 'invalid' }>;

/** The verified base metadata and the plan for the lookup; opaque to callers except for `fetch`. */
export interface VerifiedBase {
  readonly gun: string;
  readonly targets: SignedFile<TargetsBody>;
  readonly snapshot: SignedFile<SnapshotBody>;
  /** The roles whose targets decide the image, in order. */
  readonly consult: readonly string[];
  /**
   * How `consult` decides. `docker`: the first role that lists the name decides (targets/releases
   * when it is published, then targets), as `docker pull` with content trust does. `required`: the
   * policy named delegations, and every one of them must list the name with the admitted digest.
   */
  readonly rule: 'docker' | 'required';
  /** Pinned keys of the consulted delegations that the policy pins. */
  readonly pins: ReadonlyMap<string, readonly PinnedKey[]>;
  /** Expiry of everything verified so far (metadata and root certificates). */
  readonly expiries: readonly Date[];
}

export type DctBaseOutcome =
  | { readonly ok: true; readonly base: VerifiedBase; /** Delegation files to fetch, each listed in snapshot. */ readonly fetch: readonly string[] }
  | { readonly ok: false; readonly check: InvalidCheck };

export interface DctLookup {
  /** The tag to look up; undefined for a digest-only reference (then the digest is searched for). */
  readonly tag: string | undefined;
  /** The digest being admitted. */
  readonly digest: Digest;
  /** True when the pod itself pinned the digest (wording only: "the pod pins" vs "the registry serves"). */
  readonly digestFromReference: boolean;
}

export interface DctVerifyInput extends DctBaseInput {
  /** Delegation files by role name, as served; a role the server does not have is simply absent. */
  readonly delegations: ReadonlyMap<string, Buffer>;
  readonly lookup: DctLookup;
}

// parseRoot and parseTargets already cap a role's key list; this bounds the parsing done per role.
const MAX_LISTED_KEYS = 64;

function invalid(reason: InvalidSignatureReason, detail: string, signer?: string): InvalidCheck {
  return signer === undefined ? { status: 'invalid', system: 'dct', reason, detail } : { status: 'invalid', system: 'dct', reason, detail, signer };
}

/** Both steps at once, for callers (and tests) that already hold every file. */
export function verifyDctTrustData(input: DctVerifyInput): SignatureCheck[] {
  const base = verifyBaseTrustData(input);
  if (!base.ok) return [base.check];
  return verifyTargetLookup(base.base, input.delegations, input.lookup, input.now);
}

export function verifyBaseTrustData(input: DctBaseInput): DctBaseOutcome {
  const { gun, files, now } = input;
  const fail = (check: InvalidCheck): DctBaseOutcome => ({ ok: false, check });

  const root = parseRoot(files.root);
  if (!root.ok) return fail(invalid('MALFORMED', `root metadata of ${gun} cannot be used: ${root.error}`));
  const rootTrust = verifyRoot(root.value, gun, input.pinnedRootKeys, now);
  if (!rootTrust.ok) return fail(rootTrust.error);
  const rootBody = root.value.body;
  const expiries: Date[] = [root.value.expires, ...rootTrust.value.certificateExpiries];

  const timestamp = parseTimestamp(files.timestamp);
  if (!timestamp.ok) return fail(invalid('MALFORMED', `timestamp metadata of ${gun} cannot be used: ${timestamp.error}`));
  const timestampProblem = checkRole(timestamp.value, 'timestamp', gun, rootBody.keys, roleOf(rootBody, 'timestamp'), now);
  if (timestampProblem !== undefined) return fail(timestampProblem);
  expiries.push(timestamp.value.expires);

  const snapshotHash = hashProblem(files.snapshot, timestamp.value.body.snapshot, 'snapshot', 'timestamp', gun);
  if (snapshotHash !== undefined) return fail(snapshotHash);
  const snapshot = parseSnapshot(files.snapshot);
  if (!snapshot.ok) return fail(invalid('MALFORMED', `snapshot metadata of ${gun} cannot be used: ${snapshot.error}`));
  const snapshotProblem = checkRole(snapshot.value, 'snapshot', gun, rootBody.keys, roleOf(rootBody, 'snapshot'), now);
  if (snapshotProblem !== undefined) return fail(snapshotProblem);
  expiries.push(snapshot.value.expires);
  const meta = snapshot.value.body.meta;

  // Notary always lists root in the snapshot; older repositories may not, and root is pinned anyway.
  const rootMeta = meta.get('root');
  if (rootMeta !== undefined) {
    const rootHash = hashProblem(files.root, rootMeta, 'root', 'snapshot', gun);
    if (rootHash !== undefined) return fail(rootHash);
  }
  const targetsMeta = meta.get('targets');
  if (targetsMeta === undefined) return fail(invalid('MALFORMED', `snapshot metadata of ${gun} does not list targets`));
  const targetsHash = hashProblem(files.targets, targetsMeta, 'targets', 'snapshot', gun);
  if (targetsHash !== undefined) return fail(targetsHash);
  const targets = parseTargets(files.targets);
  if (!targets.ok) return fail(invalid('MALFORMED', `targets metadata of ${gun} cannot be used: ${targets.error}`));
  const targetsProblem = checkRole(targets.value, 'targets', gun, rootBody.keys, roleOf(rootBody, 'targets'), now);
  if (targetsProblem !== undefined) return fail(targetsProblem);
  expiries.push(targets.value.expires);

  const declared = new Map(targets.value.body.delegations.map((role) => [role.name, role]));
  const plan = (consult: string[], rule: VerifiedBase['rule']): DctBaseOutcome => {
    const pins = new Map<string, readonly PinnedKey[]>();
    for (const name of consult) {
      const pinned = input.pinnedDelegationKeys?.get(name);
      const role = declared.get(name);
      if (pinned === undefined || pinned.length === 0 || role === undefined) continue;
      // Known from targets alone, so a delegation handed to other keys fails before any fetch.
      const problem = unpinnedRoleProblem(role, targets.value.body.delegationKeys, pinned, gun);
      if (problem !== undefined) return fail(problem);
      pins.set(name, pinned);
    }
    const base: VerifiedBase = { gun, targets: targets.value, snapshot: snapshot.value, consult, rule, pins, expiries };
    return { ok: true, base, fetch: consult.filter((name) => name !== 'targets') };
  };

  if (input.requiredDelegations.length > 0) {
    for (const name of input.requiredDelegations) {
      if (!declared.has(name)) {
        const names = [...declared.keys()];
        return fail(
          invalid(
            'UNTRUSTED_SIGNER',
            `the policy requires the delegation ${name}, but the targets metadata of ${gun} declares ${names.length === 0 ? 'no delegations' : `only ${names.join(', ')}`}`,
          ),
        );
      }
      // Declared (a signer was added) but never published: nobody has signed anything with it yet.
      if (!meta.has(name)) {
        return fail(invalid('UNTRUSTED_SIGNER', `the policy requires the delegation ${name} of ${gun}, which is declared but has never signed anything (snapshot does not list it)`));
      }
    }
    return plan([...input.requiredDelegations], 'required');
  }
  // Docker's order. A targets/releases that is declared but was never published (no snapshot entry)
  // is skipped, as notary skips a role it has no checksum for.
  return plan(declared.has(RELEASES_ROLE) && meta.has(RELEASES_ROLE) ? [RELEASES_ROLE, 'targets'] : ['targets'], 'docker');
}

/** The consulted roles as the UNSIGNED message names them: "targets/releases, then targets" or "a and b". */
export function consultedRoles(base: VerifiedBase): string {
  return base.consult.join(base.rule === 'docker' ? ', then ' : ' and ');
}

export function verifyTargetLookup(base: VerifiedBase, delegationFiles: ReadonlyMap<string, Buffer>, lookup: DctLookup, now: Date): SignatureCheck[] {
  const { gun } = base;
  const expiries = [...base.expiries];
  const consulted: { name: string; targets: SignedFile<TargetsBody>; role: DelegatedRole | undefined }[] = [];

  for (const name of base.consult) {
    if (name === 'targets') {
      consulted.push({ name, targets: base.targets, role: undefined });
      continue;
    }
    const role = base.targets.body.delegations.find((declared) => declared.name === name);
    const meta = base.snapshot.body.meta.get(name);
    if (role === undefined || meta === undefined) {
      return [invalid('MALFORMED', `delegation ${name} of ${gun} is not both declared in targets and listed in snapshot`)];
    }
    const bytes = delegationFiles.get(name);
    if (bytes === undefined) {
      return [invalid('MALFORMED', `snapshot metadata of ${gun} lists the delegation ${name}, but the notary server does not serve it`)];
    }
    const hash = hashProblem(bytes, meta, name, 'snapshot', gun);
    if (hash !== undefined) return [hash];
    const parsed = parseTargets(bytes);
    if (!parsed.ok) return [invalid('MALFORMED', `${name} metadata of ${gun} cannot be used: ${parsed.error}`)];
    const problem = checkRole(parsed.value, name, gun, base.targets.body.delegationKeys, role, now, base.pins.get(name));
    if (problem !== undefined) return [problem];
    expiries.push(parsed.value.expires);
    consulted.push({ name, targets: parsed.value, role });
  }

  const [algorithm, hex] = lookup.digest.split(':') as [string, string];
  if (algorithm !== 'sha256') {
    return [invalid('MALFORMED', `Docker Content Trust records sha256 digests only; the image digest is ${lookup.digest}`)];
  }
  const wanted = lookup.tag === undefined ? `digest ${lookup.digest}` : `tag ${lookup.tag}`;
  const admitted = lookup.digestFromReference
    ? `the pod pins ${lookup.digest}`
    : `the registry serves ${lookup.digest} for it (was the tag pushed again after signing?)`;
  const validUntil = new Date(Math.min(...expiries.map((date) => date.getTime()))).toISOString();
  const valid = (signer: string): SignatureCheck => ({ status: 'valid', system: 'dct', signer, digest: lookup.digest, annotations: {}, validUntil });

  const found: { name: string; digest: string }[] = [];
  const missing: string[] = [];
  for (const [index, role] of consulted.entries()) {
    let digest: string | 'no-sha256' | undefined;
    if (lookup.tag !== undefined) digest = findTag(role.targets.body, role.role, lookup.tag);
    else {
      // In Docker's order a name an earlier role lists is that role's: a later role cannot vouch for
      // another digest under it.
      const shadowing = base.rule === 'docker' ? consulted.slice(0, index) : [];
      digest = findDigest(role.targets.body, role.role, hex, (name) => shadowing.some((earlier) => findTag(earlier.targets.body, earlier.role, name) !== undefined));
    }
    if (digest === 'no-sha256') {
      return [invalid('MALFORMED', `${role.name} of ${gun} lists ${wanted} without a sha256 hash`)];
    }
    if (digest === undefined) {
      missing.push(role.name);
      continue;
    }
    found.push({ name: role.name, digest });
    if (base.rule !== 'docker') continue;

    // Docker's order: the first role that lists the name decides, whatever later roles say.
    if (digest === lookup.digest) return [valid(role.name)];
    const later = lookup.tag === undefined ? undefined : laterListing(consulted.slice(index + 1), lookup.tag, lookup.digest);
    const note = later === undefined ? '' : `; ${later} lists ${lookup.digest} for it, but ${role.name} is read first, as Docker does`;
    return [invalid('DIGEST_MISMATCH', `Docker Content Trust (${role.name} of ${gun}) says ${wanted} is ${digest} but ${admitted}${note}`, role.name)];
  }
  if (base.rule === 'docker') return [];

  if (found.length === 0) {
    // Say more than "unsigned" when the top-level targets role has it and the policy excludes it.
    if (lookup.tag !== undefined) {
      const inTargets = findTag(base.targets.body, undefined, lookup.tag);
      if (inTargets?.startsWith('sha256:') === true) {
        return [
          invalid(
            'UNTRUSTED_SIGNER',
            `${wanted} of ${gun} is signed only in the top-level targets role, which this rule excludes: its delegations option requires ${base.consult.join(' and ')} (without it, Docker's order would accept targets)`,
          ),
        ];
      }
    }
    return [];
  }
  if (missing.length > 0) {
    return [
      invalid(
        'UNTRUSTED_SIGNER',
        `${wanted} of ${gun} is signed by ${found.map((f) => f.name).join(', ')} but not by the required ${missing.join(', ')}`,
      ),
    ];
  }

  const mismatched = found.filter((f) => f.digest !== lookup.digest);
  if (mismatched.length > 0) {
    const first = mismatched[0] as { name: string; digest: string };
    const others = found.length > 1 ? ` (${found.map((f) => `${f.name}: ${f.digest}`).join(', ')})` : '';
    return [invalid('DIGEST_MISMATCH', `Docker Content Trust (${first.name} of ${gun}) says ${wanted} is ${first.digest} but ${admitted}${others}`, first.name)];
  }
  return found.map((f) => valid(f.name));
}

/** The first of `roles` that lists `tag` with `digest`, for the conflicting-hashes message. */
function laterListing(roles: readonly { name: string; targets: SignedFile<TargetsBody>; role: DelegatedRole | undefined }[], tag: string, digest: string): string | undefined {
  return roles.find((role) => findTag(role.targets.body, role.role, tag) === digest)?.name;
}

/**
 * One root file on its own: pinned keys, its own root threshold, expiry. Undefined when it is
 * trusted. (verifyBaseTrustData runs the same checks; this entry point serves conformance tests.)
 */
export function checkRootFile(bytes: Buffer, gun: string, pinned: readonly PinnedRootKey[], now: Date): InvalidCheck | undefined {
  const root = parseRoot(bytes);
  if (!root.ok) return invalid('MALFORMED', `root metadata of ${gun} cannot be used: ${root.error}`);
  const trusted = verifyRoot(root.value, gun, pinned, now);
  return trusted.ok ? undefined : trusted.error;
}

/**
 * One targets, delegation, snapshot or timestamp file on its own: signatures by `roleKeys` of `keys`
 * (as root or a delegating targets file lists them) and expiry. Undefined when it is trusted.
 */
export function checkRoleFile(
  kind: 'Targets' | 'Snapshot' | 'Timestamp',
  bytes: Buffer,
  role: string,
  gun: string,
  keys: ReadonlyMap<string, JsonValue>,
  roleKeys: RoleKeys,
  now: Date,
): InvalidCheck | undefined {
  const parsed = kind === 'Targets' ? parseTargets(bytes) : kind === 'Snapshot' ? parseSnapshot(bytes) : parseTimestamp(bytes);
  if (!parsed.ok) return invalid('MALFORMED', `${role} metadata of ${gun} cannot be used: ${parsed.error}`);
  return checkRole(parsed.value, role, gun, keys, roleKeys, now);
}

/** The `sha256:<hex>` a role records for `tag`, if the role may sign that name. */
function findTag(body: TargetsBody, role: DelegatedRole | undefined, tag: string): string | 'no-sha256' | undefined {
  const entry = body.targets.get(tag);
  if (entry === undefined || (role !== undefined && !covers(role, tag))) return undefined;
  return entry.sha256 === undefined ? 'no-sha256' : `sha256:${entry.sha256.toString('hex')}`;
}

/** Some name `role` may sign whose sha256 is `hex` and that `shadowed` does not exclude. */
function findDigest(body: TargetsBody, role: DelegatedRole | undefined, hex: string, shadowed: (name: string) => boolean): string | undefined {
  for (const [name, entry] of body.targets) {
    if (entry.sha256 !== undefined && entry.sha256.toString('hex') === hex && (role === undefined || covers(role, name)) && !shadowed(name)) {
      return `sha256:${hex}`;
    }
  }
  return undefined;
}

/**
 * Whether a delegation may sign `name`: a prefix in its `paths` ("" = every name). Notary ignores
 * targets a delegation lists outside them. Notary's delegations have no `path_hash_prefixes` (its
 * role type has no such field), so a role restricted only by hash prefixes signs nothing for
 * Docker, and nothing here either.
 */
function covers(role: DelegatedRole, name: string): boolean {
  return role.paths?.some((prefix) => name.startsWith(prefix)) ?? false;
}

function roleOf(root: RootBody, role: 'root' | 'targets' | 'snapshot' | 'timestamp'): RoleKeys {
  // parseRoot guarantees all four roles.
  return root.roles.get(role) as RoleKeys;
}

function expiredProblem(file: SignedFile<unknown>, role: string, gun: string, now: Date): InvalidCheck | undefined {
  if (now.getTime() <= file.expires.getTime()) return undefined;
  return invalid('BAD_SIGNATURE', `metadata ${role} of ${gun} expired at ${file.expires.toISOString()} (now ${now.toISOString()}); the repository owner must re-sign or publish again`);
}

/**
 * Signatures by at least `threshold` distinct keys of the role; with `pinned`, that many of them by
 * pinned keys; then expiry.
 */
function checkRole(
  file: SignedFile<unknown>,
  role: string,
  gun: string,
  keys: ReadonlyMap<string, JsonValue>,
  roleKeys: RoleKeys,
  now: Date,
  pinned?: readonly PinnedKey[],
): InvalidCheck | undefined {
  const counted = countValidKeys(file, keys, roleKeys, () => undefined);
  if (counted.valid < roleKeys.threshold) {
    const notes = counted.notes.length > 0 ? `: ${counted.notes.slice(0, 3).join('; ')}` : '';
    const listedBy = role.startsWith('targets/') ? 'targets' : 'root';
    return invalid(
      'BAD_SIGNATURE',
      `metadata ${role} of ${gun} has ${counted.valid} valid signature(s) by the ${roleKeys.keyids.length} key(s) ${listedBy} lists for it, ${roleKeys.threshold} required${notes}`,
    );
  }
  if (pinned !== undefined && pinned.length > 0) {
    const byPinned = counted.keys.filter((key) => isPinned(key, pinned));
    if (byPinned.length < roleKeys.threshold) {
      const others = counted.keys.filter((key) => !isPinned(key, pinned)).map((key) => shortId(key.id));
      return invalid(
        'UNTRUSTED_SIGNER',
        `metadata ${role} of ${gun} has ${byPinned.length} valid signature(s) by its pinned key(s) ${pinned.map((key) => key.name).join(', ')}, ${roleKeys.threshold} required; it is signed by the key(s) ${others.join(', ')}, which the policy does not pin for ${role}`,
      );
    }
  }
  return expiredProblem(file, role, gun, now);
}

function isPinned(key: TufKey, pinned: readonly PinnedKey[]): boolean {
  return pinned.some((pin) => pin.key.equals(key.publicKey));
}

const shortId = (id: string): string => `${id.slice(0, 12)}…`;

/**
 * A pinned delegation must list at least one pinned key among its own (a certificate counts by its
 * key). Undefined when it does; keys that cannot be parsed count as not pinned.
 */
function unpinnedRoleProblem(role: DelegatedRole, keys: ReadonlyMap<string, JsonValue>, pinned: readonly PinnedKey[], gun: string): InvalidCheck | undefined {
  const listed = role.keyids.slice(0, MAX_LISTED_KEYS).map((id) => ({ id, key: parseTufKey(keys.get(id)) }));
  if (listed.some(({ id, key }) => key.ok && key.value.id === id && isPinned(key.value, pinned))) return undefined;
  const ids = role.keyids.length === 0 ? 'no keys' : `the key(s) ${role.keyids.map(shortId).join(', ')}`;
  return invalid(
    'UNTRUSTED_SIGNER',
    `the delegation ${role.name} of ${gun} is signed with ${ids}, none of them the pinned ${pinned.map((key) => key.name).join(', ')}: its signers were changed by whoever holds the targets key, or the policy pins the wrong key`,
  );
}

interface Counted {
  readonly valid: number;
  /** Why signatures or keys did not count, for the message. */
  readonly notes: readonly string[];
  readonly keys: readonly TufKey[];
}

/**
 * Distinct keys (by key material) of the role whose signature verifies. A signature counts only when
 * its keyid is listed for the role, the key's recomputed ID equals that keyid, and `acceptable`
 * (extra rules, e.g. for root certificates) has no objection.
 */
function countValidKeys(file: SignedFile<unknown>, keys: ReadonlyMap<string, JsonValue>, role: RoleKeys, acceptable: (key: TufKey) => string | undefined): Counted {
  const seen = new Set<string>();
  const notes: string[] = [];
  const counted: TufKey[] = [];
  for (const signature of file.signatures) {
    const short = `${signature.keyid.slice(0, 12)}…`;
    if (!role.keyids.includes(signature.keyid)) {
      notes.push(`a signature names key ${short}, which is not one of the role's keys`);
      continue;
    }
    const raw = keys.get(signature.keyid);
    if (raw === undefined) {
      notes.push(`key ${short} is listed for the role but not defined`);
      continue;
    }
    const key = parseTufKey(raw);
    if (!key.ok) {
      notes.push(`key ${short} cannot be used: ${key.error}`);
      continue;
    }
    if (key.value.id !== signature.keyid) {
      notes.push(`key ${short} has the key ID ${key.value.id.slice(0, 12)}… when recomputed`);
      continue;
    }
    const objection = acceptable(key.value);
    if (objection !== undefined) {
      notes.push(`key ${short}: ${objection}`);
      continue;
    }
    const material = key.value.spki.toString('hex');
    if (seen.has(material)) continue;
    if (!verifyTufSignature(key.value.publicKey, signature.method, file.message, signature.sig)) {
      notes.push(`the signature by key ${short} (${signature.method}) does not verify`);
      continue;
    }
    seen.add(material);
    counted.push(key.value);
  }
  return { valid: counted.length, notes, keys: counted };
}

/**
 * Root must be signed by every pinned key (any signature, whatever its keyid claims), by a threshold
 * of its own root keys (certificates naming the GUN, valid now: notary's rule), and not be expired.
 */
function verifyRoot(root: SignedFile<RootBody>, gun: string, pinned: readonly PinnedRootKey[], now: Date): Result<{ certificateExpiries: Date[] }, InvalidCheck> {
  if (pinned.length === 0) return err(invalid('UNTRUSTED_SIGNER', `no root keys are pinned for ${gun}`));
  if (root.signatures.length === 0) return err(invalid('UNTRUSTED_SIGNER', `root metadata of ${gun} carries no signatures`));
  const unsigned = pinned.filter((key) => !root.signatures.some((signature) => verifyTufSignature(key.key, signature.method, root.message, signature.sig)));
  if (unsigned.length > 0) {
    return err(
      invalid(
        'UNTRUSTED_SIGNER',
        `root metadata of ${gun} is not signed by the pinned root key${unsigned.length > 1 ? 's' : ''} ${unsigned.map((key) => key.name).join(', ')}; it was signed by another root key (wrong key pinned, or the trust data is not the owner's)`,
      ),
    );
  }

  const rootRole = roleOf(root.body, 'root');
  const counted = countValidKeys(root, root.body.keys, rootRole, (key) => {
    if (key.certificate === undefined) return 'root keys must be certificates';
    const names = key.certificate.commonNames;
    if (names.length !== 1 || names[0] !== gun) return `its certificate names ${names.length === 0 ? 'no CN' : names.join(', ')}, not ${gun}`;
    if (now < key.certificate.notBefore) return `its certificate is valid only from ${key.certificate.notBefore.toISOString()}`;
    if (now > key.certificate.notAfter) return `its certificate expired at ${key.certificate.notAfter.toISOString()}`;
    return undefined;
  });
  if (counted.valid < rootRole.threshold) {
    const notes = counted.notes.length > 0 ? `: ${counted.notes.slice(0, 3).join('; ')}` : '';
    return err(
      invalid(
        'BAD_SIGNATURE',
        `metadata root of ${gun} has ${counted.valid} valid signature(s) by its own ${rootRole.keyids.length} root key(s), ${rootRole.threshold} required${notes}`,
      ),
    );
  }
  const expired = expiredProblem(root, 'root', gun, now);
  if (expired !== undefined) return err(expired);
  return ok({ certificateExpiries: counted.keys.flatMap((key) => (key.certificate === undefined ? [] : [key.certificate.notAfter])) });
}

/** The served bytes against the length and hashes another (already trusted) file records for them. */
function hashProblem(bytes: Buffer, meta: FileMeta, role: string, listedBy: string, gun: string): InvalidCheck | undefined {
  const mismatch = (what: string): InvalidCheck =>
    invalid('PAYLOAD_MISMATCH', `the ${role} metadata the notary server sent for ${gun} does not match ${listedBy}: ${what}`);
  if (meta.length !== undefined && meta.length !== bytes.length) return mismatch(`${bytes.length} bytes instead of ${meta.length}`);
  if (!timingSafeEqual(createHash('sha256').update(bytes).digest(), meta.sha256)) return mismatch('its sha256 differs');
  if (meta.sha512 !== undefined && !timingSafeEqual(createHash('sha512').update(bytes).digest(), meta.sha512)) return mismatch('its sha512 differs');
  return undefined;
}
