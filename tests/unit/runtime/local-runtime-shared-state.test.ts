/**
 * `createRuntime({ sharedState })` without a backend (docs/runtime.md): in-process runtimes that
 * share one state share its limits. A session submitted to one of them starts only when the shared
 * limits have room, as a retry does: until 2026-12-05 its first start asked nothing (the gate let
 * every session go on a shared state, as if a shared queue had admitted it), so two runtimes with
 * `maxConcurrent: 1` ran two calls at once. Scripted providers, one simulated clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
// The public entry, as a user has them.
import {
  createRuntime,
  type Limits,
  MemorySharedState,
  type Runtime,
  type SubmitOptions,
} from '../../../src/index.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { stepClock } from '../../support/clock-steps.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

const pass = (clock: SimulatedClock, ms: number, step = 100) => stepClock(clock, ms, step);

/** `count` runtimes of provider `p` (model `m`) over one shared state, each with its own scripted provider. */
function runtimes(limits: Limits, count = 2, state?: MemorySharedState) {
  const clock = new SimulatedClock();
  const shared = state ?? new MemorySharedState(clock);
  const errors: unknown[] = [];
  const made = Array.from({ length: count }, () => {
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      random: () => 0.99,
      limits,
      clock,
      sharedState: shared,
      onError: (error) => errors.push(error),
    });
    return { provider, runtime };
  });
  return { clock, state: shared, made, errors };
}

const ONE_AT_ONCE: Limits = { providers: { p: { maxConcurrent: 1 } } };
const patient: SubmitOptions = { queueTimeoutMs: 300_000 };

async function stopAll(clock: SimulatedClock, all: readonly { runtime: Runtime }[]) {
  const stopped = Promise.all(all.map(({ runtime }) => runtime.shutdown({ deadlineMs: 0 })));
  await pass(clock, 1000);
  await stopped;
}

describe('two runtimes sharing one state and its limits', () => {
  it('start a session in the second only once the first’s call ends (`maxConcurrent: 1`)', async () => {
    const { clock, made, errors } = runtimes(ONE_AT_ONCE);
    const [a, b] = made as [(typeof made)[0], (typeof made)[0]];
    const first = a.runtime.submit(ask);
    await flush();
    expect(a.provider.calls).toHaveLength(1);
    const second = b.runtime.submit(ask, patient);
    await pass(clock, 5000);
    // The only slot is the first runtime’s: the second waits, and says for what.
    expect(b.provider.calls).toHaveLength(0);
    expect(b.runtime.session(second.id)).toMatchObject({ state: 'queued', waitingFor: 'maxConcurrent' });
    expect(b.runtime.metrics().limits?.waits.maxConcurrent).toBe(1);
    a.provider.pending()[0]?.settle('ok');
    expect((await first.result).ok).toBe(true);
    // It looks again within a second (a slot frees when a call ends, in any runtime).
    await pass(clock, 1000);
    expect(b.provider.calls).toHaveLength(1);
    // And now the first runtime’s next session waits for the second’s call.
    const third = a.runtime.submit(ask, patient);
    await pass(clock, 3000);
    expect(a.provider.calls).toHaveLength(1);
    b.provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
    await pass(clock, 1000);
    expect(a.provider.calls).toHaveLength(2);
    a.provider.pending()[0]?.settle('ok');
    expect((await third.result).ok).toBe(true);
    expect(errors).toEqual([]);
    await stopAll(clock, made);
  });

  it('time out a session the shared minute holds past its queue deadline, naming the limit', async () => {
    const { clock, made } = runtimes({ providers: { p: { requestsPerMinute: 1 } } });
    const [a, b] = made as [(typeof made)[0], (typeof made)[0]];
    const first = a.runtime.submit(ask);
    await flush();
    a.provider.pending()[0]?.settle('ok');
    expect((await first.result).ok).toBe(true);
    // The minute’s only request is spent, in the first runtime: the second’s status says so.
    expect(b.runtime.status().limits?.p?.remaining.requestsPerMinute).toBe(0);
    const second = b.runtime.submit(ask, { queueTimeoutMs: 10_000 });
    await pass(clock, 11_000, 1000);
    const result = await second.result;
    expect(b.provider.calls).toHaveLength(0);
    expect(result.ok).toBe(false);
    expect(result.metadata).toMatchObject({ state: 'timedOut', waitingFor: 'requestsPerMinute' });
    await stopAll(clock, made);
  });

  it('let a session a limit holds be cancelled: it never calls, and holds no slot after', async () => {
    const { clock, made } = runtimes(ONE_AT_ONCE);
    const [a, b] = made as [(typeof made)[0], (typeof made)[0]];
    const first = a.runtime.submit(ask);
    const held = b.runtime.submit(ask, patient);
    await pass(clock, 2000);
    expect(held.cancel('not needed')).toBe(true);
    expect((await held.result).metadata.state).toBe('cancelled');
    a.provider.pending()[0]?.settle('ok');
    await first.result;
    await pass(clock, 2000);
    expect(b.provider.calls).toHaveLength(0);
    // The slot is free for the next session of either runtime.
    const next = b.runtime.submit(ask);
    await pass(clock, 1000);
    expect(b.provider.calls).toHaveLength(1);
    b.provider.pending()[0]?.settle('ok');
    expect((await next.result).ok).toBe(true);
    await stopAll(clock, made);
  });

  it('keep each runtime’s priorities while they wait for the shared slot', async () => {
    const { clock, made } = runtimes(ONE_AT_ONCE);
    const [a, b] = made as [(typeof made)[0], (typeof made)[0]];
    const first = a.runtime.submit(ask);
    const low = b.runtime.submit(ask, { ...patient, priority: 1 });
    await pass(clock, 500);
    const high = b.runtime.submit(ask, { ...patient, priority: 8 });
    await pass(clock, 2000);
    a.provider.pending()[0]?.settle('ok');
    await first.result;
    await pass(clock, 2000);
    // The higher priority goes first; the lower one waits for its call.
    expect(b.provider.calls).toHaveLength(1);
    expect(b.runtime.session(high.id)?.state).toBe('running');
    expect(b.runtime.session(low.id)).toMatchObject({ state: 'queued', waitingFor: 'maxConcurrent' });
    b.provider.pending()[0]?.settle('ok');
    await high.result;
    await pass(clock, 2000);
    expect(b.provider.calls).toHaveLength(2);
    b.provider.pending()[0]?.settle('ok');
    expect((await low.result).ok).toBe(true);
    await stopAll(clock, made);
  });
});

