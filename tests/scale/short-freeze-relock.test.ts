/**
 * A Redis frozen (SIGSTOP; a network cut that drops packets looks the same) for less than
 * `lockDurationMs` (1.5 s) but long after its lock's last renewal: the lock lapses, though no
 * connection closed (no reconnect retakes it) and the stalled checks' guard saw no gap of a whole
 * lock's life (no hold of 4 s). Until 2026-12-05 nothing took that lock again (BullMQ's renewal only
 * extends a lock that is still there, and reports `lockRenewalFailed`): the next stalled check moved
 * the job back to wait and the other instance called its provider a second time (5 of 5 runs, each
 * at the first freeze; 5 of 5 too with the lock retaken on `lockRenewalFailed`, which comes after
 * a check queued in the freeze has moved the job). Now a gap of more than half a lock's life (a
 * renewal comes every quarter to half of it) holds the checks for one lock's life, and the
 * instance running the job takes its lock again within it (`stalled-check.ts`, `relock.ts`). The
 * freeze is timed from the lock's TTL and the guard's record of its last call, read just before
 * it. Needs the build (the other instance is a process).
 */
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { contentOf, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;

// Before the rig stops (after-hooks run last registered first): a frozen Redis would not stop.
afterAll(() => rig.redis?.resume());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The freeze, in ms: under the lock's 1.5 s, over half of it. */
const FREEZE_MS = 1_300;
/** How many such freezes the session is put through. */
const FREEZES = 4;

/**
 * Waits until a freeze of `FREEZE_MS` from now would outlast the lock (its TTL under the freeze, by
 * 80 ms at least) and end less than a lock's life after the guard's last call (by 80 ms at least),
 * then freezes Redis that long. Returns what was read just before.
 */
async function freezeOnce(
  admin: Redis,
  lock: string,
  last: string,
): Promise<{ ttl: number; sinceLast: number }> {
  for (;;) {
    const answers = (await admin.multi().pttl(lock).get(last).time().exec()) ?? [];
    const [ttl, lastCall, time] = answers.map(([, value]) => value) as [
      number,
      string | null,
      [string, string],
    ];
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const sinceLast = now - Number(lastCall?.split(' ')[0] ?? now);
    if (ttl > 0 && ttl <= FREEZE_MS - 80 && sinceLast + FREEZE_MS <= 1_500 - 80) {
      rig.redis.freeze();
      await sleep(FREEZE_MS);
      rig.redis.resume();
      return { ttl, sinceLast };
    }
    await sleep(2);
  }
}

it('keeps a running session’s lease across freezes of Redis under a lock’s life that lapse its lock: no other instance calls its provider again', async () => {
  const prefix = 'shortfreeze';
  // At its bound (maxConcurrent 1) while it runs the session: a job moved back to wait is the other
  // instance's to lease, as after a lapse.
  const a: Runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    limits: { maxConcurrent: 1, perProvider: { p: 4 } },
    defaults: { model: 'fault:hang', maxAttempts: 1 },
    backend: await redisBackend({ url: rig.redis.url, prefix }),
  });
  const admin = new Redis(rig.redis.url);
  try {
    await (a as Runtime & { ready: Promise<void> }).ready;
    const handle = a.submit({ messages: [{ role: 'user', content: 'kept' }] }, { timeoutMs: 60_000 });
    await rig.server.waitForRequest((r) => contentOf(r.body) === 'kept');
    // The other instance comes after the lease, with room to take the job over.
    await startInstance(
      {
        redisUrl: rig.redis.url,
        providerBaseURL: rig.server.baseURL,
        prefix,
        limit: 4,
        index: 1,
        work: true,
      },
      children,
    );
    await sleep(600); // its stalled checks have seen the job active
    const lock = `${prefix}:p:${handle.id}:lock`;
    const token = await admin.get(lock);
    expect(token).toEqual(expect.any(String));
    const calls = () => rig.server.requests.filter((r) => contentOf(r.body) === 'kept');

    for (let i = 0; i < FREEZES; i++) {
      const read = await freezeOnce(admin, lock, `${prefix}:p:stalled-last`);
      // The freeze outlasted the lock's TTL and left no gap of a lock's life in the guard's calls.
      expect(read.ttl).toBeLessThan(FREEZE_MS);
      expect(read.sinceLast + FREEZE_MS).toBeLessThan(1_500);
      await sleep(2_000); // past three checks: a job moved back to wait is leased and called by now
      expect({ freeze: i, calls: calls().length }).toEqual({ freeze: i, calls: 1 });
      expect(await admin.get(lock)).toBe(token);
    }
    // Still this instance's to end: the cancel reaches its run, the only one.
    a.cancel(handle.id);
    expect((await handle.result).metadata.state).toBe('cancelled');
    const [call] = calls();
    while (call?.closedAt === undefined) await sleep(20); // the stopped call's connection closes
    expect(call.completed).toBe(false);
  } finally {
    rig.redis.resume();
    admin.disconnect();
    await a.shutdown({ deadlineMs: 0 });
  }
}, 60_000);
