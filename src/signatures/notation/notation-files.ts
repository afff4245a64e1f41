// Notation's own configuration, used as it is: a trust policy document (`trustpolicy.json`, or the
// newer `trustpolicy.oci.json`, version 1.0) and a trust store folder in Notation's layout
// (`x509/{ca,signingAuthority,tsa}/<name>/<certificate files>`), compiled once per policy change into
// one Signet trust policy per Notation trust policy, each with its registry scopes. Which one applies
// is chosen per image as Notation chooses it: the policy whose scopes name the repository exactly,
// else the `*` policy, else none (and the image is refused). Pure: files come through the compile
// context; the folder listing exists only for policies read from files.
import { isJsonObject, parseStrictJsonBytes, type JsonObject } from '../../util/strict-json.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';
import { parseReference } from '../../reference/parse.js';
import type { VerifierCompileContext, VerifierProblem } from '../compile-context.js';
import { parseTrustedIdentities } from './identity.js';
import { MAX_TRUST_STORE_CERTIFICATES, parseTrustStorePem, type NotationTrustPolicy, type NotationTrustStore, type TrustStoreType, type VerificationLevel, type VerifyTimestamp } from './trust.js';
import type { Certificate } from './certificates.js';
import type { RevocationMode } from './revocation.js';

export interface NotationFilesDocument {
  /** The trust policy document, relative to the policy. */
  readonly trustPolicy: string;
  /** The folder holding `x509/`, relative to the policy. */
  readonly trustStoreDir: string;
}

export type ScopedVerification = { readonly kind: 'skip' } | { readonly kind: 'verify'; readonly policy: NotationTrustPolicy };

export interface ScopedNotationPolicy {
  readonly name: string;
  /** `["*"]`, or fully qualified repositories (`registry.example/team/app`), matched exactly. */
  readonly scopes: readonly string[];
  readonly verification: ScopedVerification;
}

const MAX_TRUST_POLICIES = 64;
const STORE_TYPES: readonly string[] = ['ca', 'signingAuthority', 'tsa'];
const LEVELS: readonly string[] = ['strict', 'permissive', 'audit', 'skip'];
const STORE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Notation's scope selection: the exact repository first, then the global `*` policy. */
export function selectNotationPolicy(policies: readonly ScopedNotationPolicy[], repository: string): ScopedNotationPolicy | undefined {
  return policies.find((policy) => policy.scopes.includes(repository)) ?? policies.find((policy) => policy.scopes.includes('*'));
}

