// The `type: notation` entry of a rule's `verify:` list: its JSON Schema, its written and compiled
// forms, and the compiler that reads trust-store certificates and trusted identities once per policy
// change, so the request path only compares bytes and parsed names.
//
//   verify:
//     - type: notation
//       trustStore:
//         type: ca                     # or signingAuthority (notary.x509.signingAuthority signatures)
//         name: acme-ca                # shown in verdicts: "acme-ca (CN=acme signer)"
//         certificates: [{file: notation/acme-root.pem}]
//       trustedIdentities: ["x509.subject: C=US, ST=WA, O=acme"]    # or ["*"]
//       level: strict                  # permissive | audit
//       tsaTrustStore:                 # optional: RFC 3161 timestamps from these TSAs count
//         name: acme-tsa
//         certificates: [{file: notation/tsa-root.pem}]
//       verifyTimestamp: always        # or afterCertExpiry
//       revocation: enforce            # log | skip; default enforce at strict, log otherwise
import { parseTrustedIdentities, type TrustedIdentities } from './identity.js';
import {
  MAX_TRUST_STORE_CERTIFICATES,
  parseTrustStorePem,
  type NotationTrustStore,
  type NotationTsaTrustStore,
  type TrustStoreType,
  type VerificationLevel,
  type VerifyTimestamp,
} from './trust.js';
import type { Certificate } from './certificates.js';
import type { RevocationMode } from './revocation.js';
import { compileNotationFiles, type ScopedNotationPolicy } from './notation-files.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { pemSourceSchema, readPemSource, type PemSourceDocument, type VerifierCompileContext, type VerifierProblem } from '../compile-context.js';

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

