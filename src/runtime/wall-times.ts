/**
 * The times a local runtime tells its user, on the wall clock. Its clock (`steadyClock` by default)
 * measures every deadline on the monotonic clock, so a wall-clock step moves none; what a user reads
 * (events' `at`, summaries' times, `status()`'s `openUntil` and `cooldownUntil`) is turned into
 * wall-clock epoch ms as it leaves (`wallOf`). On a clock without `wall` (XState's
 * `SimulatedClock`, `systemClock`, a cluster's) each function hands back what it got.
 */
import { type Clock, wallOf } from '../core/clock.js';
import type { BreakerView } from './breakers.js';
import type { ProviderBudget } from './limiter.js';
import type { SessionSummary, SupervisorEvent } from './types.js';

export interface WallTimes {
  /** `at` on the wall clock; the event hub's stamp, `undefined` when times need no change. */
  readonly stamp: ((at: number) => number) | undefined;
  supervisor(event: SupervisorEvent): SupervisorEvent;
  summary(summary: SessionSummary | undefined): SessionSummary | undefined;
  summaries<L extends readonly SessionSummary[]>(summaries: L): L;
  /** `status()`'s breakers: `openUntil`. */
  breakers(views: readonly BreakerView[]): readonly BreakerView[];
  /** `status()`'s limits: each provider's `cooldownUntil` and its models' cooldowns. */
  budgets(budgets: Readonly<Record<string, ProviderBudget>>): Readonly<Record<string, ProviderBudget>>;
}

const unchanged: WallTimes = {
  stamp: undefined,
  supervisor: (event) => event,
  summary: (summary) => summary,
  summaries: (summaries) => summaries,
  breakers: (views) => views,
  budgets: (budgets) => budgets,
};

export function wallTimes(clock: Clock): WallTimes {
  if (clock.wall === undefined) return unchanged;
  const stamp = (at: number) => wallOf(clock, at);
  const summary = (s: SessionSummary): SessionSummary => {
    const out: Writable<SessionSummary> = { ...s, createdAt: stamp(s.createdAt) };
    if (s.startedAt !== undefined) out.startedAt = stamp(s.startedAt);
    if (s.endedAt !== undefined) out.endedAt = stamp(s.endedAt);
    return out;
  };
  return {
    stamp,
    supervisor: (event) =>
      event.type === 'supervisor.draining'
        ? { ...event, at: stamp(event.at), deadlineAt: stamp(event.deadlineAt) }
        : { ...event, at: stamp(event.at) },
    summary: (s) => (s === undefined ? undefined : summary(s)),
    summaries: <L extends readonly SessionSummary[]>(list: L) => list.map(summary) as unknown as L,
    breakers: (views) =>
      views.map((b) => (b.openUntil === null ? b : { ...b, openUntil: stamp(b.openUntil) })),
    budgets: (budgets) =>
      Object.fromEntries(
        Object.entries(budgets).map(([name, budget]) => [name, budgetOnWall(budget, stamp)]),
      ),
  };
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

function budgetOnWall(budget: ProviderBudget, stamp: (at: number) => number): ProviderBudget {
  const out: Writable<ProviderBudget> = {
    ...budget,
    cooldownUntil: budget.cooldownUntil === null ? null : stamp(budget.cooldownUntil),
  };
  if (budget.models !== undefined)
    out.models = Object.fromEntries(
      Object.entries(budget.models).map(([model, until]) => [model, stamp(until)]),
    );
  return out;
}
