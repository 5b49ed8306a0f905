/**
 * The runtime model (`src/testing/model.ts`) against the cluster runtime, on Redis and on in-memory
 * ports: fewer, shorter runs on the real clock, scripted providers, one fresh key prefix (or hub)
 * per run. What a backend run checks (and what it does not) is in the module comment of `model.ts`.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { runtimeProperty } from '../../src/testing/model.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const numRuns = Number(process.env.TROUPE_REDIS_PROPERTY_RUNS ?? 15);

let redis: RedisServer;
let prefixSeq = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('runtime model on the Redis backend (fast-check)', () => {
  it(`keeps the cluster's invariants over ${numRuns} random runs`, async () => {
    await fc.assert(
      runtimeProperty({
        backend: () => redisBackend({ url: redis.url, prefix: `prop${++prefixSeq}` }),
        maxDeadlineMs: 600,
        maxCommands: 25,
      }),
      // A run that hangs fails on its own, with its seed and commands, before the test's timeout;
      // shrinking a failure on the real clock stops at 90 s and reports the smallest found so far.
      { numRuns, timeout: 20_000, interruptAfterTimeLimit: 90_000 },
    );
  }, 120_000);
});

describe('runtime model on the cluster runtime over in-memory ports (fast-check)', () => {
  it(`keeps the cluster's invariants over ${numRuns} random runs`, async () => {
    await fc.assert(
      runtimeProperty({
        backend: async () => memoryClusterBackend({ hub: new MemoryClusterHub() }),
        maxDeadlineMs: 600,
        maxCommands: 25,
      }),
      // As on Redis: a run that hangs fails on its own, with its seed and commands; shrinking stops at 90 s.
      { numRuns, timeout: 20_000, interruptAfterTimeLimit: 90_000 },
    );
  }, 120_000);
});
