// The JSON Schema file shipped for editors and docs is the one the loader validates with, and it is a
// real draft 2020-12 schema that a plain ajv (no Signet options) accepts and validates with.
// Regenerate the file after changing schema.ts:
//   UPDATE_POLICY_SCHEMA=1 NODE_OPTIONS=--experimental-vm-modules npx jest test/policy/schema
import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { policyJsonSchema } from '../../src/policy/schema.js';

const SCHEMA_FILE = new URL('../../src/policy/policy.schema.json', import.meta.url);
const FIXTURES = new URL('../fixtures/policies/', import.meta.url);

if (process.env.UPDATE_POLICY_SCHEMA === '1') {
  writeFileSync(SCHEMA_FILE, `${JSON.stringify(policyJsonSchema, null, 2)}\n`);
}

function fixture(name: string): unknown {
  return parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
}

test('policy.schema.json is the schema the loader uses', () => {
  const onDisk: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  expect(onDisk).toEqual(policyJsonSchema);
});

test('policy.schema.json is a valid draft 2020-12 schema', () => {
  const ajv = new Ajv2020({ strict: false });
  expect(ajv.validateSchema(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object)).toBe(true);
  expect(ajv.errors ?? null).toBeNull();
});

test('a plain ajv validates policies with the schema file: valid fixtures pass, typos fail', () => {
  // strict: false because `discriminator` and `x-problem` are annotations to other validators.
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  for (const name of ['valid-full.yaml', 'valid-minimal.yaml', 'valid-threshold.yaml', 'valid-exempt.yaml', 'valid-namespaces.yaml', '../../../examples/policy.yaml']) {
    expect({ name, valid: validate(fixture(name)), errors: validate.errors ?? null }).toEqual({ name, valid: true, errors: null });
  }
  expect(validate(fixture('invalid-unknown-field.yaml'))).toBe(false);
  expect(validate.errors?.[0]).toMatchObject({ instancePath: '/rules/0', keyword: 'additionalProperties', params: { additionalProperty: 'verfy' } });
  expect(validate(fixture('invalid-verifier-type.yaml'))).toBe(false);
  expect(validate(fixture('invalid-namespaces.yaml'))).toBe(false);
  expect(validate.errors?.map((error) => `${error.instancePath} ${error.keyword}`)).toEqual(
    expect.arrayContaining(['/defaults/failurePolicy enum', '/defaults/pinDigests type', '/rules/1/namespaces minProperties']),
  );
});
