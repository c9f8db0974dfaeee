import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when it is older than src/: the CLI tests spawn the built binary.
    globalSetup: ['test/global-setup.ts'],
    // CLI tests spawn node (~150 ms a command) dozens of times per test.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
