/**
 * The queue behind the `SessionQueue` and `SharedLimits` ports in one process (each instance's view:
 * `instance-queue.ts`). Sessions wait in the one admission
 * policy, `src/core/scheduler.ts` (priorities, callers' turns within one by each session's `depth`,
 * the fairness turn, each provider's limit across every instance); instances lease them through
 * `lease()`, each with the per-provider concurrency a BullMQ Worker would have. It plays BullMQ's
 * part for the cluster composition:
 * - a lease ends when its run settles; `handBack()` puts the session back to wait at once;
 * - `Held` with `modelOnly` delays only that session for `retryInMs`, or until the end of the probe
 *   it waits behind (`wake`, as BullMQ's `Job.promote`); otherwise the session waits again and its provider's
 *   lane pauses for `retryInMs`, for every instance (BullMQ's `rateLimit`), and goes back behind the
 *   sessions of its priority that arrived meanwhile (BullMQ: at the head; the lanes are FIFOs);
 * - `Held` with `caller` delays it behind its caller's share at the instance that leased it: one of
 *   that caller's sessions ending there lets the first it delayed wait again (`wakeCaller`);
 * - `moveTo(provider)` (a fallback hop) puts the session in that provider's lane at once, beside
 *   the job still leased (as BullMQ adds a job to another queue), at the highest priority (BullMQ:
 *   ahead of every prioritized job), its run deadline as its queue deadline;
 * - queue deadlines stay until `clearDeadline` or the session's `settle`, so the composition's
 *   sweep ends a session that was leased only to be put back, once it waits again.
 * Every timer is the hub's clock's.
 */
import { CallerHolds } from '../../core/caller-holds.js';
import type { Clock } from '../../core/clock.js';
import { Recent } from '../../core/recent.js';
import { MAX_PRIORITY, type Schedulable, Scheduler } from '../../core/scheduler.js';
import type { Held, Lease, QueuedSession } from '../ports.js';

interface Job extends Schedulable {
  provider: string;
  priority: number;
  readonly session: QueuedSession;
  state: 'waiting' | 'delayed' | 'leased';
  /** The delay timer while `delayed`; and the probe it waits behind, as `provider|session`, if one. */
  timer: unknown;
  behind?: string;
  /** Delayed for its caller's share at an instance (`Held.caller`): that instance's holds, and the caller. */
  heldFor?: { readonly holds: CallerHolds; readonly caller: string };
}

/** An instance that leases sessions. */
interface Worker {
  readonly run: (lease: Lease) => Promise<Held | undefined>;
  readonly capacity: (provider: string) => number;
  readonly inFlight: Map<string, number>;
  readonly onError: (error: unknown) => void;
  active: number;
  idle: (() => void)[];
  /** Takes no lease while set (`pauseLeasing`). */
  paused: boolean;
  /** Resumed while runs were here: leases again once the next of them has ended. */
  resumeAtFinish: boolean;
  /** The sessions it put back for their caller's share here (`Held.caller`), woken one by one (`wakeCaller`). */
  readonly callers: CallerHolds;
}

/** The queue every instance of one in-memory cluster shares; `MemorySessionQueue` is one instance's view. */
export class MemoryQueueCore {
  private readonly perProvider: Record<string, number> = {};
  private fairnessEvery = 4;
  private readonly scheduler: Scheduler<Job>;
  private readonly jobs = new Map<string, Job>();
  /** Queue deadlines, by `provider|sessionId`. */
  readonly deadlines = new Map<string, number>();
  private readonly pausedUntil = new Map<string, number>();
  /** The sessions delayed behind each probe (`provider|session`), until their delay ends (`promote`). */
  private readonly behind = new Map<string, Set<Job>>();
  /** Probes whose end came while a session held behind one was still being put back (once each). */
  private readonly ended = new Recent(256);
  private readonly workers: Worker[] = [];
  private turn = 0;
  private pumpQueued = false;

