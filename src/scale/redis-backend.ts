/**
 * `redisBackend({ url })`: the scale-out backend. It connects first, so a wrong URL or a Redis
 * that is down is a clear error at start, not a hang:
 *
 *   const runtime = createRuntime({ providers, backend: await redisBackend({ url }) });
 */
import { randomUUID } from 'node:crypto';
import type { RuntimeBackend } from '../runtime/backend.js';
import { createClusterRuntime } from './cluster-runtime.js';
import { connectRedis } from './connect.js';
import { watchEvictionPolicy } from './eviction.js';
import { type RedisPorts, redisPorts } from './redis-ports.js';

export interface RedisBackendOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Key prefix shared by every instance of one cluster. @default 'troupe' */
  readonly prefix?: string;
  /** A running job's lock; an instance silent this long loses its sessions, in ms. @default 1500 */
  readonly lockDurationMs?: number;
  /** How often each instance looks for jobs whose lock expired, in ms. @default 500 */
  readonly stalledIntervalMs?: number;
  /** How often each instance ends queued sessions past their deadline, in ms. @default 1000 */
  readonly sweepIntervalMs?: number;
  /** Whether this instance runs sessions; `false` makes it a front that only submits and reads. @default true */
  readonly work?: boolean;
  /** How long to wait for Redis at start, in ms. @default 3000 */
  readonly connectTimeoutMs?: number;
  /**
   * How long `shutdown()` may take to close after its drain deadline (hand back, stop leasing, close
   * the connections), in ms; past it the connections are dropped and `onError` hears why. @default 10000
   */
  readonly closeTimeoutMs?: number;
  /**
   * Hears what an operator should fix, once each: a `maxmemory-policy` other than `noeviction`
   * (troupe's own check at start, and BullMQ's line, which then does not go to stderr; `eviction.ts`).
   * @default none: BullMQ prints its line with `console.warn`
   */
  readonly onWarning?: (message: string, fields: Readonly<Record<string, unknown>>) => void;
}

export interface RedisBackend extends RuntimeBackend {
  readonly kind: 'redis';
  readonly instanceId: string;
}

export async function redisBackend(options: RedisBackendOptions): Promise<RedisBackend> {
  const redis = await connectRedis(options.url, {
    pipelined: true,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
  });
  const stopWatching =
    options.onWarning === undefined ? () => {} : await watchEvictionPolicy(redis, options.onWarning);
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on('error', () => {});
  const instanceId = randomUUID();
  const letGo = () => {
    stopWatching();
    subscriber.disconnect();
    redis.disconnect();
  };
  /** The ports of the runtime asked for on this backend, once made: they hold BullMQ's connections too. */
  let ports: RedisPorts | undefined;
  let built = false;
  return {
    kind: 'redis',
    instanceId,
    createRuntime: (runtimeOptions, local) => {
      const runtime = createClusterRuntime(runtimeOptions, local, (context) => {
        ports = redisPorts(context, {
          url: options.url,
          redis,
          subscriber,
          prefix: options.prefix ?? 'troupe',
          instanceId,
          lockDurationMs: options.lockDurationMs ?? 1500,
          stalledIntervalMs: options.stalledIntervalMs ?? 500,
          sweepIntervalMs: options.sweepIntervalMs ?? 1000,
          work: options.work ?? true,
          close: async () => {
            stopWatching();
            subscriber.disconnect();
            await redis.quit().catch(() => redis.disconnect());
          },
          disconnect: letGo,
          ...(options.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: options.closeTimeoutMs }),
        });
        return ports;
      });
      built = true;
      return runtime;
    },
    // Refused at creation (`createRuntime` calls it): the queues' and workers' connections too, if
    // made. Not once a runtime was built here: its shutdown closes them.
    release: () => {
      if (!built) (ports?.disconnect ?? letGo)();
    },
  };
}
