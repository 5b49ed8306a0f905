/**
 * The kill property's check of a takeover (`fixtures/kill-checks.ts`) on made-up runs: a session
 * whose call the kill cut shows one attempt more than the run record Redis held after the kill,
 * and that record is missing only in the cases docs/scale-out.md states as a limit (the kill within
 * a few ms of the call's start, or the call begun while its instance was cut off from Redis and the
 * instance killed before it was back), where the takeover's one attempt is all it can show. And the
 * check that no session is called twice at once, nor a provider over its `perProvider`, which lets
 * two calls of one session overlap only after a stalled check moved its job between them (an
 * instance starved of CPU past its lock: `lapsedAt`). And how late past its run deadline a run
 * timeout may end (a taken-over session waiting for a slot past it, until 2026-12-07).
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

/**
 * A run whose victim (instance 1) began its call at `callAt`, was killed at `killedAt` with
 * `recorded` attempts in the session's run record then (`null`: no record), and whose session
 * instance 0 took over and ended `done` with `attempts`.
 */
function run(
  callAt: number,
  killedAt: number,
  attempts: number,
  recorded: number | null,
  cutWindow?: RunOutcome['cutWindow'],
  loopDelayMaxMs = 0,
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
    recordsAfterKill: new Map([['a', recorded === null ? null : { attempts: recorded }]]),
    ...(cutWindow === undefined ? {} : { cutWindow }),
    loopDelayMaxMs,
    views: new Map([[0, new Map([['a', summary]])]]),
    leftLive: new Map(),
    exits: [0],
    shutdownCancelled: [],
  };
}

const notTakenOver = (found: string[]) => found.filter((line) => line.includes('was not taken over'));
const noRecord = (found: string[]) =>
  found.filter((line) => line.includes('its run record was not in Redis'));
const uncut = { ...plan, cut: undefined } as Plan;
const cut = { from: T, to: T + 200 };

it('asks one attempt more than the run record the takeover found, wherever and whenever the call began', () => {
  expect(violations(uncut, run(T, T + 100, 2, 1))).toEqual([]);
  expect(notTakenOver(violations(uncut, run(T, T + 100, 1, 1)))).toHaveLength(1);
  // Its record in Redis: one attempt is wrong even in the victim's cut, the kill right after the call.
  expect(notTakenOver(violations(plan, run(T + 50, T + 51, 1, 1, cut)))).toHaveLength(1);
  expect(violations(plan, run(T + 50, T + 51, 2, 1, cut))).toEqual([]);
});

it('lets the record be missing when the kill came within a few ms of the call, more on a loaded machine', () => {
  expect(violations(uncut, run(T, T + 5, 1, null))).toEqual([]);
  expect(violations(uncut, run(T, T + 20, 1, null))).toEqual([]);
  expect(noRecord(violations(uncut, run(T, T + 21, 1, null)))).toHaveLength(1);
  // This process's loop waited 80 ms in the run: a victim ready to send its record may have waited as long.
  expect(violations(uncut, run(T, T + 100, 1, null, undefined, 80))).toEqual([]);
  expect(noRecord(violations(uncut, run(T, T + 101, 1, null, undefined, 80)))).toHaveLength(1);
});

it('lets the record be missing when the call began in the victim’s cut and the kill came before it was back', () => {
  expect(violations(plan, run(T + 50, T + 150, 1, null, cut))).toEqual([]);
  // Killed 300 ms after the cut ended: within the resend bound still.
  expect(violations(plan, run(T + 50, T + 500, 1, null, cut))).toEqual([]);
  // Begun 40 ms before the cut: its write may have gone with it.
  expect(violations(plan, run(T - 40, T + 150, 1, null, cut))).toEqual([]);
  // Begun after the cut's end, before the victim's connection was back, killed at once.
  expect(violations(plan, run(T + 300, T + 400, 1, null, cut))).toEqual([]);
});

it('says a record is missing when the call began outside the cut, the kill came long after it, or the victim was not cut off', () => {
  // Begun before the cut: its record's write was answered.
  expect(noRecord(violations(plan, run(T - 500, T + 150, 1, null, cut)))).toHaveLength(1);
  // Begun after the victim was back.
  expect(noRecord(violations(plan, run(T + 800, T + 900, 1, null, cut)))).toHaveLength(1);
  // Killed 2 s after the cut ended: the record was sent again by then.
  expect(noRecord(violations(plan, run(T + 50, T + 2_200, 1, null, cut)))).toHaveLength(1);
  // Only the caller's instance was cut off, not the victim.
  const callerCut: Plan = { ...plan, cut: { target: 0, atMs: 0, forMs: 200 } };
  expect(noRecord(violations(callerCut, run(T + 50, T + 150, 1, null, cut)))).toHaveLength(1);
});