export const notationVerifierSchema: Record<string, unknown> = {
  type: 'object',
  description:
    'Notation (Notary Project) signatures, found as OCI referrers of the image, whose certificate chain ends in a root of the trust store and whose signer is a trusted identity.',
  additionalProperties: false,
  required: ['type'],
  // Either the Signet form (trustStore and trustedIdentities) or Notation's own files, never both.
  if: { required: ['notationTrustPolicy'] },
  then: {
    not: { anyOf: ['trustStore', 'trustedIdentities', 'tsaTrustStore', 'verifyTimestamp', 'revocation', 'level'].map((field) => ({ required: [field] })) },
    'x-problem': 'notationTrustPolicy takes everything from Notation\'s files: remove trustStore, trustedIdentities, level, tsaTrustStore, verifyTimestamp and revocation from this entry',
  },
  else: { required: ['trustStore', 'trustedIdentities'] },
  properties: {
    type: { const: 'notation' },
    notationTrustPolicy: {
      type: 'object',
      description:
        "Notation's own configuration, used as it is: a trust policy document (trustpolicy.json or trustpolicy.oci.json, version 1.0) and the trust store folder holding x509/{ca,signingAuthority,tsa}/<name>/*. Each image is judged by the trust policy whose registryScopes name its repository, else by the \"*\" policy. Policy files only (not ConfigMaps).",
      additionalProperties: false,
      required: ['file', 'trustStoreDir'],
      properties: {
        file: { type: 'string', minLength: 1, description: 'Path of the trust policy document, relative to the policy file.' },
        trustStoreDir: { type: 'string', minLength: 1, description: 'Path of the folder that holds x509/, relative to the policy file (Notation: ~/.config/notation/truststore).' },
      },
    },
    trustStore: {
      type: 'object',
      description: 'The root certificates a signature chain must end in.',
      additionalProperties: false,
      required: ['type', 'certificates'],
      properties: {
        type: {
          enum: ['ca', 'signingAuthority'],
          description:
            'ca: for signatures with the notary.x509 signing scheme (what `notation sign` makes); signingAuthority: for notary.x509.signingAuthority signatures (signing services that vouch for the signing time).',
        },
        name: {
          type: 'string',
          pattern: NAME_PATTERN,
          maxLength: 63,
          description: 'Name shown in verdicts as "<name> (CN=<signer>)". Default: the store type.',
        },
        certificates: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_TRUST_STORE_CERTIFICATES,
          description: 'Root certificates (self-signed, PEM), each given inline or as a file relative to the policy.',
          items: pemSourceSchema('Root certificates (one or more CERTIFICATE blocks)'),
        },
      },
    },
    trustedIdentities: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', minLength: 1 },
      description:
        '["*"] trusts every signer whose chain ends in the trust store; otherwise entries "x509.subject: C=…, ST=…, O=…" (C, ST and O required), and a signer matches when its certificate subject has every listed attribute with the same value.',
    },
    tsaTrustStore: {
      type: 'object',
      description:
        "Roots of the time-stamping authorities (Notation's trust store type tsa) whose RFC 3161 timestamps prove when a notary.x509 signature was made. Without it, timestamps are ignored and the signing chain must be valid now.",
      additionalProperties: false,
      required: ['certificates'],
      properties: {
        name: { type: 'string', pattern: NAME_PATTERN, maxLength: 63, description: 'Name shown in messages. Default: tsa.' },
        certificates: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_TRUST_STORE_CERTIFICATES,
          description: 'TSA root certificates (self-signed, PEM), each given inline or as a file relative to the policy.',
          items: pemSourceSchema('TSA root certificates (one or more CERTIFICATE blocks)'),
        },
      },
    },
    verifyTimestamp: {
      enum: ['always', 'afterCertExpiry'],
      default: 'always',
      description:
        'With a tsaTrustStore: always — every notary.x509 signature must carry a timestamp from a trusted TSA, and its chain must have been valid at the stamped time; afterCertExpiry — the chain must be valid now, and only once it has expired is a timestamp required and used instead.',
    },
    revocation: {
      enum: ['enforce', 'log', 'skip'],
      description:
        "Revocation of the signing chain by OCSP, then CRL, at the URLs its certificates name (the webhook needs network access to them). enforce: a revoked certificate, or a status that cannot be learnt, refuses the signature; log: it counts, with a warning; skip: not checked (air-gapped clusters). Default: enforce at level strict, log at permissive and audit, as in Notation.",
    },
    level: {
      enum: ['strict', 'permissive', 'audit'],
      default: 'strict',
      description:
        'strict: enforce integrity, trust, certificate validity and signature expiry; permissive: ignore expired signatures and certificates; audit: only require an intact signature over this image, from anyone (use with a rule mode of audit or warn).',
    },
  },
};

export type NotationCertificateDocument = PemSourceDocument;

export interface NotationVerifierDocument {
  readonly type: 'notation';
  readonly notationTrustPolicy?: { readonly file: string; readonly trustStoreDir: string };
  readonly trustStore: {
    readonly type: TrustStoreType;
    readonly name?: string;
    readonly certificates: readonly NotationCertificateDocument[];
  };
  readonly trustedIdentities: readonly string[];
  readonly level?: VerificationLevel;
  readonly tsaTrustStore?: { readonly name?: string; readonly certificates: readonly NotationCertificateDocument[] };
  readonly verifyTimestamp?: VerifyTimestamp;
  readonly revocation?: RevocationMode;
}

export interface CompiledNotationVerifier {
  readonly type: 'notation';
  readonly trustStore: NotationTrustStore;
  readonly trustedIdentities: TrustedIdentities;
  readonly level: VerificationLevel;
  readonly tsaTrustStore?: NotationTsaTrustStore;
  readonly verifyTimestamp: VerifyTimestamp;
  readonly revocation: RevocationMode;
  /**
   * Set for an entry made from Notation's files: the trust policy per registry scope, chosen per image
   * (pipeline/systems/notation.ts). The entry's own trust store is then an empty stand-in named after
   * the file, which trusts nothing.
   */
  readonly scoped?: { readonly source: string; readonly policies: readonly ScopedNotationPolicy[] };
}

