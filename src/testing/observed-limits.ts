/**
 * The limits a `RuntimeObserver` judges a run by (`invariants.ts`): the runtime's own, as given to
 * `createRuntime`, and what a backend changes in how they show in the events.
 */
import type { ProviderLimits } from '../runtime/types.js';

export interface ObservedLimits {
  readonly maxConcurrent: number;
  /** Every this-many admissions per provider may pass over priority (the fairness turn). */
  readonly fairnessEvery: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly historySize: number;
  /** Limits in providers' own units, by provider, and of its models (see `rateLimitsHold`). */
  readonly providers?: Readonly<Record<string, ProviderLimits>>;
  /**
   * On a shared state reached asynchronously (Redis): a call admitted while another call's
   * `RATE_LIMITED` answer was still being recorded starts up to a round trip into the cooldown.
   * Starts this many ms after the answer, or fewer, are not held against `cooldownHolds`. 0 in memory.
   */
  readonly cooldownRaceMs?: number;
  /**
   * On a backend, a session's end reaches subscribers once its settle is written, after events of
   * other sessions that came later (its `at` is still its own time): `rateLimitsHold` and
   * `cooldownHolds` are judged at the end of the run, every event in the order of its time.
   */
  readonly endsLate?: boolean;
  /**
   * On a backend, a fallback hop to another provider goes back to wait in that provider's queue
   * (scale-out.md, "Known limits"): it holds no slot until its next start, and `limitsHold` does not
   * count it running meanwhile.
   */
  readonly hopsRequeue?: boolean;
  /** The estimate charged for each start of a session (docs/providers.md, "Token estimates"). */
  readonly tokensOf?: (sessionId: string) => number;
  /**
   * Providers that cool down per model (`cooldownScope: 'model'`, GLM's): `cooldownHolds` judges
   * each of their models apart, and `priorityOrder` lets a session of another model go past one
   * its own model's cooldown holds.
   */
  readonly cooldownPerModel?: readonly string[];
  /** Whether a waiting session's caller runs its share (`maxRunningPerCaller`): `priorityOrder` lets the queue pass it over. */
  readonly heldByShare?: (sessionId: string) => boolean;
  /** Each caller's share of the running sessions: `runningShare` is judged when given (`places-seen.ts`), in memory (not with `hopsRequeue`: a backend's share is per instance). */
  readonly maxRunningPerCaller?: number;
}
