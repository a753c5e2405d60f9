import { defineConfig } from 'vitest/config';

// .ci/run only: a project that fails on purpose, to prove a failing run exits non-zero.
const exitCodeCanary =
  process.env.KEYGATE_EXIT_CODE_CANARY === '1'
    ? [{ test: { name: 'canary', include: ['test/canary/**/*.test.ts'], globalSetup: ['test/support/global-setup.ts'] } }]
    : [];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Files share one Postgres and one Redis; each works in its own tenant and keys.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/support/browser-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One Chromium and one server child at a time, after the other projects: the machine has few
          // cores, and a browser beside the soak and fault suites would starve them.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          // Suites that load the database for minutes (100,000 rows): alone, after every other
          // project, so they neither starve nor are starved by the fault and soak suites.
          name: 'volume',
          include: ['test/volume/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      ...exitCodeCanary,
    ],
  },
});
