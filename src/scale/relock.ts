/**
 * The locks of the jobs this instance runs, taken again when the stalled checks' guard starts a
 * hold (`stalled-check.ts`) and when its connection comes back. Redis counts its keys' TTLs on the
 * wall clock: after an outage longer than `lockDurationMs` (restarted with its data, frozen, cut off
 * from every instance), the locks of every job running across it are gone, though their instances
 * are alive and their calls under way (or answered, their ends waiting to be written). BullMQ's
 * lock renewal only extends a lock that is still there, so the first stalled check after it, on
 * any instance, moved those jobs back to wait and another instance called their providers again
 * (an audit, 2026-12-05: 2 or 3 of 4 sessions called twice after a 4 s outage). Such an outage
 * starts a hold of every check, which every instance that leases sees within it; since 2026-12-05 a
 * shorter one of more than half a lock's life does too (a freeze or cut of 0.75 to 1.5 s can lapse a
 * lock whose renewal was nearly due; until then nothing retook it and the next check moved its job:
 * `tests/scale/short-freeze-relock.test.ts`). A reconnect also retakes, for a lock lost in a cut
 * that a hold missed (`tests/scale/relock-after-cut.test.ts`). After a Redis outage BullMQ's
 * `lockRenewalFailed` comes too late to retake (as Redis goes on, after a check queued meanwhile
 * may have moved the job); it retakes only a lapse of this instance's own silence (below). One
 * script per job sets its lock again with its token, if the job is still this lease's (below).
 *
 * A failed renewal is how this instance learns that its lease of a job is gone (`renewalFailed`):
 * starved of CPU past `lockDurationMs` (a loaded machine), its lock lapsed while its session ran
 * here, a check moved the job and another instance leased it. BullMQ's Worker goes on processing
 * it, so the session was run by two instances at once until one of them ended it (a soak of
 * `tests/scale/kill-properties.test.ts`, 2026-12-07: a worker starved 1.2 s between its lease and
 * its call, which went out after the job was moved). When the lock is held under a token that is
 * none of this instance's leases of the job, those leases are told (`Lease.lost`) and their run
 * here stops. A lock that is gone with its job still active is not a loss yet (a check may still
 * move it, or a hold retake it): the next renewal, a quarter to half a lock's life later, looks again.
 * When this instance's own silence explains the lapse (its first failed renewal after none good for
 * more than `lockDurationMs`, on the injected clock: starved of CPU), the lock is taken again then,
 * by the same script: the job not moved yet, the session goes on here and no other instance calls
 * its provider again (until 2026-12-07 the next stalled check moved it and another instance took it
 * over; the run here stopped only at the renewal after that: `tests/scale/silent-relock.test.ts`).
 * A lock gone while this instance renewed it (taken away by hand, as tests stand for a lapse) is
 * left to the checks.
 *
 * Each retake sets a lock only on a job that is still this lease's: in the active list, no other
 * lock, and leased no more times than when this lease began (BullMQ's `ats`, counted at each lease).
 * Until 2026-12-07 a job moved and leased again (here or elsewhere) whose new lock lapsed in turn
 * could be retaken under an older lease's token: its processing, stopped or still going, could then
 * complete or fail the job of a session that had not ended.
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';

// KEYS: the job's lock, the queue's active list, its stalled set, the job. ARGV: token, lock ms, job
// id, the job's leases (`ats`) as this lease began. 1: the lock is this lease's again; 0: moved or
// taken meanwhile (the takeover goes on as after a kill).
const RELOCK = `
local lock = redis.call('GET', KEYS[1])
if lock == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif lock or not redis.call('LPOS', KEYS[2], ARGV[3]) or redis.call('HGET', KEYS[4], 'ats') ~= ARGV[4] then
  return 0
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('SREM', KEYS[3], ARGV[3])
return 1`;

interface Held {
  readonly job: Job;
  readonly token: string;
  readonly queue: Queue;
  /** Aborted once another instance holds the job's lock (`renewalFailed`). */
  readonly lost: AbortController;
  /** When its lock was last known good: its processing's start, then each renewal (`renewed`). */
  renewedAt: number;
  /** A renewal failed since (`renewalFailed`). */
  failing: boolean;
}

