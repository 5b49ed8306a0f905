/**
 * The in-memory runtime's composition with provider limits: a model's concurrency slots held by
 * running calls and retries, what a queued session says holds it, the limits a shared state gives
 * every instance, and a shutdown whose cancellations run in slices. Small runtimes, a scripted
 * provider, a simulated (or manual) clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { Clock } from '../../../src/core/clock.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import { resolveLimits } from '../../../src/runtime/options.js';
import type { Limits, RuntimeOptions } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { adopted } from '../../support/adopted.js';
import { stepClock } from '../../support/clock-steps.js';
import { ManualClock } from '../../support/manual-clock.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };
/** One call at a time on model `m` of provider `p` (not a limit of the provider's queue). */
const ONE_SLOT: Limits = { providers: { p: { models: { m: { maxConcurrent: 1 } } } } };

function setup(options: Partial<RuntimeOptions> & { clock?: Clock } = {}) {
  const clock = options.clock ?? new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const runtime = createLocalRuntime({
    providers: [provider],
    defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
    random: () => 0.99,
    ...options,
    clock,
  });
  return { provider, runtime };
}

const pass = (clock: SimulatedClock, ms: number, step = 1000) => stepClock(clock, ms, step);

describe("a model's concurrency limit", () => {
  it('holds a session while another holds the only slot, until that one ends', async () => {
    const clock = new SimulatedClock();
    const { provider, runtime } = setup({ clock, limits: ONE_SLOT });
    const first = runtime.submit(ask);
    const second = runtime.submit(ask, { queueTimeoutMs: 300_000 });
    expect(provider.calls).toHaveLength(1);
    expect(runtime.session(second.id)).toMatchObject({ state: 'queued', waitingFor: 'maxConcurrent' });
    // A running call keeps its slot for as long as it runs (up to its run deadline).
    await pass(clock, 60_000);
    expect(provider.calls).toHaveLength(1);
    provider.pending()[0]?.settle('ok');
    await first.result;
    await flush();
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
  });

  it('keeps the slot for a retry until it ends', async () => {
    const clock = new SimulatedClock();
    const { provider, runtime } = setup({ clock, limits: ONE_SLOT });
    const first = runtime.submit(ask);
    provider.pending()[0]?.settle('retryable');
    await pass(clock, 1000);
    expect(provider.calls).toHaveLength(2);
    const second = runtime.submit(ask, { queueTimeoutMs: 300_000 });
    await pass(clock, 30_000);
    expect(provider.calls).toHaveLength(2);
    expect(runtime.session(second.id)).toMatchObject({ state: 'queued', waitingFor: 'maxConcurrent' });
    provider.pending()[0]?.settle('ok');
    expect((await first.result).metadata.attempts).toBe(2);
    await flush();
    expect(provider.calls).toHaveLength(3);
    provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
  });

  it('lets a held retry go once the slot frees, and keeps the slot for it until it ends', async () => {
    const clock = new SimulatedClock();
    const { provider, runtime } = setup({ clock, limits: ONE_SLOT });
    const first = runtime.submit(ask);
    provider.pending()[0]?.settle('retryable');
    await flush();
    // Its slot is free during the backoff: another session takes it.
    const second = runtime.submit(ask);
    expect(provider.calls).toHaveLength(2);
    await pass(clock, 1000);
    expect(runtime.session(first.id)).toMatchObject({ state: 'running', waitingFor: 'maxConcurrent' });
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    await second.result;
    await flush();
    expect(provider.calls).toHaveLength(3);
    const third = runtime.submit(ask, { queueTimeoutMs: 300_000 });
    await pass(clock, 30_000);
    expect(provider.calls).toHaveLength(3);
    expect(runtime.session(third.id)).toMatchObject({ state: 'queued', waitingFor: 'maxConcurrent' });
    provider.pending()[0]?.settle('ok');
    expect((await first.result).metadata.attempts).toBe(2);
    await flush();
    expect(provider.calls).toHaveLength(4);
    provider.pending()[0]?.settle('ok');
    expect((await third.result).ok).toBe(true);
  });
});

