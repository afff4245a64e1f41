// Policy fragment for Docker Content Trust (Notary v1) entries in a rule's `verify` list: the JSON
// Schema of the entry, its document and compiled types, and the compiler that parses the pinned
// root and delegation keys, the server URL and its CA bundle once, when the policy is loaded.
import { X509Certificate } from 'node:crypto';
import { decodePem, parsePublicKey } from '../../keys/keys.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { algorithmProblem, certificateFacts } from './keys.js';
import type { PinnedKey } from './verify.js';
import { pemSourceSchema, readPemSource, type PemSourceDocument, type VerifierCompileContext, type VerifierProblem } from '../compile-context.js';

const DELEGATION_NAME = '^(targets/)?[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';

/** A pinned key: a name in the top-level keys map, or {file|pem}. */
const pinnedKeySchema = (material: string) => ({
  oneOf: [{ type: 'string', minLength: 1, description: 'Name of an entry in the top-level keys map.' }, pemSourceSchema(material)],
});

export const dctVerifierSchema: Record<string, unknown> = {
  type: 'object',
  description:
    'Docker Content Trust (Notary v1): the image tag (or digest) must be signed in the TUF trust data a notary server holds for the repository, and that trust data must be signed by every pinned root key.',
  additionalProperties: false,
  required: ['type', 'server', 'rootKeys'],
  properties: {
    type: { const: 'dct' },
    server: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      description: 'Base URL of the notary server, e.g. https://notary.example.com:4443 (Docker Hub: https://notary.docker.io).',
    },
    caBundle: pemSourceSchema("Extra CA certificates trusted for the notary server's TLS certificate only"),
    rootKeys: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      description:
        'Root keys the repository trust data must be signed by (every one of them): names of entries in the top-level keys map, or {file|pem} holding a public key or the root certificate.',
      items: pinnedKeySchema('A public key or root certificate (ecdsa-x509, as notary stores root keys)'),
    },
    delegations: {
      type: 'array',
      maxItems: 8,
      uniqueItems: true,
      description:
        'Only these delegation roles count, and every one must have signed the tag, e.g. [targets/releases] ("releases" means the same): a tag signed only with the targets key is then refused. Without it, Docker\'s order applies: the tag is looked up in targets/releases (when the repository has published one), then in targets, and the first role that lists it decides.',
      items: { type: 'string', pattern: DELEGATION_NAME },
    },
    delegationKeys: {
      type: 'object',
      maxProperties: 8,
      description:
        'Keys a delegation must be signed with, by delegation name (e.g. targets/releases): names of entries in the top-level keys map, or {file|pem} holding a public key or certificate. The delegation must list at least one of them, and its threshold of valid signatures must be by them. Only a role listed in delegations can be pinned: under Docker\'s order the targets key could sign a tag directly, and a pin would protect nothing.',
      propertyNames: {
        pattern: DELEGATION_NAME,
        'x-problem': 'name a first-level delegation, targets/<name> or <name> (letters, digits, dot, underscore, hyphen)',
      },
      additionalProperties: {
        type: 'array',
        minItems: 1,
        maxItems: 16,
        items: pinnedKeySchema('A delegation public key or certificate (the signer\'s .pub or .crt)'),
      },
    },
    insecureHttp: { type: 'boolean', default: false, description: 'Allow an http:// server URL (test servers only).' },
  },
};

export interface DctVerifierDocument {
  readonly type: 'dct';
  readonly server: string;
  readonly caBundle?: PemSourceDocument;
  readonly rootKeys: readonly (string | PemSourceDocument)[];
  readonly delegations?: readonly string[];
  readonly delegationKeys?: Readonly<Record<string, readonly (string | PemSourceDocument)[]>>;
  readonly insecureHttp?: boolean;
}

