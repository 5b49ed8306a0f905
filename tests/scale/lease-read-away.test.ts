/**
 * A lease whose first read of its session Redis does not answer (`leaseState`: the instance's
 * connection cut, or still reconnecting after a cut while BullMQ's own has fetched the job). Found
 * by the kill property (2026-12-06, one run in 40: all instances cut off for 149 ms as a killed
 * worker's session was taken over): until then the lease threw, BullMQ failed the job and dropped it
 * (`removeOnFail`), and the session, shown running on every instance, waited for its submitter's
 * backstop (the queue's and the run's deadlines and 10 s past them, 190 s at the defaults) to end
 * `BACKEND_UNAVAILABLE`, its call never made. Now the job waits a moment, as a lease whose ask of
 * the shared limits fails does, and is leased again: the session runs once and ends `done`. Putting
 * the job back (its place in the fair turn's index, written on the instance's own connection) could
 * fail the same way and drop it too: it is reported, and the job goes back without it.
 *
 * Real redis-server and the in-memory hub; the store's `leaseState` made to fail, once or twice; and
 * on Redis, the instance's own connection cut (a proxy) as its lease reads, BullMQ's not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterPorts, SessionStore, SharedState } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedBackends, wrappedRedisBackend } from '../support/redis-ports.js';
import { proxyRedis } from '../support/redis-proxy.js';
import { until } from '../support/until.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/**
 * How many of the next `leaseState` reads fail, as a cut connection's commands do; or, with
 * `lateMs`, each is answered that late and the shared state's reads of holds fail meanwhile.
 */
const away = { reads: 0, failed: 0, lateMs: 0 };
const cut = () => Promise.reject(new Error('Connection is closed.'));
function cutReads(ports: ClusterPorts): ClusterPorts {
  const store: SessionStore = Object.create(ports.store);
  store.leaseState = async (id) => {
    if (away.reads > 0) {
      away.reads--;
      away.failed++;
      return cut();
    }
    if (away.lateMs > 0) await new Promise((resolve) => setTimeout(resolve, away.lateMs));
    return ports.store.leaseState(id);
  };
  const state: SharedState = {
    read: (key) => {
      if (away.lateMs === 0 || !key.startsWith('held')) return ports.state.read(key);
      away.failed++;
      return cut();
    },
    update: (key, init, change, ttlMs) => ports.state.update(key, init, change, ttlMs),
  };
  return { ...ports, store, state };
}

describe.each(wrappedBackends('lra', () => redis.url, cutReads))(
  'a lease whose first read fails (%s)',
  (_name, backend) => {
    it.each([1, 2])(
      'runs the session once and ends it done, its read failing %i time(s)',
      async (failures) => {
        const provider = new ScriptedProvider('p');
        const runtime = createRuntime({
          providers: [provider],
          backend: await backend(),
          // Short deadlines: the old code's backstop ends it at 14.5 s (3.5 + 1 + 10), within the test's time;
          // each failed read waits 1 s (`PROBE_POLL_MS`) inside the queue deadline.
          defaults: { queueTimeoutMs: 3_500, timeoutMs: 1_000 },
          onError: () => {},
        });
        await (runtime as { ready?: Promise<void> }).ready;
        Object.assign(away, { reads: failures, failed: 0, lateMs: 0 });
        const handle = runtime.submit({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
        await until(
          async () => provider.calls.length,
          (n) => n >= 1,
          'the call',
          5_000,
        ).catch(() => {});
        provider.calls[0]?.settle('ok');
        const result = await handle.result;
        expect(away.failed).toBe(failures);
        expect(result.ok ? result.metadata.state : `${result.error.code}: ${result.error.message}`).toBe(
          'done',
        );
        expect(provider.calls).toHaveLength(1);
        expect(runtime.session(handle.id)?.state).toBe('done');
        await runtime.shutdown({ deadlineMs: 0 });
      },
      20_000,
    );

    it('times a session leased past its queue deadline out at once when what held it cannot be read', async () => {
      const provider = new ScriptedProvider('p');
      const runtime = createRuntime({
        providers: [provider],
        backend: await backend(),
        defaults: { queueTimeoutMs: 500, timeoutMs: 1_000 },
        onError: () => {},
      });
      await (runtime as { ready?: Promise<void> }).ready;
      // Its lease's read answered past the queue deadline (a sweep that came late, as far as the
      // lease can tell), and the read of what held it refused: until 2026-12-06 the job was dropped
      // and the session ended at its backstop (11.5 s).
      Object.assign(away, { reads: 0, failed: 0, lateMs: 800 });
      const started = Date.now();
      const handle = runtime.submit({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
      const result = await handle.result;
      away.lateMs = 0;
      expect(away.failed).toBeGreaterThan(0);
      expect(result.ok || result.error.code).toBe('TIMED_OUT');
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(provider.calls).toHaveLength(0);
      await runtime.shutdown({ deadlineMs: 0 });
    }, 20_000);
  },
);

it('runs a session once when its lease came on BullMQ’s connection and the instance’s own was cut (Redis)', async () => {
  // The store's and bus's connection goes through a proxy, cut just as the lease reads (and back
  // 300 ms on); BullMQ's connections are not. The lease's read fails, and so does what puts the job
  // back in the fair turn's index on the same connection: until 2026-12-06 either failure dropped the job.
  const proxy = await proxyRedis(Number(new URL(redis.url).port));
  let cuts = 0;
  const cutOnRead = (ports: ClusterPorts): ClusterPorts => {
    const store: SessionStore = Object.create(ports.store);
    store.leaseState = async (id) => {
      if (cuts++ === 0) {
        // Once its summary is in (it goes out a tick after the job).
        await new Promise((resolve) => setTimeout(resolve, 100));
        await proxy.cut();
        setTimeout(() => void proxy.restore(), 300);
      }
      return ports.store.leaseState(id);
    };
    return { ...ports, store };
  };
  const provider = new ScriptedProvider('p');
  const options = {
    url: redis.url,
    storeUrl: proxy.url,
    prefix: 'lra-cut',
    instanceId: 'lra-cut',
    work: true,
  };
  const runtime = createRuntime({
    providers: [provider],
    backend: await wrappedRedisBackend({ ...options, sweepIntervalMs: 1000 }, cutOnRead),
    defaults: { queueTimeoutMs: 5_000, timeoutMs: 1_000 },
    onError: () => {},
  });
  await (runtime as { ready?: Promise<void> }).ready;
  const handle = runtime.submit({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
  await until(
    async () => provider.calls.length,
    (n) => n >= 1,
    'the call',
    8_000,
  ).catch(() => {});
  provider.calls[0]?.settle('ok');
  const result = await handle.result;
  expect(cuts).toBeGreaterThan(1);
  expect(result.ok ? result.metadata.state : `${result.error.code}: ${result.error.message}`).toBe('done');
  expect(provider.calls).toHaveLength(1);
  await runtime.shutdown({ deadlineMs: 0 });
}, 30_000);
