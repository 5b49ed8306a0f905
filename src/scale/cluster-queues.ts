/**
 * The shared queues of a cluster runtime: one BullMQ queue per provider, whose global concurrency
 * is the provider's limit, and one Worker per provider on this instance that hands admitted jobs
 * to `process`. The limits are set at start and again on every reconnect, since a Redis that
 * comes back empty (no persistence) has lost them.
 */
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobData } from './job-data.js';

export interface QueueSettings {
  readonly url: string;
  readonly prefix: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
}

export interface ClusterQueues {
  readonly queues: ReadonlyMap<string, Queue<JobData>>;
  readonly workers: readonly Worker<JobData>[];
  /** Sets every queue's global concurrency from the limits (removes it where there is none). */
  applyLimits(): Promise<void>;
}

export function createQueues(
  providers: readonly string[],
  limits: { readonly perProvider: Readonly<Record<string, number>>; readonly maxConcurrent: number },
  settings: QueueSettings,
  redis: Redis,
  process: (job: Job<JobData>, token: string) => Promise<void>,
): ClusterQueues {
  const connection = { url: settings.url };
  const queues = new Map<string, Queue<JobData>>();
  const workers: Worker<JobData>[] = [];
  for (const name of providers) {
    const queue = new Queue<JobData>(name, {
      connection: { ...connection, enableOfflineQueue: false },
      prefix: settings.prefix,
    });
    // Connection errors reach callers as BACKEND_UNAVAILABLE; unheard, BullMQ prints them.
    queue.on('error', () => {});
    queues.set(name, queue);
    const limit = limits.perProvider[name];
    const worker = new Worker<JobData>(name, (job, token) => process(job, token ?? ''), {
      connection: { ...connection, maxRetriesPerRequest: null },
      prefix: settings.prefix,
      autorun: false,
      concurrency: Math.min(limit ?? limits.maxConcurrent, limits.maxConcurrent),
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      // Deadlines bound how often a session can be taken over; BullMQ must not fail it first.
      maxStalledCount: 1000,
    });
    worker.on('error', () => {});
    workers.push(worker);
  }

  async function applyLimits(): Promise<void> {
    for (const [name, queue] of queues) {
      const limit = limits.perProvider[name];
      if (limit === undefined) await queue.removeGlobalConcurrency();
      else await queue.setGlobalConcurrency(limit);
    }
  }

  // Again on every reconnect, once the queues' own connections are back too.
  redis.on('ready', () => {
    void (async () => {
      for (let tries = 0; tries < 40; tries++) {
        try {
          return await applyLimits();
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    })();
  });

  return { queues, workers, applyLimits };
}
