// The table of signature systems as a policy sees them: the `type` of a `verify:` entry, the JSON
// Schema of its entry, and the compiler of its section. policy/ walks this table; a new system is a
// folder here and one row below.
import type { Result } from '../util/result.js';
import type { VerifierCompileContext, VerifierProblem } from './compile-context.js';
import { compileCosignVerifier, cosignVerifierSchema, type CompiledCosignVerifier, type CosignVerifierDocument } from './cosign/policy.js';
import { compileDctVerifier, dctVerifierSchema, type CompiledDctVerifier, type DctVerifierDocument } from './dct/policy.js';
import { compileNotationVerifier, notationVerifierSchema, type CompiledNotationVerifier, type NotationVerifierDocument } from './notation/policy.js';
import { compileSigstoreVerifier, sigstoreVerifierSchema, type CompiledSigstoreVerifier, type SigstoreVerifierDocument } from './sigstore/policy.js';

/** Discriminated on `type`. */
export type VerifierDocument = CosignVerifierDocument | NotationVerifierDocument | DctVerifierDocument | SigstoreVerifierDocument;
export type CompiledVerifier = CompiledCosignVerifier | CompiledNotationVerifier | CompiledDctVerifier | CompiledSigstoreVerifier;
export type VerifierType = VerifierDocument['type'];

interface SystemEntry<D extends VerifierDocument> {
  readonly schema: Readonly<Record<string, unknown>>;
  compile(doc: D, ctx: VerifierCompileContext): Result<CompiledVerifier, VerifierProblem[]>;
}

/** In the order the schema lists them (and error messages name them). */
export const VERIFIER_SYSTEMS: { readonly [T in VerifierType]: SystemEntry<Extract<VerifierDocument, { type: T }>> } = {
  cosign: { schema: cosignVerifierSchema, compile: compileCosignVerifier },
  keyless: { schema: sigstoreVerifierSchema, compile: compileSigstoreVerifier },
  notation: { schema: notationVerifierSchema, compile: compileNotationVerifier },
  dct: { schema: dctVerifierSchema, compile: compileDctVerifier },
};

export const VERIFIER_TYPES = Object.keys(VERIFIER_SYSTEMS) as VerifierType[];

/** Compiles one schema-valid entry with its system's compiler. */
export function compileVerifier(doc: VerifierDocument, ctx: VerifierCompileContext): Result<CompiledVerifier, VerifierProblem[]> {
  const system = VERIFIER_SYSTEMS[doc.type] as SystemEntry<VerifierDocument>;
  return system.compile(doc, ctx);
}
