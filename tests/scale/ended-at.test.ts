/**
 * A session's `session.ended` on a cluster says when it ended, on the clock of the instance that
 * ran it, however late its settle is written: here the store refuses the first settle (a store
 * that was away), the runner writes it again 500 ms later, and every subscriber, the caller's
 * handle and the history still tell the time of the answer.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import type { ClusterPorts, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { RuntimeEvent } from '../../src/runtime/types.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A store whose first settle fails, as one on a Redis that is away. */
function refusingFirstSettle(store: SessionStore, errors: unknown[]): SessionStore {
  let refused = false;
  const settle: SessionStore['settle'] = async (result, label, endedAt) => {
    if (!refused) {
      refused = true;
      const error = new Error('Expected Redis to answer, got a reset');
      errors.push(error);
      throw error;
    }
    return store.settle(result, label, endedAt);
  };
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'settle') return settle;
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('the time of a session end on a cluster', () => {
  it('is the answer time, not the time a late settle was written', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const p = new ScriptedProvider('p');
    const refusals: unknown[] = [];
    const backend: RuntimeBackend = {
      kind: 'memory-cluster',
      createRuntime: (options, local) =>
        createClusterRuntime(options, local, (context): ClusterPorts => {
          const ports = hub.ports(context, { sweepIntervalMs: 1000 });
          return { ...ports, store: refusingFirstSettle(ports.store, refusals) };
        }),
    };
    const runtime = createRuntime({ providers: [p], defaults: { model: 'm' }, clock, backend });
    await runtime.ready;
    const heard: RuntimeEvent[] = [];
    runtime.subscribe((event) => {
      if (event.type === 'session.ended') heard.push(event);
    });
    const handle = runtime.submit({ messages: [{ role: 'user', content: 'hi' }] });
    const told: number[] = [];
    const watched = (async () => {
      for await (const event of handle.events) if (event.type === 'session.ended') told.push(event.at);
    })();
    for (let i = 0; i < 5; i++) await flush();
    clock.increment(250);
    (p.pending()[0] as (typeof p.calls)[0]).settle('ok');
    const answeredAt = clock.now();
    for (let i = 0; i < 5; i++) await flush();
    expect(refusals).toHaveLength(1);
    // Written again 500 ms later.
    for (let i = 0; i < 10; i++) {
      clock.increment(100);
      await flush();
    }
    const result = await handle.result;
    await watched;
    expect(result.ok).toBe(true);
    expect(heard.map((e) => (e as { at: number }).at)).toEqual([answeredAt]);
    expect(told).toEqual([answeredAt]);
    expect(runtime.session(handle.id)?.endedAt).toBe(answeredAt);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
