/**
 * One BullMQ job leased by this instance's Worker (`bull-queue.ts`), run as a `Lease`: what the
 * runner may do with it (hand it back to wait, move it to another provider's queue: a fallback
 * hop), the fairness turn's bookkeeping beside the run (`fair-turn.ts`), and what the job becomes
 * when the run comes back held: delayed alone (`delayed-jobs.ts`), or its whole queue rate limited.
 */
import { DelayedError, type Job, type Queue, WaitingError, Worker } from 'bullmq';
import type { Clock } from '../core/clock.js';
import type { Held, Lease, QueuedSession } from '../runtime/ports.js';
import type { DelayedJobs } from './delayed-jobs.js';
import type { FairQueue, FairTurn } from './fair-turn.js';
import { decodeRequest } from './job-data.js';

/** The name of a running session's job a fallback hop moved to its target's queue. */
const MOVED = 'hop';

/** What a leased job reaches of its queue adapter. */
export interface LeasedJobs {
  readonly fair: FairTurn;
  /** What the turn needs of `provider`'s queue. */
  readonly fairQueue: (provider: string) => FairQueue;
  readonly delayed: DelayedJobs;
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
  /** A Worker blocked on `provider`'s queue fetches, if it has a job to give (`wake-fetchers.ts`). */
  readonly wakeFetchers: (provider: string) => Promise<void>;
  readonly queue: (provider: string) => Queue<QueuedSession>;
  /** Sets a session's queue deadline (in the deadline set any instance sweeps). */
  readonly deadline: (provider: string, sessionId: string, at: number) => Promise<unknown>;
}

/** Runs `job` as a lease (`run`, the runner); throws BullMQ's errors for a job that goes back. */
export async function runLeased(
  job: Job<QueuedSession>,
  token: string,
  run: (lease: Lease) => Promise<Held | undefined>,
  s: LeasedJobs,
  /** Aborted once another instance holds the job (`relock.ts`). */
  lost: AbortSignal,
): Promise<void> {
  const { sessionId, createdAt } = job.data.input;
  const arrival = (job.data as { arrival?: number }).arrival ?? createdAt;
  // Bookkeeping for the turn, beside the run (no round trip before the session's start); its failure
  // loses neither the lease nor a job going back (thrown, BullMQ dropped it). Whatever puts this
  // session back in the index waits for it first, so the lease's removal cannot come after.
  const turn = s.fair.leased(job.queueName, sessionId, s.fairQueue(job.queueName)).catch(s.onError);
  const waitAgain = () => turn.then(() => s.fair.arrived(job.queueName, sessionId, arrival)).catch(s.onError);
  let handedBack = false;
  const lease: Lease = {
    session: { ...job.data, request: decodeRequest(job.data.request) },
    provider: job.queueName,
    lost,
    handBack: async () => {
      handedBack = true;
      await job.moveToWait(token);
      // BullMQ puts it back with its priority and wakes no Worker: an idle instance would sleep.
      await s.wakeFetchers(job.queueName);
      await waitAgain();
    },
    // Without a priority: BullMQ takes its wait list before its prioritized jobs, so a moved hop
    // goes ahead of every queued session, in the order the hops came. Same job id: added once.
    moveTo: async (provider, deadlineAt) => {
      const id = job.data.input.sessionId;
      await Promise.all([
        s.queue(provider).add(MOVED, job.data, {
          jobId: id,
          removeOnComplete: true,
          removeOnFail: true,
        }),
        s.deadline(provider, id, deadlineAt),
      ]);
    },
  };
  // Only a wake of its caller's after this lease lets it go if it comes back held (`CallerHolds.ticket`).
  const leasedAt = s.delayed.ticket;
  // A move back that failed (a cut, its lock lapsed meanwhile) is reported, and BullMQ is told the job
  // went back all the same (it neither completes nor fails it): it stays where it is and its next lease
  // runs it, once its lock lapses. Thrown as it came, BullMQ failed the job, and removed it, with its
  // lock retaken meanwhile (a reconnect's `Relocks.retake`): a session never started, its job gone
  // (until 2026-12-07: the kill property, seed 2137992420, ended it at its queue deadline "found its
  // summary alone"; `tests/scale/move-back-failed.test.ts`, `hand-back-failed.test.ts`).
  const movedBack = (move: Promise<unknown>) =>
    move.then(
      () => true,
      (error: unknown) => void s.onError(error),
    );
  let held: Held | undefined;
  try {
    held = await run(lease);
  } catch (error) {
    if (!handedBack) throw error;
    s.onError(error);
  }
  // Moved back to wait by this processor: BullMQ must neither complete nor fail it.
  if (handedBack) throw new WaitingError();
  if (held !== undefined) {
    // Back to waiting either way, with the age it had.
    await waitAgain();
    if (held.modelOnly) {
      // Only this model is full: this job waits as delayed; the provider's other jobs go on.
      const until = s.clock.now() + held.retryInMs;
      const id = job.id as string;
      if (await movedBack(job.moveToDelayed(until, token))) {
        if (held.probe !== undefined) s.delayed.behindProbe(job.queueName, id, held.probe, until);
        if (held.caller !== undefined) s.delayed.forCaller(job.queueName, id, held.caller, until, leasedAt);
      }
      throw new DelayedError();
    }
    // The provider is full: BullMQ puts the job back at the head of its priority and pauses the
    // whole queue, on every instance, for `retryInMs` (its limiter key's TTL).
    await movedBack(s.queue(job.queueName).rateLimit(held.retryInMs));
    throw Worker.RateLimitError();
  }
  // The Worker's next fetch comes after this lease's turn was counted and any move ahead made.
  await turn;
}
