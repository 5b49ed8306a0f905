/**
 * One case on every backend a user can run: one instance, an instance of a memory cluster, and an
 * instance on Redis (a real `redis-server`, started once for the file). Registers the file's
 * `beforeAll`/`afterAll`: Redis starts before the cases and stops after them, with every runtime
 * made through `runtimeOn` shut down first. For `it.each(EVERY_BACKEND)`.
 */
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeOptions } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { useRedisServer } from './redis-file.js';

export type BackendName = 'one instance' | 'a memory cluster' | 'Redis';
export const EVERY_BACKEND: readonly [BackendName][] = [['one instance'], ['a memory cluster'], ['Redis']];

/** Call at the top of a test file: starts Redis for it and gives `runtimeOn`. */
export function everyBackend(prefix: string) {
  const redis = useRedisServer(100);
  const runtimes = redis.runtimes;
  const backendOf = async (name: BackendName): Promise<Partial<RuntimeOptions>> => {
    if (name === 'one instance') return {};
    if (name === 'a memory cluster')
      return { backend: memoryClusterBackend({ hub: new MemoryClusterHub() }) };
    const url = redis.url;
    return { backend: await redisBackend({ url, prefix: `${prefix}${runtimes.length}` }) };
  };
  /** A runtime on `name` with `options`, ready, shut down after the file. */
  return async function runtimeOn(name: BackendName, options: RuntimeOptions): Promise<Runtime> {
    const runtime = createRuntime({ ...options, ...(await backendOf(name)) });
    runtimes.push(runtime);
    await runtime.ready;
    return runtime;
  };
}