describe('one runtime, with a shared state of its own or none', () => {
  it.each([
    ['with', true],
    ['without', false],
  ])('holds its sessions under the limits alike (%s one)', async (_name, withState) => {
    const clock = new SimulatedClock();
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      defaults: { provider: 'p', model: 'm' },
      limits: { providers: { p: { requestsPerMinute: 1 } } },
      clock,
      ...(withState ? { sharedState: new MemorySharedState(clock) } : {}),
    });
    const first = runtime.submit(ask);
    const second = runtime.submit(ask, patient);
    await pass(clock, 2000);
    expect(provider.calls).toHaveLength(1);
    expect(runtime.session(second.id)).toMatchObject({ state: 'queued', waitingFor: 'requestsPerMinute' });
    provider.pending()[0]?.settle('ok');
    await first.result;
    await pass(clock, 57_000, 1000);
    expect(provider.calls).toHaveLength(1);
    // The next minute has room.
    await pass(clock, 3000);
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await second.result).ok).toBe(true);
    expect(runtime.status().limits?.p?.remaining.requestsPerMinute).toBe(0);
    await stopAll(clock, [{ runtime }]);
  });
});

describe('a charge on the shared limits no call used', () => {
  /** One runtime over a shared state, `requestsPerMinute: 1`; its retries are due a second after a failure. */
  function oneMinute() {
    const clock = new SimulatedClock();
    const state = new MemorySharedState(clock);
    const provider = new ScriptedProvider('p');
    const runtime = createLocalRuntime({
      providers: [provider],
      defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      limits: { providers: { p: { requestsPerMinute: 1 } } },
      random: () => 0.99,
      clock,
      sharedState: state,
    });
    const left = () =>
      new Limiter(new Map([['p', { requestsPerMinute: 1 }]]), state).budgetsNow(['p'], clock.now()).p
        ?.remaining.requestsPerMinute;
    return { clock, provider, runtime, left };
  }

  it('a held retry whose run deadline came in the step its window opened is given back: it ends TIMED_OUT', async () => {
    const { clock, provider, runtime, left } = oneMinute();
    const handle = runtime.submit(ask, { timeoutMs: 70_000 });
    await flush();
    provider.pending()[0]?.settle('retryable');
    await flush();
    clock.increment(1000);
    await flush();
    expect(provider.calls).toHaveLength(1);
    expect(left()).toBe(0);
    // One step past the window's opening (about 61 s), to its run deadline (70 s) exactly: its look
    // again and its deadline fire together, its ask on its way when the session ends.
    clock.increment(69_000);
    await flush();
    const result = await handle.result;
    expect(result.ok ? undefined : result.error.code).toBe('TIMED_OUT');
    expect(provider.calls).toHaveLength(1);
    await flush();
    expect(left()).toBe(1);
    await stopAll(clock, [{ runtime }]);
  });

  it('a held retry’s wait is told (`onWaiting`) when it begins and when it ends, its summary saying it', async () => {
    const { clock, provider, runtime } = oneMinute();
    const told: string[] = [];
    runtime.onWaiting((id) => told.push(`${id} ${runtime.session(id)?.waitingFor ?? '-'}`));
    const handle = runtime.submit(ask, { timeoutMs: 120_000 });
    await flush();
    provider.pending()[0]?.settle('retryable');
    await flush();
    clock.increment(1000);
    await flush();
    expect(told).toEqual([`${handle.id} requestsPerMinute`]);
    await pass(clock, 60_000, 1000);
    await flush();
    expect(provider.pending()).toHaveLength(1);
    expect(told).toEqual([`${handle.id} requestsPerMinute`, `${handle.id} -`]);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).ok).toBe(true);
    await stopAll(clock, [{ runtime }]);
  });
});
