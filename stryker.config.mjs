// @ts-check
// Mutation testing of the security-critical modules (docs/mutation-testing.md): `make mutate`.
// Paths move from time to time: the MUTATE groups below are the one place to update.

/**
 * The modules under mutation testing, in groups, each with the test files that exercise it.
 * Paths move from time to time: this table is the one place to update.
 * `MUTATE_GROUPS="decision verifiers" make mutate` runs some groups (one Stryker run each); `make mutate` runs them all.
 * Each group runs only its own tests: a mutant is run against the tests of the groups that mutate its
 * file, which keeps every mutant run to the fast, relevant suites (measured: docs/mutation-testing.md).
 */
const GROUPS = {
  /** Decision and tenant layering: every mutant must die (or be listed as equivalent). */
  decision: {
    mutate: ['src/decide/**/*.ts', 'src/pipeline/layered.ts', 'src/pipeline/review.ts', 'src/pipeline/image-review.ts', 'src/policy/tenants.ts'],
    tests: ['test/decide/**/*.test.ts', 'test/policy/**/*.test.ts', 'test/pipeline/**/*.test.ts', 'test/guarantees/**/*.test.ts'],
  },
  /** Policy matching and namespace restrictions. */
  policy: {
    mutate: ['src/policy/match.ts', 'src/policy/glob.ts', 'src/policy/scope.ts', 'src/policy/namespaces.ts'],
    tests: ['test/policy/**/*.test.ts'],
  },
  /**
   * The pure signature verifiers and their policy sections. Not cosign/private-key.ts (signing only,
   * never on the admission path); fetching lives in discovery/ and pipeline/systems/.
   */
  verifiers: {
    mutate: [
      'src/signatures/cosign/*.ts',
      'src/signatures/sigstore/*.ts',
      'src/signatures/notation/*.ts',
      'src/signatures/dct/*.ts',
      '!src/signatures/cosign/private-key.ts',
    ],
    tests: ['test/signatures/**/*.test.ts'],
  },
  /**
   * The registry client's content checks: digest parsing and hashing, the per-host limits, and the
   * digest and size checks inside the client (the line ranges of getBlob with #fetchBlob, #fetchManifest
   * and #getManifest; re-check them when client.ts changes:
   * `grep -n 'async getBlob\\|async #fetchBlob\\|async #fetchManifest\\|async #getManifest' src/registry/client.ts`).
   */
  registry: {
    mutate: ['src/reference/digest.ts', 'src/registry/limits.ts', 'src/registry/client.ts:179-224', 'src/registry/client.ts:495-505', 'src/registry/client.ts:543-576'],
    tests: ['test/registry/**/*.test.ts', 'test/reference/**/*.test.ts'],
  },
  /** Admission request parsing and image extraction. */
  admission: {
    mutate: ['src/admission/extract.ts', 'src/admission/parse.ts'],
    tests: ['test/admission/**/*.test.ts', 'test/pipeline/review.test.ts'],
  },
};

const selected = (process.env.MUTATE_GROUPS ?? Object.keys(GROUPS).join(','))
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '');
for (const name of selected) {
  if (!(name in GROUPS)) throw new Error(`MUTATE_GROUPS: unknown group ${name} (known: ${Object.keys(GROUPS).join(', ')})`);
}
const chosen = selected.map((name) => GROUPS[/** @type {keyof typeof GROUPS} */ (name)]);

/**
 * Test files left out for now (regular expressions for jest's testPathIgnorePatterns): tests being
 * written that do not pass yet would fail Stryker's initial run. Empty this list once they pass.
 */
const TESTS_IN_PROGRESS = [];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: 'npm',
  mutate: [...new Set(chosen.flatMap((group) => group.mutate))],

  testRunner: 'jest',
  // Jest runs ESM test files only under --experimental-vm-modules (docs/adr/0001-toolchain.md).
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    // Merged over jest.config.js. The test selection goes here, not in Stryker's `testFiles`: jest-runner
    // 10.0 applies `testFiles` to the initial run only, and each mutant run would otherwise load every
    // test file of the suite (filtered by test name) and time out.
    config: {
      // src too, so that --findRelatedTests can follow imports from a test file to the mutated file.
      roots: ['<rootDir>/src', '<rootDir>/test'],
      testMatch: [...new Set(chosen.flatMap((group) => group.tests))].map((glob) => `<rootDir>/${glob}`),
      testPathIgnorePatterns: ['/node_modules/', ...TESTS_IN_PROGRESS],
    },
    // Each mutant run loads only the selected test files that import the mutated file.
    enableFindRelatedTests: true,
  },
  coverageAnalysis: 'perTest',
  // A mutant covered only while modules load (module-level constants and tables) would need the whole
  // selected suite, with a fresh module graph, per mutant: 30 % of the mutants and 97 % of the time.
  // Mutants that are covered both at load and by a test still run (against their covering tests); the
  // load-only ones are reported as Ignored and reviewed by hand (docs/mutation-testing.md).
  ignoreStatic: true,

  checkers: ['typescript'],
  // src only: the checker only has to reject mutants that do not compile; the tests are not mutated.
  tsconfigFile: 'tsconfig.build.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },

  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',

  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },

  // Fail `make mutate` below 90 % (the target outside the decision code, which must have no survivor).
  thresholds: { high: 95, low: 90, break: 90 },

  // A shared 2-core machine: two test runners, generous timeouts so a busy moment is not a "Timeout".
  concurrency: 2,
  timeoutMS: 10000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 15,

  tempDirName: '.stryker-tmp',
  // Not needed by the selected tests, and large (.tools holds the Node 24 binary).
  ignorePatterns: ['.tools', 'dist', 'dist-bench', 'coverage', 'reports', 'bench/results', '.signet-local', 'charts'],
};

export default config;
