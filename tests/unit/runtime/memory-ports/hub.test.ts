/**
 * `MemoryClusterHub.ports()` (`memory-ports/hub.ts`): each call is one more instance of the
 * cluster, over the hub's shared queue, store, bus and state, on the hub's clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { systemClock } from '../../../../src/core/clock.js';
import { MemoryClusterHub } from '../../../../src/runtime/memory-ports/hub.js';
import type { BusMessage, ClusterContext } from '../../../../src/runtime/ports.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function context(clock: ClusterContext['clock'], errors: unknown[] = []): ClusterContext {
  return {
    providers: ['p'],
    limits: { perProvider: { p: 1 }, maxConcurrent: 4, fairnessEvery: 4, historySize: 2 },
    clock,
    onError: (error) => errors.push(error),
  };
}

describe('MemoryClusterHub', () => {
  it("refuses a runtime whose clock is not the hub's, saying what to do", () => {
    const hub = new MemoryClusterHub({ clock: new SimulatedClock() });
    expect(() => hub.ports(context(new SimulatedClock()))).toThrow(
      "Expected the runtime's clock to be its hub's, got another one; pass the same clock to new MemoryClusterHub({ clock }) and to createRuntime",
    );
  });

  it('runs on the system clock by default', () => {
    const hub = new MemoryClusterHub();
    expect(hub.clock).toBe(systemClock);
    expect(hub.ports(context(systemClock)).instanceId).toBe('memory-1');
    expect(new MemoryClusterHub({}).clock).toBe(systemClock);
  });

  it('names each instance uniquely, and by default makes it a worker that sweeps every second', () => {
    const clock = new SimulatedClock();
    const hub = new MemoryClusterHub({ clock });
    const a = hub.ports(context(clock));
    const b = hub.ports(context(clock), { work: false, sweepIntervalMs: 250 });
    expect(a.instanceId).toBe('memory-1');
    expect(b.instanceId).toBe('memory-2');
    expect(a.work).toBe(true);
    expect(a.sweepIntervalMs).toBe(1000);
    expect(b.work).toBe(false);
    expect(b.sweepIntervalMs).toBe(250);
    expect(hub.clock).toBe(clock);
  });

  it('is always connected: ready, named for errors, never cut', () => {
    const clock = new SimulatedClock();
    const ports = new MemoryClusterHub({ clock }).ports(context(clock));
    expect(ports.connection.name).toBe('the in-memory hub');
    expect(ports.connection.status()).toBe('ready');
    let ran = false;
    ports.connection.onReady(() => {
      ran = true;
    });
    expect(ran).toBe(false);
  });

  it("shares the hub's queue, store, state and bus between instances", async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryClusterHub({ clock });
    const a = hub.ports(context(clock));
    const b = hub.ports(context(clock));
    expect(a.limits).toBe(a.queue);
    expect(a.state).toBe(hub.state);
    expect(b.state).toBe(hub.state);
    await a.queue.add({
      input: {
        sessionId: 's1',
        requestId: 'r',
        provider: 'p',
        model: 'm',
        priority: 5,
        stream: false,
        createdAt: 0,
        queueDeadlineAt: 0,
        timeoutMs: 1,
        idleTimeoutMs: 1,
        maxAttempts: 1,
        backoffBaseMs: 1,
        backoffMaxMs: 1,
      },
      request: { model: 'm', messages: [] },
    });
    expect(await b.queue.waiting('p', 's1')).toBe(true);
    const heard: BusMessage[] = [];
    await b.bus.listen({
      event: (m) => heard.push(m),
      cancel: () => undefined,
      reconnected: () => undefined,
    });
    const summary = {
      sessionId: 's1',
      requestId: 'r',
      provider: 'p',
      model: 'm',
      priority: 5,
      state: 'queued' as const,
      createdAt: 0,
      attempts: 0,
    };
    const event = { type: 'session.queued' as const, sessionId: 's1', position: 0, at: 0, provider: 'p' };
    await a.store.put(summary, event);
    expect(b.store.liveSession('s1')).toEqual(summary);
    await flush();
    // The store tells the cluster with its own instance's name.
    expect(heard).toEqual([{ origin: 'memory-1', event, summary }]);
    await a.bus.publish(event);
    await flush();
    expect(heard[1]?.origin).toBe('memory-1');
  });

  it("gives each instance's store a history of the context's size, and reports its listeners' errors to its onError", async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryClusterHub({ clock });
    const errors: unknown[] = [];
    const a = hub.ports(context(clock, errors));
    const metadata = (sessionId: string) => ({
      sessionId,
      requestId: 'r',
      provider: 'p',
      model: 'm',
      priority: 5,
      state: 'done' as const,
      queuedMs: 0,
      runMs: 0,
      totalMs: 0,
      attempts: 1,
    });
    for (const id of ['s1', 's2', 's3']) a.store.forget({ ok: true, content: '', metadata: metadata(id) });
    expect(a.store.recent(10).map((s) => s.sessionId)).toEqual(['s3', 's2']);
    const boom = new Error('listener bug');
    await a.bus.listen({
      event: () => {
        throw boom;
      },
      cancel: () => undefined,
      reconnected: () => undefined,
    });
    await a.bus.publish({ type: 'supervisor.draining', at: 0, deadlineAt: 1 });
    await flush();
    expect(errors).toEqual([boom]);
  });

  it("closing an instance stops its bus listener; the queue's limits are the context's", async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryClusterHub({ clock });
    const a = hub.ports(context(clock));
    await a.bus.listen({ event: () => undefined, cancel: () => undefined, reconnected: () => undefined });
    expect(hub.bus.listenerCount).toBe(1);
    await a.close();
    expect(hub.bus.listenerCount).toBe(0);
    // perProvider p: 1 from the context: one of two sessions runs at once.
    const leased: string[] = [];
    a.queue.lease((lease) => {
      leased.push(lease.session.input.sessionId);
      return new Promise(() => undefined);
    });
    for (const id of ['s1', 's2'])
      await a.queue.add({
        input: {
          sessionId: id,
          requestId: 'r',
          provider: 'p',
          model: 'm',
          priority: 5,
          stream: false,
          createdAt: 0,
          queueDeadlineAt: 0,
          timeoutMs: 1,
          idleTimeoutMs: 1,
          maxAttempts: 1,
          backoffBaseMs: 1,
          backoffMaxMs: 1,
        },
        request: { model: 'm', messages: [] },
      });
    await flush();
    expect(leased).toEqual(['s1']);
  });
});