  constructor(private readonly clock: Clock) {
    const core = this;
    this.scheduler = new Scheduler<Job>({
      maxConcurrent: Number.POSITIVE_INFINITY,
      maxQueued: Number.POSITIVE_INFINITY,
      get perProvider() {
        return core.perProvider;
      },
      get fairnessEvery() {
        return core.fairnessEvery;
      },
    });
  }

  /** Sets each provider's limit across the cluster (before its first session: a lane keeps the limit it was made with). */
  configure(perProvider: Readonly<Record<string, number>>, fairnessEvery: number): void {
    Object.assign(this.perProvider, perProvider);
    this.fairnessEvery = fairnessEvery;
  }

  /** How many sessions wait (leased ones not counted). */
  get waitingCount(): number {
    return this.scheduler.queued;
  }

  add(session: QueuedSession): void {
    const { provider, priority, queueDeadlineAt } = session.input;
    this.put(session, provider, priority, queueDeadlineAt);
  }

  /**
   * A job in `provider`'s queue. Like a BullMQ job id, one per session in each provider's queue:
   * adding a session already there changes nothing.
   */
  private put(session: QueuedSession, provider: string, priority: number, deadlineAt: number): void {
    const key = `${provider}|${session.input.sessionId}`;
    if (this.jobs.has(key)) return;
    const { depth } = session;
    const job: Job = { provider, priority, seq: 0, depth, session, state: 'waiting', timer: undefined };
    this.jobs.set(key, job);
    this.deadlines.set(key, deadlineAt);
    this.scheduler.enqueue(job);
    this.schedulePump();
  }

  withdraw(provider: string, sessionId: string): QueuedSession | undefined {
    const key = `${provider}|${sessionId}`;
    const job = this.jobs.get(key);
    if (job === undefined || job.state === 'leased') return undefined;
    if (job.state === 'waiting') this.scheduler.remove(job);
    else this.undelay(job);
    this.jobs.delete(key);
    return job.session;
  }

  /** The sessions delayed behind `provider`'s probe `probe` wait again now, as BullMQ's `Job.promote` of each (`SessionQueue.wake`). */
  promote(provider: string, probe: string): void {
    this.ended.add(`${provider}|${probe}`);
    for (const job of this.behind.get(`${provider}|${probe}`) ?? []) {
      this.undelay(job);
      this.wait(job);
    }
  }

  /** A delayed session's delay ends (it ran out, or was promoted or withdrawn): it is no longer behind its probe. */
  private undelay(job: Job): void {
    this.clock.clearTimeout(job.timer);
    job.timer = undefined;
    job.heldFor?.holds.release(job.heldFor.caller, `${job.provider}|${job.session.input.sessionId}`);
    job.heldFor = undefined;
    const key = job.behind;
    // Stryker disable next-line ConditionalExpression: without a probe there is no set to leave, and `job.behind` stays unset.
    if (key === undefined) return;
    const jobs = this.behind.get(key) as Set<Job>;
    jobs.delete(job);
    // A probe with nobody behind it is forgotten.
    if (jobs.size === 0) this.behind.delete(key);
    job.behind = undefined;
  }

  /** One of `caller`'s places at `worker`'s instance freed: the first of its sessions that instance delayed waits again. */
  private wakeCaller(worker: Worker, caller: string): void {
    const key = worker.callers.wake(caller, this.clock.now());
    // Stryker disable next-line ConditionalExpression: no job is kept under an `undefined` key either.
    const job = key === undefined ? undefined : this.jobs.get(key);
    if (job?.state !== 'delayed') return;
    this.undelay(job);
    this.wait(job);
  }

  /** Whether the session is in `provider`'s queue at all: waiting, delayed or leased (BullMQ's job key). */
  has(provider: string, sessionId: string): boolean {
    return this.jobs.has(`${provider}|${sessionId}`);
  }

