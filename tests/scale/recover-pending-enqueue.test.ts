/**
 * After a reconnect each instance looks at the sessions submitted there: one whose job and result
 * are both gone was lost by a Redis back empty, and its caller gets `BACKEND_UNAVAILABLE` ("Redis
 * came back without the queued session") rather than waiting for its deadlines. An enqueue still on
 * its way is not such a session: BullMQ's connection sends a command it had in flight again once it
 * is back, which may be after that look. Until 2026-12-07 the look ended it all the same: by hand, two
 * `troupe serve` instances and a redis-server stopped with `SHUTDOWN` (saving its data) and started
 * again under load, one call in seven runs ended so though Redis had kept everything.
 *
 * Real redis-server; the instance's ports wrapped (`wrappedRedisBackend`): its job's add held until
 * the test lets it go, and the bus's `reconnected` handler called by the test, as a reconnect would.
 * A front (`work: false`) submits, and a worker instance runs the session.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterPorts, EventBus, SessionQueue } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';
import { until } from '../support/until.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** The front's job adds wait for `release`; `reconnected` is the bus's handler once it listens. */
interface Hooks {
  release: () => void;
  reconnected: (() => void) | undefined;
  adds: number;
}

function hooked(hooks: Hooks, hold: boolean): (ports: ClusterPorts) => ClusterPorts {
  return (ports) => {
    const held = new Promise<void>((resolve) => {
      hooks.release = resolve;
    });
    const queue: SessionQueue = Object.create(ports.queue);
    queue.add = async (session) => {
      hooks.adds += 1;
      if (hold) await held;
      return ports.queue.add(session);
    };
    const bus: EventBus = Object.create(ports.bus);
    bus.listen = (handlers) => {
      hooks.reconnected = handlers.reconnected;
      return ports.bus.listen(handlers);
    };
    return { ...ports, queue, bus };
  };
}

let seq = 0;

async function cluster(
  hold: boolean,
): Promise<{ front: Runtime; worker: Runtime; p: ScriptedProvider; hooks: Hooks; prefix: string }> {
  const prefix = `rpe${++seq}`;
  const p = new ScriptedProvider('p');
  const hooks: Hooks = { release: () => {}, reconnected: undefined, adds: 0 };
  const options = { providers: [p], defaults: { model: 'm', maxAttempts: 1 } };
  const front = createRuntime({
    ...options,
    backend: await wrappedRedisBackend(
      { url: redis.url, prefix, instanceId: `${prefix}-front`, work: false, sweepIntervalMs: 1000 },
      hooked(hooks, hold),
    ),
  });
  const worker = createRuntime({ ...options, backend: await redisBackend({ url: redis.url, prefix }) });
  await Promise.all([front.ready, worker.ready]);
  return { front, worker, p, hooks, prefix };
}

describe('a reconnect’s look at the sessions submitted here', () => {
  it('leaves a session whose enqueue is still on its way: it runs once the add lands', async () => {
    const { front, worker, p, hooks } = await cluster(true);
    try {
      const handle = front.submit({ provider: 'p', messages: [{ role: 'user', content: 'held' }] });
      await until(
        async () => hooks.adds,
        (n) => n === 1,
        'the held add',
      );
      hooks.reconnected?.();
      // The look reads Redis a few times: give it that long to end the session, as it did.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(front.session(handle.id)?.state).toBe('queued');
      hooks.release();
      await until(
        async () => p.pending().length,
        (n) => n === 1,
        'the call, once the add landed',
      );
      p.pending()[0]?.settle('ok');
      const result = await handle.result;
      expect([result.ok, result.metadata.state]).toEqual([true, 'done']);
      expect(p.calls.length).toBe(1);
    } finally {
      await Promise.all([front.shutdown({ deadlineMs: 0 }), worker.shutdown({ deadlineMs: 0 })]);
    }
  }, 30_000);

  it('still ends a session whose job Redis no longer holds, saying so', async () => {
    const { front, worker, hooks, prefix } = await cluster(false);
    // Nobody leases: the worker stops first, so the job waits until the test takes it away.
    await worker.shutdown({ deadlineMs: 0 });
    try {
      const handle = front.submit({ provider: 'p', messages: [{ role: 'user', content: 'lost' }] });
      const raw = new Redis(redis.url);
      try {
        const jobKey = `${prefix}:p:${handle.id}`;
        await until(
          () => raw.exists(jobKey),
          (n) => n === 1,
          'the job in its queue',
        );
        await raw.del(jobKey);
      } finally {
        raw.disconnect();
      }
      hooks.reconnected?.();
      const result = await handle.result;
      expect(result.ok ? undefined : [result.error.code, result.error.message]).toEqual([
        'BACKEND_UNAVAILABLE',
        expect.stringMatching(/came back without the queued session/),
      ]);
    } finally {
      await front.shutdown({ deadlineMs: 0 });
    }
  }, 30_000);
});
