// Mutation testing of the runtime core (`npm run mutate`; docs/testing.md, "Mutation testing").
// Incremental: reports/stryker-incremental.json is committed, so a rerun tests only the mutants
// whose code or covering tests changed. Run one file with `npm run mutate -- --mutate <path>`.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // The statechart definitions are static code (built once at import): mutate them too.
  ignoreStatic: false,
  mutate: [
    'machines/session.ts',
    'machines/supervisor.ts',
    'src/core/errors.ts',
    'src/core/metadata.ts',
    'src/core/deadlines.ts',
    'src/core/scheduler.ts',
    'src/providers/http-errors.ts',
    'src/mcp/errors.ts',
  ],
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The machine is shared; more than two workers only makes every run slower.
  concurrency: 2,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 95, low: 90, break: null },
};
