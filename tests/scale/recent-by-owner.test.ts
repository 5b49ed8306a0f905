/**
 * A caller's newest ended sessions on a Redis cluster, read through an instance that ran none of
 * them: `status({ recent, owner })` walks that caller's own entries in the instance's history of
 * sessions ended anywhere, so they are found however many sessions another caller ended since
 * (here 60 of Alice's after Bob's one, listing 5). Reading every caller's newest and filtering,
 * as the `sessions` tool did before, found none of Bob's. Over a real `redis-server`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
const runtimes: Runtime[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const runtime of runtimes) await runtime.shutdown({ deadlineMs: 100 });
  await redis?.stop();
});

async function instance(prefix: string, work: boolean): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
    defaults: { provider: 'sim', model: 'sim-fast' },
    limits: { historySize: 200 },
    backend: await redisBackend({ url: redis.url, prefix, work }),
  });
  await runtime.ready;
  runtimes.push(runtime);
  return runtime;
}

const ask = (runtime: Runtime, owner: string, content: string) =>
  runtime.submit({ messages: [{ role: 'user', content }] }, { metadata: { owner } });

it('lists a caller’s own newest ended sessions through another instance, past another caller’s burst', async () => {
  const worker = await instance('rbo', true);
  const front = await instance('rbo', false);
  const bobs = [ask(front, 'token:bob', 'first'), ask(front, 'token:bob', 'second')];
  for (const handle of bobs) await handle.result;
  const alices = Array.from({ length: 60 }, (_, i) => ask(worker, 'token:alice', `burst ${i}`));
  await Promise.all(alices.map((handle) => handle.result));
  const last = alices[59]?.id;
  await expect.poll(() => front.status({ recent: 1 }).recent[0]?.sessionId, { timeout: 5000 }).toBe(last);

  const ids = (runtime: Runtime, owner?: string) =>
    runtime.status({ recent: 5, owner }).recent.map((s) => s.sessionId);
  expect(ids(front, 'token:bob')).toEqual([bobs[1]?.id, bobs[0]?.id]);
  expect(ids(front, 'token:alice')).toEqual(
    alices
      .slice(-5)
      .reverse()
      .map((h) => h.id),
  );
  expect(ids(front)).toEqual(
    alices
      .slice(-5)
      .reverse()
      .map((h) => h.id),
  );
  expect(ids(front, 'token:carol')).toEqual([]);
  // The instance that ran Alice's burst hears Bob's ends on the bus as well.
  expect(ids(worker, 'token:bob')).toEqual([bobs[1]?.id, bobs[0]?.id]);
});
