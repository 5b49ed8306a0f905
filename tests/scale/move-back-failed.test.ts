/**
 * A lease that comes back held (here `AWAY`: its first read of the session unanswered, as in a cut)
 * whose job's move back to the queue then fails (BullMQ's `moveToDelayed`; in the kill property a
 * "Missing lock" after a cut, the lock retaken by the reconnect before BullMQ's failure handling ran).
 * The job stays, and a later lease runs the session once its lock lapses. Until 2026-12-07 the
 * processor threw the move's error and BullMQ failed the job, removing it: the session, never
 * started, stayed queued with no job until the sweep ended it at its queue deadline,
 * BACKEND_UNAVAILABLE "found its summary alone" (seed 2137992420 of the kill property).
 *
 * The same job loss, when its submitter's connection comes back before the sweep's end, ended the
 * session "came back without the queued session" (the submitter's reconnect found neither job nor
 * end): the kill property's other failing replay of that seed, untraced then, fits it. The second
 * case cuts the submitter's connection after the failed move: the job is still there for its
 * reconnect's look, and the session runs.
 *
 * Real Redis and BullMQ, one instance; the read and the move fail once each, on the test's order.
 */
import { Job } from 'bullmq';
import { afterEach, expect, it, vi } from 'vitest';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import type { ClusterPorts, LeaseState, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';
import { proxyRedis } from '../support/redis-proxy.js';

const redis = useRedisServer();

afterEach(() => {
  vi.restoreAllMocks();
});

/** The first `moveToDelayed` fails ("Missing lock"), the others go through; the ids of all, in order. */
function failFirstMove(): unknown[] {
  const moves: unknown[] = [];
  const moveToDelayed = Job.prototype.moveToDelayed;
  vi.spyOn(Job.prototype, 'moveToDelayed').mockImplementation(function (this: Job, ...args) {
    moves.push(this.id);
    if (moves.length === 1) return Promise.reject(new Error('Missing lock for job. moveToDelayed'));
    return moveToDelayed.apply(this, args);
  });
  return moves;
}

/** The store's ports, its first lease's first read not answered (as in a cut): delayed alone (`AWAY`). */
function firstReadAway(ports: ClusterPorts): ClusterPorts {
  let reads = 0;
  const store: SessionStore = Object.create(ports.store);
  store.leaseState = (id): Promise<LeaseState> =>
    ++reads === 1 ? Promise.reject(new Error('cut')) : ports.store.leaseState(id);
  return { ...ports, store };
}

/** One instance on `backend` with provider p, its first move back failing; what it reported. */
async function start(backend: RuntimeBackend) {
  const moves = failFirstMove();
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
  return { moves, errors, p, runtime };
}

it('keeps the job of a lease whose move back to the queue failed: the session runs on a later lease', async () => {
  const backend = await wrappedRedisBackend(
    { url: redis.url, prefix: 'moveback', instanceId: 'one', work: true, sweepIntervalMs: 500 },
    firstReadAway,
  );
  const { moves, errors, p, runtime } = await start(backend);
  const handle = runtime.submit({ messages: [{ role: 'user', content: 'back' }] }, { queueTimeoutMs: 8_000 });
  await expect.poll(() => p.pending().length, { timeout: 8_000 }).toBe(1);
  p.pending()[0]?.settle('ok');
  expect(await handle.result).toMatchObject({ ok: true, metadata: { attempts: 1 } });
  expect(p.calls).toHaveLength(1);
  expect(moves).toEqual([handle.id]);
  expect(errors.map(String)).toEqual(['Error: cut', 'Error: Missing lock for job. moveToDelayed']);
}, 30_000);

it('keeps that job through its submitter’s reconnect: the session is not ended “came back without the queued session”', async () => {
  // The store's and bus's connection goes through a proxy, cut once the move failed; BullMQ's do not.
  const proxy = await proxyRedis(Number(new URL(redis.url).port));
  const backend = await wrappedRedisBackend(
    {
      url: redis.url,
      storeUrl: proxy.url,
      prefix: 'moveback-reconnect',
      instanceId: 'two',
      work: true,
      sweepIntervalMs: 500,
    },
    firstReadAway,
  );
  const { moves, errors, p, runtime } = await start(backend);
  const handle = runtime.submit(
    { messages: [{ role: 'user', content: 'back' }] },
    { queueTimeoutMs: 10_000 },
  );
  let ended: unknown;
  void handle.result.then((result) => (ended = result));
  await expect.poll(() => moves.length, { timeout: 8_000 }).toBe(1);
  // Time for BullMQ to finish with the processor (it failed and removed the job, before the fix).
  await new Promise((resolve) => setTimeout(resolve, 300));
  await proxy.cut();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await proxy.restore();
  // Its reconnect looks for the job (`OwnersHere.recover`): found, the session runs on a later lease.
  await expect.poll(() => ended ?? p.pending().length, { timeout: 10_000 }).toBe(1);
  p.pending()[0]?.settle('ok');
  expect(await handle.result).toMatchObject({ ok: true, metadata: { attempts: 1 } });
  expect(p.calls).toHaveLength(1);
  expect(errors.map(String)).toContain('Error: Missing lock for job. moveToDelayed');
}, 30_000);
