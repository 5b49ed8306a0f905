/**
 * A shutdown that comes while a lease waits for the shared limits: the session is handed back and
 * never starts here (nothing here would stop it, and the shutdown would wait for it), and another
 * instance runs it. The cluster composition on in-memory ports with a
 * simulated clock (the same lease runner as on Redis); the shared state's updates held by the test.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import type { ClusterPorts, Lease, SessionQueue, SharedState } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';

const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

async function settleDown(clock: SimulatedClock, steps = 10): Promise<void> {
  for (let i = 0; i < steps; i++) {
    await flush();
    clock.increment(10);
  }
  await flush();
}

/** A shared state whose updates wait for the test while `gate.hold` is set. */
function holding(state: SharedState, gate: { hold: boolean; held: (() => void)[] }): SharedState {
  return {
    read: (key) => state.read(key),
    update: async (key, init, change, ttlMs) => {
      if (gate.hold) await new Promise<void>((resolve) => gate.held.push(resolve));
      return state.update(key, init, change, ttlMs);
    },
  };
}

/** A queue whose leases reach the instance only when the test lets them (a fetch still on its way). */
function delaying(queue: SessionQueue, late: (() => void)[]): SessionQueue {
  return new Proxy(queue, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'lease') return typeof value === 'function' ? value.bind(target) : value;
      const lease: SessionQueue['lease'] = (run) =>
        target.lease(
          (leased: Lease) =>
            new Promise((resolve, reject) => late.push(() => void run(leased).then(resolve, reject))),
        );
      return lease;
    },
  });
}

describe('a shutdown while a lease waits for the shared limits', () => {
  it('hands the session back before it starts here; another instance runs it; the close gives up on nothing', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const gate = { hold: false, held: [] as (() => void)[] };
    const errors: unknown[] = [];
    const start = (provider: ScriptedProvider, work: boolean): Runtime =>
      createRuntime({
        providers: [provider],
        defaults: { model: 'm' },
        clock,
        // Limits in the provider's own units, in the shared state: every start asks it.
        limits: { providers: { p: { requestsPerMinute: 100 } } },
        onError: (error) => errors.push(error),
        backend: {
          kind: 'memory-cluster',
          createRuntime: (options, local) =>
            createClusterRuntime(options, local, (context): ClusterPorts => {
              const ports = hub.ports(context, { sweepIntervalMs: 1000, work });
              return { ...ports, state: holding(ports.state, gate) };
            }),
        } satisfies RuntimeBackend,
      });
    const here = new ScriptedProvider('p');
    const front = start(new ScriptedProvider('p'), false);
    const leaving = start(here, true);
    await Promise.all([front.ready, leaving.ready]);
    gate.hold = true;
    const x = front.submit({ provider: 'p', messages: [{ role: 'user', content: 'x' }] });
    await settleDown(clock);
    // Leased by `leaving`, whose start waits for the shared limits.
    expect(gate.held.length).toBeGreaterThan(0);
    expect(here.calls).toHaveLength(0);
    let stopped = false;
    const report = leaving.shutdown({ deadlineMs: 0 }).then((r) => {
      stopped = true;
      return r;
    });
    await settleDown(clock);
    gate.hold = false;
    for (const release of gate.held.splice(0)) release();
    await settleDown(clock, 20);
    // Handed back before it started: no call here, and the shutdown did not wait for one.
    expect(here.calls).toHaveLength(0);
    expect(stopped).toBe(true);
    expect(await report).toEqual({ finished: 0, cancelled: [] });
    expect(errors.filter((e) => /shutdown to close within/.test(String(e)))).toEqual([]);
    // Another instance runs it, as its first attempt.
    const there = new ScriptedProvider('p');
    const taking = start(there, true);
    await taking.ready;
    await settleDown(clock);
    expect(there.pending()).toHaveLength(1);
    there.pending()[0]?.settle('ok');
    await settleDown(clock);
    const result = await x.result;
    expect(result.ok).toBe(true);
    expect(result.metadata.attempts).toBe(1);
    const closing = Promise.all([front.shutdown({ deadlineMs: 0 }), taking.shutdown({ deadlineMs: 0 })]);
    await settleDown(clock);
    await closing;
  });

  it('hands back a lease that reaches the instance once it drains (a fetch that was on its way)', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const late: (() => void)[] = [];
    const start = (provider: ScriptedProvider, work: boolean, delay: boolean): Runtime =>
      createRuntime({
        providers: [provider],
        defaults: { model: 'm' },
        clock,
        backend: {
          kind: 'memory-cluster',
          createRuntime: (options, local) =>
            createClusterRuntime(options, local, (context): ClusterPorts => {
              const ports = hub.ports(context, { sweepIntervalMs: 1000, work });
              return delay ? { ...ports, queue: delaying(ports.queue, late) } : ports;
            }),
        } satisfies RuntimeBackend,
      });
    const here = new ScriptedProvider('p');
    const front = start(new ScriptedProvider('p'), false, false);
    const leaving = start(here, true, true);
    await Promise.all([front.ready, leaving.ready]);
    const x = front.submit({ provider: 'p', messages: [{ role: 'user', content: 'x' }] });
    await settleDown(clock);
    expect(late).toHaveLength(1);
    const report = leaving.shutdown({ deadlineMs: 0 });
    await settleDown(clock);
    for (const arrive of late.splice(0)) arrive();
    await settleDown(clock, 20);
    expect(here.calls).toHaveLength(0);
    expect(await report).toEqual({ finished: 0, cancelled: [] });
    const there = new ScriptedProvider('p');
    const taking = start(there, true, false);
    await taking.ready;
    await settleDown(clock);
    expect(there.pending()).toHaveLength(1);
    there.pending()[0]?.settle('ok');
    await settleDown(clock);
    expect((await x.result).ok).toBe(true);
    const closing = Promise.all([front.shutdown({ deadlineMs: 0 }), taking.shutdown({ deadlineMs: 0 })]);
    await settleDown(clock);
    await closing;
  });
});
