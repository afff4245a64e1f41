// checkDct's fetching against an in-process server that serves the real Docker Hub trust data of
// the Connaisseur samples (exact compact bytes), and then misbehaves in ways a real notary server
// does not: bearer challenges, refused tokens, oversized or stalled answers, missing roles, errors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import type { CompiledDctVerifier } from '../../src/signatures/dct/policy.js';
import { parseReference, repositoryOf } from '../../src/reference/parse.js';
import type { Digest } from '../../src/reference/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { checkDct, closeDctConnections } from '../../src/pipeline/systems/dct.js';
import { startHostileRegistry } from '../support/hostile-registry.js';
import type { HostileRegistry } from '../support/hostile-registry.js';

const DIR = join(import.meta.dirname, '../fixtures/conformance/connaisseur-notaryv1');
const served = (path: string): Buffer => Buffer.from(JSON.stringify(JSON.parse(readFileSync(join(DIR, path), 'utf8'))));
const SAMPLE = 'docker.io/phbelitz/sample-image';
const ALICE = 'docker.io/phbelitz/alice-image';
const SAMPLE_V1 = 'sha256:799c0fa8aa4c9fbff5a99aef1b4b5c3abb9c2f34134345005982fad3489893c7' as Digest;
const ALICE_TEST = 'sha256:ac904c9b191d14faf54b7952f2650a4bb21c201bf34131388b851e8ce992a652' as Digest;
const BEFORE_EXPIRY = new Date('2019-10-01T00:00:00Z');

let server: HostileRegistry;
let registry: RegistryClient;
const verifiers: CompiledDctVerifier[] = [];

function verifier(): CompiledDctVerifier {
  const compiled: CompiledDctVerifier = Object.freeze({
    type: 'dct',
    server: server.origin,
    caBundle: undefined,
    insecureHttp: true,
    rootKeys: [{ name: 'phbelitz-root', key: createPublicKey(readFileSync(join(DIR, 'derived-pinned-root-key.pub'))) }],
    delegations: [],
    delegationKeys: new Map(),
  });
  verifiers.push(compiled);
  return compiled;
}

function serve(gun: string, role: string, body: Buffer): void {
  server.on('GET', `/v2/${gun}/_trust/tuf/${role}.json`, { kind: 'respond', headers: { 'content-type': 'application/json' }, body });
}

function serveRepository(image: 'sample-image' | 'alice-image'): void {
  const gun = `docker.io/phbelitz/${image}`;
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) serve(gun, role, served(`${image}/${role}.json`));
  if (image === 'alice-image') for (const name of ['releases', 'phbelitz', 'chamsen']) serve(gun, `targets/${name}`, served(`alice-image/targets/${name}.json`));
}

function check(image: string, digest: Digest, options: { signal?: AbortSignal; compiled?: CompiledDctVerifier } = {}) {
  const parsed = parseReference(image);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return checkDct(
    { ref: parsed.value, repo: repositoryOf(parsed.value), digest, registry, now: BEFORE_EXPIRY, ...(options.signal !== undefined ? { signal: options.signal } : {}) },
    options.compiled ?? verifier(),
  );
}

beforeEach(async () => {
  server = await startHostileRegistry();
  registry = new RegistryClient();
});

afterEach(async () => {
  for (const compiled of verifiers.splice(0)) await closeDctConnections(compiled);
  await server.close();
});

test('the real Docker Hub bytes of sample-image, fetched over HTTP, verify', async () => {
  serveRepository('sample-image');
  const report = await check(`${SAMPLE}:v1`, SAMPLE_V1);
  expect(report.ok && report.value).toEqual({
    checks: [{ status: 'valid', system: 'dct', signer: 'targets', digest: SAMPLE_V1, annotations: {}, validUntil: expect.any(String) }],
    lookedAt: `tag v1 in targets of ${SAMPLE} on ${server.origin}`,
  });
  expect(server.requests.map((r) => r.path).sort()).toEqual(['root', 'snapshot', 'targets', 'timestamp'].map((role) => `/v2/${SAMPLE}/_trust/tuf/${role}.json`));
});

test('alice-image: the delegation file is fetched after targets and snapshot are trusted', async () => {
  serveRepository('alice-image');
  const report = await check(`${ALICE}:test`, ALICE_TEST);
  expect(report.ok && report.value.checks[0]).toMatchObject({ status: 'valid', signer: 'targets/releases' });
  // Only the delegation that decides is fetched, not every declared one.
  expect(server.requests.filter((r) => r.path.includes('/targets/')).map((r) => r.path)).toEqual([`/v2/${ALICE}/_trust/tuf/targets/releases.json`]);
});

