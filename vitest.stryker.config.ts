/**
 * The tests Stryker runs against each mutant (`npm run mutate`): the unit tests of the files it
 * mutates, nothing that needs a network, Redis or the built CLI. Static mutants (the statechart
 * definitions, built once at import) run every test here, so this list is kept to what kills
 * mutants in the mutated files; the compiled engine's tests are out while the engine is.
 */
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'tests/unit/core/**/*.test.ts',
      'tests/unit/machines/**/*.test.ts',
      'tests/unit/providers/http-errors*.test.ts',
      'tests/unit/mcp/errors*.test.ts',
    ],
    exclude: [...configDefaults.exclude, 'tests/unit/core/compiled-machine.test.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
