/**
 * A lease that comes back held (here `AWAY`: its first read of the session unanswered, as in a cut)
 * whose job's move back to the queue then fails (BullMQ's `moveToDelayed`; in the kill property a
 * "Missing lock" after a cut, the lock retaken by the reconnect before BullMQ's failure handling ran).
 * The job stays, and a later lease runs the session once its lock lapses. Until 2026-12-07 the
 * processor threw the move's error and BullMQ failed the job, removing it: the session, never
 * started, stayed queued with no job until the sweep ended it at its queue deadline,
 * BACKEND_UNAVAILABLE "found its summary alone" (seed 2137992420 of the kill property).
 *
 * Real Redis and BullMQ, one instance; the read and the move fail once each, on the test's order.
 */
import { Job } from 'bullmq';
import { afterEach, expect, it, vi } from 'vitest';
import type { LeaseState, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';

const redis = useRedisServer();

afterEach(() => {
  vi.restoreAllMocks();
});

it('keeps the job of a lease whose move back to the queue failed: the session runs on a later lease', async () => {
  let reads = 0;
  const backend = await wrappedRedisBackend(
    { url: redis.url, prefix: 'moveback', instanceId: 'one', work: true, sweepIntervalMs: 500 },
    (ports) => {
      const store: SessionStore = Object.create(ports.store);
      // The first lease's first read is not answered: it waits a moment, delayed alone (`AWAY`).
      store.leaseState = (id): Promise<LeaseState> =>
        ++reads === 1 ? Promise.reject(new Error('cut')) : ports.store.leaseState(id);
      return { ...ports, store };
    },
  );
  const moves: unknown[] = [];
  const moveToDelayed = Job.prototype.moveToDelayed;
  vi.spyOn(Job.prototype, 'moveToDelayed').mockImplementation(function (this: Job, ...args) {
    moves.push(this.id);
    if (moves.length === 1) return Promise.reject(new Error('Missing lock for job. moveToDelayed'));
    return moveToDelayed.apply(this, args);
  });
  const errors: unknown[] = [];
  const p = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [p],
    defaults: { model: 'm', maxAttempts: 1 },
    backend,
    onError: (error) => errors.push(error),
  });
  redis.runtimes.push(runtime);
  await runtime.ready;
  const handle = runtime.submit({ messages: [{ role: 'user', content: 'back' }] }, { queueTimeoutMs: 8_000 });
  await expect.poll(() => p.pending().length, { timeout: 8_000 }).toBe(1);
  p.pending()[0]?.settle('ok');
  expect(await handle.result).toMatchObject({ ok: true, metadata: { attempts: 1 } });
  expect(p.calls).toHaveLength(1);
  expect(moves).toEqual([handle.id]);
  expect(errors.map(String)).toEqual(['Error: cut', 'Error: Missing lock for job. moveToDelayed']);
}, 30_000);
