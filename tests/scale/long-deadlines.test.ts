/**
 * The longest deadlines `createRuntime` takes (from 1 to 2147483647 ms each) hold on every backend.
 * A cluster's submitter keeps a backstop at the queue and run deadlines plus a grace; past Node's
 * timer range (2^31 - 1 ms) a timer fires at once, so a session whose two deadlines summed past it
 * ended as `TIMED_OUT` within milliseconds, with a message naming a run it never had ("found by an
 * audit"). Now such a time is waited for in steps (`atTime`). One instance, a memory cluster and
 * Redis (a real `redis-server`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../../src/core/clock.js';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeOptions } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
const runtimes: Runtime[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.allSettled(runtimes.map((r) => r.shutdown({ deadlineMs: 100 })));
  await redis?.stop();
});

const backends: [string, () => Promise<Partial<RuntimeOptions>>][] = [
  ['one instance', async () => ({})],
  ['a memory cluster', async () => ({ backend: memoryClusterBackend({ hub: new MemoryClusterHub() }) })],
  [
    'Redis',
    async () => ({ backend: await redisBackend({ url: redis.url, prefix: `long${runtimes.length}` }) }),
  ],
];

it.each(backends)('a session with both deadlines at their longest answers (%s)', async (_, backend) => {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 300, max: 300 } })],
    defaults: { provider: 'sim', model: 'sim-fast' },
    ...(await backend()),
  });
  runtimes.push(runtime);
  await runtime.ready;
  const options = { queueTimeoutMs: MAX_TIMER_MS, timeoutMs: MAX_TIMER_MS };
  const result = await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }, options).result;
  expect(result.ok ? 'done' : `${result.error.code}: ${result.error.message}`).toBe('done');
});
