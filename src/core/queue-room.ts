/**
 * What the sessions waiting in a queue (submitted, not started) hold, against its bounds: their
 * request bytes (`limits.maxQueuedBytes`) and each caller's share of the queue
 * (`limits.maxQueuedPerCaller`: sessions of one `metadata.owner`). One piece for every runtime: the
 * in-memory scheduler holds a queued session's room from `enqueue` until it leaves its queue,
 * whichever way; the cluster runtime holds it for the sessions submitted at this instance that
 * have not started. No I/O, no clock.
 *
 * Each waiting item carries what it holds (`queuedBytes`, `queuedBy`): `release` gives it back and
 * clears it, so a second release of the same item gives back nothing, and the totals stay the sums
 * over the items still held. A caller's count is kept only while it is above 0, so the table never
 * holds more entries than sessions wait.
 *
 * It also gives each waiting item its `depth`, its turn among callers (`depth-queue.ts`): how many of
 * its caller's items wait when it joins, or its caller's previous item's depth if that is more (so a
 * caller's own items keep their order), until none of its caller's wait; 0 without a caller. A depth
 * is never more than `perCaller`.
 */

/** Something that may wait in a queue holding request bytes and a place in its caller's share. */
export interface HoldsRoom {
  /** The bytes it holds now: its size while it waits, 0 once released (or never held). */
  queuedBytes: number;
  /** The caller whose share it counts against while it waits; `undefined` once released, or for none. */
  queuedBy: string | undefined;
}

/**
 * Whether one more fits: `fits`; `full` now (it may fit later); `never` (more bytes than the bound);
 * `share`: its caller already has its share waiting (it may fit once one of those starts).
 */
export type Room = 'fits' | 'full' | 'never' | 'share';

export class QueueRoom {
  private total = 0;
  /** Per caller with items waiting: how many, and the depth its latest item got. */
  private readonly callers = new Map<string, { count: number; depth: number }>();

  /**
   * `limit`: the most bytes the waiting items may hold together; `perCaller`: the most items of one
   * caller that may wait at once (items without a caller count toward no share).
   */
  constructor(
    readonly limit: number,
    readonly perCaller: number = Number.POSITIVE_INFINITY,
  ) {}

  /** The bytes the waiting items hold now. */
  get held(): number {
    return this.total;
  }

  /** How many items of `caller` wait now. */
  heldBy(caller: string): number {
    return this.callers.get(caller)?.count ?? 0;
  }

  /** The depth an item of `caller` joining now gets (see above). */
  depthOf(caller?: string): number {
    const entry = this.callers.get(caller as string); // none is kept under `undefined`
    return entry === undefined ? 0 : Math.max(entry.count, entry.depth);
  }

  /** Whether a request of `bytes` from `caller` fits now; one that exactly fills a bound fits. */
  room(bytes: number, caller?: string): Room {
    if (bytes > this.limit) return 'never';
    if (caller !== undefined && this.heldBy(caller) >= this.perCaller) return 'share';
    return this.total + bytes > this.limit ? 'full' : 'fits';
  }

  /**
   * `item` waits holding `bytes` and a place in `caller`'s share (checked with `room` first: holding
   * never refuses); returns its depth (`depthOf` just before).
   */
  hold(item: HoldsRoom, bytes: number, caller?: string): number {
    item.queuedBytes = bytes;
    item.queuedBy = caller;
    this.total += bytes;
    if (caller === undefined) return 0;
    const depth = this.depthOf(caller);
    const entry = this.callers.get(caller);
    if (entry === undefined) this.callers.set(caller, { count: 1, depth });
    else {
      entry.count++;
      entry.depth = depth;
    }
    return depth;
  }

  /** `item` left its queue: what it holds is given back, once. */
  release(item: HoldsRoom): void {
    this.total -= item.queuedBytes;
    item.queuedBytes = 0;
    const caller = item.queuedBy;
    // Stryker disable next-line ConditionalExpression: a shortcut; with no caller there is no entry under `undefined` to change.
    if (caller === undefined) return;
    item.queuedBy = undefined;
    const entry = this.callers.get(caller) as { count: number };
    if (--entry.count === 0) this.callers.delete(caller);
  }
}
