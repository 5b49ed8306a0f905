/**
 * The cluster runtime on in-memory ports, driven by a simulated clock: cluster behaviour that on
 * Redis can only be tested with wall time (lock expiry, sweeps, rate windows of a minute) runs
 * here deterministically, instant by instant. The composition under test is the one Redis runs
 * (`src/scale/cluster-runtime.ts`); only the ports are in memory.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub, resolveLimits, resultOf } from '../../src/runtime/backend.js';
import type { BusMessage, QueuedSession } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeOptions, SessionResult } from '../../src/runtime/types.js';
import { endedAt } from '../../src/scale/job-data.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Moves the simulated clock `ms` forward in `stepMs` steps, letting promises run after each. */
async function advance(clock: SimulatedClock, ms: number, stepMs = 100): Promise<void> {
  await flush();
  for (let passed = 0; passed < ms; passed += stepMs) {
    clock.increment(Math.min(stepMs, ms - passed));
    await flush();
    await flush();
  }
}

function cluster(options: Partial<RuntimeOptions> = {}) {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const hub = new MemoryClusterHub({ clock });
  const provider = new ScriptedProvider('p');
  const errors: unknown[] = [];
  const instance = (work = true): Runtime =>
    createRuntime({
      providers: [provider],
      defaults: { model: 'm', maxAttempts: 3 },
      clock,
      onError: (error) => errors.push(error),
      ...options,
      backend: memoryClusterBackend({ hub, work, sweepIntervalMs: 1000 }),
    });
  return { clock, hub, provider, errors, instance };
}

const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }] });

