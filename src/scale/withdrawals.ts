/**
 * Taking queued sessions out of the shared queue and ending them, as their machine would from
 * `queued`: at their queue deadline (the sweep, whoever submitted them) or on cancel.
 *
 * A cancel whose job cannot be taken out yet is tried again on every sweep while the session is
 * live. That is a job leased by an instance that died: its lock stands until it lapses, and the
 * job then waits for a stalled-job check, and then for a slot somewhere.
 * Without the retry the cancelled caller waited for a slot to free somewhere, up to its session's
 * whole deadline (an audit of 2026-12-05: 20 s for a call cancelled 0.1 s after its instance died).
 *
 * A session past its queue deadline with no job, no run and no end, on two sweeps in a row (one
 * withdrawn meanwhile by another instance has its end by then), was taken in part: its summary and
 * deadline landed, its job's add did not, nor the end its submitter then wrote (its caller was told
 * `BACKEND_UNAVAILABLE`). It ends so here, for every instance; one with no summary is forgotten.
 * Until 2026-12-06 it stayed `queued` on every other instance, its deadline kept on every sweep.
 */
import type { Clock } from '../core/clock.js';
import { resultOf } from '../runtime/backend.js';
import type { LeaseState, SessionQueue, SessionStore } from '../runtime/ports.js';
import { cancelledAt, endedAt, orphanEnd } from './job-data.js';
import type { LeaseRunner } from './lease-runner.js';
import type { LimitsView } from './limits-view.js';

/** How many held cancels one sweep tries again, at most (the rest on the next). */
const RETRIES_A_SWEEP = 100;

export interface WithdrawalsDeps {
  readonly queue: SessionQueue;
  readonly store: SessionStore;
  readonly runner: Pick<LeaseRunner, 'endMoved' | 'releaseLost'>;
  readonly view: Pick<LimitsView, 'heldBy'>;
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
}

/** A cancel whose job a lease held when it came: where the job waits, and why it was cancelled. */
interface HeldCancel {
  readonly provider: string;
  readonly reason: string;
}

export class Withdrawals {
  /** Cancelled sessions whose job was held by a lease when cancelled, by session id. */
  readonly #held = new Map<string, HeldCancel>();
  /** Overdue sessions the last sweep found with no job, no run and no end, by id. */
  #orphans = new Set<string>();

  constructor(private readonly deps: WithdrawalsDeps) {}

  /**
   * Takes a queued session out and ends it with `event`; `false` when it was not waiting, or, on a
   * tick, started and within its run deadline. `known`: its lease state, read just before (the sweep's).
   */
  async withdraw(
    provider: string,
    id: string,
    event: 'cancel' | 'tick',
    reason = '',
    known?: LeaseState,
  ): Promise<boolean> {
    const { queue, store, runner, view, clock, onError } = this.deps;
    const read = () => store.leaseState(id).catch((error: unknown) => void onError(error));
    // A queue deadline is for a start: a session that started and waits again (handed back, taken
    // over) stays until its run deadline (the sweep moves its deadline there), whoever withdraws it.
    const before = event === 'tick' ? (known ?? (await read())) : known;
    if (before?.run !== undefined && clock.now() < before.run.runDeadlineAt) return false;
    const data = await queue.withdraw(provider, id);
    if (data === undefined) return false;
    // Leased by an instance lost with it (its lock lapsed): what its call held in the shared limits
    // (a slot, a probe) is freed, as a takeover frees it; unread, it lapses at its run deadline.
    const run = (before ?? (await read()))?.run;
    // A hop, or a session that started past its run deadline: it ends from its run record, its
    // attempts and route kept, without a call.
    if (data.input.provider !== provider || (event === 'tick' && run !== undefined))
      return runner.endMoved(data, provider).then(() => true);
    const now = clock.now();
    // A queue timeout names the limit that held it, as in memory.
    const result =
      event === 'cancel'
        ? cancelledAt(data, now, reason)
        : resultOf(data, [{ type: 'session.tick', now }], await view.heldBy(data.input));
    await store.settle(result, data.label, endedAt(data, result));
    // Not waited for: it is retried while the shared state is away (up to 30 s), and never rejects.
    if (run !== undefined) void runner.releaseLost(data.input, run);
    return true;
  }

  /**
   * A cancel of a session not running here: taken out of the queue now, or, if a lease holds it,
   * on a later sweep once that lease lapses (a live instance running it ends it on the bus's cancel,
   * and the retries stop when its end arrives).
   */
  async cancel(provider: string, id: string, reason: string): Promise<void> {
    if (!(await this.withdraw(provider, id, 'cancel', reason))) this.#held.set(id, { provider, reason });
  }

  /** Ends queued sessions past their queue deadline, then tries the held cancels again. */
  async sweep(): Promise<void> {
    const { queue, store, clock } = this.deps;
    const orphans = new Set<string>();
    for (const { provider, sessionId } of await queue.overdue(clock.now(), 100)) {
      const lease = await store.leaseState(sessionId);
      // Started, within its run deadline: running, or waiting again (handed back at a shutdown, or
      // taken over and put back a moment), its queue deadline is behind it; its run deadline is
      // looked at next (a sweep ends one still waiting then). Until 2026-12-06 one waiting again was
      // ended as a queue timeout.
      const runDeadlineAt = lease.ended ? undefined : lease.run?.runDeadlineAt;
      if (runDeadlineAt !== undefined && clock.now() < runDeadlineAt) {
        await queue.clearDeadline(provider, sessionId, runDeadlineAt);
        continue;
      }
      if (!lease.ended && (await this.withdraw(provider, sessionId, 'tick', '', lease))) continue;
      // Not waiting right now. A job leased only to be put back by a limit (BullMQ's rate limit)
      // has not started: keep its deadline so the next sweep ends it once it waits again.
      if (lease.ended || lease.run !== undefined) await queue.clearDeadline(provider, sessionId);
      else if (!(await queue.waiting(provider, sessionId))) {
        const seen = this.#orphans.has(sessionId);
        if (!(seen && (await this.#endOrphan(provider, sessionId, lease.confirmed)))) orphans.add(sessionId);
      }
    }
    this.#orphans = orphans;
    // The oldest first; one still held goes to the back, so more than a sweep's worth all get turns.
    const turn: [string, HeldCancel][] = [];
    for (const entry of this.#held) if (turn.push(entry) >= RETRIES_A_SWEEP) break;
    for (const [id, held] of turn) {
      this.#held.delete(id);
      if (store.liveSession(id) === undefined) continue; // ended: here, elsewhere, or by its deadline
      if (!(await this.withdraw(held.provider, id, 'cancel', held.reason))) this.#held.set(id, held);
    }
  }

  /** Ends a session taken in part as its caller was told; `false` when its summary is not here yet. */
  async #endOrphan(provider: string, id: string, confirmed: boolean): Promise<boolean> {
    const { queue, store, clock } = this.deps;
    const summary = confirmed ? store.liveSession(id) : undefined;
    if (summary !== undefined) {
      const result = orphanEnd(summary, await store.callerOf(id), clock.now());
      await store.settle(result, summary.label, summary.createdAt + result.metadata.totalMs);
    } else if (confirmed) return false;
    await queue.clearDeadline(provider, id); // its place in the arrival order too
    return true;
  }
}
