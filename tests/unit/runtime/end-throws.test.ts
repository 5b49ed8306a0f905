/**
 * A throw in a session's end (the runtime's own bookkeeping, or a port of the embedder's it
 * reaches) does not hang its caller: `result` resolves once, with the session's own outcome, the
 * throw goes to `onError`, and the runtime goes on. Until 2026-12-06 a throw in the slot's release
 * went up to whoever delivered the event: a provider call's answer dropped it, so `result` never
 * resolved and nothing was reported; a cancel threw at its caller; the slot stayed taken.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { TroupeError } from '../../../src/core/errors.js';
import { createRuntime, type Limits, MemorySharedState, type SharedState } from '../../../src/index.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { stepClock } from '../../support/clock-steps.js';
import { driverWorld, flush, sessionInput } from './session-fixtures.js';

const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

/** A simulated clock whose `clearTimeout` throws while `broken`. */
class BreakingClock extends SimulatedClock {
  broken = false;

  override clearTimeout(id: unknown): void {
    if (this.broken) throw new Error('the clock broke');
    super.clearTimeout(id as never);
  }
}

/** A driver whose `release` (the slot's, at every end) throws; what `onError` hears is in `reported`. */
function throwingRelease() {
  const reported: unknown[] = [];
  const w = driverWorld(
    {
      release: () => {
        throw new Error('the release broke');
      },
    },
    (error) => reported.push(error),
  );
  return { w, reported };
}

/** What `onError` hears: an `INTERNAL` naming the session, the throw kept as `cause`. */
function expectReported(reported: unknown[], sessionId: string, cause: string): void {
  expect(reported).toHaveLength(1);
  const error = reported[0] as TroupeError;
  expect(error).toBeInstanceOf(TroupeError);
  expect(error.code).toBe('INTERNAL');
  expect(error.message).toBe(
    `Expected session ${sessionId}'s end to be recorded (its history, counts, slot, limits and signal's listener), got ${cause}; its result was still delivered`,
  );
  expect((error.cause as Error).message).toBe(cause);
}

describe('SessionDriver: a throw in a session’s end bookkeeping', () => {
  it('still resolves an answered session’s caller once, with its answer, and tells onError', async () => {
    const { w, reported } = throwingRelease();
    const record = w.add();
    w.admit(record);
    w.clock.set(700);
    w.provider.calls[0]?.answer({ content: 'hi' });
    await flush();
    expect(record.results).toEqual([record.result]);
    expect(record.result).toMatchObject({ ok: true, content: 'hi', metadata: { state: 'done' } });
    expectReported(reported, 's1', 'the release broke');
    // The rest of the end ran: history, counts, the runtime told (its drain and its next pass).
    expect(w.table.size).toBe(0);
    expect(w.table.summary('s1')).toMatchObject({ state: 'done', endedAt: 700 });
    expect(w.counters.snapshot(0, 0).ended.done).toBe(1);
    expect(w.ended).toBe(1);
    expect(record.actor).toBeNull();
    // Its wake-up, left armed by the throw, delivers nothing at its time.
    w.clock.set(10_000);
    await flush();
    expect(record.results).toHaveLength(1);
    expect(w.ended).toBe(1);
    expect(reported).toHaveLength(1);
  });

  it('ends a cancelled session and one past its deadline without throwing at the canceller or the timer', () => {
    const { w, reported } = throwingRelease();
    const cancelled = w.add(sessionInput({ sessionId: 'c' }));
    const late = w.add(sessionInput({ sessionId: 'late', queueDeadlineAt: 500 }));
    w.driver.deadlines.schedule(late, 500);
    expect(w.driver.cancel(cancelled, 'no longer wanted')).toBe(true);
    expect(cancelled.results).toEqual([cancelled.result]);
    expect(cancelled.result).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expectReported(reported, 'c', 'the release broke');
    expect(() => w.clock.set(500)).not.toThrow();
    expect(late.results).toEqual([late.result]);
    expect(late.result).toMatchObject({ ok: false, error: { code: 'TIMED_OUT', timeout: 'queue' } });
    expect(reported).toHaveLength(2);
    expect(w.ended).toBe(2);
  });
});

