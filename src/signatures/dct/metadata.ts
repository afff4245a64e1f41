// Parsing of Notary v1 TUF metadata files (root, targets and its delegations, snapshot, timestamp)
// into typed values, keeping what verification needs: the exact served bytes (for snapshot and
// timestamp hashes), the canonical bytes of `signed` (what the signatures cover), the signatures,
// the expiry and the role-specific fields. Nothing here is trusted yet; verify.ts decides that.
// Shape errors are one phrase each; a file with any of them is not used at all.
import { decodeStrictBase64 } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { isJsonObject, parseStrictJsonBytes } from '../../util/strict-json.js';
import type { JsonObject, JsonValue } from '../../util/strict-json.js';
import { canonicalJson } from './canonical-json.js';

export type TufType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';

/** The four roles every repository has; delegations are `targets/<name>`. */
export type BaseRole = 'root' | 'targets' | 'snapshot' | 'timestamp';

export interface TufSignature {
  readonly keyid: string;
  readonly method: string;
  readonly sig: Buffer;
}

export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

export interface FileMeta {
  readonly length: number | undefined;
  readonly sha256: Buffer;
  readonly sha512: Buffer | undefined;
}

export interface TargetEntry {
  /** Undefined when the entry records no sha256 (then it can name no image). */
  readonly sha256: Buffer | undefined;
  readonly length: number;
}

export interface DelegatedRole {
  readonly name: string;
  readonly keyids: readonly string[];
  readonly threshold: number;
  /** Target-name prefixes the role may sign ("" = every name); undefined when hash prefixes are used. */
  readonly paths: readonly string[] | undefined;
  readonly pathHashPrefixes: readonly string[] | undefined;
}

export interface RootBody {
  readonly keys: ReadonlyMap<string, JsonValue>;
  readonly roles: ReadonlyMap<BaseRole, RoleKeys>;
}

export interface TargetsBody {
  readonly targets: ReadonlyMap<string, TargetEntry>;
  readonly delegationKeys: ReadonlyMap<string, JsonValue>;
  readonly delegations: readonly DelegatedRole[];
}

export interface SnapshotBody {
  readonly meta: ReadonlyMap<string, FileMeta>;
}

export interface TimestampBody {
  readonly snapshot: FileMeta;
}

export interface SignedFile<Body> {
  /** Exactly as served: snapshot and timestamp hashes are over these bytes. */
  readonly bytes: Buffer;
  /** Canonical JSON of `signed`: what every signature covers. */
  readonly message: Buffer;
  readonly signatures: readonly TufSignature[];
  readonly expires: Date;
  readonly version: number;
  readonly body: Body;
}

// Far above real use (notary writes one signature per key, roles have a handful of keys) and low
// enough that a hostile file cannot make us run thousands of signature checks.
export const MAX_SIGNATURES = 32;
const MAX_KEYS = 64;
const MAX_DELEGATIONS = 64;

export function parseRoot(bytes: Buffer): Result<SignedFile<RootBody>, string> {
  return parseSignedFile(bytes, 'Root', (signed) => {
    const keys = keyMap(signed['keys'], 'keys');
    if (!keys.ok) return keys;
    const rolesField = signed['roles'];
    if (!isJsonObject(rolesField)) return err('signed.roles is not an object');
    const roles = new Map<BaseRole, RoleKeys>();
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
      const parsed = roleKeys(rolesField[role], `signed.roles.${role}`);
      if (!parsed.ok) return parsed;
      roles.set(role, parsed.value);
    }
    return ok({ keys: keys.value, roles });
  });
}

