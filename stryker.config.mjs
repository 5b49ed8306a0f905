// Mutation testing of the runtime core (`npm run mutate`; docs/testing.md, "Mutation testing").
// One Stryker run per group of files (.ci/mutation-groups.mjs, chosen by TROUPE_MUTATE_GROUP),
// each with its own committed incremental file, so a rerun tests only the mutants whose code or
// covering tests changed.
import { currentGroup } from './.ci/mutation-groups.mjs';

const group = currentGroup();

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // The statechart definitions are static code (built once at import): mutate them too.
  ignoreStatic: false,
  mutate: group.mutate,
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${group.name}.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${group.name}.html` },
  jsonReporter: { fileName: `reports/mutation/${group.name}.json` },
  // The machine is shared; more than two workers only makes every run slower.
  concurrency: 2,
  tempDirName: `.stryker-tmp/${group.name}`,
  cleanTempDir: true,
  // A static mutant reloads every module; on a loaded machine that alone can pass Stryker's
  // default 5 s grace, which would count a slow run as a detected mutant. Real hangs are rare.
  timeoutMS: 30_000,
  timeoutFactor: 2,
  thresholds: { high: 95, low: 90, break: null },
};