export function compileNotationFiles(doc: NotationFilesDocument, ctx: VerifierCompileContext, path: string): Result<ScopedNotationPolicy[], VerifierProblem[]> {
  const problem = (where: string, message: string): Result<never, VerifierProblem[]> => err([{ path: where, message }]);
  const read = ctx.readFile(doc.trustPolicy);
  if (!read.ok) return problem(`${path}.trustPolicy`, read.error);
  const parsed = parseStrictJsonBytes(Buffer.from(read.value, 'utf8'));
  if (!parsed.ok) return problem(`${path}.trustPolicy`, `${quote(doc.trustPolicy)} is not valid JSON: ${parsed.error}`);
  const document = parsed.value;
  if (!isJsonObject(document)) return problem(`${path}.trustPolicy`, `${quote(doc.trustPolicy)} is not a JSON object`);
  if (document['version'] !== '1.0') return problem(`${path}.trustPolicy`, `${quote(doc.trustPolicy)} has version ${quote(document['version'])}; Signet reads Notation trust policy version "1.0"`);
  const list = document['trustPolicies'];
  if (!Array.isArray(list) || list.length === 0) return problem(`${path}.trustPolicy`, `${quote(doc.trustPolicy)} has no trustPolicies`);
  if (list.length > MAX_TRUST_POLICIES) return problem(`${path}.trustPolicy`, `${quote(doc.trustPolicy)} has ${list.length} trust policies; at most ${MAX_TRUST_POLICIES} are read`);

  const problems: VerifierProblem[] = [];
  const compiled: ScopedNotationPolicy[] = [];
  const seenNames = new Set<string>();
  const seenScopes = new Set<string>();
  const stores = new StoreReader(doc.trustStoreDir, ctx, `${path}.trustStoreDir`, problems);
  list.forEach((entry, index) => {
    const where = `${path}.trustPolicy (${doc.trustPolicy}) trustPolicies[${index}]`;
    const say = (message: string): void => void problems.push({ path: where, message });
    if (!isJsonObject(entry)) return say('is not an object');
    const name = entry['name'];
    if (typeof name !== 'string' || name === '') return say('has no name');
    if (seenNames.has(name)) return say(`repeats the name ${quote(name)}`);
    seenNames.add(name);
    const scopes = entry['registryScopes'];
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope): scope is string => typeof scope === 'string' && scope !== '')) {
      return say(`(${name}) needs registryScopes: "*" or fully qualified repositories`);
    }
    if (scopes.includes('*') && scopes.length > 1) return say(`(${name}) combines "*" with other registry scopes`);
    // As notation-go: a scope is "*" or a fully qualified repository; anything else would never match
    // and leave its images to the "*" policy without a word.
    const malformed = scopes.find((scope) => scope !== '*' && !isRepositoryScope(scope));
    if (malformed !== undefined) return say(`(${name}) has the registry scope ${quote(malformed)}, which is not "*" or a fully qualified repository (registry/name, without tag, digest or wildcard)`);
    for (const scope of scopes) {
      if (seenScopes.has(scope)) return say(`(${name}) repeats the registry scope ${quote(scope)} of another trust policy`);
      seenScopes.add(scope);
    }
    const verification = isJsonObject(entry['signatureVerification']) ? entry['signatureVerification'] : undefined;
    const level = verification?.['level'];
    if (typeof level !== 'string' || !LEVELS.includes(level)) return say(`(${name}) has signatureVerification.level ${quote(level)}, not strict, permissive, audit or skip`);
    if (level === 'skip') {
      if (scopes.includes('*')) return say(`(${name}) skips verification for "*", which Notation does not allow`);
      compiled.push({ name, scopes, verification: { kind: 'skip' } });
      return;
    }
    const revocation = overrides(verification!, name, say);
    if (revocation === null) return;
    const verifyTimestamp = verification!['verifyTimestamp'] ?? 'always';
    if (verifyTimestamp !== 'always' && verifyTimestamp !== 'afterCertExpiry') return say(`(${name}) has verifyTimestamp ${quote(verifyTimestamp)}, not always or afterCertExpiry`);

    const references = entry['trustStores'];
    if (!Array.isArray(references) || references.length === 0 || !references.every((reference): reference is string => typeof reference === 'string')) return say(`(${name}) needs trustStores ("ca:<name>", …)`);
    const signingStores: NotationTrustStore[] = [];
    const tsaCertificates: Certificate[] = [];
    const tsaNames: string[] = [];
    for (const reference of references) {
      const [type, storeName, extra] = reference.split(':');
      if (type === undefined || !STORE_TYPES.includes(type) || storeName === undefined || !STORE_NAME.test(storeName) || extra !== undefined) {
        return say(`(${name}) names the trust store ${quote(reference)}; expected "ca:<name>", "signingAuthority:<name>" or "tsa:<name>"`);
      }
      const certificates = stores.read(type, storeName);
      if (certificates === undefined) return;
      if (type === 'tsa') {
        tsaNames.push(storeName);
        for (const certificate of certificates) if (!tsaCertificates.some((known) => known.der.equals(certificate.der))) tsaCertificates.push(certificate);
      } else {
        signingStores.push({ type: type as TrustStoreType, name: storeName, certificates });
      }
    }
    const [first, ...others] = signingStores;
    if (first === undefined) return say(`(${name}) names no "ca" or "signingAuthority" trust store`);
    const identities = entry['trustedIdentities'];
    if (!Array.isArray(identities) || !identities.every((identity): identity is string => typeof identity === 'string')) return say(`(${name}) needs trustedIdentities`);
    const trusted = parseTrustedIdentities(identities);
    if (!trusted.ok) {
      for (const issue of trusted.error) problems.push({ path: `${where}.trustedIdentities[${issue.index}]`, message: issue.message });
      return;
    }
    const policy: NotationTrustPolicy = {
      trustStore: first,
      ...(others.length > 0 ? { otherTrustStores: others } : {}),
      trustedIdentities: trusted.value,
      level: level as VerificationLevel,
      ...(tsaNames.length > 0 ? { tsaTrustStore: { name: tsaNames.join('+'), certificates: tsaCertificates } } : {}),
      verifyTimestamp: verifyTimestamp as VerifyTimestamp,
      revocation: revocation ?? (level === 'strict' ? 'enforce' : 'log'),
    };
    compiled.push({ name, scopes, verification: { kind: 'verify', policy } });
  });
  if (problems.length > 0) return err(problems);
  return ok(compiled);
}

