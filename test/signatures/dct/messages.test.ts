// The sentences the Docker Content Trust metadata reader gives for TUF files it cannot use (they end
// up in "… metadata of REPO cannot be used: …" denials). Each case edits one field of the real
// Notary v1 metadata of connaisseur's alice-image fixture and parses it with the real reader.
import { readFileSync } from 'node:fs';
import { parseRoot, parseSnapshot, parseTargets, parseTimestamp } from '../../../src/signatures/dct/metadata.js';

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