export interface CompiledDctVerifier {
  readonly type: 'dct';
  /** Normalised base URL without a trailing slash. */
  readonly server: string;
  /** Validated PEM certificates for the server's TLS, when the policy gives any. */
  readonly caBundle: string | undefined;
  readonly insecureHttp: boolean;
  /** Every one of them must have signed the repository's root metadata. */
  readonly rootKeys: readonly PinnedKey[];
  /** `targets/<name>` roles that must all have signed; empty means Docker's order. */
  readonly delegations: readonly string[];
  /** Per `targets/<name>` role: the keys its signatures must come from (roles without pins are absent). */
  readonly delegationKeys: ReadonlyMap<string, readonly PinnedKey[]>;
}

// A CA bundle is a handful of certificates; anything far larger is a mistake.
const MAX_CA_BUNDLE_CHARS = 256 * 1024;

export function compileDctVerifier(doc: DctVerifierDocument, ctx: VerifierCompileContext): Result<CompiledDctVerifier, VerifierProblem[]> {
  const problems: VerifierProblem[] = [];
  const insecureHttp = doc.insecureHttp === true;

  const server = compileServer(doc.server, insecureHttp);
  if (!server.ok) problems.push({ path: 'server', message: server.error });

  let caBundle: string | undefined;
  if (doc.caBundle !== undefined) {
    const read = readPemSource(doc.caBundle, 'caBundle', ctx);
    if (!read.ok) problems.push(read.error);
    else {
      const checked = checkCaBundle(read.value.text);
      if (checked.ok) caBundle = read.value.text;
      else problems.push({ path: read.value.field, message: checked.error });
    }
  }

  const rootKeys = compilePinnedKeys(doc.rootKeys, 'rootKeys', ctx, problems);

  const delegations: string[] = [];
  for (const [index, name] of (doc.delegations ?? []).entries()) {
    const full = name.startsWith('targets/') ? name : `targets/${name}`;
    if (delegations.includes(full)) problems.push({ path: `delegations[${index}]`, message: `${full} is listed twice` });
    else delegations.push(full);
  }

  const delegationKeys = new Map<string, readonly PinnedKey[]>();
  for (const [written, entries] of Object.entries(doc.delegationKeys ?? {})) {
    const full = written.startsWith('targets/') ? written : `targets/${written}`;
    const path = `delegationKeys.${written}`;
    if (delegationKeys.has(full)) {
      problems.push({ path, message: `${full} is pinned twice (as ${full} and as its short name)` });
      continue;
    }
    // A pin on a role this entry does not require would look like protection and give none: in Docker's
    // order (no delegations) whoever holds the targets key signs into targets, or unpublishes the pinned
    // role, and the pin is never consulted.
    if (!delegations.includes(full)) {
      problems.push({
        path,
        message:
          delegations.length > 0
            ? `${full} is not in delegations, so this entry never requires it; add it to delegations or remove the pin`
            : `a pin protects only a role the entry requires: without delegations, Docker's order also accepts tags signed with the repository's targets key, which no pin covers; add delegations: [${full}]`,
      });
      continue;
    }
    delegationKeys.set(full, compilePinnedKeys(entries, path, ctx, problems));
  }

  if (problems.length > 0 || !server.ok) return err(problems);
  return ok(
    Object.freeze({
      type: 'dct' as const,
      server: server.value,
      caBundle,
      insecureHttp,
      rootKeys: Object.freeze(rootKeys),
      delegations: Object.freeze(delegations),
      delegationKeys: delegationKeys as ReadonlyMap<string, readonly PinnedKey[]>,
    }),
  );
}

/** Named keys and {file|pem} entries, each problem under `<path>[<index>]`. */
function compilePinnedKeys(entries: readonly (string | PemSourceDocument)[], field: string, ctx: VerifierCompileContext, problems: VerifierProblem[]): readonly PinnedKey[] {
  const keys: PinnedKey[] = [];
  entries.forEach((entry, index) => {
    const path = `${field}[${index}]`;
    if (typeof entry === 'string') {
      const named = ctx.keys.get(entry);
      if (named === undefined) {
        const known = [...ctx.keys.keys()];
        problems.push({ path, message: `no key named ${JSON.stringify(entry)} in the top-level keys map${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}` });
        return;
      }
      keys.push(Object.freeze({ name: named.name, key: named.key }));
      return;
    }
    const read = readPemSource(entry, path, ctx);
    if (!read.ok) {
      problems.push(read.error);
      return;
    }
    const pinned = pinnedKeyFromPem(entry.file ?? path, read.value.text);
    if (pinned.ok) keys.push(pinned.value);
    else problems.push({ path: read.value.field, message: pinned.error });
  });
  return Object.freeze(keys);
}

