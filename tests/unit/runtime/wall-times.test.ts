/**
 * `wallTimes` (src/runtime/wall-times.ts): what a local runtime reports goes out on the wall clock,
 * each time moved by the wall clock's offset from the runtime's (steady) clock; on a clock without
 * `wall` everything goes out as it came.
 */
import { expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Clock } from '../../../src/core/clock.js';
import type { BreakerView } from '../../../src/runtime/breakers.js';
import type { ProviderBudget } from '../../../src/runtime/limiter.js';
import type { SessionSummary } from '../../../src/runtime/types.js';
import { wallTimes } from '../../../src/runtime/wall-times.js';

/** A steady clock at 1,000 whose wall clock reads 10,000 ms later (the date was set forward). */
function stepped(): Clock {
  const clock = new SimulatedClock();
  clock.set(1_000);
  return Object.assign(clock, { wall: () => 11_000 });
}

const summary: SessionSummary = {
  sessionId: 's',
  requestId: 'r',
  provider: 'p',
  model: 'm',
  priority: 5,
  state: 'done',
  createdAt: 100,
  startedAt: 200,
  endedAt: 900,
  attempts: 1,
};
const breaker = (openUntil: number | null): BreakerView => ({
  provider: 'p',
  state: openUntil === null ? 'closed' : 'open',
  failures: 0,
  threshold: 5,
  openUntil,
  opened: 0,
  lastError: null,
});
const budget = (cooldownUntil: number | null, models?: Record<string, number>): ProviderBudget => ({
  cooldown: cooldownUntil === null ? 'open' : 'coolingDown',
  cooldownUntil,
  cooldowns: 0,
  remaining: { maxConcurrent: null, requestsPerMinute: null, tokensPerMinute: null, tokensPerDay: null },
  ...(models === undefined ? {} : { models }),
});

it('moves every reported time by the wall clock’s offset from the runtime’s clock', () => {
  const wall = wallTimes(stepped());
  expect(wall.stamp?.(900)).toBe(10_900);
  expect(wall.summary(summary)).toEqual({
    ...summary,
    createdAt: 10_100,
    startedAt: 10_200,
    endedAt: 10_900,
  });
  const queued = { ...summary, state: 'queued' as const, startedAt: undefined, endedAt: undefined };
  delete queued.startedAt;
  delete queued.endedAt;
  expect(wall.summary(queued)).toEqual({ ...queued, createdAt: 10_100 });
  expect(wall.summary(undefined)).toBeUndefined();
  expect(wall.summaries([summary, summary]).map((s) => s.endedAt)).toEqual([10_900, 10_900]);
  expect(wall.supervisor({ type: 'supervisor.draining', at: 1_000, deadlineAt: 2_000 })).toEqual({
    type: 'supervisor.draining',
    at: 11_000,
    deadlineAt: 12_000,
  });
  expect(wall.supervisor({ type: 'supervisor.stopped', at: 1_000, cancelled: ['s'] })).toEqual({
    type: 'supervisor.stopped',
    at: 11_000,
    cancelled: ['s'],
  });
  expect(wall.breakers([breaker(1_500), breaker(null)]).map((b) => b.openUntil)).toEqual([11_500, null]);
  expect(wall.budgets({ p: budget(1_600, { m: 1_700 }), q: budget(null) })).toEqual({
    p: budget(11_600, { m: 11_700 }),
    q: budget(null),
  });
});

it('hands back what it got on a clock without `wall` (a simulated one, a cluster’s)', () => {
  const wall = wallTimes(new SimulatedClock());
  expect(wall.stamp).toBeUndefined();
  const summaries = [summary];
  expect(wall.summary(summary)).toBe(summary);
  expect(wall.summaries(summaries)).toBe(summaries);
  const event = { type: 'supervisor.stopped' as const, at: 1, cancelled: [] };
  expect(wall.supervisor(event)).toBe(event);
  const views = [breaker(5)];
  expect(wall.breakers(views)).toBe(views);
  const budgets = { p: budget(5) };
  expect(wall.budgets(budgets)).toBe(budgets);
});
