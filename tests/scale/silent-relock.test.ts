/**
 * An instance silent past its lock's life (its renewals not sent: starved of CPU) while its session
 * runs: the lock lapses, the job still active, not moved yet. Its next renewal fails, and since its
 * own silence explains the lapse, it takes the lock again there and then (`Relocks.renewalFailed`):
 * no stalled check moves the job afterwards, and the provider is called once. Until 2026-12-07 the
 * next check moved it and (with another instance) the session was taken over while it ran here.
 *
 * Real Redis and BullMQ, one instance. The lapse is driven by pausing BullMQ's renewals (its
 * `LockManager.extendLocks`), not by taking the lock away; the stalled checks are held meanwhile by
 * BullMQ's own spacing key (`stalled-check`), so no check can come between the lapse and the retake.
 */
import { LockManager } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it, vi } from 'vitest';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';

const redis = useRedisServer();

afterEach(() => {
  vi.restoreAllMocks();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One instance on the test's Redis under `prefix`, its one session's call open: the provider, its handle, its job's keys. */
async function running(prefix: string) {
  const backend = await wrappedRedisBackend(
    { url: redis.url, prefix, instanceId: 'one', work: true, sweepIntervalMs: 1_000 },
    (ports) => ports,
  );
  const p = new ScriptedProvider('p');
  const runtime = createRuntime({
    providers: [p],
    defaults: { model: 'm', maxAttempts: 1, timeoutMs: 30_000 },
    backend,
  });
  redis.runtimes.push(runtime);
  await runtime.ready;
  const handle = runtime.submit({ messages: [{ role: 'user', content: prefix }] });
  await expect.poll(() => p.pending().length, { timeout: 5_000 }).toBe(1);
  const key = (suffix: string) => `${prefix}:p:${handle.id}${suffix}`;
  // Its call answered: the session ends once, with that one call.
  const answered = async () => {
    p.pending()[0]?.settle('ok');
    expect(await handle.result).toMatchObject({ ok: true, metadata: { attempts: 1 } });
    expect(p.calls).toHaveLength(1);
  };
  return { key, answered, checks: `${prefix}:p:stalled-check` };
}

it('takes its lock again at the first failed renewal when its own silence lapsed it: the job is never moved', async () => {
  let paused = false;
  // Protected in BullMQ's types: the renewal its timer sends, reached here as the test's seam.
  const manager = LockManager.prototype as unknown as { extendLocks(ids: string[]): Promise<void> };
  const extendLocks = manager.extendLocks;
  vi.spyOn(manager, 'extendLocks').mockImplementation(function (this: unknown, ids: string[]) {
    return paused ? Promise.resolve() : extendLocks.call(this, ids);
  });
  const admin = new Redis(redis.url);
  try {
    const { key, answered, checks } = await running('silent');
    const token = await admin.get(key(':lock'));
    expect(token).not.toBeNull();
    // No check moves or marks a job until the test lets them.
    await admin.set(checks, '0', 'PX', 60_000);
    paused = true;
    await expect.poll(() => admin.exists(key(':lock')), { timeout: 5_000, interval: 20 }).toBe(0);
    // Silent a little past the lock's life on the instance's clock too, then its renewals resume.
    await sleep(200);
    paused = false;
    await expect.poll(() => admin.get(key(':lock')), { timeout: 3_000, interval: 20 }).toBe(token);
    await admin.del(checks);
    // Three checks' spacing (500 ms): one marks the job, the next would move it were its lock gone.
    await sleep(1_500);
    expect(await admin.hget(key(''), 'stc')).toBeNull();
    expect(await admin.get(key(':lock'))).toBe(token);
    await answered();
  } finally {
    admin.disconnect();
  }
}, 30_000);

it('leaves a lock taken away from an instance that renewed it to the stalled check: the job is moved', async () => {
  const admin = new Redis(redis.url);
  try {
    const { key, answered, checks } = await running('takenaway');
    // Renewed all along for longer than the lock's life, then its lock taken away.
    await sleep(2_000);
    await admin.set(checks, '0', 'PX', 60_000);
    await admin.del(key(':lock'));
    // Its next renewals fail (one every quarter to half of the lock's life): none takes the lock again.
    await sleep(1_200);
    expect(await admin.exists(key(':lock'))).toBe(0);
    await admin.del(checks);
    await expect.poll(() => admin.hget(key(''), 'stc'), { timeout: 5_000 }).toBe('1');
    // Leased again by this same instance: joined, no second call.
    await answered();
  } finally {
    admin.disconnect();
  }
}, 30_000);
