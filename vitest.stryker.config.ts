/**
 * The tests Stryker runs against each mutant (`npm run mutate`): the unit and property tests of the
 * files it mutates, nothing that needs a network, Redis or the built CLI, so a mutant costs
 * milliseconds. Property runs are fewer than in `npm test` (see TROUPE_PROPERTY_RUNS in
 * stryker.config.mjs): a mutant that a property catches is usually caught in the first few runs.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'tests/unit/core/**/*.test.ts',
      'tests/unit/machines/**/*.test.ts',
      'tests/unit/providers/http-errors*.test.ts',
      'tests/unit/mcp/errors*.test.ts',
      'tests/properties/compiled-machine.test.ts',
    ],
    setupFiles: ['tests/support/fast-check-first-failure.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
