/**
 * The sessions one instance of a cluster put back in the shared queue, delayed, because their
 * caller ran its share of the sessions running there (`limits.maxRunningPerCaller`,
 * `src/scale/caller-runs.ts`), by caller, in the order they were put back, each with the end of its
 * delay. One of that caller's sessions ending there frees one place and lets the first still
 * delayed wait again (`wake`), not all: each would be leased only to be put back again. A wake that
 * finds none is kept for a session of that caller's on its way to being delayed, once, but only
 * for one leased before the wake (`ticket`, read at its lease); the last `remembered` callers' are
 * kept. One leased after it was checked with that place already free (`CallerRuns.take`): held, it
 * is because another took the place, and the wake is not its own. Until 2026-12-05 any later one
 * took it: every caller whose session ended here with none of its own delayed left a wake (up to
 * 256), and its next session delayed was leased at once only to be put back again. Delays that ran
 * out are forgotten as later ones are held, so the table holds no more than the sessions delayed. Each queue port (BullMQ's, the in-memory one) keeps one per
 * instance, over its own jobs' keys. No I/O, no clock.
 */
export class CallerHolds {
  /** By caller: each job's key and the end of its delay, in the order held. */
  private readonly held = new Map<string, Map<string, number>>();
  /** By caller, oldest first: the wake that found none held, as `ticket` read after it. */
  private readonly woken = new Map<string, number>();
  /** The wakes kept so far. */
  private wakes = 0;

  constructor(private readonly remembered = 256) {}

  /**
   * Read as a job is leased here, and given to `hold` if it comes back delayed: only a wake kept
   * after it lets that job go. (A wake between its lease and its caller's check, `CallerRuns.take`,
   * counts too: a place the check saw free, then taken by another. Rare, and one lease at most.)
   */
  get ticket(): number {
    return this.wakes;
  }

  /**
   * Job `key`, leased at `ticket` `leasedAt`, waits for a place of `caller`'s until `until` at the
   * latest; `false` when one freed since its lease, while it was being put back: it goes now, and
   * is not held.
   */
  hold(caller: string, key: string, until: number, now: number, leasedAt: number): boolean {
    this.forget(now);
    // No wake kept for `caller`: none came after any lease.
    const woken = this.woken.get(caller) ?? Number.NEGATIVE_INFINITY;
    if (woken > leasedAt) {
      this.woken.delete(caller);
      return false;
    }
    const jobs = this.held.get(caller);
    if (jobs === undefined) this.held.set(caller, new Map([[key, until]]));
    else jobs.set(key, until);
    return true;
  }

  /** Job `key` no longer waits here (leased, withdrawn, or its delay ended). */
  release(caller: string, key: string): void {
    const jobs = this.held.get(caller);
    if (jobs === undefined) return;
    jobs.delete(key);
    if (jobs.size === 0) this.held.delete(caller);
  }

  /**
   * Job `key` left the queue while delayed (cancelled, or past its queue deadline), whoever's it
   * was: a wake that found it would promote nothing, and the next held would wait out its delay.
   */
  drop(key: string): void {
    for (const [caller, jobs] of this.held) {
      if (!jobs.has(key)) continue;
      this.release(caller, key);
      return;
    }
  }

  /**
   * One of `caller`'s places freed at `now`: the key of the first job still delayed for it, taken
   * out; `undefined` when none is (the wake is kept for one leased before it, on its way).
   */
  wake(caller: string, now: number): string | undefined {
    const jobs = this.held.get(caller);
    if (jobs !== undefined) {
      for (const [key, until] of jobs) {
        this.release(caller, key);
        if (until > now) return key;
      }
    }
    this.woken.delete(caller);
    this.woken.set(caller, ++this.wakes);
    if (this.woken.size > this.remembered) this.woken.delete(this.woken.keys().next().value as string);
    return undefined;
  }

  /** How many callers have jobs held: none is kept without one. */
  get callers(): number {
    return this.held.size;
  }

  /** How many jobs are held, for every caller. */
  get size(): number {
    let size = 0;
    for (const jobs of this.held.values()) size += jobs.size;
    return size;
  }

  /** Drops the delays that ran out, from the front of each caller's (they were held in about that order). */
  private forget(now: number): void {
    for (const [caller, jobs] of this.held) {
      for (const [key, until] of jobs) {
        if (until > now) break;
        this.release(caller, key);
      }
    }
  }
}