  overdue(now: number, limit: number): { provider: string; sessionId: string }[] {
    const due: { provider: string; sessionId: string }[] = [];
    for (const [member, at] of this.deadlines) {
      if (due.length >= limit) break;
      if (at > now) continue;
      const bar = member.lastIndexOf('|');
      due.push({ provider: member.slice(0, bar), sessionId: member.slice(bar + 1) });
    }
    return due;
  }

  /**
   * Starts leasing to one instance; returns what stops it (resolving once its leases ended) and
   * what pauses and resumes its leasing.
   */
  lease(
    run: (lease: Lease) => Promise<Held | undefined>,
    capacity: (provider: string) => number,
    onError: (error: unknown) => void,
  ): {
    readonly stop: () => Promise<void>;
    readonly pause: (paused: boolean) => void;
    readonly wakeCaller: (caller: string) => void;
  } {
    const worker: Worker = {
      run,
      capacity,
      inFlight: new Map(),
      onError,
      active: 0,
      idle: [],
      paused: false,
      // Stryker disable next-line BooleanLiteral: read only after a pause call, which sets it; a finish before any pause finds the worker unpaused either way
      resumeAtFinish: false,
      callers: new CallerHolds(),
    };
    this.workers.push(worker);
    this.schedulePump();
    return {
      stop: () => {
        const index = this.workers.indexOf(worker);
        if (index >= 0) this.workers.splice(index, 1);
        if (worker.active === 0) return Promise.resolve();
        return new Promise<void>((resolve) => worker.idle.push(resolve));
      },
      // A resume with runs still here takes effect as the next of them ends: an instance resumes as
      // one of its runs ends (`LeaseRunner.take`), before the queue has seen that run end, and a
      // pump then found the run's provider still full on this instance and gave the slot to another
      // provider's lower priority. (A BullMQ Worker, too, fetches once its run has returned.)
      pause: (paused) => {
        worker.resumeAtFinish = !paused && worker.active > 0;
        worker.paused = paused || worker.resumeAtFinish;
        // Stryker disable next-line ConditionalExpression: a pump while paused finds nothing more to lease (every pump leases all it can)
        if (!worker.paused) this.schedulePump();
      },
      wakeCaller: (caller) => this.wakeCaller(worker, caller),
    };
  }

