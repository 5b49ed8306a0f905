/**
 * The limits the runtime model draws (`model-arbitraries.ts` draws its commands): the runtime's own
 * bounds, and limits in providers' own units on the scripted providers p0 to p2 (or on your own
 * providers, `limitsOn`), for the random runs and for the deep queues.
 */
import fc from 'fast-check';
import type { ProviderLimits } from '../runtime/types.js';

/**
 * Tokens a day (Moonshot's TPD, docs/providers.md): in some runs, one to about twenty starts' worth
 * (a start is charged 107, an answer 3), so the day holds its provider well inside a run; a window
 * of 24 hours does not open again in a run, and what waits for it times out naming it.
 */
const tokensPerDay = fc.integer({ min: 107, max: 2200 });

export const limitsArbitrary = fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 6 }),
  perProvider: fc.record({ p0: fc.integer({ min: 1, max: 4 }), p1: fc.integer({ min: 1, max: 4 }) }),
  maxQueued: fc.integer({ min: 1, max: 30 }),
  // A request is 80 to 600 bytes here: from about one to about thirty of them waiting.
  maxQueuedBytes: fc.integer({ min: 600, max: 20_000 }),
  // Two callers and sessions without one: shares mostly of a few sessions, so that a caller often
  // reaches its share (a share off by one shows within 200 runs), sometimes past the queue's bound.
  maxQueuedPerCaller: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 12 })),
  // Each caller's share of the sessions running (`maxRunningPerCaller`): none in some runs, one to
  // three in others, so a caller often waits for its share beside free slots, cancels and hops.
  maxRunningPerCaller: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  fairnessEvery: fc.integer({ min: 1, max: 8 }),
  historySize: fc.integer({ min: 0, max: 10 }),
  // Limits in providers' own units: p0 by requests, p1 by tokens (each start is charged 107), each
  // by tokens a day too in some runs; p2 cools down per model (GLM's way) and, in some runs, its
  // model has limits of its own: one or two calls at once (a session its model holds is passed
  // over alone, the scheduler's `'item'`, in its order), requests and tokens a minute, tokens a day.
  providers: fc.record({
    p0: fc.record(
      { requestsPerMinute: fc.integer({ min: 1, max: 6 }), tokensPerDay },
      { requiredKeys: ['requestsPerMinute'] },
    ),
    // p1's own `maxConcurrent` (its calls in flight) in some runs: `statusCounts` counts them.
    p1: fc.record(
      {
        tokensPerMinute: fc.integer({ min: 107, max: 700 }),
        maxConcurrent: fc.integer({ min: 1, max: 2 }),
        tokensPerDay,
      },
      { requiredKeys: ['tokensPerMinute'] },
    ),
    p2: fc.record(
      {
        cooldownScope: fc.constant('model' as const),
        models: fc.record({
          model: fc.record(
            {
              maxConcurrent: fc.integer({ min: 1, max: 2 }),
              requestsPerMinute: fc.integer({ min: 1, max: 6 }),
              tokensPerMinute: fc.integer({ min: 107, max: 700 }),
              tokensPerDay,
            },
            { requiredKeys: [] },
          ),
        }),
      },
      { requiredKeys: ['cooldownScope'] },
    ),
  }),
  // Breakers, on by default in `serve`: off in some runs, tight enough in others to open and probe.
  breakers: fc.option(
    fc.record({
      failures: fc.integer({ min: 1, max: 3 }),
      windowMs: fc.integer({ min: 1000, max: 10_000 }),
      openMs: fc.integer({ min: 100, max: 3000 }),
      probeTimeoutMs: fc.integer({ min: 100, max: 6000 }),
      // Timeouts count once the provider was silent this long: within the deadlines drawn, so that a
      // run's timed-out calls count in some runs and not in others (`verdictOf`).
      minTimeoutMs: fc.integer({ min: 50, max: 6000 }),
    }),
    { nil: undefined },
  ),
});

/**
 * The drawn limits on your own providers: each takes those of one scripted provider (a concurrency
 * limit of p0's or p1's; p0's requests a minute, p1's tokens a minute or p2's cooldown by model,
 * with `model` as p2's model), in turn from a drawn start, so one provider meets each kind over the
 * runs. Until 2026-12-04 the limits stayed on `p0` to `p2`, which your providers are not: no
 * per-provider limit applied to them, and `limitsHold`, `rateLimitsHold`, `cooldownHolds` said
 * nothing of them.
 */
export function limitsOn(names: readonly string[], model: string) {
  return fc.tuple(limitsArbitrary, fc.nat(5)).map(([drawn, start]) => {
    const perProvider: Record<string, number> = {};
    const providers: Record<string, ProviderLimits> = {};
    const own = drawn.providers as Readonly<Record<string, ProviderLimits>>;
    names.forEach((name, i) => {
      perProvider[name] = drawn.perProvider[(start + i) % 2 === 0 ? 'p0' : 'p1'];
      const limits = own[`p${(start + i) % 3}`] as ProviderLimits;
      const byModel = limits.models?.model;
      providers[name] = byModel === undefined ? limits : { ...limits, models: { [model]: byModel } };
    });
    return { ...drawn, perProvider, providers };
  });
}

/** Limits for `queueCommandArbitraries`: a few slots, room to queue, shares in some runs. */
export const queueLimitsArbitrary = fc.record(
  {
    maxConcurrent: fc.integer({ min: 1, max: 4 }),
    perProvider: fc.record({ p0: fc.integer({ min: 1, max: 2 }), p1: fc.integer({ min: 1, max: 2 }) }),
    maxQueued: fc.integer({ min: 10, max: 40 }),
    maxRunningPerCaller: fc.integer({ min: 1, max: 3 }),
    fairnessEvery: fc.integer({ min: 1, max: 8 }),
    historySize: fc.integer({ min: 0, max: 6 }),
    // Limits of their own for each, so that `status()` shows each one's cooldown (`workConserved`).
    // p0's tokens a day in some runs: a few to a hundred starts' worth, so that some deep runs fill it.
    providers: fc.record({
      p0: fc.record(
        {
          requestsPerMinute: fc.integer({ min: 5, max: 60 }),
          tokensPerDay: fc.integer({ min: 500, max: 12_000 }),
        },
        { requiredKeys: ['requestsPerMinute'] },
      ),
      p1: fc.constant({ tokensPerMinute: 1_000_000 }),
      p2: fc.constant({ cooldownScope: 'model' as const, requestsPerMinute: 10_000 }),
    }),
  },
  { requiredKeys: ['maxConcurrent', 'perProvider', 'maxQueued', 'fairnessEvery', 'historySize'] },
);

/** The limits of one run of the model: the runtime's own, and those in providers' units. */
export interface ScenarioLimits {
  readonly maxConcurrent: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly maxQueued: number;
  /** @default the runtime's (256 MiB) */
  readonly maxQueuedBytes?: number;
  /** @default `maxQueued` */
  readonly maxQueuedPerCaller?: number;
  /** @default `maxConcurrent` (no share) */
  readonly maxRunningPerCaller?: number;
  readonly fairnessEvery: number;
  readonly historySize: number;
  /** Limits in providers' own units, by provider, as `RuntimeOptions.limits.providers` takes them. */
  readonly providers?: Readonly<Record<string, ProviderLimits>>;
  /** Circuit breakers per provider (`RuntimeOptions.breakers`); none when absent. */
  readonly breakers?: {
    readonly failures: number;
    readonly windowMs: number;
    readonly openMs: number;
    readonly probeTimeoutMs?: number;
    readonly minTimeoutMs?: number;
  };
}
