/**
 * A Redis frozen (SIGSTOP; a network cut that drops packets looks the same) for longer than
 * `lockDurationMs`: no connection closes, so no instance reconnects, but Redis counts its keys' TTLs
 * on the wall clock and the locks of the jobs running across the freeze are gone when it goes on.
 * The stalled checks' guard holds every check for `2 × lockDurationMs + 1 s` after such a gap;
 * until 2026-12-05 only a reconnect took locks again, so once the hold ended another instance's
 * check moved the still-running job back to wait and that instance called its provider a second
 * time. Now the hold itself tells each instance calling the guard, which takes its jobs' locks
 * again (`stalled-check.ts`, `relock.ts`). Also while that instance drains at a shutdown: until
 * 2026-12-05 it stopped calling the check as the drain began, and so never saw the hold. Needs the
 * build (the other instance is a process).
 */
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

/**
 * A session on an in-process instance at its bound, a 3 s freeze of Redis under its 11 s call, the
 * other instance (a process) with room; `draining`: the freeze comes after the first instance's
 * shutdown began (it takes no new lease, its session goes on). Returns the instances that called the
 * provider for the session and its result.
 */
async function freezeUnder(prefix: string, draining: boolean) {
  // At its bound (maxConcurrent 1) while it runs the session: a job moved back to wait would be
  // the other instance's to lease, as after a lapse. The call outlasts the freeze and the hold after
  // it (about 4 s past the freeze), so a second run would start while the first still waits.
  const a: Runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    limits: { maxConcurrent: 1, perProvider: { p: 4 } },
    defaults: { model: 'fault:ok:latency=11000', maxAttempts: 1 },
    backend: await redisBackend({ url: rig.redis.url, prefix }),
  });
  let shutdown: Promise<unknown> | undefined;
  try {
    await (a as Runtime & { ready: Promise<void> }).ready;
    const handle = a.submit({ messages: [{ role: 'user', content: prefix }] }, { timeoutMs: 30_000 });
    await rig.server.waitForRequest((r) => contentOf(r.body) === prefix);
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
    if (draining) shutdown = a.shutdown({ deadlineMs: 20_000 });

    // Longer than the lock's 1.5 s: the lock is gone when Redis goes on, no connection closed.
    rig.redis.freeze();
    await sleep(3_000);
    rig.redis.resume();

    const result = await handle.result;
    await sleep(1_000); // a second run, had there been one, has called by now
    const callers = rig.server.requests
      .filter((r) => contentOf(r.body) === prefix)
      .map((r) => r.headers['x-instance'] ?? 'a');
    return { callers, result };
  } finally {
    rig.redis.resume();
    await (shutdown ?? a.shutdown({ deadlineMs: 0 }));
  }
}

it('a Redis frozen for 3 s under a running session: no other instance calls its provider again, and the session ends once, with its answer', async () => {
  const { callers, result } = await freezeUnder('frozen', false);
  expect(callers).toEqual(['a']);
  expect(result.ok).toBe(true);
  expect(result.ok ? result.content : '').toContain('frozen');
  expect(result.metadata.attempts).toBe(1);
}, 40_000);

it('the same while its instance drains at a shutdown: it still takes its session’s lock again in the hold', async () => {
  const { callers, result } = await freezeUnder('draining', true);
  expect(callers).toEqual(['a']);
  expect(result.ok).toBe(true);
  expect(result.ok ? result.content : '').toContain('draining');
}, 40_000);