  private schedulePump(): void {
    // Stryker disable next-line ConditionalExpression: coalescing only; a second pump in the same turn finds nothing the first left.
    if (this.pumpQueued) return;
    // Stryker disable next-line BooleanLiteral: coalescing only; a second pump in the same turn finds nothing the first left.
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Leases every session the limits and the instances have room for. */
  private pump(): void {
    const now = this.clock.now();
    const open = (job: Job) =>
      (this.pausedUntil.get(job.provider) ?? 0) <= now && this.worker(job) !== undefined;
    for (let job = this.scheduler.next(open); job !== undefined; job = this.scheduler.next(open)) {
      this.dispatch(job, this.worker(job) as Worker);
    }
  }

  /** The next instance, in turn, with room for the job's provider. */
  private worker(job: Job): Worker | undefined {
    const n = this.workers.length;
    for (let i = 0; i < n; i++) {
      const worker = this.workers[(this.turn + i) % n] as Worker;
      if (!worker.paused && (worker.inFlight.get(job.provider) ?? 0) < worker.capacity(job.provider))
        return worker;
    }
    return undefined;
  }

  private dispatch(job: Job, worker: Worker): void {
    this.turn++;
    job.state = 'leased';
    worker.inFlight.set(job.provider, (worker.inFlight.get(job.provider) ?? 0) + 1);
    worker.active++;
    let handedBack = false;
    const lease: Lease = {
      session: job.session,
      provider: job.provider,
      // As on BullMQ: a job in the target's queue at once, leasable while this one is still leased
      // here (it ends when its run does), ahead of every queued session there, in the order hops came.
      moveTo: (provider, deadlineAt) => {
        this.put(job.session, provider, MAX_PRIORITY, deadlineAt);
        return Promise.resolve();
      },
      handBack: () => {
        if (!handedBack) {
          handedBack = true;
          this.scheduler.release(job.provider);
          this.wait(job);
        }
        return Promise.resolve();
      },
    };
    // Only a wake of its caller's after this lease lets it go if it comes back held (`CallerHolds.ticket`).
    const leasedAt = worker.callers.ticket;
    let ran: Promise<Held | undefined>;
    try {
      ran = worker.run(lease);
    } catch (error) {
      ran = Promise.reject(error);
    }
    ran
      .catch((error: unknown) => {
        // A run that failed ends its lease, as a failed BullMQ job is removed.
        worker.onError(error);
        return undefined;
      })
      .then((held) => this.finish(job, worker, handedBack, held, leasedAt))
      .catch(worker.onError);
  }

  private finish(
    job: Job,
    worker: Worker,
    handedBack: boolean,
    held: Held | undefined,
    leasedAt: number,
  ): void {
    const { provider } = job;
    worker.inFlight.set(provider, (worker.inFlight.get(provider) ?? 1) - 1);
    if (--worker.active === 0) for (const resolve of worker.idle.splice(0)) resolve();
    if (worker.resumeAtFinish) {
      // Stryker disable next-line BooleanLiteral: left set, a later finish unpauses an unpaused worker again; a pause call resets it
      worker.resumeAtFinish = false;
      worker.paused = false;
    }
    if (!handedBack) {
      this.scheduler.release(provider);
      if (held === undefined) this.jobs.delete(`${provider}|${job.session.input.sessionId}`);
      else if (held.modelOnly) this.delay(job, held, worker, leasedAt);
      else {
        // The provider is full: the session waits again and the provider's lane pauses, for every instance.
        const until = this.clock.now() + held.retryInMs;
        // Stryker disable next-line EqualityOperator: on a tie the pause is the same; only one more timer pumps to no effect.
        if (until > (this.pausedUntil.get(provider) ?? 0)) {
          this.pausedUntil.set(provider, until);
          this.clock.setTimeout(() => this.schedulePump(), held.retryInMs);
        }
        this.wait(job);
      }
    }
    this.schedulePump();
  }

  /** Only this session waits (its model is full, or its cooldown), as delayed: for `retryInMs`, or until the probe it waits behind ends. */
  private delay(job: Job, held: Held, worker: Worker, leasedAt: number): void {
    const until = this.clock.now() + held.retryInMs;
    // Stryker disable next-line ConditionalExpression: without a caller it would be held under `undefined`, which no wake names: its delay and release are the same.
    if (held.caller !== undefined) {
      const key = `${job.provider}|${job.session.input.sessionId}`;
      // A place of its caller's freed while it was being put back: it waits again now.
      if (!worker.callers.hold(held.caller, key, until, this.clock.now(), leasedAt)) {
        this.wait(job);
        return;
      }
      job.heldFor = { holds: worker.callers, caller: held.caller };
    }
    // Stryker disable next-line ConditionalExpression: without a probe the key would be `<provider>|undefined`, which no session's end names.
    if (held.probe !== undefined) {
      const behind = `${job.provider}|${held.probe}`;
      // Its probe ended while its lease was being held back: it waits again now (once per probe).
      if (this.ended.take(behind)) {
        this.wait(job);
        return;
      }
      job.behind = behind;
      this.behind.set(behind, (this.behind.get(behind) ?? new Set()).add(job));
    }
    // Stryker disable next-line StringLiteral: the state is read only as `=== 'waiting'` or `=== 'leased'`; any other name is delayed.
    job.state = 'delayed';
    job.timer = this.clock.setTimeout(() => {
      this.undelay(job);
      this.wait(job);
    }, held.retryInMs);
  }

  private wait(job: Job): void {
    job.state = 'waiting';
    this.scheduler.enqueue(job);
    this.schedulePump();
  }
}
