/**
 * The jobs this instance put back in BullMQ's queues as delayed, and what lets them wait again
 * before their delay ends (`promote`, BullMQ's `Job.promote`; every instance promotes its own):
 * - behind a probe (`Held.probe`, keyed `provider|session`): the probe's end (`wake`) promotes them
 *   all, and no other (a job delayed by another model's limit waits on). The sessions whose end
 *   this instance heard last are kept, for a job put back while its probe's end came;
 * - for their caller's share of the sessions running here (`Held.caller`): one of that caller's
 *   sessions ending here (`wakeCaller`) promotes the first of them still delayed, one per place
 *   freed (`CallerHolds`).
 */
import { CallerHolds } from '../core/caller-holds.js';
import type { Clock } from '../core/clock.js';
import { Recent } from '../core/recent.js';

export class DelayedJobs {
  /** Behind each probe (`provider|session`): the jobs' ids, and until when they may wait. */
  private readonly behind = new Map<string, { until: number; readonly jobs: Set<string> }>();
  private readonly ended = new Recent(256);
  /** For their caller's share: by caller, each job as `provider|id`. */
  private readonly callers = new CallerHolds();

  constructor(
    private readonly clock: Clock,
    private readonly promote: (provider: string, id: string) => void,
  ) {}

  /** The session `sessionId` ended or left `provider`: the jobs delayed behind it as a probe go now. */
  wake(provider: string, sessionId: string): void {
    const key = `${provider}|${sessionId}`;
    this.ended.add(key);
    const held = this.behind.get(key);
    if (held === undefined) return;
    this.behind.delete(key);
    if (held.until > this.clock.now()) for (const id of held.jobs) this.promote(provider, id);
  }

  /** Job `id` delayed behind `provider`'s probe `probe`: woken by its end, or now if it has ended. */
  behindProbe(provider: string, id: string, probe: string, until: number): void {
    const key = `${provider}|${probe}`;
    // Once: a promoted job that the state still holds behind it (its settle not yet there) waits.
    if (this.ended.take(key)) {
      this.promote(provider, id);
      return;
    }
    // A probe whose end never came (its instance was lost): its jobs went back at its lapse.
    const now = this.clock.now();
    for (const [other, held] of this.behind) if (held.until <= now) this.behind.delete(other);
    const held = this.behind.get(key);
    if (held === undefined) this.behind.set(key, { until, jobs: new Set([id]) });
    else {
      held.until = Math.max(held.until, until);
      held.jobs.add(id);
    }
  }

  /** Read as a job is leased here, for `forCaller` (`CallerHolds.ticket`). */
  get ticket(): number {
    return this.callers.ticket;
  }

  /**
   * Job `id` of `provider`, leased at `ticket` `leasedAt`, delayed until `until` for `caller`'s
   * share here: woken when a place frees, or now if one did since its lease.
   */
  forCaller(provider: string, id: string, caller: string, until: number, leasedAt: number): void {
    if (!this.callers.hold(caller, `${provider}|${id}`, until, this.clock.now(), leasedAt))
      this.promote(provider, id);
  }

  /** Job `id` of `provider` left its queue (withdrawn): no wake is spent on it. */
  withdrawn(provider: string, id: string): void {
    this.callers.drop(`${provider}|${id}`);
  }

  /** One of `caller`'s sessions running here ended: the first of its jobs delayed here goes now. */
  wakeCaller(caller: string): void {
    const key = this.callers.wake(caller, this.clock.now());
    if (key === undefined) return;
    const bar = key.lastIndexOf('|');
    this.promote(key.slice(0, bar), key.slice(bar + 1));
  }
}
