import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { postgresMissing } from './test/helpers/postgres-install.js';

// The CLI suites that also run against a team store (test/helpers/store-kind.ts): their stores come
// from withStoreDir, which in the `team` project makes each one on PostgreSQL and s3rver.
const TEAM_VARIANT_FILES = [
  'test/cli/data-commands.test.ts',
  'test/cli/bad-input.test.ts',
  'test/cli/command-messages.test.ts',
  'test/cli/unicode-names.test.ts',
  'test/cli/special-targets.test.ts',
  'test/cli/piped-stdin.test.ts',
  'test/reliability/delta-crash.test.ts',
];

// Node reads and parses the whole file NODE_EXTRA_CA_CERTS names at every process start, before
// any of tusk runs: with this environment's system bundle that is 43 ms of each start (node -e 0:
// 104 ms with it, 61 without; `tusk list repo` 253 → 221 ms), and the suite starts thousands of
// processes. The tests talk to loopback servers over plain HTTP and need no extra CA, so the
// workers and everything they spawn run without it.
delete process.env.NODE_EXTRA_CA_CERTS;

const common = {
  // Builds dist/ when it is older than src/: the CLI tests spawn the built binary.
  globalSetup: ['test/global-setup.ts'],
  // CLI tests spawn node (~150 ms a command) dozens of times per test.
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

const missing = postgresMissing();
if (missing) console.warn(`team-store variant of ${TEAM_VARIANT_FILES.join(', ')} skipped: ${missing}`);

export default defineConfig({
  test: {
    // Two files at a time even on two cores (vitest's default there is one): most files wait on
    // child processes, PostgreSQL and s3rver rather than compute, and one at a time took the
    // suite to ~26 minutes of tests on this project's 2-core machines.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { test: { name: 'local', include: ['test/**/*.test.ts'], ...common } },
      ...(missing
        ? []
        : [{ test: { name: 'team', include: TEAM_VARIANT_FILES, env: { TUSK_TEST_STORE: 'team' }, setupFiles: ['test/helpers/team-store-setup.ts'], ...common } }]),
    ],
  },
});
