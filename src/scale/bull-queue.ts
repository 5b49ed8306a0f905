/**
 * The `SessionQueue` and `SharedLimits` ports on BullMQ: one queue per provider whose global
 * concurrency is the provider's limit (so the limit holds across every instance), priorities
 * mapped to BullMQ's, and one Worker per provider on this instance that leases jobs. A queue
 * deadline sorted set lets any instance end queued sessions whose submitter died, and an arrival
 * index per queue gives the longest-waiting session its turn (`fair-turn.ts`). When the Workers
 * fetch (paused at the bound, which resumes first) is `worker-pauses.ts`; a leased job's run as a
 * `Lease`, and what it becomes when it comes back held, `bull-lease.ts`.
 */
import { Job, Queue, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import type { Held, Lease, QueuedSession, SessionQueue, SharedLimits } from '../runtime/ports.js';
import { type LeasedJobs, runLeased } from './bull-lease.js';
import { drop, reconnectDelay } from './connect.js';
import { DelayedJobs } from './delayed-jobs.js';
import { type FairQueue, FairTurn } from './fair-turn.js';
import { firstToFetch, headKeys } from './first-fetch.js';
import { bullPriority, encodeRequest } from './job-data.js';
import { LeaseWorker } from './lease-worker.js';
import type { RedisKeys } from './redis-store.js';
import { Relocks } from './relock.js';
import { StalledChecks } from './stalled-check.js';
import { sweepAtRunDeadline } from './stalled-deadlines.js';
import { wakeAfterEnd, wakeFetchers, wakeKeys } from './wake-fetchers.js';
import { WorkerPauses } from './worker-pauses.js';

/** The name of a queued session's job (a hop's: `bull-lease.ts`). */
const QUEUED = 'session';
// Deadlines bound how often a session can be taken over; BullMQ must not fail it first.
const MAX_STALLED = 1000;

export interface QueueSettings {
  readonly url: string;
  readonly prefix: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
}

export interface QueueLimits {
  readonly perProvider: Readonly<Record<string, number>>;
  readonly maxConcurrent: number;
  readonly fairnessEvery: number;
}

export class BullSessionQueue implements SessionQueue, SharedLimits {
  private readonly queues = new Map<string, Queue<QueuedSession>>();
  private readonly workers: Worker<QueuedSession>[] = [];
  private run: ((lease: Lease) => Promise<Held | undefined>) | null = null;
  /** When the Workers fetch: paused at the bound, the first to resume chosen (`worker-pauses.ts`). */
  private readonly pauses: WorkerPauses;
  private readonly fair: FairTurn;
  /** What the turn needs of each provider's queue, made once with the queue. */
  private readonly fairQueues = new Map<string, FairQueue>();
  /** Orders the sessions added here within one millisecond (`arrival`). */
  private added = 0;
  /** What `firstToFetch` reads of each Worker's queue (`headKeys`), in the Workers' order. */
  private readonly heads: string[] = [];
  /** What `wakeFetchers` reads of each provider's queue (`wakeKeys`), made once with the queue. */
  private readonly wakeKeysOf = new Map<string, readonly string[]>();
  /** The jobs put back as delayed here, and what wakes them before their delay ends (`delayed-jobs.ts`). */
  private readonly delayed: DelayedJobs;
  /** The locks of the jobs running here, taken again in a hold of the checks or after a reconnect (`relock.ts`). */
  private readonly relocks: Relocks;
  /** BullMQ's stalled check, run here and held after Redis was away (`stalled-check.ts`). */
  private readonly stalled: StalledChecks;
  /** What a leased job reaches of this adapter (`bull-lease.ts`). */
  private readonly jobs: LeasedJobs;

  constructor(
    providers: readonly string[],
    private readonly limits: QueueLimits,
    settings: QueueSettings,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly onError: (error: unknown) => void,
    /** The injected clock: BullMQ's delays are epoch times; the first fetch's grace is a timer. */
    clock: Clock,
  ) {
    this.delayed = new DelayedJobs(clock, (provider, id) => this.promote(provider, id));
    this.fair = new FairTurn(redis, keys.prefix, limits.fairnessEvery, onError);
    this.relocks = new Relocks(redis, settings.lockDurationMs, clock, onError);
    const checks = { ...settings, maxStalledCount: MAX_STALLED };
    this.stalled = new StalledChecks(
      redis,
      clock,
      checks,
      onError,
      (queue) => this.relocks.retake(queue),
      (queue, ids) => sweepAtRunDeadline(redis, keys, queue.name, ids),
    );
    // BullMQ's own reconnect backs off to 20 s: after a long outage it refused calls for that long.
    const connection = { url: settings.url, retryStrategy: reconnectDelay };
    for (const name of providers) {
      const queue = new Queue<QueuedSession>(name, {
        connection: { ...connection, enableOfflineQueue: false },
        prefix: settings.prefix,
      });
      // Connection errors reach callers as rejected commands: BullMQ would print a duplicate.
      queue.on('error', ignoreEvent);
      this.queues.set(name, queue);
      this.fairQueues.set(name, this.fairQueue(name, queue));
      const limit = limits.perProvider[name];
      const process = (job: Job<QueuedSession>, token = '') =>
        this.relocks.during(queue, job, token, (lost) => this.process(job, token, lost));
      const options = {
        connection: { ...connection, maxRetriesPerRequest: null },
        prefix: settings.prefix,
        autorun: false,
        concurrency: Math.min(limit ?? limits.maxConcurrent, limits.maxConcurrent),
        lockDuration: settings.lockDurationMs,
        skipStalledCheck: true,
        maxStalledCount: MAX_STALLED,
      };
      // Its locks renewed while any lease of their job runs here (`lease-worker.ts`).
      const worker = new LeaseWorker(name, process, options, (id) => this.relocks.holds(queue, id));
      worker.on('error', ignoreEvent);
      // A lease of this instance whose lock another instance now holds is lost (`relock.ts`).
      worker.on('lockRenewalFailed', (ids) => this.relocks.renewalFailed(queue, ids, `${worker.id}:`));
      worker.on('locksRenewed', ({ jobIds }) => this.relocks.renewed(queue, jobIds));
      this.workers.push(worker);
      this.heads.push(...headKeys((type) => queue.toKey(type), this.fair.index(name)));
      this.wakeKeysOf.set(
        name,
        wakeKeys((type) => queue.toKey(type)),
      );
    }
    this.pauses = new WorkerPauses(this.workers, clock, onError, () => this.chooseFirst());
    this.jobs = {
      fair: this.fair,
      fairQueue: (provider) => this.fairQueues.get(provider) as FairQueue,
      delayed: this.delayed,
      clock,
      onError,
      wakeFetchers: (provider) => this.wakeFetchers(provider),
      queue: (provider) => this.queue(provider),
      deadline: (provider, id, at) => redis.zadd(keys.queueDeadlines, at, `${provider}|${id}`),
    };
  }

  wake(provider: string, sessionId: string): void {
    this.delayed.wake(provider, sessionId);
  }

  wakeCaller(caller: string): void {
    this.delayed.wakeCaller(caller);
  }

  /**
   * Moves a delayed job to wait now, by its id alone (one script: the job's name and data are not
   * read, so none are given); one no longer delayed (leased, withdrawn, due) is no error.
   */
  private promote(provider: string, id: string): void {
    const queue = this.queue(provider);
    new Job(queue, '', undefined, {}, id)
      .promote()
      .catch(async (error: unknown) => {
        if ((await queue.getJobState(id)) === 'delayed') throw error;
      })
      .catch(this.onError);
  }

  has(provider: string): boolean {
    return this.queues.has(provider);
  }

  async apply(): Promise<void> {
    for (const [name, queue] of this.queues) {
      const limit = this.limits.perProvider[name];
      if (limit === undefined) await queue.removeGlobalConcurrency();
      else await queue.setGlobalConcurrency(limit);
    }
  }

  async add(session: QueuedSession): Promise<void> {
    const { input } = session;
    const queue = this.queue(input.provider);
    // Its place in the arrival order: `createdAt`, and sessions added here in the same millisecond
    // in the order they came (a thousandth of a ms apart, which a double holds at today's times).
    const arrival = input.createdAt + (this.added++ % 1000) / 1000;
    await Promise.all([
      queue.add(QUEUED, { ...session, request: encodeRequest(session.request), arrival } as QueuedSession, {
        jobId: input.sessionId,
        priority: bullPriority(input.priority, session.depth),
        removeOnComplete: true,
        removeOnFail: true,
      }),
      this.redis.zadd(
        this.keys.queueDeadlines,
        input.queueDeadlineAt,
        `${input.provider}|${input.sessionId}`,
      ),
      this.fair.arrived(input.provider, input.sessionId, arrival),
    ]);
  }

  async withdraw(provider: string, sessionId: string): Promise<QueuedSession | undefined> {
    const queue = this.queues.get(provider);
    if (queue === undefined) return undefined;
    const job = await queue.getJob(sessionId);
    if (job === undefined || job === null) return undefined;
    // `remove` fails on a job a Worker holds: the withdrawal and a lease never both win.
    if ((await queue.remove(sessionId)) !== 1) return undefined;
    this.delayed.withdrawn(provider, sessionId);
    await this.fair.left(provider, sessionId);
    return job.data;
  }

  async waiting(provider: string, sessionId: string): Promise<boolean> {
    return (await this.redis.exists(this.queue(provider).toKey(sessionId))) === 1;
  }

  async overdue(now: number, limit: number) {
    const due = await this.redis.zrangebyscore(this.keys.queueDeadlines, '-inf', now, 'LIMIT', 0, limit);
    return due.map((member) => {
      const bar = member.lastIndexOf('|');
      return { provider: member.slice(0, bar), sessionId: member.slice(bar + 1) };
    });
  }

  async clearDeadline(provider: string, sessionId: string, until?: number): Promise<void> {
    const [key, member] = [this.keys.queueDeadlines, `${provider}|${sessionId}`];
    if (until !== undefined) await this.redis.zadd(key, 'XX', until, member);
    else await Promise.all([this.redis.zrem(key, member), this.fair.left(provider, sessionId)]); // its arrival too
  }

  lease(run: (lease: Lease) => Promise<Held | undefined>): void {
    this.run = run;
    this.pauses.start();
    for (const worker of this.workers) worker.run().catch(this.onError);
    this.stalled.start(this.workers.map((worker) => ({ worker, queue: this.queue(worker.name) })));
  }

  pauseLeasing(): void {
    this.pauses.pause();
  }

  resumeLeasing(): void {
    this.pauses.resume();
  }

  /** The index of the Worker to resume first (`first-fetch.ts`), or -1 for all at once. */
  protected chooseFirst(): Promise<number> {
    return firstToFetch(this.redis, this.heads);
  }

  async stopLeasing(): Promise<void> {
    this.pauses.stop();
    await Promise.allSettled(this.workers.map((w) => w.close()));
    this.stalled.stop(); // only now: a hold while its jobs drain must still have their locks retaken
  }

  async close(): Promise<void> {
    await this.stopLeasing();
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }

  /**
   * Drops the Workers' and queues' connections at once, without waiting for their end: a close that
   * never ended (BullMQ waits for an `end` that a connection retrying to connect never emits, and
   * for its jobs). A job still leased here keeps its lock until it lapses; another instance takes it.
   */
  disconnect(): void {
    this.stalled.stop();
    for (const owner of [...this.workers, ...this.queues.values()]) {
      const backend = owner.getBackend();
      for (const client of [backend.client, backend.blockingClient]) client?.then(drop, this.onError);
    }
  }

  /** A Worker blocked on `provider`'s queue fetches, if it has a job to give (`wake-fetchers.ts`). */
  private wakeFetchers(provider: string): Promise<void> {
    const keys = this.wakeKeysOf.get(provider);
    if (keys === undefined) throw noQueue(provider);
    return wakeFetchers(this.redis, keys).catch(this.onError);
  }

  private async process(job: Job<QueuedSession>, token: string, lost: AbortSignal): Promise<void> {
    // The Worker chosen to fetch first has leased: the others may fetch for any room left.
    this.pauses.leased();
    // Its end frees a place in the queue: a Worker paused here does not fetch, and BullMQ wakes none.
    wakeAfterEnd(job, () => this.wakeFetchers(job.queueName));
    await runLeased(job, token, this.run as (lease: Lease) => Promise<Held | undefined>, this.jobs, lost);
  }

  private fairQueue(provider: string, queue: Queue<QueuedSession>): FairQueue {
    return {
      toKey: (id) => queue.toKey(id),
      moveAhead: async (id) => {
        const job = await queue.getJob(id);
        // Leased or withdrawn meanwhile: nothing waits to move (a leased one keeps its lease).
        if (job === undefined || job === null) return;
        await job.changePriority({ priority: 0 }).catch(async (error: unknown) => {
          if (await this.waiting(provider, id)) throw error;
        });
      },
    };
  }

  private queue(provider: string): Queue<QueuedSession> {
    const queue = this.queues.get(provider);
    if (queue === undefined) throw noQueue(provider);
    return queue;
  }
}

const noQueue = (provider: string) => new Error(`Expected a queue for provider "${provider}", got none`);

/** BullMQ's 'error' events duplicate failures its callers already see as rejections. */
function ignoreEvent(): void {}