export class Relocks {
  readonly #held = new Set<Held>();

  constructor(
    private readonly redis: Redis,
    private readonly lockDurationMs: number,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
  ) {
    // Every `ready` after the first is a reconnect; the first finds nothing held.
    redis.on('ready', () => this.retake());
  }

  /**
   * Runs `work` (the Worker's processing of `job` under `token`), its lock taken again on each
   * reconnect; `work`'s signal is aborted once another instance holds the job (`renewalFailed`).
   */
  async during<T>(
    queue: Queue,
    job: Job,
    token: string,
    work: (lost: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const held = {
      job,
      token,
      queue,
      lost: new AbortController(),
      renewedAt: this.clock.now(),
      failing: false,
    };
    this.#held.add(held);
    try {
      return await work(held.lost.signal);
    } finally {
      this.#held.delete(held);
    }
  }

  /** Whether a lease of job `id` of `queue` is being processed here (`during`). */
  holds(queue: Queue, id: string): boolean {
    for (const held of this.#held) if (held.queue === queue && held.job.id === id) return true;
    return false;
  }

  /** Takes the locks of the jobs held here again, only those of `only` if given. */
  retake(only?: Queue): void {
    for (const held of this.#held) if (only === undefined || held.queue === only) this.#relock(held);
  }

  #relock({ job, token, queue }: Held): void {
    const id = job.id as string;
    const keys = [queue.toKey(`${id}:lock`), queue.toKey('active'), queue.toKey('stalled'), queue.toKey(id)];
    this.redis
      .eval(RELOCK, 4, ...keys, token, this.lockDurationMs, id, job.attemptsStarted)
      .catch(this.onError);
  }

  /** BullMQ renewed the locks of `ids` in `queue` (its `locksRenewed`). */
  renewed(queue: Queue, ids: readonly string[]): void {
    const now = this.clock.now();
    for (const held of this.#held) {
      if (held.queue !== queue || !ids.includes(held.job.id as string)) continue;
      held.renewedAt = now;
      held.failing = false;
    }
  }

  /**
   * BullMQ could not renew the locks of `ids` in `queue` (its `lockRenewalFailed`): each held here
   * whose lock now bears a token this instance's Worker of `queue` did not mint (`own`, its
   * `${worker.id}:` prefix) is lost to another instance. A token it minted is its own even before
   * its processing began here: the Worker leased the job back (its lock lapsed or taken away) and
   * calls `during` for it a moment later (until 2026-12-07 the look took that moment's lease for
   * another instance's, and the run here stopped and began again: `close-bound.test.ts`, 1 CI run).
   */
  renewalFailed(queue: Queue, ids: readonly string[], own: string): void {
    const leasesOf = (id: string) =>
      [...this.#held].filter((held) => held.queue === queue && held.job.id === id);
    const now = this.clock.now();
    for (const id of new Set(ids)) {
      const before = leasesOf(id);
      if (before.length === 0) continue;
      // Its first failure since a good renewal, after this instance was silent past the lock's life:
      // the lapse is its own. (Failures that follow count a lock taken away as silence too.)
      const lapsed = before.filter((held) => !held.failing && now - held.renewedAt > this.lockDurationMs);
      for (const held of before) held.failing = true;
      this.redis
        .get(queue.toKey(`${id}:lock`))
        .then((lock) => {
          // Read again: a lease of it that came here meanwhile may be the one holding it now.
          const leases = leasesOf(id);
          // Gone, its job maybe still this lease's: taken again when its own silence lapsed it.
          if (lock === null) for (const held of lapsed) this.#relock(held);
          // Gone with its job still active is no loss yet; a token of this instance's is still its own.
          if (lock === null || lock.startsWith(own) || leases.some((held) => held.token === lock)) return;
          for (const held of leases) held.lost.abort();
        })
        .catch(this.onError);
    }
  }
}