/**
 * The run above (no cut, the record found, two attempts), its takeover's call begun at `beganAt`
 * and closed `closedLateMs` after the session ended (at `T + 1_100`), the run's loop delay at most
 * `loopDelayMaxMs`.
 */
function takeoverCall(beganAt: number, closedLateMs: number, loopDelayMaxMs: number): RunOutcome {
  const outcome = run(T, T + 100, 2, 1, undefined, loopDelayMaxMs);
  const calls = new Map([
    ['s0', [call(1, 1, T, T + 100, false), call(2, 0, beganAt, T + 1_100 + closedLateMs, false)]],
  ]);
  return { ...outcome, calls };
}

it('bounds a call’s close past its session’s end by 100 ms, and on a loaded machine by the run’s longest event-loop delay too', () => {
  const closedLate = (lateMs: number, loopDelayMaxMs: number) =>
    takeoverCall(T + 600, lateMs, loopDelayMaxMs);
  const late = (found: string[]) => found.filter((line) => line.includes('after its session ended'));
  expect(violations(uncut, closedLate(100, 0))).toEqual([]);
  expect(late(violations(uncut, closedLate(101, 0)))).toHaveLength(1);
  expect(violations(uncut, closedLate(180, 80))).toEqual([]);
  expect(late(violations(uncut, closedLate(181, 80)))).toHaveLength(1);
});

it('says a call began after its session ended, past the run’s longest event-loop delay', () => {
  const begunLate = (lateMs: number, loopDelayMaxMs: number) =>
    takeoverCall(T + 1_100 + lateMs, lateMs, loopDelayMaxMs);
  const after = (found: string[]) => found.filter((line) => line.includes('after its session ended done'));
  expect(violations(uncut, begunLate(0, 0))).toEqual([]);
  expect(after(violations(uncut, begunLate(1, 0)))).toHaveLength(1);
  expect(violations(uncut, begunLate(30, 30))).toEqual([]);
  expect(after(violations(uncut, begunLate(31, 30)))).toHaveLength(1);
});

it('asks one attempt at least, and no record, when the records were not read in time', () => {
  const unread = (attempts: number): RunOutcome => ({
    ...run(T, T + 500, attempts, null),
    recordsAfterKill: new Map(),
  });
  expect(violations(uncut, unread(1))).toEqual([]);
  expect(violations(uncut, unread(2))).toEqual([]);
});

/**
 * A run with no kill of this session: instance 1 called it at T (a 1 s call), and instance 0 at
 * `takerAt`; `stalls` are the stalled moves of its job, `limit` each provider's `perProvider`.
 */
function lapsedRun(takerAt: number, stalls: number[], earlier: RecordedRequest[] = []): RunOutcome {
  const endedAt = T + 2_000;
  const base = run(T, T + 10_000, 1, 1);
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

it('bounds how late past its run deadline a run timeout ends, more on a loaded machine', () => {
  const planned = { ...plan.sessions[0]!, timeoutMs: 500 };
  const short: Plan = { ...uncut, sessions: [planned] };
  const timedOut = (runMs: number, loopDelayMaxMs: number): RunOutcome => {
    const outcome = run(T, T + 100, 1, 1, undefined, loopDelayMaxMs);
    const result = {
      ok: false,
      error: { code: 'TIMED_OUT', timeout: 'run', message: 'Expected the session to finish within 500 ms' },
      metadata: { state: 'timedOut', attempts: 1, runMs },
    } as unknown as SessionResult;
    const summary = { state: 'timedOut', code: 'TIMED_OUT', endedAt: T + 1_100 } as unknown as SessionSummary;
    return {
      ...outcome,
      seen: [{ ...outcome.seen[0]!, planned, result }],
      calls: new Map([['s0', [call(1, 1, T, T + 100, false)]]]),
      views: new Map([[0, new Map([['a', summary]])]]),
    };
  };
  const late = (found: string[]) => found.filter((line) => line.includes('past its 500 ms run deadline'));
  expect(violations(short, timedOut(4_500, 0))).toEqual([]);
  expect(late(violations(short, timedOut(4_501, 0)))).toHaveLength(1);
  expect(violations(short, timedOut(4_580, 80))).toEqual([]);
  expect(late(violations(short, timedOut(4_581, 80)))).toHaveLength(1);
});
