/**
 * A later lease of a session whose run here was stopped for a lost lease (`Lease.lost`,
 * `LeaseRunner.take`): it waits for that run to let go, then runs the session anew, under its own
 * lock, renewed for as long as it runs. Joined to the stopped run (as a lapsed lock's lease is), it
 * would end with it: its job done, the session never ended.
 *
 * Real Redis and BullMQ, one instance, the order fixed by the test: the first lease is held in its
 * first read of the session (`leaseState`) while another instance's token is set on its job's lock
 * (its next renewal fails: lost), then while that lock is gone (as when the other instance is
 * killed) until the stalled check has moved the job and this instance has leased it again.
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import type { Lease, LeaseState, SessionQueue, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';

const redis = useRedisServer();

it('runs a session anew under a later lease once its run stopped for a lost lease has let go, its lock kept while it runs', async () => {
  const prefix = 'lostwait';
  const leases: Lease[] = [];
  let releaseRead = () => {};
  const readHeld = new Promise<void>((resolve) => (releaseRead = resolve));
  let reads = 0;
  const backend = await wrappedRedisBackend(
    { url: redis.url, prefix, instanceId: 'one', work: true, sweepIntervalMs: 1_000 },
    (ports) => {
      const store: SessionStore = Object.create(ports.store);
      // The first lease's first read waits for the test: the lease is lost meanwhile.
      store.leaseState = async (id): Promise<LeaseState> => {
        if (++reads === 1) await readHeld;
        return ports.store.leaseState(id);
      };
      const queue: SessionQueue = Object.create(ports.queue);
      queue.lease = (run) =>
        ports.queue.lease((lease) => {
          leases.push(lease);
          return run(lease);
        });
      return { ...ports, store, queue };
    },
  );
  const p = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [p],
    defaults: { model: 'm', maxAttempts: 1, timeoutMs: 30_000 },
    limits: { maxConcurrent: 4 },
    backend,
  });
  redis.runtimes.push(runtime);
  const admin = new Redis(redis.url);
  try {
    await runtime.ready;
    const handle = runtime.submit({ messages: [{ role: 'user', content: 'lost' }] });
    const key = (suffix: string) => `${prefix}:p:${handle.id}${suffix}`;
    await expect.poll(() => reads, { timeout: 5_000 }).toBe(1);
    // Another instance's lease: this instance's next renewal (within half a lock's life) finds it.
    await admin.set(key(':lock'), 'theirs:1', 'PX', 60_000);
    await expect.poll(() => leases[0]?.lost?.aborted, { timeout: 5_000 }).toBe(true);
    // That lease gone (its instance killed): the stalled check moves the job, and this instance leases it again.
    await admin.del(key(':lock'));
    await expect.poll(() => leases.length, { timeout: 5_000 }).toBe(2);
    expect(await admin.hget(key(''), 'stc')).toBe('1');
    // The later lease waits: nothing called yet.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(p.calls).toHaveLength(0);
    releaseRead();
    await expect.poll(() => p.pending().length, { timeout: 5_000 }).toBe(1);
    // Its call outlives the lock's life twice over: its lease's lock is renewed, the job never moved again.
    const lock = await admin.get(key(':lock'));
    expect(lock).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(await admin.get(key(':lock'))).toBe(lock);
    expect(await admin.hget(key(''), 'stc')).toBe('1');
    p.pending()[0]?.settle('ok');
    const result = await handle.result;
    expect(result).toMatchObject({ ok: true, metadata: { attempts: 1 } });
    expect(p.calls).toHaveLength(1);
    expect(runtime.session(handle.id)?.state).toBe('done');
  } finally {
    admin.disconnect();
  }
}, 30_000);