describe('a retry its provider cools down past its run deadline', () => {
  it('moves on to its fallback when the retry is due, without a call to the cooling provider', async () => {
    const clock = new SimulatedClock();
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const runtime = createLocalRuntime({
      providers: [p, q],
      defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      random: () => 0.99,
      clock,
    });
    const other = runtime.submit(ask);
    const moving = runtime.submit(
      { ...ask, fallbacks: [{ provider: 'q', model: 'm' }] },
      { timeoutMs: 10_000 },
    );
    expect(p.calls).toHaveLength(2);
    // Its own 429 asks for half a second: it backs off to retry on p.
    p.pending()[1]?.settle('rateLimited', 500);
    await pass(clock, 500, 500);
    // Then the other call's 429 cools p down for a minute, past its 10 s run deadline.
    p.pending()[0]?.settle('rateLimited', 60_000);
    await pass(clock, 1000, 250);
    expect(p.calls).toHaveLength(2);
    expect(q.calls).toHaveLength(1);
    q.pending()[0]?.settle('ok');
    const result = await moving.result;
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['p', 'RATE_LIMITED'],
      ['q', 'done'],
    ]);
    other.cancel('test over');
    await other.result;
  });
});

describe('a hop to a provider both full and cooling down past its run deadline', () => {
  // A review (2026-12-04): the hop waited for b's only slot, held by a call backing off after b's
  // 429, and timed out with c untried.
  it('moves on to the target after it at once', async () => {
    const clock = new SimulatedClock();
    const [a, b, c] = ['a', 'b', 'c'].map((name) => new ScriptedProvider(name)) as [
      ScriptedProvider,
      ScriptedProvider,
      ScriptedProvider,
    ];
    const runtime = createLocalRuntime({
      providers: [a, b, c],
      defaults: { model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      limits: { perProvider: { b: 1 } },
      random: () => 0.99,
      clock,
    });
    const holder = runtime.submit({ ...ask, provider: 'b' });
    b.pending()[0]?.settle('rateLimited', 60_000);
    await flush();
    const mover = runtime.submit(
      {
        ...ask,
        provider: 'a',
        fallbacks: [
          { provider: 'b', model: 'm' },
          { provider: 'c', model: 'm' },
        ],
      },
      { timeoutMs: 10_000 },
    );
    a.pending()[0]?.settle('retryable');
    await pass(clock, 500, 250);
    expect(c.calls).toHaveLength(1);
    c.pending()[0]?.settle('ok');
    const result = await mover.result;
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['a', 'PROVIDER_UNAVAILABLE'],
      ['b', 'RATE_LIMITED'],
      ['c', 'done'],
    ]);
    expect(b.calls).toHaveLength(1);
    holder.cancel('test over');
    await holder.result;
  });
});

