/**
 * A Redis that comes back with its data (AOF, RDB) after an outage longer than `lockDurationMs`
 * has lost the locks of the jobs that were running: their TTLs ran on the wall clock while no
 * instance could renew them. The instances running those sessions are alive, their calls under
 * way. Until 2026-12-05 nothing took those locks again (BullMQ's renewal only extends a lock that
 * is there), so the first stalled check on another instance moved each such job back to wait and
 * that instance called the provider a second time (an audit: 2 or 3 of 4 sessions called twice
 * after a 4 s outage of a redis-server with `appendonly yes`). Now the instance running a job takes
 * its lock again on each reconnect. Here the outage is made exact: the other instance is stopped
 * (SIGSTOP) so that its stalled check cannot race the reconnect, the lock is deleted as the
 * outage's clock would have expired it, and every connection is cut. Needs the build (the other
 * instance is a process).
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { contentOf, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('keeps a running session’s lease across a cut that lost its lock: no other instance calls its provider again', async () => {
  const prefix = 'relock';
  // At its bound (maxConcurrent 1) while it runs the session: it does not lease the job back if its
  // own stalled check moves it (since 2026-12-05 a paused instance checks too, after its relock on
  // the same connection), so the other instance's check is the one that could take it.
  const a: Runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    limits: { maxConcurrent: 1, perProvider: { p: 4 } },
    defaults: { model: 'fault:hang', maxAttempts: 1 },
    backend: await redisBackend({ url: rig.redis.url, prefix }),
  });
  try {
    await (a as Runtime & { ready: Promise<void> }).ready;
    const handle = a.submit({ messages: [{ role: 'user', content: 'kept' }] }, { timeoutMs: 20_000 });
    await rig.server.waitForRequest((r) => contentOf(r.body) === 'kept');
    // The other instance comes after the lease, with room to take the job over.
    const b = await startInstance(
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
    await sleep(600); // b's stalled check has seen the job active (BullMQ's `stalled` set)
    b.child.kill('SIGSTOP');

    // The outage: the lock gone as its TTL would be, every connection cut.
    const admin = new Redis(rig.redis.url);
    try {
      const locks = await admin.keys(`*:${handle.id}:lock`);
      expect(locks).toHaveLength(1);
      await admin.del(...locks);
      await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await sleep(1000); // a reconnects (its back-off starts at 100 ms) while b is stopped
      b.child.kill('SIGCONT');
      await sleep(2000); // b reconnects and runs its stalled checks

      const calls = rig.server.requests.filter((r) => contentOf(r.body) === 'kept');
      expect(calls).toHaveLength(1);
      // Still a's to end: the cancel reaches its run, the only one.
      a.cancel(handle.id);
      expect((await handle.result).metadata.state).toBe('cancelled');
      expect(calls[0]?.completed).toBe(false);
    } finally {
      admin.disconnect();
    }
  } finally {
    await a.shutdown({ deadlineMs: 0 });
  }
}, 30_000);
