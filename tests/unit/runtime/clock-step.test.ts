/**
 * A wall-clock step (NTP stepping, an operator setting the date, a VM resumed) moves no deadline
 * of a local runtime on its default clock (`steadyClock`), and what it reports stays on the wall
 * clock (docs/runtime.md, "What a deadline guarantees"). Real timers and the default clock; the
 * wall clock is `Date.now`, stepped by the test. Until 2026-12-07 the default clock was
 * `Date.now()`: set back an hour, a 400 ms deadline waited an hour more; set forward, every armed
 * deadline was found due at the next timer and ended at once.
 */
import { afterEach, expect, it, vi } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeEvent, SessionResult, TaskResult } from '../../../src/runtime/types.js';

const HOUR = 3_600_000;
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };
const realNow = Date.now.bind(Date);
let stepMs = 0;

afterEach(() => {
  vi.restoreAllMocks();
  stepMs = 0;
});

/** `Date.now` from here on reads the real time plus `stepMs`, which the test moves. */
function steppable(): void {
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + stepMs);
}

/** A provider whose calls never answer; a stream says one word first, then nothing more. */
const deaf: ChatProvider = {
  name: 'deaf',
  complete: () => new Promise<never>(() => {}),
  stream: async function* () {
    yield { type: 'content' as const, text: 'one' };
    await new Promise<never>(() => {});
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The result, or `'late'` if it has not come within `ms` of real time. */
async function within(
  result: Promise<SessionResult | TaskResult<unknown>>,
  ms: number,
): Promise<SessionResult | TaskResult<unknown> | 'late'> {
  return Promise.race([result, sleep(ms).then(() => 'late' as const)]);
}

function setup(limits: { maxConcurrent?: number } = {}) {
  steppable();
  const runtime = createRuntime({ providers: [deaf], defaults: { model: 'm' }, limits });
  const ended: RuntimeEvent[] = [];
  runtime.subscribe((event) => {
    if (event.type === 'session.ended') ended.push(event);
  });
  return { runtime, ended };
}

it('ends a session at its run deadline when the wall clock is set back an hour meanwhile, and reports wall-clock times', async () => {
  const { runtime, ended } = setup();
  const began = performance.now();
  const handle = runtime.submit(ask, { timeoutMs: 400 });
  await sleep(50);
  stepMs = -HOUR;
  const result = await within(handle.result, 5_000);
  const tookMs = performance.now() - began;
  expect(result).not.toBe('late');
  expect((result as SessionResult).metadata).toMatchObject({ state: 'timedOut' });
  const { runMs, totalMs } = (result as SessionResult).metadata;
  expect(runMs).toBeGreaterThanOrEqual(400);
  expect(runMs).toBeLessThan(5_000);
  expect(tookMs).toBeGreaterThanOrEqual(395);
  // Its times are the wall clock's, stepped: an hour behind the real time, `totalMs` apart.
  const at = (ended[0] as { at: number } | undefined)?.at ?? Number.NaN;
  expect(Math.abs(at - (realNow() - HOUR))).toBeLessThan(1_000);
  const summary = runtime.session(handle.id);
  expect(Math.abs((summary?.endedAt ?? Number.NaN) - at)).toBeLessThanOrEqual(1);
  expect((summary?.endedAt ?? 0) - (summary?.createdAt ?? 0)).toBe(totalMs);
  expect(runtime.status().recent[0]?.endedAt).toBe(summary?.endedAt);
  await runtime.shutdown({ deadlineMs: 0 });
});

it('ends neither a queued nor a running session early when the wall clock is set forward an hour', async () => {
  const { runtime } = setup({ maxConcurrent: 1 });
  const began = performance.now();
  const running = runtime.submit(ask, { timeoutMs: 1_200 });
  const queued = runtime.submit(ask, { queueTimeoutMs: 400 });
  await sleep(50);
  stepMs = HOUR;
  // The queue deadline's timer comes first: it finds the running session's deadline not yet due.
  const waited = await within(queued.result, 5_000);
  expect(performance.now() - began).toBeGreaterThanOrEqual(395);
  expect(waited).not.toBe('late');
  expect((waited as SessionResult).metadata).toMatchObject({ state: 'timedOut', attempts: 0 });
  expect((waited as SessionResult).metadata.queuedMs).toBeLessThan(5_000);
  expect(runtime.session(running.id)?.state).toBe('running');
  const ran = await within(running.result, 5_000);
  expect(performance.now() - began).toBeGreaterThanOrEqual(1_195);
  expect((ran as SessionResult).metadata).toMatchObject({ state: 'timedOut' });
  expect((ran as SessionResult).metadata.runMs).toBeGreaterThanOrEqual(1_200);
  expect((ran as SessionResult).metadata.runMs).toBeLessThan(5_000);
  // Reported on the wall clock as it reads now: an hour ahead of the real time.
  const summary = runtime.session(ran === 'late' ? '' : running.id);
  expect(Math.abs((summary?.endedAt ?? Number.NaN) - (realNow() + HOUR))).toBeLessThan(1_000);
  await runtime.shutdown({ deadlineMs: 0 });
});

it('ends a stream silent past its idle deadline when the wall clock is set back an hour meanwhile', async () => {
  const { runtime } = setup();
  const handle = runtime.submit({ ...ask, stream: true }, { idleTimeoutMs: 300, timeoutMs: 60_000 });
  await sleep(50);
  stepMs = -HOUR;
  const result = await within(handle.result, 5_000);
  expect(result).not.toBe('late');
  const error = (result as SessionResult).ok ? undefined : (result as { error: unknown }).error;
  expect(error).toMatchObject({ code: 'TIMED_OUT', timeout: 'idle' });
  expect((result as SessionResult).metadata.runMs).toBeLessThan(5_000);
  await runtime.shutdown({ deadlineMs: 0 });
});
