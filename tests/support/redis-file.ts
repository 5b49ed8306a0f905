/**
 * A real `redis-server` for one test file and the runtimes it opens: Redis starts before the file's
 * cases; after them every runtime is shut down (`drainMs` to drain, 50 unless given), then Redis stops.
 */
import { afterAll, beforeAll } from 'vitest';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import type { Runtime } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from './redis.js';

export interface RedisFile {
  /** The server's URL, once the file's `beforeAll` has run. */
  readonly url: string;
  /** Runtimes to shut down after the file. */
  readonly runtimes: Runtime[];
  /**
   * The backends of instances over one shared store, one for each of `work` (a front: `false`): on
   * `'a memory cluster'` one hub's; on any other name but `'one instance'` (none) this Redis, under a
   * fresh prefix `<tag><n>`.
   */
  backends(name: string, tag: string, ...work: boolean[]): Promise<RuntimeBackend[] | undefined>;
}

/** Call at the top of a test file. */
export function useRedisServer(drainMs = 50): RedisFile {
  let redis: RedisServer | undefined;
  const runtimes: Runtime[] = [];
  let prefixes = 0;
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
    async backends(name, tag, ...work) {
      if (name === 'one instance') return undefined;
      if (name === 'a memory cluster') {
        const hub = new MemoryClusterHub();
        return work.map((w) => memoryClusterBackend({ hub, work: w }));
      }
      const url = (redis as RedisServer).url;
      const prefix = `${tag}${++prefixes}`;
      return Promise.all(work.map((w) => redisBackend({ url, prefix, work: w })));
    },
  };
}
