/**
 * A session handed back to the queue at its instance's shutdown shows as `queued` through the other
 * instances' `status()` and `session(id)`, what it ran (its attempts, its start) kept, until an
 * instance leases it again. Until 2026-12-06 it showed as `running` (attempts 1) there, as the
 * instance that let it go had left it ("found by an audit" of the two backends, 2026-12-04). A
 * front submits it, a worker runs it and shuts down; on the memory cluster and on Redis.
 */
import { expect, it } from 'vitest';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { useRedisServer } from '../support/redis-file.js';

const redis = useRedisServer();
const runtimes = redis.runtimes;

/** Two instances' backends over one shared store: a front (`work: false`) and a worker. */
async function pairOn(name: string): Promise<[RuntimeBackend, RuntimeBackend]> {
  if (name === 'a memory cluster') {
    const hub = new MemoryClusterHub();
    return [memoryClusterBackend({ hub, work: false }), memoryClusterBackend({ hub })];
  }
  const url = redis.url;
  return Promise.all([
    redisBackend({ url, prefix: 'handed-back', work: false }),
    redisBackend({ url, prefix: 'handed-back' }),
  ]);
}

async function runtimeOn(backend: RuntimeBackend): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 5000, max: 5000 } })],
    defaults: { provider: 'sim', model: 'sim-fast' },
    backend,
  });
  runtimes.push(runtime);
  await runtime.ready;
  return runtime;
}

it.each([['a memory cluster'], ['Redis']])(
  'a session handed back at a shutdown shows as queued elsewhere, its attempt kept (%s)',
  async (name) => {
    const [frontBackend, workerBackend] = await pairOn(name);
    const front = await runtimeOn(frontBackend);
    const worker = await runtimeOn(workerBackend);
    const handle = front.submit({ messages: [{ role: 'user', content: 'long' }] });
    await expect.poll(() => front.session(handle.id)?.state, { timeout: 5000 }).toBe('running');
    const startedAt = front.session(handle.id)?.startedAt;
    await worker.shutdown({ deadlineMs: 100 });
    // Nothing leases it now (the front does not work): it waits in the queue.
    await expect.poll(() => front.session(handle.id)?.state, { timeout: 3000 }).toBe('queued');
    expect(front.session(handle.id)).toMatchObject({ attempts: 1, startedAt });
    expect(front.status()).toMatchObject({ queued: 1, running: 0 });
    handle.cancel();
    expect((await handle.result).ok).toBe(false);
  },
);
