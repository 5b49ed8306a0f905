/**
 * A real `redis-server` for one test file and the runtimes it opens: Redis starts before the file's
 * cases; after them every runtime is shut down (`drainMs` to drain, 50 unless given), then Redis stops.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Runtime } from '../../src/runtime/types.js';
import { type RedisServer, startRedis } from './redis.js';

export interface RedisFile {
  /** The server's URL, once the file's `beforeAll` has run. */
  readonly url: string;
  /** Runtimes to shut down after the file. */
  readonly runtimes: Runtime[];
}

/** Call at the top of a test file. */
export function useRedisServer(drainMs = 50): RedisFile {
  let redis: RedisServer | undefined;
  const runtimes: Runtime[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.allSettled(runtimes.map((r) => r.shutdown({ deadlineMs: drainMs })));
    await redis?.stop();
  });
  return {
    get url() {
      return (redis as RedisServer).url;
    },
    runtimes,
  };
}
