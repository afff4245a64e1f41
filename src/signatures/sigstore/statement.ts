// The in-toto Statement inside a Sigstore bundle's DSSE envelope: what the signature is about.
// Cosign v3 signs an image by signing a Statement whose subject is the image digest and whose
// predicateType is https://sigstore.dev/cosign/sign/v1; attestations use the same envelope with other
// predicate types. Parsed only after the envelope's signature has verified.
import type { Digest } from '../../reference/types.js';
import { err, ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { quote } from '../../util/quote.js';
import { isJsonObject, parseStrictJsonBytes } from '../../util/strict-json.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
const STATEMENT_TYPES: readonly string[] = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];

// A signature for one image has one subject; multi-artifact statements stay far below this.
const MAX_SUBJECTS = 256;

export interface StatementSubject {
  readonly name: string | undefined;
  /** Algorithm name (`sha256`) to lower-case hex. */
  readonly digest: Readonly<Record<string, string>>;
}

export interface Statement {
  readonly predicateType: string;
  readonly subjects: readonly StatementSubject[];
}

export interface StatementError {
  readonly reason: 'MALFORMED';
  readonly detail: string;
}

export function parseStatement(payload: Uint8Array): Result<Statement, StatementError> {
  const malformed = (detail: string): Result<Statement, StatementError> => err({ reason: 'MALFORMED', detail: `signed in-toto statement ${detail}` });
  const parsed = parseStrictJsonBytes(payload);
  if (!parsed.ok) return malformed(`is not valid JSON: ${parsed.error}`);
  if (!isJsonObject(parsed.value)) return malformed('is not a JSON object');
  const statement = parsed.value;

  const type = statement['_type'];
  if (typeof type !== 'string' || !STATEMENT_TYPES.includes(type)) return malformed(`has _type ${quote(type ?? null)}, not an in-toto Statement`);
  const predicateType = statement['predicateType'];
  if (typeof predicateType !== 'string' || predicateType === '') return malformed('has no predicateType');

  const subjectList = statement['subject'];
  if (!Array.isArray(subjectList) || subjectList.length === 0) return malformed('has no subject list');
  if (subjectList.length > MAX_SUBJECTS) return malformed(`has ${subjectList.length} subjects; at most ${MAX_SUBJECTS} are examined`);
  const subjects: StatementSubject[] = [];
  for (const [index, subject] of subjectList.entries()) {
    if (!isJsonObject(subject)) return malformed(`subject ${index} is not an object`);
    const name = subject['name'];
    if (name !== undefined && typeof name !== 'string') return malformed(`subject ${index} has a name that is not a string`);
    const digestSet = subject['digest'];
    if (!isJsonObject(digestSet)) return malformed(`subject ${index} has no digest object`);
    const digest: Record<string, string> = {};
    for (const [algorithm, value] of Object.entries(digestSet)) {
      if (typeof value !== 'string') return malformed(`subject ${index} has a ${quote(algorithm)} digest that is not a string`);
      Object.defineProperty(digest, algorithm, { value, enumerable: true });
    }
    subjects.push({ name, digest });
  }
  return ok({ predicateType, subjects });
}

/** The subject whose digest for the image digest's algorithm equals it exactly (lower-case hex), if any. */
export function subjectFor(statement: Statement, imageDigest: Digest): StatementSubject | undefined {
  const colon = imageDigest.indexOf(':');
  const algorithm = imageDigest.slice(0, colon);
  const hex = imageDigest.slice(colon + 1);
  return statement.subjects.find((subject) => Object.hasOwn(subject.digest, algorithm) && subject.digest[algorithm] === hex);
}

/** The subjects' digests as `alg:hex`, for messages. */
export function describeSubjects(statement: Statement): string {
  const digests = statement.subjects.flatMap((subject) => Object.entries(subject.digest).map(([algorithm, hex]) => `${algorithm}:${hex}`));
  const shown = digests.slice(0, 3).map((digest) => (/^[a-z0-9]{1,16}:[0-9a-f]{1,128}$/.test(digest) ? digest : quote(digest)));
  return digests.length === 0 ? 'no digest' : shown.join(', ') + (digests.length > 3 ? ', …' : '');
}
