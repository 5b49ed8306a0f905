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
 * that a hold missed (`tests/scale/relock-after-cut.test.ts`). BullMQ's `lockRenewalFailed` does not
 * retake: it comes as Redis goes on, after a check queued meanwhile may have moved the job, and
 * a lock taken away by hand stands for a lapse in tests that expect a takeover. One script per job
 * sets its lock again with its token, if the job is still this lease's (in the active list, no
 * other lock) and not yet moved.
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
 */
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';

// KEYS: the job's lock, the queue's active list, its stalled set. ARGV: token, lock ms, job id.
// 1: the lock is this lease's again; 0: moved or taken meanwhile (the takeover goes on as after a kill).
const RELOCK = `
local lock = redis.call('GET', KEYS[1])
if lock == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif lock or not redis.call('LPOS', KEYS[2], ARGV[3]) then
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
}

export class Relocks {
  readonly #held = new Set<Held>();

  constructor(
    private readonly redis: Redis,
    private readonly lockDurationMs: number,
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
    const held = { job, token, queue, lost: new AbortController() };
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
    for (const { job, token, queue } of this.#held) {
      if (only !== undefined && queue !== only) continue;
      const id = job.id as string;
      const keys = [queue.toKey(`${id}:lock`), queue.toKey('active'), queue.toKey('stalled')];
      this.redis.eval(RELOCK, 3, ...keys, token, this.lockDurationMs, id).catch(this.onError);
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
    for (const id of new Set(ids)) {
      if (leasesOf(id).length === 0) continue;
      this.redis
        .get(queue.toKey(`${id}:lock`))
        .then((lock) => {
          // Read again: a lease of it that came here meanwhile may be the one holding it now.
          const leases = leasesOf(id);
          // Gone with its job still active is no loss yet; a token of this instance's is still its own.
          if (lock === null || lock.startsWith(own) || leases.some((held) => held.token === lock)) return;
          for (const held of leases) held.lost.abort();
        })
        .catch(this.onError);
    }
  }
}
