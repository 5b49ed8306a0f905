// Which tests Stryker runs for which files. Each group is its own Stryker run with its own
// incremental file, so a mutant (and above all a static one, which runs every test of its run)
// only runs the tests written for its files. Read by stryker.config.mjs and vitest.stryker.config.ts.
export const GROUPS = {
  machines: {
    mutate: ['machines/session.ts', 'machines/supervisor.ts', 'machines/routing.ts'],
    tests: [
      'tests/unit/machines/session*.test.ts',
      'tests/unit/machines/routing.test.ts',
      'tests/unit/machines/supervisor.test.ts',
      'tests/unit/machines/coverage.test.ts',
      'tests/unit/machines/load.test.ts',
    ],
  },
  // The provider's cooldown and the circuit breaker (its machine and its runner over the shared
  // state): kept apart so the session machine's static mutants do not run the breaker property.
  gates: {
    mutate: ['machines/provider.ts', 'machines/breaker.ts', 'src/runtime/breakers.ts'],
    tests: [
      'tests/unit/machines/provider.test.ts',
      'tests/unit/machines/breaker.test.ts',
      'tests/unit/machines/load.test.ts',
      'tests/unit/runtime/breakers.test.ts',
      'tests/properties/breaker.test.ts',
    ],
    // The breaker properties at 50 runs per mutant (300 in `npm test`): the unit tests state each
    // transition; the properties are there for what they miss.
    env: { TROUPE_PROPERTY_RUNS: '50' },
  },
  core: {
    // The compiled engine (src/core/statechart) is its own group.
    mutate: [
      'src/core/errors.ts',
      'src/core/metadata.ts',
      'src/core/deadlines.ts',
      'src/core/scheduler.ts',
      'src/core/fifo.ts',
      'src/core/slices.ts',
    ],
    tests: ['tests/unit/core/**/*.test.ts'],
  },
  statechart: {
    mutate: ['src/core/statechart/*.ts'],
    tests: [
      'tests/unit/core/compiled-machine.test.ts',
      'tests/unit/core/statechart/**/*.test.ts',
      'tests/properties/compiled-machine.test.ts',
      // The actor's inspection hook (`ActorWatch`), through the runtime.
      'tests/unit/runtime/session-inspection.test.ts',
    ],
    // The differential property at 50 runs per mutant (200 in `npm test`): the unit tests kill
    // most mutants; the property is there for what they miss.
    env: { TROUPE_PROPERTY_RUNS: '50' },
  },
  // Limits in providers' own units: the rate windows, the limiter's policy over them and the
  // provider cooldown, and its runner over a shared state (in memory here).
  limits: {
    mutate: ['src/core/rate-window.ts', 'src/runtime/limiter.ts', 'src/runtime/limits.ts'],
    tests: ['tests/unit/core/rate-window.test.ts', 'tests/unit/runtime/limiter.test.ts'],
  },
  // The provider error mapping and the MCP error conversion, each stated case by case in unit
  // tests (the vendor tables row by row too, without HTTP: http-errors-vendors.test.ts).
  errors: {
    mutate: ['src/providers/http-errors.ts', 'src/mcp/errors.ts'],
    tests: ['tests/unit/providers/http-errors*.test.ts', 'tests/unit/mcp/errors*.test.ts'],
  },
  // The vendor tables: static rows, so each mutant runs every test of its group; kept apart.
  'vendor-errors': {
    mutate: ['src/providers/vendor-errors.ts'],
    tests: ['tests/unit/providers/http-errors*.test.ts', 'tests/unit/providers/vendor-errors.test.ts'],
  },
  // The provider call (the session's child), admission, option resolution and the request helpers,
  // each called directly; `provider-call-abort.test.ts` is the one runtime test (three sessions).
  calls: {
    mutate: [
      'src/runtime/provider-call.ts',
      'src/runtime/admission.ts',
      'src/runtime/options.ts',
      'src/runtime/requests.ts',
      'src/runtime/ids.ts',
    ],
    tests: [
      'tests/unit/runtime/provider-call.test.ts',
      'tests/unit/runtime/provider-call-abort.test.ts',
      'tests/unit/runtime/admission.test.ts',
      'tests/unit/runtime/options.test.ts',
      'tests/unit/runtime/requests.test.ts',
      'tests/unit/runtime/ids.test.ts',
    ],
  },
  // The in-memory runtime's composition: it exists only inside a runtime, so its tests build small
  // ones (a scripted provider, a simulated clock, a few sessions each).
  'runtime-composition': {
    mutate: ['src/runtime/local-runtime.ts', 'src/runtime/runtime.ts'],
    tests: ['tests/unit/runtime/local-runtime.test.ts', 'tests/unit/runtime/runtime.test.ts'],
  },
};

/** The group named by TROUPE_MUTATE_GROUP (set by .ci/mutate.mjs). */
export function currentGroup() {
  const name = process.env.TROUPE_MUTATE_GROUP ?? 'machines';
  const group = GROUPS[name];
  if (group === undefined) {
    throw new Error(
      `Expected TROUPE_MUTATE_GROUP to be one of ${Object.keys(GROUPS).join(', ')}, got ${name}`,
    );
  }
  return { name, ...group };
}

/**
 * Files measured below the bar, each with why (`.ci/mutation-check.mjs` fails on any other file
 * below it, and on a listed file that has reached it, so the list only shrinks).
 */
export const BELOW_BAR = {
  'src/runtime/breakers.ts':
    'the snapshot `admit` remembers for views() and the closed shortcuts are not yet stated by a test',
};
