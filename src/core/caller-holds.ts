/**
 * The sessions one instance of a cluster put back in the shared queue, delayed, because their
 * caller ran its share of the sessions running there (`limits.maxRunningPerCaller`,
 * `src/scale/caller-runs.ts`), by caller, in the order they were put back, each with the end of its
 * delay. One of that caller's sessions ending there frees one place and lets the first still
 * delayed wait again (`wake`), not all: each would be leased only to be put back again. A wake that
 * finds none (a session still on its way to being delayed) is kept for it, once; the last
 * `remembered` callers' are kept. Delays that ran out are forgotten as later ones are held, so the
 * table holds no more than the sessions delayed. Each queue port (BullMQ's, the in-memory one)
 * keeps one per instance, over its own jobs' keys. No I/O, no clock.
 */
import { Recent } from './recent.js';

export class CallerHolds {
  /** By caller: each job's key and the end of its delay, in the order held. */
  private readonly held = new Map<string, Map<string, number>>();
  private readonly woken: Recent;

  constructor(remembered = 256) {
    this.woken = new Recent(remembered);
  }

  /**
   * Job `key` waits for a place of `caller`'s until `until` at the latest; `false` when one freed
   * while it was being put back: it goes now, and is not held.
   */
  hold(caller: string, key: string, until: number, now: number): boolean {
    this.forget(now);
    if (this.woken.take(caller)) return false;
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
   * out; `undefined` when none is (the wake is kept for one on its way).
   */
  wake(caller: string, now: number): string | undefined {
    const jobs = this.held.get(caller);
    if (jobs !== undefined) {
      for (const [key, until] of jobs) {
        this.release(caller, key);
        if (until > now) return key;
      }
    }
    this.woken.add(caller);
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
