/**
 * The cluster's ports on Redis: what `redisBackend` hands the cluster composition
 * (`cluster-runtime.ts`). BullMQ queues for the queue and its shared limits, a Redis hash and
 * result keys for the store, pub/sub for the bus, compare-and-set states for the shared state.
 */
import type { Redis } from 'ioredis';
import type { ClusterContext, ClusterPorts } from '../runtime/ports.js';
import { BullSessionQueue } from './bull-queue.js';
import { RedisEventBus } from './redis-bus.js';
import { RedisSharedState } from './redis-state.js';
import { RedisKeys, RedisSessionStore } from './redis-store.js';

export interface RedisSettings {
  readonly url: string;
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly prefix: string;
  readonly instanceId: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly sweepIntervalMs: number;
  readonly work: boolean;
  readonly close: () => Promise<void>;
  /** Drops `redis` and `subscriber` at once. */
  readonly disconnect: () => void;
  readonly closeTimeoutMs?: number;
}

/** The ports on Redis: their `disconnect` drops every connection, BullMQ's too. */
export type RedisPorts = ClusterPorts & { readonly disconnect: () => void };

export function redisPorts(context: ClusterContext, settings: RedisSettings): RedisPorts {
  const { redis } = settings;
  const { clock, onError } = context;
  const keys = new RedisKeys(settings.prefix);
  const queue = new BullSessionQueue(
    context.providers,
    context.limits,
    settings,
    redis,
    keys,
    onError,
    clock,
  );
  return {
    instanceId: settings.instanceId,
    queue,
    limits: queue,
    state: new RedisSharedState(redis, settings.prefix),
    store: new RedisSessionStore(redis, keys, settings.instanceId, context.limits.historySize, clock),
    bus: new RedisEventBus(redis, settings.subscriber, keys, settings.instanceId, onError),
    connection: {
      name: 'Redis',
      status: () => redis.status,
      onReady: (listener) => redis.on('ready', listener),
    },
    sweepIntervalMs: settings.sweepIntervalMs,
    work: settings.work,
    close: settings.close,
    disconnect: () => {
      queue.disconnect();
      settings.disconnect();
    },
    ...(settings.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: settings.closeTimeoutMs }),
  };
}
