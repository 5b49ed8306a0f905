/**
 * A real redis-server and a local OpenAI-compatible server for one test file, and the runtimes it
 * opens (each shut down after the file, with no drain). Registers the file's beforeAll/afterAll.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Runtime } from '../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from './redis.js';

export interface RedisRig {
  readonly redis: RedisServer;
  readonly server: OpenAIServer;
  /** Runtimes to shut down after the file. */
  readonly open: Runtime[];
}

export function useRedisRig(): RedisRig {
  const rig = { open: [] as Runtime[] } as { redis: RedisServer; server: OpenAIServer; open: Runtime[] };
  beforeAll(async () => {
    rig.redis = await startRedis();
    rig.server = createOpenAIServer();
    await rig.server.start();
  });
  afterAll(async () => {
    await Promise.allSettled(rig.open.map((runtime) => runtime.shutdown({ deadlineMs: 0 })));
    await rig.server?.close();
    await rig.redis?.stop();
  });
  return rig;
}
