/**
 * The tests Stryker runs against each mutant (`npm run mutate`): the unit tests of the current
 * group's files (.ci/mutation-groups.mjs), nothing that needs a network, Redis or the built CLI.
 */
import { configDefaults, defineConfig } from 'vitest/config';
import { currentGroup } from './.ci/mutation-groups.mjs';
import { expectPoll } from './tests/support/poll-defaults.js';

export default defineConfig({
  test: {
    include: currentGroup().tests,
    // The compiled engine's tests run in their own group (`statechart`), not in `core`.
    exclude:
      currentGroup().name === 'statechart'
        ? configDefaults.exclude
        : [
            ...configDefaults.exclude,
            'tests/unit/core/compiled-machine.test.ts',
            'tests/unit/core/statechart/**',
          ],
    testTimeout: 30_000,
    expect: { poll: expectPoll },
    reporters: ['default'],
  },
});