describe('createRuntime: a port or a listener that throws at a session’s end', () => {
  /** One slot (`maxConcurrent: 1`), a provider whose limits are kept in a shared state: `state` wraps a memory one. */
  function runtimeOn(
    state: (inner: MemorySharedState) => SharedState,
    limits: Limits = { maxConcurrent: 1, providers: { p: { requestsPerMinute: 1000 } } },
    clock = new SimulatedClock(),
  ) {
    const provider = new ScriptedProvider('p');
    const fallback = new ScriptedProvider('q');
    const errors: unknown[] = [];
    const runtime = createRuntime({
      providers: [provider, fallback],
      defaults: { provider: 'p', model: 'm' },
      clock,
      limits,
      sharedState: state(new MemorySharedState(clock)),
      onError: (error) => errors.push(error),
    });
    return { clock, provider, fallback, errors, runtime };
  }

  /** A shared state whose `update` throws (not rejects) while `broken.now`; `broken.thrown` counts its throws. */
  function throwingState(broken: { now: boolean; thrown: number }) {
    return (inner: MemorySharedState): SharedState => ({
      update: (key, init, change, ttlMs) => {
        if (broken.now) {
          broken.thrown++;
          throw new Error('the adapter broke');
        }
        return inner.update(key, init, change, ttlMs);
      },
      read: (key) => inner.read(key),
    });
  }

  it('a shared state whose `update` throws at a session’s end: taken as a rejection, tried again, the slot goes to the next', async () => {
    const broken = { now: false, thrown: 0 };
    // The provider's one slot is the shared state's: the next session starts only once the end is written.
    const { clock, provider, errors, runtime } = runtimeOn(throwingState(broken), {
      providers: { p: { maxConcurrent: 1 } },
    });
    const first = runtime.submit(ask);
    await flush();
    expect(provider.calls).toHaveLength(1);
    const second = runtime.submit(ask, { queueTimeoutMs: 60_000 });
    await flush();
    expect(runtime.session(second.id)?.state).toBe('queued');
    broken.now = true;
    // Its end settles its charge in the shared state (`update`), which throws at once.
    expect(first.cancel('done with it')).toBe(true);
    broken.now = false;
    expect(broken.thrown).toBe(1);
    expect(await first.result).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    // Tried again half a second later, as a write that rejected: the slot is free, the next one runs.
    await stepClock(clock, 2000, 100);
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
    expect(errors).toEqual([]);
    expect(await runtime.shutdown({ deadlineMs: 0 })).toEqual({ finished: 0, cancelled: [] });
  });

  it('a shared state whose `update` throws as a call moves on to its fallback: the session goes on there', async () => {
    // Until 2026-12-06 the throw left the session in its hop with no wake-up: it never ended.
    const broken = { now: false, thrown: 0 };
    const clock = new SimulatedClock();
    const { fallback, errors, runtime } = runtimeOn(
      throwingState(broken),
      { providers: { p: { maxConcurrent: 1 }, q: { maxConcurrent: 1 } } },
      clock,
    );
    const handle = runtime.submit(
      { ...ask, stream: true, fallbacks: [{ provider: 'q', model: 'm' }] },
      { idleTimeoutMs: 50, timeoutMs: 10_000 },
    );
    await flush();
    broken.now = true;
    // p sends nothing for 50 ms: the session leaves its call (settled in the shared state) for q.
    await stepClock(clock, 60, 10);
    broken.now = false;
    expect(broken.thrown).toBeGreaterThan(0);
    // Its call to q goes once q's shared limits let it (asked again while the state threw).
    for (let waited = 0; fallback.calls.length === 0 && waited < 3000; waited += 10)
      await stepClock(clock, 10, 10);
    expect(fallback.calls).toHaveLength(1);
    fallback.pending()[0]?.settle('ok');
    expect(await handle.result).toMatchObject({ ok: true, content: 'answer 0', metadata: { provider: 'q' } });
    // What `onError` heard is the state's failure itself (q's first ask, asked again a second later).
    expect(new Set(errors.map((error) => (error as Error).message))).toEqual(new Set(['the adapter broke']));
  });

  it('a clock whose `clearTimeout` throws at a session’s end: the end is told, the runtime’s slot goes to the next', async () => {
    const clock = new BreakingClock();
    const { provider, errors, runtime } = runtimeOn((inner) => inner, undefined, clock);
    const first = runtime.submit(ask);
    const second = runtime.submit(ask, { queueTimeoutMs: 60_000 });
    await flush();
    expect(provider.calls).toHaveLength(1);
    clock.broken = true;
    expect(first.cancel('done with it')).toBe(true);
    clock.broken = false;
    expect(await first.result).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expectReported(errors, first.id, 'the clock broke');
    // The runtime's own slot was freed before the shared limits' end was asked (which threw).
    await flush();
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
    expect(runtime.status()).toMatchObject({ queued: 0, running: 0 });
    expect(await runtime.shutdown({ deadlineMs: 0 })).toEqual({ finished: 0, cancelled: [] });
  });

  it('a polyfilled `signal` whose `removeEventListener` throws: its session still ends, onError hears it', async () => {
    // Taken by its shape (`addEventListener`, `removeEventListener`, `aborted`): its listener goes at
    // the session's end. (One without `removeEventListener` is refused at submit since 2026-12-06.)
    const { provider, errors, runtime } = runtimeOn((inner) => inner);
    const listeners: (() => void)[] = [];
    const signal = {
      aborted: false,
      addEventListener: (_: string, listener: () => void) => listeners.push(listener),
      removeEventListener: () => {
        throw new Error('the polyfill cannot remove a listener');
      },
    };
    const first = runtime.submit(ask, { signal: signal as unknown as AbortSignal });
    const second = runtime.submit(ask, { queueTimeoutMs: 60_000 });
    await flush();
    provider.pending()[0]?.settle('ok');
    expect(await first.result).toMatchObject({ ok: true, content: 'answer 0' });
    expectReported(errors, first.id, 'the polyfill cannot remove a listener');
    expect(runtime.session(first.id)).toMatchObject({ state: 'done' });
    await flush();
    provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
    // Its listener stayed: an abort now finds the session ended and does nothing.
    for (const listener of listeners) listener();
    expect(runtime.metrics().ended).toMatchObject({ done: 2, cancelled: 0 });
  });

  it('a subscriber or an `events` reader that throws at `session.ended`: the result resolves and the next session runs', async () => {
    const { provider, errors, runtime } = runtimeOn((inner) => inner);
    runtime.subscribe((event) => {
      if (event.type === 'session.ended') throw new Error('the subscriber broke');
    });
    runtime.subscribe(async (event) => {
      if (event.type === 'session.ended') throw new Error('the async subscriber broke');
    });
    const first = runtime.submit(ask);
    const second = runtime.submit(ask, { queueTimeoutMs: 60_000 });
    const read = (async () => {
      for await (const event of first.events)
        if (event.type === 'session.ended') throw new Error('the reader broke');
    })();
    await flush();
    provider.pending()[0]?.settle('ok');
    expect(await first.result).toMatchObject({ ok: true, content: 'answer 0' });
    await expect(read).rejects.toThrow('the reader broke');
    await flush();
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect(await second.result).toMatchObject({ ok: true, content: 'answer 1' });
    await flush();
    expect(errors.map((error) => (error as Error).message)).toEqual([
      'the subscriber broke',
      'the async subscriber broke',
      'the subscriber broke',
      'the async subscriber broke',
    ]);
  });
});