export function compileNotationVerifier(doc: NotationVerifierDocument, ctx: VerifierCompileContext): Result<CompiledNotationVerifier, VerifierProblem[]> {
  if (doc.notationTrustPolicy !== undefined) return compileFromNotationFiles(doc.notationTrustPolicy, ctx);
  const problems: VerifierProblem[] = [];
  const certificates = readCertificates(doc.trustStore.certificates, 'trustStore', ctx, problems);
  const tsaCertificates = doc.tsaTrustStore === undefined ? undefined : readCertificates(doc.tsaTrustStore.certificates, 'tsaTrustStore', ctx, problems);

  const identities = parseTrustedIdentities(doc.trustedIdentities);
  if (!identities.ok) {
    for (const problem of identities.error) problems.push({ path: `trustedIdentities[${problem.index}]`, message: problem.message });
  }
  if (problems.length > 0 || !identities.ok) return err(problems);

  return ok(
    Object.freeze({
      type: 'notation',
      trustStore: Object.freeze({
        type: doc.trustStore.type,
        name: doc.trustStore.name ?? doc.trustStore.type,
        certificates: Object.freeze(certificates),
      }),
      trustedIdentities: Object.freeze(identities.value),
      level: doc.level ?? 'strict',
      ...(tsaCertificates !== undefined ? { tsaTrustStore: Object.freeze({ name: doc.tsaTrustStore?.name ?? 'tsa', certificates: Object.freeze(tsaCertificates) }) } : {}),
      verifyTimestamp: doc.verifyTimestamp ?? 'always',
      revocation: doc.revocation ?? ((doc.level ?? 'strict') === 'strict' ? 'enforce' : 'log'),
    }),
  );
}

function compileFromNotationFiles(files: { readonly file: string; readonly trustStoreDir: string }, ctx: VerifierCompileContext): Result<CompiledNotationVerifier, VerifierProblem[]> {
  const policies = compileNotationFiles({ trustPolicy: files.file, trustStoreDir: files.trustStoreDir }, ctx, 'notationTrustPolicy');
  if (!policies.ok) return policies;
  const anyone = parseTrustedIdentities(['*']);
  if (!anyone.ok) return err([{ path: 'notationTrustPolicy', message: 'internal: "*" identities' }]);
  return ok(
    Object.freeze({
      type: 'notation',
      trustStore: Object.freeze({ type: 'ca', name: files.file, certificates: Object.freeze([]) }),
      trustedIdentities: anyone.value,
      level: 'strict',
      verifyTimestamp: 'always',
      revocation: 'enforce',
      scoped: Object.freeze({ source: files.file, policies: Object.freeze(policies.value) }),
    }),
  );
}

/** The root certificates of one store (files or inline PEM), each once; problems are pushed with their paths. */
function readCertificates(entries: readonly NotationCertificateDocument[], store: string, ctx: VerifierCompileContext, problems: VerifierProblem[]): Certificate[] {
  const certificates: Certificate[] = [];
  entries.forEach((entry, index) => {
    const path = `${store}.certificates[${index}]`;
    const read = readPemSource(entry, path, ctx);
    if (!read.ok) {
      problems.push(read.error);
      return;
    }
    const parsed = parseTrustStorePem(read.value.text);
    if (!parsed.ok) {
      const where = entry.file !== undefined ? `certificate file ${JSON.stringify(entry.file)}: ` : '';
      problems.push({ path: read.value.field, message: `${where}${parsed.error}` });
      return;
    }
    for (const certificate of parsed.value) {
      // The same root listed twice (e.g. in two files) is harmless; keep one.
      if (!certificates.some((known) => known.der.equals(certificate.der))) certificates.push(certificate);
    }
  });
  if (certificates.length > MAX_TRUST_STORE_CERTIFICATES) {
    problems.push({ path: `${store}.certificates`, message: `the trust store holds ${certificates.length} certificates; at most ${MAX_TRUST_STORE_CERTIFICATES} are allowed` });
  }
  return certificates;
}
