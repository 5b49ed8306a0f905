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
import { createRuntime, MemorySharedState, type SharedState } from '../../../src/index.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { driverWorld, flush, sessionInput } from './session-fixtures.js';

const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

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
  /** One slot (`maxConcurrent: 1`), a provider whose requests are counted in a shared state that throws when `broken`. */
  function runtimeOn(state: (inner: MemorySharedState) => SharedState) {
    const clock = new SimulatedClock();
    const provider = new ScriptedProvider('p');
    const errors: unknown[] = [];
    const runtime = createRuntime({
      providers: [provider],
      defaults: { provider: 'p', model: 'm' },
      clock,
      limits: { maxConcurrent: 1, providers: { p: { requestsPerMinute: 1000 } } },
      sharedState: state(new MemorySharedState(clock)),
      onError: (error) => errors.push(error),
    });
    return { clock, provider, errors, runtime };
  }

  it('a shared state whose `update` throws: the cancel ends its session, the slot goes to the next, onError hears it', async () => {
    let broken = false;
    const { provider, errors, runtime } = runtimeOn((inner) => ({
      update: (key, init, change, ttlMs) => {
        if (broken) throw new Error('the adapter broke');
        return inner.update(key, init, change, ttlMs);
      },
      read: (key) => inner.read(key),
    }));
    const first = runtime.submit(ask);
    await flush();
    expect(provider.calls).toHaveLength(1);
    const second = runtime.submit(ask, { queueTimeoutMs: 60_000 });
    await flush();
    expect(runtime.session(second.id)?.state).toBe('queued');
    broken = true;
    // Its end settles its charge in the shared state (`update`), which throws at once.
    expect(first.cancel('done with it')).toBe(true);
    broken = false;
    expect(await first.result).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expectReported(errors, first.id, 'the adapter broke');
    // The runtime's own slot was freed before the shared state was asked: the next one runs.
    await flush();
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
    expect(runtime.status()).toMatchObject({ queued: 0, running: 0 });
    expect(await runtime.shutdown({ deadlineMs: 0 })).toEqual({ finished: 0, cancelled: [] });
  });

  it('a polyfilled `signal` without `removeEventListener`: its session still ends, onError hears it', async () => {
    // Taken by its shape (`addEventListener` and `aborted`): its listener goes at the session's end.
    const { provider, errors, runtime } = runtimeOn((inner) => inner);
    const listeners: (() => void)[] = [];
    const signal = {
      aborted: false,
      addEventListener: (_: string, listener: () => void) => listeners.push(listener),
    };
    const first = runtime.submit(ask, { signal: signal as unknown as AbortSignal });
    const second = runtime.submit(ask, { queueTimeoutMs: 60_000 });
    await flush();
    provider.pending()[0]?.settle('ok');
    expect(await first.result).toMatchObject({ ok: true, content: 'answer 0' });
    expectReported(errors, first.id, 'signal.removeEventListener is not a function');
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
