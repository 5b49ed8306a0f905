/**
 * What a run deadline guarantees (docs/runtime.md, "What a deadline guarantees"), on a simulated
 * clock: it counts from the session's start (its admission), not its submission; it ends the
 * session at the first turn of the runtime's timer at or past it, aborting the call and recording
 * the end then, without waiting for the call to settle; and what it records is when the session
 * ended, so a timer that fires late (a busy event loop) shows as a run past `timeoutMs`. A 500 ms
 * deadline read "ran 637 ms" under load on 2026-12-07: that was the event loop's delay, not the
 * runtime's; this pins each part of the reading.
 */
import { expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

/** A provider whose calls never settle, not even when aborted; it keeps each call's signal. */
function deafProvider(signals: AbortSignal[]): ChatProvider {
  return {
    name: 'deaf',
    complete: (_request, { signal }) => {
      signals.push(signal);
      return new Promise<never>(() => {});
    },
    stream: async function* () {
      await new Promise<never>(() => {});
    },
  };
}

function setup() {
  const clock = new SimulatedClock();
  const signals: AbortSignal[] = [];
  const runtime = createRuntime({
    providers: [deafProvider(signals)],
    clock,
    defaults: { model: 'm' },
    limits: { maxConcurrent: 1 },
  });
  return { clock, signals, runtime };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

it('ends a session at its run deadline from its start, aborting a call that never settles, and records that time', async () => {
  const { clock, signals, runtime } = setup();
  const first = runtime.submit(ask, { timeoutMs: 300 });
  const second = runtime.submit(ask, { timeoutMs: 500 });
  await flush();
  // The first holds the one slot for 300 ms; the second's deadline counts from its start then.
  clock.increment(300);
  expect((await first.result).metadata).toMatchObject({ state: 'timedOut', runMs: 300 });
  await flush();
  expect(signals).toHaveLength(2);
  clock.increment(499);
  await flush();
  expect(runtime.session(second.id)?.state).toBe('running');
  expect(signals[1]?.aborted).toBe(false);
  clock.increment(1);
  const result = await second.result;
  expect(result).toMatchObject({ ok: false });
  expect(result.ok ? undefined : result.error).toMatchObject({
    code: 'TIMED_OUT',
    timeout: 'run',
    message: 'Expected the session to finish within 500 ms of starting, it ran 500 ms (1 attempt)',
  });
  expect(result.metadata).toMatchObject({ state: 'timedOut', queuedMs: 300, runMs: 500, totalMs: 800 });
  expect(signals[1]?.aborted).toBe(true);
  await runtime.shutdown({ deadlineMs: 0 });
});

it('records a deadline its timer reached late at the time the session ended, not at the deadline', async () => {
  const { clock, runtime } = setup();
  const handle = runtime.submit(ask, { timeoutMs: 500 });
  await flush();
  // One step of 637 ms: the timer due at 500 fires at 637, as under a busy event loop.
  clock.increment(637);
  const result = await handle.result;
  expect(result.ok ? undefined : result.error.message).toBe(
    'Expected the session to finish within 500 ms of starting, it ran 637 ms (1 attempt)',
  );
  expect(result.metadata).toMatchObject({ state: 'timedOut', runMs: 637 });
  await runtime.shutdown({ deadlineMs: 0 });
});
