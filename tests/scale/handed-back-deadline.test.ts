/**
 * A session that started and went back to its queue (handed back at its instance's shutdown) is
 * past its queue deadline while it waits for an instance: that deadline was for its start, which it
 * had. Until 2026-12-06 the sweep took every session waiting in its own provider's queue past that
 * deadline for one that never started and ended it `TIMED_OUT` ("Expected the session to start
 * within ..."), its attempt lost (found by helper 5's hop-move test with a 1.2 s queue timeout; the
 * same for a taken-over session whose lease waits a moment, `AWAY`). Now it waits on, to its run
 * deadline, and the next instance runs it as its next attempt; one nobody takes up ends at its run
 * deadline, also when that comes before its queue deadline (until 2026-12-07 it then waited to its
 * queue deadline: the hand-back left its entry in the swept set there). On the memory cluster and on Redis;
 * the front submits and sweeps, and runs nothing.
 */
import { expect, it } from 'vitest';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { useRedisServer } from '../support/redis-file.js';

const redis = useRedisServer();

async function runtimeOn(
  backend: RuntimeBackend | undefined,
  latencyMs: number,
  timeoutMs = 15_000,
): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: latencyMs, max: latencyMs } })],
    defaults: { provider: 'sim', model: 'sim-fast', queueTimeoutMs: 500, timeoutMs },
    ...(backend === undefined ? {} : { backend }),
  });
  redis.runtimes.push(runtime);
  await runtime.ready;
  return runtime;
}

it.each([['a memory cluster'], ['Redis']])(
  'a session handed back waits past its queue deadline and runs as its next attempt (%s)',
  async (name) => {
    const [frontBackend, workerBackend, laterBackend] =
      (await redis.backends(name, 'handed-back-deadline', false, true, true)) ?? [];
    const front = await runtimeOn(frontBackend, 5_000);
    const worker = await runtimeOn(workerBackend, 5_000);
    const handle = front.submit({ messages: [{ role: 'user', content: 'long' }] });
    await expect.poll(() => front.session(handle.id)?.state, { timeout: 5000 }).toBe('running');
    await worker.shutdown({ deadlineMs: 100 });
    await expect.poll(() => front.session(handle.id)?.state, { timeout: 3000 }).toBe('queued');
    // Its queue deadline (0.5 s from its submit) is behind it, and two sweeps (1 s apart) pass.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(front.session(handle.id)).toMatchObject({ state: 'queued', attempts: 1 });
    await runtimeOn(laterBackend, 50);
    const result = await handle.result;
    expect(result.ok ? result.metadata : result.error.message).toMatchObject({ state: 'done', attempts: 2 });
  },
  20_000,
);

it.each([['a memory cluster'], ['Redis']])(
  'a session handed back that no instance takes up ends at its run deadline, its attempt kept (%s)',
  async (name) => {
    const [frontBackend, workerBackend] = (await redis.backends(name, 'handed-back-run', false, true)) ?? [];
    const front = await runtimeOn(frontBackend, 5_000, 3_000);
    const worker = await runtimeOn(workerBackend, 5_000, 3_000);
    const submitted = Date.now();
    const handle = front.submit({ messages: [{ role: 'user', content: 'long' }] });
    await expect.poll(() => front.session(handle.id)?.state, { timeout: 5000 }).toBe('running');
    await worker.shutdown({ deadlineMs: 100 });
    const result = await handle.result;
    const tookMs = Date.now() - submitted;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // Ended by a sweep (1 s apart) after its run deadline (3 s): not at its queue deadline (0.5 s),
    // nor at its submitter's backstop (13.5 s).
    expect(result.metadata).toMatchObject({ state: 'timedOut', attempts: 1 });
    expect(tookMs).toBeGreaterThanOrEqual(3_000);
    expect(tookMs).toBeLessThan(6_000);
    expect(result.error.message).not.toMatch(/to start within/);
  },
  20_000,
);

it.each([['a memory cluster'], ['Redis']])(
  'a session handed back ends at its run deadline when that comes before its queue deadline (%s)',
  async (name) => {
    const [frontBackend, workerBackend] =
      (await redis.backends(name, 'handed-back-early', false, true)) ?? [];
    const front = await runtimeOn(frontBackend, 5_000, 3_000);
    const worker = await runtimeOn(workerBackend, 5_000, 3_000);
    const submitted = Date.now();
    const handle = front.submit(
      { messages: [{ role: 'user', content: 'long' }] },
      { queueTimeoutMs: 30_000 },
    );
    await expect.poll(() => front.session(handle.id)?.state, { timeout: 5000 }).toBe('running');
    await worker.shutdown({ deadlineMs: 100 });
    // Until 2026-12-07 its entry in the swept set stayed at its queue deadline (30 s from its submit).
    const result = await Promise.race([
      handle.result,
      new Promise<undefined>((resolve) => setTimeout(resolve, 10_000)),
    ]);
    const tookMs = Date.now() - submitted;
    expect(result?.metadata).toMatchObject({ state: 'timedOut', attempts: 1 });
    expect(tookMs).toBeGreaterThanOrEqual(3_000);
    expect(tookMs).toBeLessThan(6_000);
  },
  40_000,
);
