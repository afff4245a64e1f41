// The `keyless` entry of a rule's `verify:` list: Sigstore signatures made with a certificate
// (Fulcio keyless, or an operator's own PKI) for one of the listed identities, anchored in a trust
// root given in the policy. Schema, document type, compiled form and compilation; the trust root is
// read and parsed here, once per policy change, never on the request path.
// Key-based Sigstore bundles (cosign v3 `sign --key`) are not a separate entry: they are signatures
// by the policy's named keys, so they belong to the `cosign` entry (see checkSigstore).
import type { Result } from '../../util/result.js';
import { err, ok } from '../../util/result.js';
import { compileIdentityRule, describeIdentityRule } from './identity.js';
import type { IdentityRule, IdentityRuleDocument } from './identity.js';
import { parseTrustedRootJson, trustRootFromPem } from './trust-root.js';
import type { SigstoreTrustRoot } from './trust-root.js';
import type { KeylessTrust } from './verify.js';
import { pemSourceSchema, readPemSource, type PemSourceDocument, type VerifierCompileContext, type VerifierProblem } from '../compile-context.js';


export const sigstoreVerifierSchema: Record<string, unknown> = {
  type: 'object',
  description:
    'Sigstore signatures made with a certificate: Fulcio keyless (with a Rekor transparency-log entry) or a private PKI; on classic cosign `.sig` signatures and on Sigstore bundles (cosign v3).',
  additionalProperties: false,
  required: ['type', 'trustedRoot', 'identities'],
  properties: {
    type: { const: 'keyless' },
    trustedRoot: {
      type: 'object',
      description:
        'Trust anchors: a Sigstore TrustedRoot document (file or json; e.g. the public-good trusted_root.json), or PEM CA certificates with optional Rekor and CT log public keys.',
      additionalProperties: false,
      properties: {
        file: { type: 'string', minLength: 1, description: 'Path of a TrustedRoot JSON file, relative to the policy file.' },
        json: { type: 'string', minLength: 1, description: 'TrustedRoot JSON text.' },
        certificates: pemSourceSchema('CA certificates (roots, and intermediates to trust on their own); each is a trust anchor'),
        rekorKeys: pemSourceSchema('Rekor public keys (one PEM block each)'),
        ctLogKeys: pemSourceSchema('Certificate-transparency log public keys; when given, certificates must carry a valid SCT'),
      },
      oneOf: [{ required: ['file'] }, { required: ['json'] }, { required: ['certificates'] }],
      dependentRequired: { rekorKeys: ['certificates'], ctLogKeys: ['certificates'] },
      'x-problem':
        'a trusted root needs exactly one of file (TrustedRoot JSON file), json (inline TrustedRoot JSON) or certificates (PEM CA certificates, with optional rekorKeys and ctLogKeys)',
    },
    identities: {
      type: 'array',
      description: 'Who may sign: a signature counts when its certificate matches one of these.',
      minItems: 1,
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          issuer: {
            type: 'string',
            minLength: 1,
            description:
              'OIDC issuer recorded by Fulcio (e.g. https://token.actions.githubusercontent.com). Leave it out only for PKI certificates, which record none: then the certificate must not record one.',
          },
          issuerRegExp: {
            type: 'string',
            minLength: 1,
            maxLength: 512,
            description:
              'Instead of issuer: a regular expression (RE2 syntax, no backreferences or lookaround) that must match the whole OIDC issuer; a certificate without an issuer never matches.',
          },
          subject: { type: 'string', minLength: 1, description: 'Exact subject alternative name: e-mail, URI (e.g. a workflow identity) or DNS name.' },
          subjectRegExp: {
            type: 'string',
            minLength: 1,
            maxLength: 512,
            description: 'Regular expression (RE2 syntax, no backreferences or lookaround) that must match the whole subject alternative name.',
          },
        },
        oneOf: [{ required: ['subject'] }, { required: ['subjectRegExp'] }],
        'x-problem': 'an identity needs exactly one of subject or subjectRegExp',
      },
    },
    requireRekor: {
      type: 'boolean',
      default: true,
      description:
        'true: a transparency-log entry from a trusted Rekor must vouch for each signature, and certificates are checked at its time. false (private PKI without a log): certificates must be valid now.',
    },
    threshold: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 1,
      description: 'How many distinct identities (issuer and subject) must have validly signed the image.',
    },
  },
};


export interface TrustedRootDocument {
  readonly file?: string;
  readonly json?: string;
  readonly certificates?: PemSourceDocument;
  readonly rekorKeys?: PemSourceDocument;
  readonly ctLogKeys?: PemSourceDocument;
}