test('a 401 is answered with the bearer flow: an anonymous pull token for the GUN, fetched once', async () => {
  serveRepository('sample-image');
  server.requireBearer({ token: 'notary-token', service: 'notary.docker.io' });
  const report = await check(`${SAMPLE}:v1`, SAMPLE_V1);
  expect(report.ok && report.value.checks[0]).toMatchObject({ status: 'valid' });
  const tokenRequests = server.requestsTo('/token');
  expect(tokenRequests).toHaveLength(1);
  const query = new URL(tokenRequests[0]?.path ?? '', server.origin).searchParams;
  expect(query.get('scope')).toBe(`repository:${SAMPLE}:pull`);
  expect(query.get('service')).toBe('notary.docker.io');
  expect(tokenRequests[0]?.headers.authorization).toBeUndefined();
  const authorized = server.requests.filter((r) => r.path.startsWith('/v2/') && r.headers.authorization === 'Bearer notary-token');
  expect(authorized).toHaveLength(4);
});

test('a refused token is an UNAUTHORIZED error naming the notary server', async () => {
  serveRepository('sample-image');
  server.requireBearer({ token: 'notary-token', basicUser: { username: 'someone', password: 'secret' } });
  const report = await check(`${SAMPLE}:v1`, SAMPLE_V1);
  expect(report.ok).toBe(false);
  if (report.ok) return;
  expect(report.error.code).toBe('UNAUTHORIZED');
  expect(report.error.message).toMatch(new RegExp(`^notary server ${server.host} token endpoint ${server.host} refused an anonymous token request \\(401\\) for trust metadata \\w+\\.json of ${SAMPLE}$`));
});

test('a server with root but no targets has incomplete trust data', async () => {
  serve(SAMPLE, 'root', served('sample-image/root.json'));
  serve(SAMPLE, 'timestamp', served('sample-image/timestamp.json'));
  const report = await check(`${SAMPLE}:v1`, SAMPLE_V1);
  expect(report.ok && report.value.checks).toEqual([
    { status: 'invalid', system: 'dct', reason: 'MALFORMED', detail: `the notary server has incomplete trust data for ${SAMPLE}: targets.json, snapshot.json missing` },
  ]);
});

test('a server error is an error, not a verdict', async () => {
  serveRepository('sample-image');
  server.on('GET', `/v2/${SAMPLE}/_trust/tuf/snapshot.json`, { kind: 'respond', status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"database down"}]}' });
  const report = await check(`${SAMPLE}:v1`, SAMPLE_V1);
  expect(!report.ok && report.error).toEqual({
    code: 'SERVER_ERROR',
    status: 500,
    registry: server.host,
    message: `notary server ${server.host} answered 500 for trust metadata snapshot.json of ${SAMPLE} (server error; UNKNOWN database down)`,
  });
});

test('an oversized targets file is refused before it is read', async () => {
  serveRepository('sample-image');
  server.on('GET', `/v2/${SAMPLE}/_trust/tuf/targets.json`, { kind: 'endless', declaredLength: 64 * 1024 * 1024 });
  const report = await check(`${SAMPLE}:v1`, SAMPLE_V1);
  expect(!report.ok && report.error).toMatchObject({
    code: 'TOO_LARGE',
    message: `notary server ${server.host} announced ${64 * 1024 * 1024} bytes for trust metadata targets.json of ${SAMPLE}, over the ${8 * 1024 * 1024}-byte limit`,
  });
  expect(server.endlessBytesSent).toBeLessThan(16 * 1024 * 1024);
});

test('a delegation longer than the trusted snapshot says is cut off at that length', async () => {
  serveRepository('alice-image');
  const releases = served('alice-image/targets/releases.json');
  server.on('GET', `/v2/${ALICE}/_trust/tuf/targets/releases.json`, { kind: 'endless', limitBytes: 10 * 1024 * 1024 });
  const report = await check(`${ALICE}:test`, ALICE_TEST);
  expect(!report.ok && report.error).toMatchObject({
    code: 'TOO_LARGE',
    message: `notary server ${server.host} sent more than ${releases.length} bytes for trust metadata targets/releases.json of ${ALICE}`,
  });
});

test("a stalled server is cut off by the caller's deadline", async () => {
  serveRepository('sample-image');
  server.on('GET', `/v2/${SAMPLE}/_trust/tuf/root.json`, { kind: 'stall' });
  const started = Date.now();
  const report = await check(`${SAMPLE}:v1`, SAMPLE_V1, { signal: AbortSignal.timeout(300) });
  expect(Date.now() - started).toBeLessThan(3000);
  expect(!report.ok && report.error).toMatchObject({
    code: 'TIMEOUT',
    message: `notary server ${server.host} request for trust metadata root.json of ${SAMPLE} was cancelled: the caller's deadline passed`,
  });
});

test('a GUN notary cannot have is refused without a request', async () => {
  const report = await checkDct(
    { ref: { registry: '[::1]:5000', repository: 'demo/app', tag: 'v1', digest: undefined }, repo: { registry: '[::1]:5000', repository: 'demo/app' }, digest: SAMPLE_V1, registry, now: BEFORE_EXPIRY },
    verifier(),
  );
  expect(!report.ok && report.error.code).toBe('UNSUPPORTED');
  expect(server.requests).toHaveLength(0);
});
