/**
 * A fallback hop's move adds the session's job to its target's queue, and the job it leaves ends when
 * its run returns. An instance lost in between (a kill, or a cut, after the add landed) leaves that
 * old job in the first provider's queue: its lock lapses and another instance leases it while the
 * moved job's call runs on the target. Until 2026-12-06 that lease took the session for one whose
 * call was lost with its instance (`releaseLost`) and freed, by session id, what it held on the
 * target: the running call's slot in the target's own `maxConcurrent` (and a probe), so the target
 * admitted one call more than its limit until that call ended. Now the lease sees the move landed
 * (the target's queue holds the session's job): the session, and what it holds there, is that
 * job's; the old job frees nothing and ends.
 *
 * Real redis-server and the in-memory hub, two instances each running one session at a time
 * (`limits.maxConcurrent: 1`), so the old job is leased by the instance not running the moved call.
 * The first move's add lands, then its run ends as if its instance was lost: its job is held until
 * the moved call runs, then goes back to wait in `p`'s queue, as a lapsed lock returns it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import type { ClusterPorts, SessionQueue } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
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

/** The moves asked for; the lost one's old job waits for `release`; `tookOver` once its next lease ended. */
const plan = {
  moves: [] as string[],
  release: () => {},
  released: Promise.resolve(),
  tookOver: () => {},
  takenOver: Promise.resolve(),
};

function reset(): void {
  plan.moves = [];
  plan.released = new Promise((resolve) => (plan.release = resolve));
  plan.takenOver = new Promise((resolve) => (plan.tookOver = resolve));
}

function leavingOldJob(ports: ClusterPorts): ClusterPorts {
  const queue: SessionQueue = Object.create(ports.queue);
  queue.lease = (run) =>
    ports.queue.lease(async (leased) => {
      let lost = false;
      let again = false;
      const held = await run({
        ...leased,
        moveTo: async (provider, deadlineAt) => {
          plan.moves.push(provider);
          await leased.moveTo(provider, deadlineAt);
          // The first: its add landed, and its instance is lost before the old job ends.
          if (plan.moves.length === 1) lost = true;
          else again = true;
        },
      });
      if (lost) {
        await plan.released;
        await leased.handBack();
      }
      if (again) plan.tookOver();
      return held;
    });
  return { ...ports, queue };
}

let seq = 0;

/** Each backend: a maker of instances of one cluster, their ports wrapped by `leavingOldJob`. */
const clusters: [string, () => () => Promise<RuntimeBackend>][] = [
  [
    'memory-cluster',
    () => {
      const hub = new MemoryClusterHub();
      return async () => ({
        kind: 'memory-cluster',
        createRuntime: (options, local) =>
          createClusterRuntime(options, local, (context) => leavingOldJob(hub.ports(context))),
      });
    },
  ],
  [
    'redis',
    () => {
      const prefix = `hlj${++seq}`;
      let instances = 0;
      return () =>
        wrappedRedisBackend(
          {
            url: redis.url,
            prefix,
            instanceId: `${prefix}-${++instances}`,
            work: true,
            sweepIntervalMs: 1000,
          },
          leavingOldJob,
        );
    },
  ],
];

describe.each(clusters)('the old job a moved hop left behind (%s)', (_name, cluster) => {
  it('frees nothing on the target: its model’s maxConcurrent 1 holds a second session there until the moved call ends', async () => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const errors: unknown[] = [];
    const backend = cluster();
    const instance = async (): Promise<Runtime> => {
      const runtime = createRuntime({
        providers: [p, q],
        backend: await backend(),
        defaults: { model: 'm', maxAttempts: 1, timeoutMs: 20_000 },
        limits: { maxConcurrent: 1, providers: { q: { models: { m: { maxConcurrent: 1 } } } } },
        onError: (error) => errors.push(error),
      });
      await runtime.ready;
      return runtime;
    };
    reset();
    const [a, b] = [await instance(), await instance()];
    try {
      const first = a.submit({
        provider: 'p',
        messages: [{ role: 'user', content: 'hop' }],
        fallbacks: [{ provider: 'q', model: 'm' }],
      });
      await until(
        async () => p.pending().length,
        (n) => n === 1,
        'the call on p',
      );
      p.pending()[0]?.settle('retryable');
      await until(
        async () => q.pending().length,
        (n) => n === 1,
        'the moved call on q',
      );
      // The old job goes back to wait; the instance running the moved call is at its bound: the other leases it.
      plan.release();
      await plan.takenOver;
      const second = b.submit({ provider: 'q', messages: [{ role: 'user', content: 'second' }] });
      // Leased and held by the model's slot (it looks again every second), not started beside the moved call.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(q.pending().map((call) => call.request.messages[0]?.content)).toEqual(['hop']);
      q.pending()[0]?.settle('ok');
      await until(
        async () => q.pending().length,
        (n) => n === 1,
        'the second call on q, once the first ended',
      );
      q.pending()[0]?.settle('ok');
      const [one, two] = [await first.result, await second.result];
      expect([one.metadata.state, two.metadata.state]).toEqual(['done', 'done']);
      expect(one.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
        ['p', 'PROVIDER_UNAVAILABLE'],
        ['q', 'done'],
      ]);
      expect([p.calls.length, q.calls.length]).toEqual([1, 2]);
      // The lost move, and the old job's lease moving it again (the same job id: nothing added).
      expect(plan.moves).toEqual(['q', 'q']);
      expect(errors).toEqual([]);
    } finally {
      await Promise.all([a.shutdown({ deadlineMs: 0 }), b.shutdown({ deadlineMs: 0 })]);
    }
  }, 30_000);
});