export function parseTargets(bytes: Buffer): Result<SignedFile<TargetsBody>, string> {
  return parseSignedFile(bytes, 'Targets', (signed) => {
    const targetsField = signed['targets'];
    if (!isJsonObject(targetsField)) return err('signed.targets is not an object');
    const targets = new Map<string, TargetEntry>();
    for (const [name, raw] of Object.entries(targetsField)) {
      const where = `target ${JSON.stringify(name)}`;
      if (!isJsonObject(raw)) return err(`${where} is not an object`);
      const length = raw['length'];
      if (!isCount(length)) return err(`${where} has no valid length`);
      const hashes = raw['hashes'];
      if (!isJsonObject(hashes)) return err(`${where} has no hashes object`);
      const sha256 = hashes['sha256'];
      let digest: Buffer | undefined;
      if (sha256 !== undefined) {
        digest = typeof sha256 === 'string' ? decodeStrictBase64(sha256) : undefined;
        if (digest?.length !== 32) return err(`${where} has a sha256 hash that is not 32 bytes of base64`);
      }
      targets.set(name, { sha256: digest, length });
    }

    // Notary always writes `delegations`; an absent field simply means there are none.
    const delegationsField = signed['delegations'] ?? { keys: {}, roles: [] };
    if (!isJsonObject(delegationsField)) return err('signed.delegations is not an object');
    const delegationKeys = keyMap(delegationsField['keys'] ?? {}, 'delegations.keys');
    if (!delegationKeys.ok) return delegationKeys;
    const rolesField = delegationsField['roles'] ?? [];
    if (!Array.isArray(rolesField)) return err('signed.delegations.roles is not a list');
    if (rolesField.length > MAX_DELEGATIONS) return err(`it declares ${rolesField.length} delegations; at most ${MAX_DELEGATIONS} are accepted`);
    const delegations: DelegatedRole[] = [];
    const names = new Set<string>();
    for (const [index, raw] of rolesField.entries()) {
      const role = delegatedRole(raw, `signed.delegations.roles[${index}]`);
      if (!role.ok) return role;
      if (names.has(role.value.name)) return err(`delegation ${role.value.name} is declared twice`);
      names.add(role.value.name);
      delegations.push(role.value);
    }
    return ok({ targets, delegationKeys: delegationKeys.value, delegations });
  });
}

export function parseSnapshot(bytes: Buffer): Result<SignedFile<SnapshotBody>, string> {
  return parseSignedFile(bytes, 'Snapshot', (signed) => {
    const metaField = signed['meta'];
    if (!isJsonObject(metaField)) return err('signed.meta is not an object');
    const meta = new Map<string, FileMeta>();
    for (const [name, raw] of Object.entries(metaField)) {
      const parsed = fileMeta(raw, `signed.meta[${JSON.stringify(name)}]`);
      if (!parsed.ok) return parsed;
      meta.set(name, parsed.value);
    }
    return ok({ meta });
  });
}

export function parseTimestamp(bytes: Buffer): Result<SignedFile<TimestampBody>, string> {
  return parseSignedFile(bytes, 'Timestamp', (signed) => {
    const metaField = signed['meta'];
    if (!isJsonObject(metaField)) return err('signed.meta is not an object');
    const snapshot = fileMeta(metaField['snapshot'], 'signed.meta.snapshot');
    return snapshot.ok ? ok({ snapshot: snapshot.value }) : snapshot;
  });
}

function parseSignedFile<Body>(bytes: Buffer, type: TufType, readBody: (signed: JsonObject) => Result<Body, string>): Result<SignedFile<Body>, string> {
  const parsed = parseStrictJsonBytes(bytes);
  if (!parsed.ok) return err(`it is not valid JSON (${parsed.error})`);
  const document = parsed.value;
  if (!isJsonObject(document)) return err('it is not a JSON object');
  const signed = document['signed'];
  if (!isJsonObject(signed)) return err('it has no "signed" object');

  const declared = signed['_type'];
  // Notary compares the type case-insensitively.
  if (typeof declared !== 'string' || declared.toLowerCase() !== type.toLowerCase()) {
    return err(`its signed._type is ${JSON.stringify(declared ?? null)}, expected ${JSON.stringify(type)}`);
  }
  const expiresText = signed['expires'];
  if (typeof expiresText !== 'string') return err('it has no signed.expires time');
  const expires = parseRfc3339(expiresText);
  if (expires === undefined) return err(`its signed.expires ${JSON.stringify(expiresText)} is not an RFC 3339 time`);
  const version = signed['version'];
  if (!isCount(version)) return err('its signed.version is not a non-negative integer');

  const signatures = parseSignatures(document['signatures']);
  if (!signatures.ok) return signatures;
  const message = canonicalJson(signed);
  if (!message.ok) return err(`its signed object has no canonical form: ${message.error}`);
  const body = readBody(signed);
  if (!body.ok) return body;
  return ok({ bytes, message: message.value, signatures: signatures.value, expires, version, body: body.value });
}

function parseSignatures(raw: JsonValue | undefined): Result<TufSignature[], string> {
  // A missing or null list is an unsigned file: it parses, and then no threshold is met.
  if (raw === undefined || raw === null) return ok([]);
  if (!Array.isArray(raw)) return err('its signatures field is not a list');
  if (raw.length > MAX_SIGNATURES) return err(`it carries ${raw.length} signatures; at most ${MAX_SIGNATURES} are examined`);
  const signatures: TufSignature[] = [];
  for (const [index, entry] of raw.entries()) {
    if (!isJsonObject(entry)) return err(`signature ${index} is not an object`);
    const { keyid, method, sig } = entry;
    if (typeof keyid !== 'string' || typeof method !== 'string' || typeof sig !== 'string') {
      return err(`signature ${index} lacks a keyid, method or sig string`);
    }
    const decoded = decodeStrictBase64(sig);
    if (decoded === undefined) return err(`signature ${index} is not standard base64`);
    signatures.push({ keyid, method, sig: decoded });
  }
  return ok(signatures);
}