describe('the cluster runtime on in-memory ports, on a simulated clock', () => {
  // Nothing the cluster does may make XState warn (e.g. a machine run inside the supervisor's action).
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    warn = vi.spyOn(console, 'warn');
  });
  afterEach(() => {
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('runs a session handed back by an instance that shut down on the other instance, as a further attempt', async () => {
    const { clock, provider, errors, instance } = cluster();
    const a = instance();
    await a.ready;
    const handle = a.submit(ask('long'), { timeoutMs: 60_000 });
    await advance(clock, 200);
    // Running on A (the only instance when it was leased).
    expect(provider.pending().length).toBe(1);
    const b = instance();
    await b.ready;

    const report = a.shutdown({ deadlineMs: 1000 });
    await advance(clock, 1500);
    await report;
    // A's call was aborted; the session went back to the queue and B took it up.
    expect(provider.calls[0]?.signal.aborted).toBe(true);
    expect(provider.pending().length).toBe(1);
    const handedOver = await handle.result;
    expect(handedOver.ok || handedOver.error.code).toBe('SHUTTING_DOWN');
    expect(b.session(handle.id)?.state).toBe('running');

    provider.pending()[0]?.settle('ok');
    await advance(clock, 100);
    const ended = b.session(handle.id);
    expect(ended?.state).toBe('done');
    // A further attempt of the same session: the run record carried A's attempt to B.
    expect(ended?.attempts).toBe(2);
    expect(provider.calls.length).toBe(2);
    await b.shutdown({ deadlineMs: 0 });
    expect(errors).toEqual([]);
  });

  it("cancels what its callers submitted wherever it is when it shuts down with `unfinished: 'cancel'`, and hands back only another instance's session", async () => {
    const { clock, hub, provider, errors } = cluster();
    const make = (work: boolean, maxConcurrent: number) =>
      createRuntime({
        providers: [provider],
        defaults: { model: 'm', maxAttempts: 3 },
        clock,
        onError: (error) => errors.push(error),
        limits: { maxConcurrent },
        backend: memoryClusterBackend({ hub, work, sweepIntervalMs: 1000 }),
      });
    // A runs two at once; B only submits; C, later, runs one.
    const a = make(true, 2);
    const b = make(false, 1);
    await Promise.all([a.ready, b.ready]);
    const hereOwn = a.submit(ask('a-here'), { timeoutMs: 60_000 });
    await advance(clock, 100);
    const othersHere = b.submit(ask('b-here'), { timeoutMs: 60_000 });
    await advance(clock, 100);
    const c = make(true, 1);
    await c.ready;
    const ownElsewhere = a.submit(ask('a-on-c'), { timeoutMs: 60_000 });
    await advance(clock, 100);
    const ownQueued = a.submit(ask('a-queued'), { timeoutMs: 60_000, queueTimeoutMs: 60_000 });
    await advance(clock, 100);
    const asked = () => provider.calls.map((call) => call.request.messages[0]?.content);
    expect(asked()).toEqual(['a-here', 'b-here', 'a-on-c']);

    const report = a.shutdown({ deadlineMs: 1000, unfinished: 'cancel' });
    await advance(clock, 1500);
    expect((await report).cancelled).toEqual([hereOwn.id, ownElsewhere.id, ownQueued.id]);
    for (const handle of [hereOwn, ownElsewhere, ownQueued]) {
      const result = (await handle.result) as SessionResult & { ok: false };
      expect(result.error.code).toBe('SHUTTING_DOWN');
      expect(result.error.message).toMatch(/cancelled across the cluster/);
      expect(c.session(handle.id)?.state).toBe('cancelled');
    }
    // A's own call and the one on C were aborted; B's session went back and C runs it again.
    expect(provider.calls.slice(0, 3).map((call) => call.signal.aborted)).toEqual([true, true, true]);
    expect(asked()).toEqual(['a-here', 'b-here', 'a-on-c', 'b-here']);
    expect(c.session(othersHere.id)?.state).toBe('running');
    provider.pending()[0]?.settle('ok');
    await advance(clock, 100);
    expect((await othersHere.result).ok).toBe(true);
    // Nothing of A's callers runs afterwards.
    await advance(clock, 5000, 500);
    expect(asked()).toEqual(['a-here', 'b-here', 'a-on-c', 'b-here']);
    await Promise.all([b.shutdown({ deadlineMs: 0 }), c.shutdown({ deadlineMs: 0 })]);
    expect(errors).toEqual([]);
  });

  it('refuses an `unfinished` it does not know, rather than leave the sessions on', async () => {
    const { instance } = cluster();
    const a = instance();
    await a.ready;
    await expect(a.shutdown({ deadlineMs: 0, unfinished: 'Cancel' as 'cancel' })).rejects.toThrow(
      /`unfinished` to be 'leave' or 'cancel', got "Cancel"/,
    );
    await a.shutdown({ deadlineMs: 0 });
  });

  it('ends a session held back by the rate window at its queue deadline, after its submitter left, without calling the provider', async () => {
    const { clock, provider, errors, instance } = cluster({
      limits: { providers: { p: { requestsPerMinute: 1 } } },
    });
    // A only submits; B runs sessions and sweeps the queue.
    const a = instance(false);
    const b = instance(true);
    await Promise.all([a.ready, b.ready]);
    const first = a.submit(ask('first'), { queueTimeoutMs: 60_000 });
    await advance(clock, 100);
    provider.pending()[0]?.settle('ok');
    await advance(clock, 100);
    expect((await first.result).ok).toBe(true);

    // The minute's one request is spent: the second is leased, held back, and waits again.
    const second = a.submit(ask('second'), { queueTimeoutMs: 5000 });
    await advance(clock, 500);
    expect(a.session(second.id)?.state).toBe('queued');
    // Its submitter leaves before the deadline; the session stays in the cluster.
    const report = a.shutdown({ deadlineMs: 0 });
    await advance(clock, 100);
    await report;
    expect(((await second.result) as SessionResult & { ok: false }).error.code).toBe('SHUTTING_DOWN');

    // Past the minute: had the deadline been lost, the freed window would let it run now.
    await advance(clock, 70_000, 500);
    const ended = b.session(second.id);
    expect(ended?.state).toBe('timedOut');
    expect(ended?.attempts).toBe(0);
    // Ended by B's sweep within a sweep interval of its deadline, not when the window freed.
    const waited = (ended?.endedAt ?? 0) - (ended?.createdAt ?? 0);
    expect(waited).toBeGreaterThanOrEqual(5000);
    expect(waited).toBeLessThanOrEqual(6100);
    expect(provider.calls.length).toBe(1);
    expect(b.status().queued).toBe(0);
    await b.shutdown({ deadlineMs: 0 });
    expect(errors).toEqual([]);
  });
  it("holds a session back by its model's limit alone: the provider's other model runs at once, and it runs when its window frees", async () => {
    const { clock, provider, errors, instance } = cluster({
      limits: { providers: { p: { models: { small: { requestsPerMinute: 1 } } } } },
    });
    const runtime = instance();
    await runtime.ready;
    const chat = (model: string, text: string) => ({
      model,
      messages: [{ role: 'user' as const, content: text }],
    });
    const first = runtime.submit(chat('small', 'one'));
    await advance(clock, 100);
    provider.pending()[0]?.settle('ok');
    expect((await first.result).ok).toBe(true);

    const held = runtime.submit(chat('small', 'two'), { queueTimeoutMs: 120_000 });
    await advance(clock, 100);
    const other = runtime.submit(chat('big', 'three'));
    await advance(clock, 100);
    // The big model's session runs while the small one's waits for its minute.
    expect(provider.pending().map((c) => c.request.model)).toEqual(['big']);
    expect(runtime.session(held.id)?.state).toBe('queued');
    provider.pending()[0]?.settle('ok');
    expect((await other.result).ok).toBe(true);

    // Its model's window frees about a minute after the first call (the limiter said 60.9 s here).
    await advance(clock, 59_000, 1000);
    expect(provider.pending()).toEqual([]);
    await advance(clock, 2000, 1000);
    expect(provider.pending().map((c) => c.request.model)).toEqual(['small']);
    provider.pending()[0]?.settle('ok');
    const result = await held.result;
    expect(result.ok).toBe(true);
    // It started once the window of its first call (a minute before) had room again.
    expect(result.metadata.queuedMs).toBeGreaterThanOrEqual(59_000);
    await runtime.shutdown({ deadlineMs: 0 });
    expect(errors).toEqual([]);
  });
});