describe('a hop that leaves its provider’s only slot', () => {
  // Found by the runtime model's `workConserved` (2026-12-05): the hop left p0's slot as its next
  // attempt went, which started no pass of the queue, so a session queued on p0 meanwhile waited
  // with the slot free until something else ended (in the counterexample, past its queue deadline).
  it('lets the session queued behind it on that provider start at once', async () => {
    const clock = new SimulatedClock();
    const [a, b] = ['a', 'b'].map((name) => new ScriptedProvider(name)) as [
      ScriptedProvider,
      ScriptedProvider,
    ];
    const runtime = createLocalRuntime({
      providers: [a, b],
      defaults: { model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      limits: { perProvider: { a: 1 } },
      random: () => 0.99,
      clock,
    });
    const mover = runtime.submit({ ...ask, provider: 'a', fallbacks: [{ provider: 'b', model: 'm' }] });
    a.pending()[0]?.settle('retryable');
    await flush();
    // The hop waits for the driver's next timer turn: a's slot is still its own.
    const waiter = runtime.submit({ ...ask, provider: 'a' }, { queueTimeoutMs: 5000 });
    expect(runtime.session(waiter.id)?.state).toBe('queued');
    await pass(clock, 10, 1);
    expect(b.calls).toHaveLength(1);
    expect(runtime.session(waiter.id)?.state).toBe('running');
    expect(a.calls).toHaveLength(2);
    for (const call of [...a.pending(), ...b.pending()]) call.settle('ok');
    expect((await mover.result).ok).toBe(true);
    expect((await waiter.result).ok).toBe(true);
  });
});

describe('sessions a provider limit holds in its queue', () => {
  it('say what holds them, behind the first one too, and each counts as one wait', async () => {
    const clock = new SimulatedClock();
    const { provider, runtime } = setup({ clock, limits: { providers: { p: { requestsPerMinute: 1 } } } });
    const first = runtime.submit(ask);
    const second = runtime.submit(ask, { queueTimeoutMs: 300_000 });
    const third = runtime.submit(ask, { queueTimeoutMs: 300_000 });
    expect(runtime.session(second.id)).toMatchObject({ state: 'queued', waitingFor: 'requestsPerMinute' });
    expect(runtime.session(third.id)).toMatchObject({ state: 'queued', waitingFor: 'requestsPerMinute' });
    expect(runtime.metrics().limits?.waits.requestsPerMinute).toBe(1);
    provider.pending()[0]?.settle('ok');
    await first.result;
    await pass(clock, 61_000);
    // The second went; the third, first in the queue now, waits for the next minute.
    expect(provider.calls).toHaveLength(2);
    expect(runtime.metrics().limits?.waits.requestsPerMinute).toBe(2);
    provider.pending()[0]?.settle('ok');
    await second.result;
    await pass(clock, 61_000);
    provider.pending()[0]?.settle('ok');
    expect((await third.result).ok).toBe(true);
  });
});

describe('a shared state (every instance one set of limits)', () => {
  const rates = (limits: Limits) => resolveLimits(limits).rates;

  it('asks the shared limits before a retry, and retries once they allow it', async () => {
    const clock = new SimulatedClock();
    const state = new MemorySharedState(clock);
    const limits: Limits = { providers: { p: { requestsPerMinute: 2 } } };
    // Another instance spent this minute's two requests.
    const elsewhere = new Limiter(rates(limits), state);
    for (const sessionId of ['x-1', 'x-2']) {
      const start = { sessionId, model: 'm', now: 0, tokens: 1, lapsesAt: 120_000 };
      expect(await elsewhere.tryStart('p', start)).toMatchObject({ ok: true });
    }
    const { provider, runtime } = setup({ clock, limits, sharedState: state });
    // The shared queue admitted this one (and charged it there): it starts here at once.
    const handle = runtime.adopt(adopted(0, 's-1'));
    expect(provider.calls).toHaveLength(1);
    provider.pending()[0]?.settle('retryable');
    await pass(clock, 1000);
    // Due, but the shared minute is spent: it waits for the window, not for this instance's.
    expect(provider.calls).toHaveLength(1);
    await pass(clock, 59_000);
    expect(provider.calls).toHaveLength(1);
    await pass(clock, 2000, 100);
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).metadata.attempts).toBe(2);
  });

  it("lets a retry held behind another instance's probe go when told of a session's end (`wake`)", async () => {
    const clock = new SimulatedClock();
    const state = new MemorySharedState(clock);
    const limits: Limits = { providers: { p: { requestsPerMinute: 100 } } };
    const elsewhere = new Limiter(rates(limits), state);
    const at = (sessionId: string, now: number) => ({
      sessionId,
      model: 'm',
      now,
      tokens: 1,
      lapsesAt: 120_000,
    });
    const { provider, runtime } = setup({ clock, limits, sharedState: state });
    const handle = runtime.adopt(adopted(0, 's-1'));
    // Another instance's 429 (a 500 ms cooldown); at its end another instance's session probes p.
    await elsewhere.settle('p', at('x', 0), 0, { kind: 'rateLimited', retryAfterMs: 500 });
    await pass(clock, 500, 100);
    expect(await elsewhere.tryStart('p', at('probe', clock.now()))).toMatchObject({ ok: true, probe: true });
    // This session's call fails (503): its retry waits for the probe, up to its lapse (2,500).
    provider.pending()[0]?.settle('retryable');
    await pass(clock, 1500, 100);
    expect(provider.calls).toHaveLength(1);
    // The probe is answered there; the bus tells this instance of its session's end.
    await elsewhere.settle('p', at('probe', 500), clock.now(), { kind: 'answered', delta: 0 });
    runtime.wake('p', 'other');
    await flush();
    expect(provider.calls).toHaveLength(1);
    runtime.wake('p', 'probe');
    await flush();
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).metadata.attempts).toBe(2);
  });

  it('settles the charge the shared queue made when it leased a session, once its call answers', async () => {
    const clock = new SimulatedClock();
    const state = new MemorySharedState(clock);
    const limits: Limits = { providers: { p: { maxConcurrent: 1 } } };
    const queue = new Limiter(rates(limits), state);
    const start = { sessionId: 's-2', model: 'm', now: 0, tokens: 3, lapsesAt: 120_000 };
    expect(await queue.tryStart('p', start)).toMatchObject({ ok: true });
    const { provider, runtime } = setup({ clock, limits, sharedState: state });
    const handle = runtime.adopt({ ...adopted(0, 's-2'), limitStart: start });
    const next = { ...start, sessionId: 's-3' };
    expect(await queue.tryStart('p', next)).toMatchObject({ ok: false, limit: 'maxConcurrent' });
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).ok).toBe(true);
    await flush();
    // Its slot is free for the next session any instance leases.
    expect(await queue.tryStart('p', next)).toMatchObject({ ok: true });
  });
});