function compileServer(text: string, insecureHttp: boolean): Result<string, string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err(`${JSON.stringify(text)} is not a URL; write it like https://notary.example.com:4443`);
  }
  if (url.protocol === 'http:' && !insecureHttp) return err('plain http is refused; use https, or set insecureHttp: true for a test server');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return err(`${JSON.stringify(text)} does not start with https://`);
  if (url.username !== '' || url.password !== '') return err('the URL must not contain credentials');
  if (url.search !== '' || url.hash !== '') return err('the URL must not have a query or fragment');
  return ok(url.href.replace(/\/+$/, ''));
}

function checkCaBundle(text: string): Result<void, string> {
  if (text.length > MAX_CA_BUNDLE_CHARS) return err(`the CA bundle is ${text.length} characters; that is far more than a few certificates`);
  const blocks = decodePem(text);
  if (!blocks.ok) return err(`the CA bundle is not valid PEM: ${blocks.error}`);
  if (blocks.value.length === 0) return err('the CA bundle holds no "-----BEGIN CERTIFICATE-----" block');
  for (const [index, block] of blocks.value.entries()) {
    if (block.type !== 'CERTIFICATE') return err(`block ${index + 1} of the CA bundle is a ${block.type}, not a CERTIFICATE`);
    try {
      new X509Certificate(block.der);
    } catch {
      return err(`certificate ${index + 1} of the CA bundle cannot be parsed`);
    }
  }
  return ok(undefined);
}

/**
 * A pinned key given as PEM: one public key, or one certificate (whose key is what counts). The
 * `role: <name>` header that `docker trust key generate` writes into its .pub files is ignored.
 */
function pinnedKeyFromPem(name: string, pem: string): Result<PinnedKey, string> {
  const text = withoutPemHeaders(pem);
  const blocks = decodePem(text);
  if (!blocks.ok) return err(`not valid PEM: ${blocks.error}`);
  const [block] = blocks.value;
  if (block === undefined) return err('no PEM block found; expected a PUBLIC KEY or CERTIFICATE');
  if (blocks.value.length > 1) return err(`found ${blocks.value.length} PEM blocks; give one key or certificate per entry`);
  if (block.type === 'CERTIFICATE') {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block.der);
    } catch {
      return err('the certificate cannot be parsed');
    }
    const problem = algorithmProblem('any', certificate.publicKey);
    if (problem !== undefined) return err(`the certificate's key cannot be pinned: ${problem}`);
    const [commonName] = certificateFacts(certificate).commonNames;
    return ok(Object.freeze({ name: commonName === undefined ? name : `${name} (CN=${commonName})`, key: certificate.publicKey }));
  }
  const key = parsePublicKey(name, text);
  if (!key.ok) return err(key.error.message);
  return ok(Object.freeze({ name: key.value.name, key: key.value.key }));
}

/** Drops RFC 1421 header lines ("Name: value", then a blank line) that directly follow a BEGIN line. */
function withoutPemHeaders(text: string): string {
  const kept: string[] = [];
  let state: 'body' | 'after-begin' | 'in-headers' = 'body';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (state !== 'body' && /^[A-Za-z0-9-]{1,64}:/.test(trimmed)) {
      state = 'in-headers';
      continue;
    }
    if (state === 'in-headers' && trimmed === '') {
      state = 'body';
      continue;
    }
    state = trimmed.startsWith('-----BEGIN ') ? 'after-begin' : 'body';
    kept.push(line);
  }
  return kept.join('\n');
}