/**
 * Notation's `override` of single checks. Signet couples authenticity, authentic timestamp and expiry
 * to the level, so overriding them is refused rather than ignored; revocation can be overridden.
 * Undefined: no revocation override; null: a problem was reported.
 */
function overrides(verification: JsonObject, name: string, say: (message: string) => void): RevocationMode | undefined | null {
  const override = verification['override'];
  if (override === undefined) return undefined;
  if (!isJsonObject(override)) {
    say(`(${name}) has an override that is not an object`);
    return null;
  }
  let revocation: RevocationMode | undefined;
  for (const [check, action] of Object.entries(override)) {
    if (check === 'revocation' && (action === 'enforce' || action === 'log' || action === 'skip')) {
      revocation = action;
      continue;
    }
    say(`(${name}) overrides ${quote(check)} with ${quote(action)}; Signet can only override revocation (enforce, log or skip), and follows the level for the other checks`);
    return null;
  }
  return revocation;
}

/** Reads `x509/<type>/<name>/` once per store, whatever the number of trust policies naming it. */
class StoreReader {
  readonly #dir: string;
  readonly #ctx: VerifierCompileContext;
  readonly #path: string;
  readonly #problems: VerifierProblem[];
  readonly #read = new Map<string, Certificate[] | undefined>();

  constructor(dir: string, ctx: VerifierCompileContext, path: string, problems: VerifierProblem[]) {
    this.#dir = dir.replace(/\/+$/, '');
    this.#ctx = ctx;
    this.#path = path;
    this.#problems = problems;
  }

  read(type: string, name: string): Certificate[] | undefined {
    const key = `${type}:${name}`;
    if (!this.#read.has(key)) this.#read.set(key, this.#load(type, name));
    return this.#read.get(key);
  }

  #load(type: string, name: string): Certificate[] | undefined {
    const folder = `${this.#dir}/x509/${type}/${name}`;
    const fail = (message: string): undefined => {
      this.#problems.push({ path: this.#path, message });
      return undefined;
    };
    if (this.#ctx.listFiles === undefined) return fail(`trust store ${type}:${name}: Notation trust store folders can be read only next to a single policy file, not from ConfigMaps or a composed policy directory`);
    const listed = this.#ctx.listFiles(folder);
    if (!listed.ok) return fail(`trust store ${type}:${name}: ${listed.error}`);
    if (listed.value.length === 0) return fail(`trust store ${type}:${name}: folder ${quote(folder)} holds no certificate files`);
    const certificates: Certificate[] = [];
    for (const file of listed.value) {
      const text = this.#ctx.readFile(`${folder}/${file}`);
      if (!text.ok) return fail(`trust store ${type}:${name}: ${text.error}`);
      if (!text.value.includes('-----BEGIN')) return fail(`trust store ${type}:${name}: ${quote(file)} is not PEM; Signet reads PEM certificates (convert DER with openssl x509 -inform der)`);
      const parsed = parseTrustStorePem(text.value);
      if (!parsed.ok) return fail(`trust store ${type}:${name}: ${quote(file)}: ${parsed.error}`);
      for (const certificate of parsed.value) if (!certificates.some((known) => known.der.equals(certificate.der))) certificates.push(certificate);
    }
    if (certificates.length > MAX_TRUST_STORE_CERTIFICATES) return fail(`trust store ${type}:${name} holds ${certificates.length} certificates; at most ${MAX_TRUST_STORE_CERTIFICATES} are allowed`);
    return certificates;
  }
}

/** `registry/name` exactly as a reference would name the repository: no tag, digest, wildcard or Docker Hub shorthand. */
function isRepositoryScope(scope: string): boolean {
  const parsed = parseReference(scope);
  return parsed.ok && parsed.value.digest === undefined && `${parsed.value.registry}/${parsed.value.repository}` === scope;
}
