/**
 * Why a submit's live summary cannot land after its queue deadline was dropped (and show the
 * session `queued` again, for good): its write goes before the deadline's, in the same turn, and on
 * Redis on the same connection, which Redis reads and runs in order. So when the queue-deadline
 * sweep finds the deadline and no summary (`withdrawals.ts`: dropped on its second sweep), the
 * summary's write was run already, and refused (`enqueue-in-part.test.ts`: every script refused
 * but that plain write): no later write of it is on its way. Pinned here on both clusters (the
 * ports wrapped to log the calls) and on the wire of real Redis (`MONITOR`), with `redisBackend`
 * as it runs (one pipelined connection for the store and the queue's own keys).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterPorts } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedBackends } from '../support/redis-ports.js';
import { until } from '../support/until.js';

let redis: RedisServer;
const open: Runtime[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.allSettled(open.map((runtime) => runtime.shutdown({ deadlineMs: 0 })));
  await redis?.stop();
});

/** The store's `put` and the queue's `add`, as called. */
const calls: string[] = [];
function logged(ports: ClusterPorts): ClusterPorts {
  const { store, queue } = ports;
  const put: typeof store.put = (summary, event, caller) => {
    calls.push(`put ${summary.state}`);
    return store.put(summary, event, caller);
  };
  const add: typeof queue.add = (session) => {
    calls.push('add');
    return queue.add(session);
  };
  return {
    ...ports,
    store: new Proxy(store, { get: (t, k) => (k === 'put' ? put : Reflect.get(t, k, t)) }),
    queue: new Proxy(queue, { get: (t, k) => (k === 'add' ? add : Reflect.get(t, k, t)) }),
  };
}

describe.each(wrappedBackends('sbd', () => redis.url, logged))('a submit (%s)', (_name, backend) => {
  it('writes its summary before its job and deadline, both before submit returns', async () => {
    const runtime = createRuntime({
      providers: [new ScriptedProvider('p')],
      defaults: { model: 'm' },
      onError: () => {},
      backend: await backend(),
    });
    open.push(runtime);
    await runtime.ready;
    calls.length = 0;
    runtime.submit({ messages: [{ role: 'user', content: 'order' }] });
    expect(calls).toEqual(['put queued', 'add']);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});

describe('a submit on Redis, on the wire', () => {
  it('sends its summary’s script before its deadline’s ZADD, on the same connection', async () => {
    const prefix = 'wire';
    const monitor = await new Redis(redis.url).monitor();
    const seen: { args: string[]; source: string }[] = [];
    monitor.on(
      'monitor',
      (_time: string, args: string[], source: string) => void seen.push({ args, source }),
    );
    try {
      const runtime = createRuntime({
        providers: [new ScriptedProvider('p')],
        defaults: { model: 'm' },
        onError: () => {},
        backend: await redisBackend({ url: redis.url, prefix, work: false }),
      });
      open.push(runtime);
      await runtime.ready;
      const id = runtime.submit({ messages: [{ role: 'user', content: 'wire' }] }).id;
      const deadline = (s: { args: string[] }) =>
        s.args[0]?.toLowerCase() === 'zadd' && s.args[1] === `${prefix}:qdl` && s.args.includes(`p|${id}`);
      await until(
        async () => seen.findIndex(deadline),
        (at) => at >= 0,
        'the deadline’s ZADD',
      );
      const summary = seen.findIndex(
        (s) =>
          s.args[0]?.toLowerCase() === 'eval' && s.args.includes(`${prefix}:live`) && s.args.includes(id),
      );
      const zadd = seen.findIndex(deadline);
      expect(summary).toBeGreaterThanOrEqual(0);
      expect(summary).toBeLessThan(zadd);
      expect(seen[summary]?.source).toBe(seen[zadd]?.source);
      await runtime.shutdown({ deadlineMs: 0 });
    } finally {
      monitor.disconnect();
    }
  });
});
