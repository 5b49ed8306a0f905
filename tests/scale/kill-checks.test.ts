/**
 * The kill property's check of a takeover (`fixtures/kill-checks.ts`) on made-up runs: a session
 * whose call the kill cut shows two attempts, except in the one case docs/scale-out.md states as a
 * limit (its call begun while its instance was cut off from Redis, the instance killed before it
 * could send the run record again), where the takeover's one attempt is all it can show. And the
 * check that no session is called twice at once, nor a provider over its `perProvider`, which lets
 * two calls of one session overlap only after a stalled check moved its job between them (an
 * instance starved of CPU past its lock: `lapsedAt`).
 */
import { expect, it } from 'vitest';
import type { SessionResult, SessionSummary } from '../../src/runtime/types.js';
import type { RecordedRequest } from '../../src/testing/openai-server.js';
import { violations } from './fixtures/kill-checks.js';
import type { Plan, RunOutcome } from './fixtures/kill-run.js';

const T = 1_000_000;
const plan: Plan = {
  workers: 1,
  limits: { p: 1, q: 1 },
  sessions: [{ provider: 'p', priority: 5, latencyMs: 300, timeoutMs: 30_000, atMs: 0 }],
  kill: { afterCall: 0, delayMs: 100 },
  cut: { target: 'all', atMs: 0, forMs: 200 },
};

function call(
  id: number,
  instance: number,
  receivedAt: number,
  closedAt: number,
  completed: boolean,
): RecordedRequest {
  return {
    id,
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'x-instance': String(instance), 'x-provider': 'p' },
    authorized: true,
    body: undefined,
    receivedAt,
    socketId: id,
    closedAt,
    completed,
  };
}

/** A run whose victim (instance 1) began its call at `callAt`, was killed at `killedAt`, and whose session instance 0 took over and ended `done` with `attempts`. */
function run(
  callAt: number,
  killedAt: number,
  attempts: number,
  cutWindow?: RunOutcome['cutWindow'],
): RunOutcome {
  const endedAt = killedAt + 1_000;
  const result = {
    ok: true,
    content: 'answer',
    metadata: { state: 'done', attempts },
  } as unknown as SessionResult;
  const summary = { state: 'done', endedAt } as unknown as SessionSummary;
  return {
    prefix: 'k',
    seen: [{ tag: 's0', planned: plan.sessions[0]!, id: 'a', result, events: ['session.ended'] }],
    endsHeard: new Map([['a', 1]]),
    calls: new Map([
      ['s0', [call(1, 1, callAt, killedAt, false), call(2, 0, killedAt + 500, endedAt, true)]],
    ]),
    stalls: new Map(),
    victim: 1,
    killedAt,
    ...(cutWindow === undefined ? {} : { cutWindow }),
    views: new Map([[0, new Map([['a', summary]])]]),
    leftLive: new Map(),
    exits: [0],
    shutdownCancelled: [],
  };
}

const notTakenOver = (found: string[]) => found.filter((line) => line.includes('was not taken over'));

it('asks two attempts of a session whose call the kill cut, with no cut in the run', () => {
  expect(violations({ ...plan, cut: undefined } as Plan, run(T, T + 100, 2))).toEqual([]);
  expect(notTakenOver(violations({ ...plan, cut: undefined } as Plan, run(T, T + 100, 1)))).toHaveLength(1);
});

it('lets one attempt stand when the call began in the victim’s cut and the kill came before it could resend its record', () => {
  expect(violations(plan, run(T + 50, T + 150, 1, { from: T, to: T + 200 }))).toEqual([]);
  // Killed 300 ms after the cut ended: within the resend bound still.
  expect(violations(plan, run(T + 50, T + 500, 1, { from: T, to: T + 200 }))).toEqual([]);
});

it('asks two attempts when the call began outside the cut, the kill came long after it, or the victim was not cut off', () => {
  // Begun before the cut: its record's write was answered.
  expect(notTakenOver(violations(plan, run(T - 500, T + 150, 1, { from: T, to: T + 200 })))).toHaveLength(1);
  // Begun after the cut ended.
  expect(notTakenOver(violations(plan, run(T + 300, T + 400, 1, { from: T, to: T + 200 })))).toHaveLength(1);
  // Killed 2 s after the cut ended: the record was sent again by then.
  expect(notTakenOver(violations(plan, run(T + 50, T + 2_200, 1, { from: T, to: T + 200 })))).toHaveLength(1);
  // Only the caller's instance was cut off, not the victim.
  const callerCut: Plan = { ...plan, cut: { target: 0, atMs: 0, forMs: 200 } };
  expect(notTakenOver(violations(callerCut, run(T + 50, T + 150, 1, { from: T, to: T + 200 })))).toHaveLength(
    1,
  );
});

/**
 * A run with no kill of this session: instance 1 called it at T (a 1 s call), and instance 0 at
 * `takerAt`; `stalls` are the stalled moves of its job, `limit` each provider's `perProvider`.
 */
function lapsedRun(takerAt: number, stalls: number[], earlier: RecordedRequest[] = []): RunOutcome {
  const endedAt = T + 2_000;
  const base = run(T, T + 10_000, 1);
  return {
    ...base,
    calls: new Map([
      ['s0', [...earlier, call(1, 1, T, T + 1_000, true), call(2, 0, takerAt, endedAt, false)]],
    ]),
    stalls: new Map([['a', stalls]]),
    views: new Map([[0, new Map([['a', { state: 'done', endedAt } as unknown as SessionSummary]])]]),
  };
}

const twice = (found: string[]) => found.filter((line) => line.includes('called twice at once'));
const over = (found: string[]) => found.filter((line) => line.startsWith('p:'));
const one: Plan = { ...plan, cut: undefined } as Plan;

it('lets two calls of a session overlap only when its job was moved by a stalled check between them', () => {
  // Moved while the starved instance's call was open, the taker's call after the move.
  expect(violations(one, lapsedRun(T + 500, [T + 400]))).toEqual([]);
  // The starved instance's call went out after the move, after the taker's too.
  const late = lapsedRun(T - 100, [T - 200]);
  expect(twice(violations(one, late))).toEqual([]);
  // No move: two leases at once, a bug.
  expect(twice(violations(one, lapsedRun(T + 500, [])))).toHaveLength(1);
  // The move came after both calls began: not what let the later one start.
  expect(twice(violations(one, lapsedRun(T + 500, [T + 600])))).toHaveLength(1);
  // The move came before an earlier call of the session that had closed: an older lapse.
  const older = [call(3, 1, T - 3_000, T - 2_000, true)];
  expect(twice(violations(one, lapsedRun(T + 500, [T - 2_500], older)))).toHaveLength(1);
});

it('counts two calls of a session open at once after a lapse as one against its provider’s limit', () => {
  // perProvider 1: the lapsed pair alone is within it, counted from the earlier call's close on.
  expect(over(violations(one, lapsedRun(T + 500, [T + 400])))).toEqual([]);
  // Without the move, the second call is over the limit.
  expect(over(violations(one, lapsedRun(T + 500, [])))).toHaveLength(1);
  // Another session's call open meanwhile is still one too many.
  const other = lapsedRun(T + 500, [T + 400]);
  const third = { ...call(4, 0, T + 100, T + 300, true), body: { messages: [{ content: 's1' }] } };
  const calls = new Map([...other.calls, ['s1', [third]]]);
  expect(over(violations(one, { ...other, calls })).length).toBe(1);
});
