/**
 * The `sessions` tool's pages after a `cursor` on a Redis cluster (`sessions-cursor-contract.ts`),
 * read through an instance that runs none of them (a front): its history of ends heard on the bus
 * is where a page reads on from the cursor's entry, what it lists and one more, with no Redis
 * command. Over a real `redis-server`.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { sessionsCursorContract } from '../unit/mcp/sessions-cursor-contract.js';

let redis: RedisServer;
let worker: Runtime;
let prefixes = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function instance(prefix: string, work: boolean): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
    defaults: { provider: 'sim', model: 'sim-fast' },
    limits: { historySize: 1000, maxConcurrent: 64 },
    backend: await redisBackend({ url: redis.url, prefix, work }),
  });
  await runtime.ready;
  return runtime;
}

describe('sessions: pages after a cursor, on Redis', () => {
  sessionsCursorContract(
    async () => {
      // A cluster of its own for each test: a worker runs the sessions, the front submits and lists.
      const prefix = `sc${++prefixes}`;
      worker = await instance(prefix, true);
      const front = await instance(prefix, false);
      const shutdown = front.shutdown.bind(front);
      return {
        ...front,
        shutdown: async (options) => {
          const report = await shutdown(options);
          await worker.shutdown({ deadlineMs: 0 });
          return report;
        },
      };
    },
    // The front hears an end on the bus: it lists it once it has.
    async (front, newest) => {
      await expect.poll(() => front.session(newest)?.endedAt, { timeout: 5000 }).toBeDefined();
    },
  );
});