describe('the in-memory ports', () => {
  const session = (sessionId: string): QueuedSession => ({
    input: {
      sessionId,
      provider: 'p',
      model: 'm',
      priority: 5,
      createdAt: 0,
      queueDeadlineAt: 1000,
      timeoutMs: 1000,
      idleTimeoutMs: 1000,
      maxAttempts: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      random: 0.5,
    } as unknown as QueuedSession['input'],
    request: { model: 'm', messages: [] },
  });

  it("refuses a runtime whose clock is not its hub's: the cluster would run on two times", () => {
    const hub = new MemoryClusterHub({ clock: new SimulatedClock() });
    expect(() =>
      createRuntime({
        providers: [new ScriptedProvider('p')],
        backend: memoryClusterBackend({ hub }),
      }),
    ).toThrow(/Expected the runtime's clock to be its hub's/);
  });

  it('settles a session exactly once when two instances race, and each instance hears one end', async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryClusterHub({ clock });
    const context = {
      providers: ['p'],
      limits: resolveLimits({}),
      clock,
      onError: (e: unknown) => {
        throw e;
      },
    };
    const [one, two] = [hub.ports(context), hub.ports(context)];
    const heard: [string, BusMessage][] = [];
    for (const ports of [one, two]) {
      await ports.bus.listen({
        event: (message) => heard.push([ports.instanceId, message]),
        cancel: () => undefined,
        reconnected: () => undefined,
      });
    }
    const data = session('s1');
    const now = clock.now();
    const cancelled = resultOf(data, [{ type: 'session.cancel', now, reason: 'one' }]);
    const timedOut = resultOf(data, [{ type: 'session.tick', now: 2000 }]);
    const settled = await Promise.all([
      one.store.settle(cancelled, undefined, endedAt(data, cancelled)),
      two.store.settle(timedOut, undefined, endedAt(data, timedOut)),
    ]);
    expect(settled).toEqual([true, false]);
    expect(await two.store.result('s1')).toBe(cancelled);
    expect((await one.store.leaseState('s1')).ended).toBe(true);
    await flush();
    const ends = heard.filter(([, m]) => m.event?.type === 'session.ended');
    expect(ends.map(([instance]) => instance).sort()).toEqual([one.instanceId, two.instanceId].sort());
  });

  it('runs a session whose first look at the shared limits failed: it waits a moment and asks again, the failure reported', async () => {
    const { clock, hub, provider, errors, instance } = cluster({
      limits: { providers: { p: { requestsPerMinute: 10 } } },
    });
    const update = hub.state.update.bind(hub.state);
    let failures = 2;
    hub.state.update = ((...args: Parameters<typeof update>) => {
      if (failures > 0) {
        failures -= 1;
        return Promise.reject(new Error('shared state cut'));
      }
      return update(...args);
    }) as typeof hub.state.update;
    const a = instance();
    await a.ready;
    const handle = a.submit(ask('hi'), { queueTimeoutMs: 30_000 });
    await advance(clock, 5000);
    expect(provider.pending().length).toBe(1);
    provider.pending()[0]?.settle('ok');
    await advance(clock, 100);
    expect((await handle.result).ok).toBe(true);
    expect(errors.map((e) => (e as Error).message)).toEqual(['shared state cut', 'shared state cut']);
    await a.shutdown({ deadlineMs: 0 });
  });
});
