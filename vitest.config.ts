import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS entry for everyone; vite would hand ESM importers
    // the .mjs copy, and two graphql realms break instanceof checks.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: files run in parallel forks, each with its own database.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // .ci/run asks for a JSON report to print one totals line.
    reporters: process.env.CI_JSON_REPORT ? ['default', 'json'] : ['default'],
    outputFile: process.env.CI_JSON_REPORT ? { json: process.env.CI_JSON_REPORT } : undefined,
  },
});
