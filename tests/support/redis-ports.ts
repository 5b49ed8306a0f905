/**
 * The Redis backend as `redisBackend` composes it, with its ports handed to the test first (`wrap`):
 * a hook on the queue fixes the order of events of a race on real Redis and BullMQ.
 */
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import type { ClusterPorts } from '../../src/runtime/ports.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
import { connectRedis } from '../../src/scale/connect.js';
import { redisPorts } from '../../src/scale/redis-ports.js';

export interface WrappedRedisOptions {
  readonly url: string;
  readonly prefix: string;
  readonly instanceId: string;
  /** `false`: a front, whose only Worker is the test's own. */
  readonly work: boolean;
  readonly sweepIntervalMs: number;
  /** The store's and bus's own connections' URL (a proxy, to cut them alone); BullMQ's use `url`. @default url */
  readonly storeUrl?: string;
}

export async function wrappedRedisBackend(
  options: WrappedRedisOptions,
  wrap: (ports: ClusterPorts) => ClusterPorts,
): Promise<RuntimeBackend> {
  const { url, prefix, instanceId, work, sweepIntervalMs } = options;
  const connection = await connectRedis(options.storeUrl ?? url);
  const subscriber = connection.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on('error', () => {});
  return {
    kind: 'redis',
    createRuntime: (runtimeOptions, local) =>
      createClusterRuntime(runtimeOptions, local, (context) =>
        wrap(
          redisPorts(context, {
            url,
            redis: connection,
            subscriber,
            prefix,
            instanceId,
            lockDurationMs: 1500,
            stalledIntervalMs: 500,
            sweepIntervalMs,
            work,
            close: async () => {
              subscriber.disconnect();
              await connection.quit();
            },
            disconnect: () => {
              subscriber.disconnect();
              connection.disconnect();
            },
          }),
        ),
      ),
  };
}

let wrappedSeq = 0;

/**
 * The two shared-state backends a race is checked on, each with its ports handed to `wrap` first:
 * the in-memory hub, and real Redis at `url()` (read when a test makes its backend, after
 * `beforeAll` started the server) under a fresh prefix `<tag><n>` a backend.
 */
export function wrappedBackends(
  tag: string,
  url: () => string,
  wrap: (ports: ClusterPorts) => ClusterPorts,
): [string, () => Promise<RuntimeBackend>][] {
  return [
    [
      'memory-cluster',
      async () => {
        const hub = new MemoryClusterHub();
        return {
          kind: 'memory-cluster',
          createRuntime: (options, local) =>
            createClusterRuntime(options, local, (context) => wrap(hub.ports(context))),
        };
      },
    ],
    [
      'redis',
      () => {
        const n = ++wrappedSeq;
        return wrappedRedisBackend(
          { url: url(), prefix: `${tag}${n}`, instanceId: `${tag}-${n}`, work: true, sweepIntervalMs: 1000 },
          wrap,
        );
      },
    ],
  ];
}