describe('shutdown with limits', () => {
  it('starts no held retry once the drain deadline passed, while the cancellations run in slices', async () => {
    const clock = new ManualClock();
    const { provider, runtime } = setup({
      clock,
      limits: { providers: { p: { models: { m: { maxConcurrent: 2 } } } } },
    });
    const first = runtime.submit(ask);
    const retrying = runtime.submit(ask);
    provider.calls[1]?.settle('retryable');
    await flush();
    const third = runtime.submit(ask);
    expect(provider.calls).toHaveLength(3);
    // The retry comes due while the other two hold both slots: it is held.
    clock.advance(1000);
    clock.runDue();
    await flush();
    expect(runtime.session(retrying.id)).toMatchObject({ state: 'running', waitingFor: 'maxConcurrent' });
    // Cancelling the first session is slow: the first slice of cancellations ends after it.
    provider.calls[0]?.signal.addEventListener('abort', () => clock.advance(20));
    const report = runtime.shutdown({ deadlineMs: 0 });
    expect(clock.step()).toBe(true);
    await flush();
    // Its slot is free, but the runtime is stopping: the held retry does not start.
    expect(runtime.status().state).toBe('draining');
    expect(provider.calls).toHaveLength(3);
    for (let i = 0; i < 5 && clock.runDue() > 0; i++) await flush();
    expect(await report).toEqual({ finished: 0, cancelled: [first.id, retrying.id, third.id] });
    expect(provider.calls).toHaveLength(3);
  });

  it('has released its timers when its report arrives', async () => {
    const clock = new ManualClock();
    const { provider, runtime } = setup({ clock, limits: { providers: { p: { requestsPerMinute: 1 } } } });
    const handle = runtime.submit(ask);
    provider.pending()[0]?.settle('retryable');
    await flush();
    // The retry is due, but the minute's only request is spent: held, with a wake-up for the window.
    clock.advance(1000);
    clock.runDue();
    await flush();
    expect(runtime.session(handle.id)).toMatchObject({ state: 'running', waitingFor: 'requestsPerMinute' });
    expect(clock.pending).toBeGreaterThan(0);
    let pendingAtReport: number | undefined;
    const report = runtime.shutdown({ deadlineMs: 10_000 }).then((r) => {
      pendingAtReport = clock.pending;
      return r;
    });
    expect(runtime.cancel(handle.id)).toBe(true);
    expect(await report).toEqual({ finished: 1, cancelled: [] });
    expect(pendingAtReport).toBe(0);
  });
});

describe('without a tracer', () => {
  it('runs sessions with no tracing and no error', async () => {
    const errors: unknown[] = [];
    const { provider, runtime } = setup({ onError: (error) => errors.push(error) });
    const handle = runtime.submit(ask);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).ok).toBe(true);
    await runtime.shutdown();
    expect(errors).toEqual([]);
  });
});

describe('a call left for a fallback on an idle timeout', () => {
  it("gives its provider's slot back at the hop, not at the session's run deadline", async () => {
    // Until 2026-12-06 nothing settled such a call with the limits (no answer, no end): the slot of
    // `p/m` stayed held until A's run deadline (120 s here), `p`'s queue waiting behind a call no
    // longer made. Found by the runtime model (deep-queue seed 3) once it judged cooldowns itself.
    const clock = new SimulatedClock();
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const runtime = createLocalRuntime({
      providers: [p, q],
      defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      random: () => 0.99,
      limits: ONE_SLOT,
      clock,
    });
    const a = runtime.submit(
      { ...ask, stream: true, fallbacks: [{ provider: 'q', model: 'm' }] },
      { idleTimeoutMs: 50, timeoutMs: 120_000 },
    );
    const b = runtime.submit(ask, { queueTimeoutMs: 300_000 });
    await flush();
    expect(p.calls).toHaveLength(1);
    expect(runtime.session(b.id)).toMatchObject({ state: 'queued', waitingFor: 'maxConcurrent' });
    await pass(clock, 60, 10); // A's p call sends nothing for 50 ms: it moves on to q
    expect(q.calls).toHaveLength(1);
    expect(runtime.session(a.id)?.state).toBe('running');
    expect(p.calls).toHaveLength(2); // B took the slot A's call left
    expect(runtime.session(b.id)?.state).toBe('running');
    runtime.cancel(a.id);
    runtime.cancel(b.id);
    await Promise.all([a.result, b.result]);
  });
});
