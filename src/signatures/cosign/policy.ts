// The `type: cosign` entry of a rule's `verify:` list: its JSON Schema, its written and compiled
// forms, and its compilation (names of the policy's top-level keys, a threshold within their count).
import type { TrustedKey } from '../../keys/types.js';
import { didYouMean } from '../../util/did-you-mean.js';
import { isRecord } from '../../util/is-record.js';
import { quote } from '../../util/quote.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import type { VerifierCompileContext, VerifierProblem } from '../compile-context.js';

/** `repository`: the payload's docker-reference must name the image's repository (after normalisation). */
export type IdentityCheck = 'ignore' | 'repository';

export const cosignVerifierSchema = {
  type: 'object',
  description: 'Cosign signatures made with one of the named public keys.',
  additionalProperties: false,
  required: ['type', 'keys'],
  properties: {
    type: { const: 'cosign' },
    keys: {
      type: 'array',
      description: 'Names of entries in the top-level keys map.',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string' },
    },
    threshold: {
      type: 'integer',
      minimum: 1,
      default: 1,
      description: 'How many distinct keys of this list must have validly signed the image (at most the number of keys).',
    },
    annotations: {
      type: 'object',
      description: 'Optional annotations the signed payload must carry, with exactly these string values.',
      propertyNames: { minLength: 1, 'x-problem': 'annotation names must not be empty' },
      additionalProperties: { type: 'string' },
    },
    identity: {
      enum: ['ignore', 'repository'],
      default: 'ignore',
      description: "repository: the payload's docker-reference must name the image's own repository.",
    },
  },
} as const;

export interface CosignVerifierDocument {
  readonly type: 'cosign';
  readonly keys: readonly string[];
  readonly threshold?: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly identity?: IdentityCheck;
}

export interface CompiledCosignVerifier {
  readonly type: 'cosign';
  /** The trusted keys, in the order the rule lists them. */
  readonly keys: readonly TrustedKey[];
  /** How many distinct keys of `keys` must have produced a valid signature; 1 ≤ threshold ≤ keys.length. */
  readonly threshold: number;
  /** Optional annotations a valid signature's payload must carry, with exactly these values. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly identity: IdentityCheck;
}

/**
 * Problems of a cosign entry that the schema cannot see: key names the policy does not define, a
 * threshold above the number of keys. Safe on any input, so these are reported together with the
 * schema's own problems.
 */
export function checkCosignVerifier(entry: unknown, definedKeys: readonly string[]): VerifierProblem[] {
  if (!isRecord(entry) || entry['type'] !== 'cosign') return [];
  const problems: VerifierProblem[] = [];
  const keyNames = entry['keys'];
  (Array.isArray(keyNames) ? (keyNames as unknown[]) : []).forEach((name, index) => {
    if (typeof name !== 'string' || definedKeys.includes(name)) return;
    const known = definedKeys.length === 0 ? 'the policy defines no keys' : `defined keys: ${definedKeys.join(', ')}`;
    problems.push({ path: `keys[${index}]`, message: `unknown key ${quote(name)}${didYouMean(name, definedKeys)} (${known})` });
  });
  const threshold = entry['threshold'];
  if (Array.isArray(keyNames) && keyNames.length > 0 && Number.isInteger(threshold) && (threshold as number) > keyNames.length) {
    const count = keyNames.length;
    problems.push({
      path: 'threshold',
      message: `threshold ${String(threshold)} is more than the ${count} key${count === 1 ? '' : 's'} listed; it must be between 1 and ${count}`,
    });
  }
  return problems;
}

/**
 * A schema-valid cosign entry, its key names resolved against the policy's compiled keys. A name that
 * does not resolve was already reported (checkCosignVerifier for an unknown name, the keys section for
 * a key that did not parse), so it fails with no problem of its own rather than a second one.
 */
export function compileCosignVerifier(doc: CosignVerifierDocument, ctx: VerifierCompileContext): Result<CompiledCosignVerifier, VerifierProblem[]> {
  const trusted: TrustedKey[] = [];
  for (const name of doc.keys) {
    const key = ctx.keys.get(name);
    if (key === undefined) return err([]);
    trusted.push(key);
  }
  return ok(
    Object.freeze({
      type: 'cosign',
      keys: Object.freeze(trusted),
      threshold: doc.threshold ?? 1,
      annotations: Object.freeze({ ...(doc.annotations ?? {}) }),
      identity: doc.identity ?? 'ignore',
    }),
  );
}
