/**
 * A lease handed back at once (its instance at `maxConcurrent`: a lease already on its way when the
 * bound was reached) whose job's move back to wait then fails (BullMQ's `moveToWait`: a cut, or its
 * lock lapsed meanwhile). The failure is reported and BullMQ is told the job went back all the same
 * (`WaitingError`): the job stays, and a later lease runs the session once its lock lapses. Until
 * 2026-12-07 the move's error came out of the lease and BullMQ failed the job, removing it
 * (`removeOnFail`): the session, never started, had no job left and ended at its queue deadline
 * without a call (the hand-back's twin of `move-back-failed.test.ts`).
 *
 * Real Redis and BullMQ, one instance at `maxConcurrent: 1` with two providers (a Worker each): the
 * test holds the first lease of q's session until p's session runs, and fails the move once.
 */
import { Job } from 'bullmq';
import { afterEach, expect, it, vi } from 'vitest';
import type { Lease, SessionQueue } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';

const redis = useRedisServer();

afterEach(() => {
  vi.restoreAllMocks();
});

/** `queue` whose first lease on `provider` reaches the instance only once `gate` resolves (`held.at` set meanwhile). */
function holdingFirst(
  queue: SessionQueue,
  provider: string,
  gate: Promise<void>,
  held: { at?: string },
): SessionQueue {
  return new Proxy(queue, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'lease') return typeof value === 'function' ? value.bind(target) : value;
      const lease: SessionQueue['lease'] = (run) =>
        target.lease(async (leased: Lease) => {
          if (leased.provider === provider && held.at === undefined) {
            held.at = leased.session.input.sessionId;
            await gate;
          }
          return run(leased);
        });
      return lease;
    },
  });
}

it('keeps the job of a lease whose hand-back to wait failed: the session runs on a later lease', async () => {
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const held: { at?: string } = {};
  const backend = await wrappedRedisBackend(
    { url: redis.url, prefix: 'handback', instanceId: 'one', work: true, sweepIntervalMs: 500 },
    (ports) => ({ ...ports, queue: holdingFirst(ports.queue, 'q', gate, held) }),
  );
  const moves: unknown[] = [];
  const moveToWait = Job.prototype.moveToWait;
  vi.spyOn(Job.prototype, 'moveToWait').mockImplementation(function (this: Job, ...args) {
    moves.push(this.id);
    if (moves.length === 1) return Promise.reject(new Error('Missing lock for job. moveToWait'));
    return moveToWait.apply(this, args);
  });
  const errors: unknown[] = [];
  const [p, q] = [new ScriptedProvider('p'), new ScriptedProvider('q')];
  const runtime = createRuntime({
    providers: [p, q],
    defaults: { model: 'm', maxAttempts: 1 },
    limits: { maxConcurrent: 1 },
    backend,
    onError: (error) => errors.push(error),
  });
  redis.runtimes.push(runtime);
  await runtime.ready;
  const ask = (provider: string, content: string) =>
    runtime.submit({ provider, messages: [{ role: 'user', content }] }, { queueTimeoutMs: 10_000 });
  // q's session is leased first and held on its way; p's then runs, taking the instance's one place.
  const second = ask('q', 'second');
  await expect.poll(() => held.at, { timeout: 8_000 }).toBe(second.id);
  const first = ask('p', 'first');
  await expect.poll(() => p.pending().length, { timeout: 8_000 }).toBe(1);
  // q's lease arrives at the bound: handed back at once, its move back to wait fails.
  release();
  await expect.poll(() => moves.length, { timeout: 8_000 }).toBeGreaterThan(0);
  expect(moves[0]).toBe(second.id);
  p.pending()[0]?.settle('ok');
  expect(await first.result).toMatchObject({ ok: true });
  await expect.poll(() => q.pending().length, { timeout: 10_000 }).toBe(1);
  q.pending()[0]?.settle('ok');
  expect(await second.result).toMatchObject({ ok: true, metadata: { attempts: 1 } });
  expect(q.calls).toHaveLength(1);
  expect(errors.map(String)).toContain('Error: Missing lock for job. moveToWait');
}, 40_000);