function keyMap(raw: JsonValue | undefined, where: string): Result<Map<string, JsonValue>, string> {
  if (!isJsonObject(raw)) return err(`signed.${where} is not an object`);
  const entries = Object.entries(raw);
  if (entries.length > MAX_KEYS) return err(`signed.${where} lists ${entries.length} keys; at most ${MAX_KEYS} are accepted`);
  return ok(new Map(entries));
}

function roleKeys(raw: JsonValue | undefined, where: string): Result<RoleKeys, string> {
  if (!isJsonObject(raw)) return err(`${where} is missing`);
  const keyids = raw['keyids'];
  const threshold = raw['threshold'];
  if (!Array.isArray(keyids) || !keyids.every((id): id is string => typeof id === 'string')) return err(`${where}.keyids is not a list of strings`);
  if (keyids.length > MAX_KEYS) return err(`${where}.keyids lists more than ${MAX_KEYS} keys`);
  if (!isCount(threshold) || threshold < 1) return err(`${where}.threshold is not a positive integer`);
  return ok({ keyids, threshold });
}

function delegatedRole(raw: JsonValue, where: string): Result<DelegatedRole, string> {
  if (!isJsonObject(raw)) return err(`${where} is not an object`);
  const name = raw['name'];
  if (typeof name !== 'string' || !name.startsWith('targets/') || name.length === 'targets/'.length) {
    return err(`${where}.name is not a delegation name (targets/<name>)`);
  }
  const keys = roleKeys(raw, `delegation ${name}`);
  if (!keys.ok) return keys;
  const paths = stringList(raw['paths']);
  const prefixes = stringList(raw['path_hash_prefixes']);
  if (paths === null || prefixes === null) return err(`delegation ${name} has paths or path_hash_prefixes that are not lists of strings`);
  if (paths !== undefined && prefixes !== undefined) return err(`delegation ${name} sets both paths and path_hash_prefixes`);
  if (prefixes !== undefined && !prefixes.every((prefix) => /^[0-9a-f]*$/.test(prefix))) {
    return err(`delegation ${name} has path_hash_prefixes that are not lower-case hex`);
  }
  return ok({ name, keyids: keys.value.keyids, threshold: keys.value.threshold, paths, pathHashPrefixes: prefixes });
}

/** undefined when absent, null when present but not a list of strings. */
function stringList(raw: JsonValue | undefined): string[] | undefined | null {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw) || !raw.every((item): item is string => typeof item === 'string')) return null;
  return raw;
}

function fileMeta(raw: JsonValue | undefined, where: string): Result<FileMeta, string> {
  if (!isJsonObject(raw)) return err(`${where} is missing`);
  const length = raw['length'];
  if (length !== undefined && !isCount(length)) return err(`${where}.length is not a non-negative integer`);
  const hashes = raw['hashes'];
  if (!isJsonObject(hashes)) return err(`${where}.hashes is missing`);
  const sha256Text = hashes['sha256'];
  const sha256 = typeof sha256Text === 'string' ? decodeStrictBase64(sha256Text) : undefined;
  if (sha256?.length !== 32) return err(`${where}.hashes.sha256 is not 32 bytes of base64`);
  const sha512Text = hashes['sha512'];
  let sha512: Buffer | undefined;
  if (sha512Text !== undefined) {
    sha512 = typeof sha512Text === 'string' ? decodeStrictBase64(sha512Text) : undefined;
    if (sha512?.length !== 64) return err(`${where}.hashes.sha512 is not 64 bytes of base64`);
  }
  return ok({ length, sha256, sha512 });
}

function isCount(value: JsonValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time as Go's time.Time writes it (fractional seconds up to nanoseconds, `Z` or a
 * numeric offset), truncated to milliseconds; undefined when the text is not one.
 */
export function parseRfc3339(text: string): Date | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  const millis = Number((match[7] ?? '0').padEnd(3, '0').slice(0, 3));
  let offsetMinutes = 0;
  if (match[8] !== 'Z') {
    const offsetHours = Number(match[10]);
    const offsetMins = Number(match[11]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const utc = new Date(0);
  // setUTCFullYear keeps years 0–99 literal, which Date.UTC would map to 1900–1999.
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute - offsetMinutes, second, millis);
  return Number.isNaN(utc.getTime()) ? undefined : utc;
}
