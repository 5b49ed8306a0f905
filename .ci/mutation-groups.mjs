// Which tests Stryker runs for which files. Each group is its own Stryker run with its own
// incremental file, so a mutant (and above all a static one, which runs every test of its run)
// only runs the tests written for its files. Read by stryker.config.mjs and vitest.stryker.config.ts.
export const GROUPS = {
  machines: {
    mutate: [
      'machines/session.ts',
      'machines/session-state.ts',
      'machines/supervisor.ts',
      'machines/routing.ts',
    ],
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
    mutate: ['machines/provider.ts', 'machines/breaker.ts', 'machines/step.ts', 'src/runtime/breakers.ts'],
    tests: [
      'tests/unit/machines/provider.test.ts',
      'tests/unit/machines/breaker.test.ts',
      'tests/unit/machines/step.test.ts',
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
      'src/core/depth-queue.ts',
      'src/core/slices.ts',
      'src/core/json-bytes.ts',
      'src/core/queue-room.ts',
      'src/core/request-bytes.ts',
      'src/core/recent.ts',
      'src/core/host-fields.ts',
      'src/core/type-noun.ts',
    ],
    // `host-fields.ts` (a request's Host fields, read before the Host check) has its unit test
    // with the other checks of the HTTP fronts, in tests/unit/security.
    tests: ['tests/unit/core/**/*.test.ts', 'tests/unit/security/host-fields.test.ts'],
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
    mutate: [
      'src/core/rate-window.ts',
      'src/runtime/limiter.ts',
      'src/runtime/limits.ts',
      'src/runtime/rejecting-state.ts',
    ],
    tests: [
      'tests/unit/core/rate-window.test.ts',
      'tests/unit/runtime/limiter*.test.ts',
      'tests/unit/runtime/rejecting-state.test.ts',
    ],
  },
  // The provider error mapping and the MCP error conversion (with a `withSession` tool's own
  // hints), each stated case by case in unit tests (the vendor tables row by row too, without
  // HTTP: http-errors-vendors.test.ts).
  errors: {
    mutate: [
      'src/providers/http-errors.ts',
      'src/providers/scrub-secrets.ts',
      'src/providers/retry-after.ts',
      'src/providers/stated-window.ts',
      'src/mcp/errors.ts',
      'src/mcp/own-tool-hints.ts',
    ],
    tests: [
      'tests/unit/providers/http-errors*.test.ts',
      'tests/unit/mcp/errors*.test.ts',
      'tests/unit/mcp/own-tool-hints.test.ts',
    ],
  },
  // The vendor tables: static rows, so each mutant runs every test of its group; kept apart.
  'vendor-errors': {
    mutate: ['src/providers/vendor-errors.ts'],
    tests: ['tests/unit/providers/http-errors*.test.ts', 'tests/unit/providers/vendor-errors.test.ts'],
  },
  // The in-memory admission gate over the limiter, the memory shared state under it, and the gate
  // before each provider call (budgets, breakers), each with its own unit tests (no runtime).
  // `gate-options.ts` and `limit-types.ts` hold only types: Stryker makes no mutants of them, so
  // they are not listed (the check would call the group stale for files it never measured).
  'local-limits': {
    mutate: [
      'src/runtime/local-limits.ts',
      'src/runtime/shared-asks.ts',
      'src/runtime/queued-asks.ts',
      'src/runtime/running-share.ts',
      'src/core/caller-slots.ts',
      'src/runtime/call-target.ts',
      'src/runtime/pass-holds.ts',
      'src/runtime/cooldown-reroutes.ts',
      'src/runtime/memory-state.ts',
      'src/runtime/call-gates.ts',
    ],
    tests: [
      'tests/unit/runtime/local-limits*.test.ts',
      // Several runtimes over one shared state: the queued asks through a runtime.
      'tests/unit/runtime/local-runtime-shared-state.test.ts',
      'tests/unit/runtime/running-share.test.ts',
      'tests/unit/runtime/running-share-stale.test.ts',
      'tests/unit/runtime/caller-slots.test.ts',
      'tests/unit/runtime/memory-state.test.ts',
      'tests/unit/runtime/call-gates.test.ts',
    ],
  },
  // A session's parts, each tested directly on a simulated clock: its record and result, and the
  // driver with the machine's effects and its two engines.
  session: {
    mutate: [
      'src/runtime/session-record.ts',
      'src/runtime/session-actions.ts',
      'src/runtime/session-driver.ts',
      'src/runtime/session-engine.ts',
      'src/runtime/delta-folding.ts',
    ],
    tests: [
      'tests/unit/runtime/session-record.test.ts',
      'tests/unit/runtime/session-driver.test.ts',
      'tests/unit/runtime/session-actions.test.ts',
      'tests/unit/runtime/session-engine.test.ts',
      'tests/unit/runtime/delta-folding.test.ts',
      'tests/unit/runtime/partial-answer.test.ts',
      // A throw in a session's end bookkeeping: the driver's, and through a runtime.
      'tests/unit/runtime/end-throws.test.ts',
      // A throw of telling a call's failure, reported through the sink's `report`.
      'tests/unit/runtime/provider-call-unheard.test.ts',
    ],
  },
  // The supervisor's lifecycle, and what holds a session for the caller and the status calls: its
  // handle, the session table, and the result of a session that never ran here.
  lifecycle: {
    mutate: [
      'src/runtime/lifecycle.ts',
      'src/runtime/session-handle.ts',
      'src/runtime/session-table.ts',
      'src/runtime/queued-result.ts',
    ],
    tests: [
      'tests/unit/runtime/lifecycle.test.ts',
      'tests/unit/runtime/session-table.test.ts',
      'tests/unit/runtime/queued-result.test.ts',
    ],
  },
  // The provider call (the session's child), admission, option resolution and the request helpers,
  // each called directly; `provider-call-abort.test.ts` is the one runtime test (three sessions).
  calls: {
    mutate: [
      'src/runtime/provider-call.ts',
      'src/runtime/progress-check.ts',
      'src/runtime/admission.ts',
      'src/runtime/options.ts',
      'src/runtime/option-numbers.ts',
      'src/runtime/requests.ts',
      'src/runtime/ids.ts',
      'src/runtime/request-check.ts',
      'src/runtime/usage-check.ts',
      'src/core/listener-warning.ts',
    ],
    tests: [
      'tests/unit/runtime/provider-call.test.ts',
      'tests/unit/runtime/provider-call-abort.test.ts',
      'tests/unit/runtime/provider-call-unheard.test.ts',
      'tests/unit/runtime/admission.test.ts',
      'tests/unit/runtime/submit-option-keys.test.ts',
      'tests/unit/runtime/options.test.ts',
      'tests/unit/runtime/options-cooldown-scope.test.ts',
      'tests/unit/runtime/requests.test.ts',
      'tests/unit/runtime/ids.test.ts',
      'tests/unit/runtime/request-check.test.ts',
      'tests/unit/runtime/usage-check.test.ts',
      'tests/unit/runtime/partial-answer.test.ts',
    ],
  },
  // MCP tasks' bounds (by count and by result bytes), the pages and sealed cursors of tasks/list,
  // and the in-memory task store that follows them, stated by the store contract every TaskStore
  // runs (the Redis store's script is not mutated here: Lua; it runs the same contract in
  // tasks-store-redis.test.ts).
  tasks: {
    mutate: ['src/ports/task-bounds.ts', 'src/ports/task-cursor.ts', 'src/mcp/tasks/memory-task-store.ts'],
    tests: ['tests/unit/mcp/tasks-store.test.ts', 'tests/unit/mcp/tasks-clock-step.test.ts'],
  },
  // The MCP front's owners index: which entry makes room (the owner holding the most), and the
  // drop at a session's end, called directly; and the one warning when a second caller's sessions
  // are in flight on a runtime without each caller's share (`callerShareWatch`, `wholeShares`).
  owners: {
    mutate: ['src/mcp/session-owners.ts', 'src/mcp/caller-shares.ts'],
    tests: ['tests/unit/mcp/session-owners.test.ts', 'tests/unit/mcp/caller-shares.test.ts'],
  },
  // Tool arguments refused in troupe's words (zod's issues read back through a per-parse error map),
  // called directly and through each tool's schema, and an embedder's schema worded the same way
  // (`withArgumentWords`, through its Standard Schema `validate`).
  arguments: {
    mutate: ['src/mcp/argument-issues.ts', 'src/mcp/argument-words.ts'],
    tests: [
      'tests/unit/mcp/argument-issues.test.ts',
      'tests/unit/mcp/tool-argument-kinds.test.ts',
      'tests/unit/mcp/argument-words.test.ts',
    ],
  },
  // The tools' shape (arguments parsed, a run's outcome, the definition `tools/list` shows, a
  // request's call context) and their zod schemas, called directly and through each tool's schema:
  // no server, no transport. A handler's result held to `CallToolResult` before it is answered
  // (`tool-result.ts`), and an answer too large for stdout or for HTTP's unsent bound sent as a tool
  // error in its place (`stdio-oversized.ts`, `http-oversized.ts`), each called directly too.
  tools: {
    mutate: [
      'src/mcp/tool.ts',
      'src/mcp/schemas.ts',
      'src/mcp/tool-result.ts',
      'src/mcp/stdio-oversized.ts',
      'src/mcp/http-oversized.ts',
    ],
    tests: [
      'tests/unit/mcp/tool.test.ts',
      'tests/unit/mcp/tool-result.test.ts',
      'tests/unit/mcp/stdio-oversized.test.ts',
      'tests/unit/mcp/http-oversized.test.ts',
      'tests/unit/mcp/schemas.test.ts',
      'tests/unit/mcp/tool-parameters.test.ts',
      'tests/unit/mcp/tool-argument-kinds.test.ts',
      'tests/unit/mcp/portable-schema.test.ts',
      'tests/unit/mcp/metadata-docs.test.ts',
    ],
  },
  // The Streamable HTTP front's unsent bytes bound and the writes it holds until they fit (the held
  // budget), called directly on stand-in responses with the checks called by hand and the clock
  // moved by the test; the first cases of `clock-step.test.ts` step the wall clock under them. Over
  // real HTTP (tests/integration/security/) they are not run here: a server and the SDK's client
  // per mutant.
  unsent: {
    mutate: ['src/mcp/http-unsent.ts', 'src/mcp/http-held.ts'],
    tests: [
      'tests/unit/mcp/http-unsent*.test.ts',
      'tests/unit/mcp/http-held*.test.ts',
      'tests/unit/mcp/clock-step.test.ts',
    ],
  },
  // A provider's secrets where the settings are read: a key pasted into a model setting, a key's own
  // shape and length, a base URL's credentials, query and fragment (refused, and hidden in
  // messages), and which configured headers carry a credential (scrubbed from errors), each called
  // directly and through `loadProviders` (no network).
  settings: {
    mutate: [
      'src/providers/key-in-models.ts',
      'src/providers/api-key.ts',
      'src/providers/base-url.ts',
      'src/providers/header-secrets.ts',
    ],
    tests: [
      'tests/unit/providers/key-in-models.test.ts',
      'tests/unit/providers/api-key-shape.test.ts',
      'tests/unit/providers/base-url-query.test.ts',
      'tests/unit/providers/base-url-credentials.test.ts',
      'tests/unit/providers/header-secrets.test.ts',
    ],
  },
  // The request ids in flight on a stdio connection or a 2025-era HTTP session (a reused one
  // refused), called directly and on the stdin guard with the SDK's stdio transport.
  'stdio-ids': {
    mutate: ['src/mcp/in-flight-ids.ts', 'src/mcp/stdio-request-ids.ts'],
    tests: ['tests/unit/mcp/in-flight-ids.test.ts'],
  },
  // The in-memory cluster ports (queue, store, bus, hub), each stated against its port's contract
  // on a simulated clock, without a runtime.
  'memory-ports': {
    mutate: [
      'src/runtime/memory-ports/queue.ts',
      'src/runtime/memory-ports/instance-queue.ts',
      'src/core/caller-holds.ts',
      'src/runtime/memory-ports/store.ts',
      'src/runtime/memory-ports/bus.ts',
      'src/runtime/memory-ports/hub.ts',
    ],
    tests: ['tests/unit/runtime/memory-ports/*.test.ts'],
  },
  // What the runtime tells about its sessions: events to streams and subscribers, the ended
  // sessions' history, the counters of `metrics()`, tracing spans, XState inspection, and the
  // default backend. Each file called directly by its own unit test (`tests/unit/runtime/observe/`).
  // `events.ts` is types only: it has no mutants, so it is not listed (a listed file without a
  // mutant is never in the report, and mutation-check would call the group stale for ever).
  observe: {
    mutate: [
      'src/runtime/event-hub.ts',
      'src/runtime/event-stream.ts',
      'src/runtime/history.ts',
      'src/runtime/counters.ts',
      'src/runtime/tracing.ts',
      'src/runtime/session-inspection.ts',
      'src/runtime/backend.ts',
      'src/runtime/wall-times.ts',
    ],
    // `wall-times.ts`: the times a local runtime reports, moved onto the wall clock.
    tests: [
      'tests/unit/runtime/observe/*.test.ts',
      'tests/unit/runtime/session-inspection.test.ts',
      'tests/unit/runtime/wall-times.test.ts',
    ],
  },
  // Daily budgets, routing at admission and the move past a cooling-down provider: each called
  // directly by its unit tests (no runtime; the fallback chains through a runtime are in
  // fallback.test.ts, not run here).
  budgets: {
    mutate: [
      'src/runtime/budgets.ts',
      'src/runtime/routing.ts',
      'src/runtime/reroute.ts',
      'src/core/currency.ts',
    ],
    tests: [
      'tests/unit/core/currency.test.ts',
      'tests/unit/runtime/budgets.test.ts',
      'tests/unit/runtime/budgets-rules.test.ts',
      'tests/unit/runtime/routing.test.ts',
      'tests/unit/runtime/reroute.test.ts',
    ],
  },
  // The in-memory runtime's composition: it exists only inside a runtime, so its tests build small
  // ones (a scripted provider, a simulated clock, a few sessions each).
  'runtime-composition': {
    mutate: [
      'src/runtime/local-runtime.ts',
      'src/runtime/pump.ts',
      'src/runtime/runtime.ts',
      'src/runtime/option-keys.ts',
      'src/runtime/lending.ts',
    ],
    // Only its own tests: with runtime.test.ts too (44 tests a mutant) a run took about 50 minutes here.
    // createRuntime's, submit's and run's checks of their fields (and the prices table) have their own.
    tests: [
      'tests/unit/runtime/local-runtime.test.ts',
      'tests/unit/runtime/local-runtime-limits.test.ts',
      'tests/unit/runtime/local-runtime-shared-state.test.ts',
      'tests/unit/runtime/local-runtime-bytes.test.ts',
      'tests/unit/runtime/pump.test.ts',
      'tests/unit/runtime/running-share.test.ts',
      'tests/unit/runtime/running-share-stale.test.ts',
      'tests/unit/runtime/lending.test.ts',
      // A lent child's fallbacks and rate windows.
      'tests/unit/runtime/lending-limits.test.ts',
      'tests/unit/runtime/option-keys.test.ts',
      'tests/unit/runtime/submit-option-keys.test.ts',
      'tests/unit/runtime/prices-option.test.ts',
    ],
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
export const BELOW_BAR = {};