export interface SigstoreVerifierDocument {
  readonly type: 'keyless';
  readonly trustedRoot: TrustedRootDocument;
  readonly identities: readonly IdentityRuleDocument[];
  readonly requireRekor?: boolean;
  readonly threshold?: number;
}

export interface CompiledSigstoreVerifier {
  readonly type: 'keyless';
  readonly trust: KeylessTrust;
  /** How many distinct signers (`<issuer> <subject>`) must have produced a valid signature. */
  readonly threshold: number;
  /** The identities in words, for messages ("trusted: …"). */
  readonly identityNames: readonly string[];
}

export function compileSigstoreVerifier(
  document: SigstoreVerifierDocument,
  context: VerifierCompileContext,
): Result<CompiledSigstoreVerifier, VerifierProblem[]> {
  const problems: VerifierProblem[] = [];
  const trustRoot = compileTrustRoot(document.trustedRoot, context, problems);

  const identities: IdentityRule[] = [];
  for (const [index, identity] of document.identities.entries()) {
    const rule = compileIdentityRule(identity);
    if (rule.ok) identities.push(rule.value);
    else problems.push({ path: `identities[${index}].${rule.error.field}`, message: rule.error.message });
  }

  const requireRekor = document.requireRekor ?? true;
  if (trustRoot !== undefined) {
    if (trustRoot.authorities.length === 0) {
      problems.push({ path: 'trustedRoot', message: 'the trusted root lists no certificate authority, so no certificate could ever be trusted' });
    }
    if (requireRekor && trustRoot.tlogs.length === 0) {
      problems.push({
        path: 'requireRekor',
        message:
          'requireRekor is true (the default) but the trusted root lists no Rekor log; add rekorKeys, or set requireRekor: false for a private PKI without a transparency log',
      });
    }
  }

  const threshold = document.threshold ?? 1;
  const onlyExact = identities.every((rule) => rule.subject.kind === 'exact');
  if (onlyExact && identities.length === document.identities.length && threshold > identities.length) {
    problems.push({
      path: 'threshold',
      message: `threshold ${threshold} can never be met: only ${identities.length} identit${identities.length === 1 ? 'y is' : 'ies are'} listed`,
    });
  }

  if (problems.length > 0 || trustRoot === undefined) return err(problems);
  return ok(
    Object.freeze({
      type: 'keyless' as const,
      trust: Object.freeze({ kind: 'keyless' as const, trustRoot, identities: Object.freeze(identities), requireRekor }),
      threshold,
      identityNames: Object.freeze(identities.map(describeIdentityRule)),
    }),
  );
}

function compileTrustRoot(document: TrustedRootDocument, context: VerifierCompileContext, problems: VerifierProblem[]): SigstoreTrustRoot | undefined {
  if (document.file !== undefined || document.json !== undefined) {
    const path = document.file !== undefined ? 'trustedRoot.file' : 'trustedRoot.json';
    const text = document.file !== undefined ? context.readFile(document.file) : ok(document.json as string);
    if (!text.ok) {
      problems.push({ path, message: text.error });
      return undefined;
    }
    const parsed = parseTrustedRootJson(text.value);
    if (!parsed.ok) problems.push({ path, message: parsed.error });
    return parsed.ok ? parsed.value : undefined;
  }

  const certificates = readPem(document.certificates, 'trustedRoot.certificates', context, problems);
  const rekorKeys = readPem(document.rekorKeys, 'trustedRoot.rekorKeys', context, problems);
  const ctLogKeys = readPem(document.ctLogKeys, 'trustedRoot.ctLogKeys', context, problems);
  if (certificates === undefined) {
    if (document.certificates === undefined) problems.push({ path: 'trustedRoot', message: 'give file, json or certificates' });
    return undefined;
  }
  if ((document.rekorKeys !== undefined && rekorKeys === undefined) || (document.ctLogKeys !== undefined && ctLogKeys === undefined)) return undefined;
  const parsed = trustRootFromPem({
    certificates,
    ...(rekorKeys !== undefined ? { rekorKeys } : {}),
    ...(ctLogKeys !== undefined ? { ctLogKeys } : {}),
  });
  if (!parsed.ok) {
    problems.push({ path: `trustedRoot.${parsed.error.part}`, message: parsed.error.message });
    return undefined;
  }
  return parsed.value;
}

function readPem(source: PemSourceDocument | undefined, path: string, context: VerifierCompileContext, problems: VerifierProblem[]): string | undefined {
  if (source === undefined) return undefined;
  const read = readPemSource(source, path, context);
  if (read.ok) return read.value.text;
  problems.push(read.error);
  return undefined;
}
