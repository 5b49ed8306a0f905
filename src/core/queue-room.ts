/**
 * What the sessions waiting in a queue (submitted, not started) hold, against its bounds: their
 * request bytes (`limits.maxQueuedBytes`) and each caller's share of the queue
 * (`limits.maxQueuedPerCaller`: sessions of one `metadata.owner`; and of its bytes, the same
 * fraction of `limits.maxQueuedBytes`, so one caller's large requests cannot fill it for all). One piece for every runtime: the
 * in-memory scheduler holds a queued session's room from `enqueue` until it leaves its queue,
 * whichever way; the cluster runtime holds it for the sessions submitted at this instance that
 * have not started. No I/O, no clock.
 *
 * Each waiting item carries what it holds (`queuedBytes`, `queuedTurn`): `release` gives it back
 * and clears it, so a second release of the same item gives back nothing, and the totals stay the
 * sums over the items still held. A caller's count, and its turns in one queue, are kept while above
 * 0, and the last of each to reach 0 stays as a spare at 0 (read as none) until its caller comes
 * back or another's empties: the tables never hold more than one entry beyond the items waiting.
 * V8 remakes a Map's table each time it empties, so a caller calling one at a time (stdio) cost
 * three tables a session (about 460 bytes and 2 to 3 µs); with the spare it costs none.
 *
 * It also gives each waiting item its `depth`, its turn among callers in its queue (one provider's
 * sessions at one priority; `depth-queue.ts`), counted from the `floor`, the lowest depth of the
 * owned items waiting at that priority in any provider's queue (0 when none waits): the floor plus
 * how many of its caller's items wait in its queue when it joins, or the depth its caller's
 * previous item there got if that is more (so a caller's own items keep their order), until none of
 * its caller's wait there; 0 without a caller. Counting from the floor is what makes callers take
 * turns while the queue stays busy: a caller whose backlog has partly started still has its next
 * item at the floor, beside another caller's first, instead of behind every first, second, ... that
 * others keep joining with (counted from 0, a client that kept one call waiting at a time went
 * ahead of all of another's backlog, which started only on fairness turns). One floor for all
 * providers at a priority keeps depths comparable between their queues. A depth is never more than
 * `MAX_DEPTH` above the floor: past it, a caller's items in one queue share that depth, first in,
 * first out with other callers' as deep, so a queue keeps at most `MAX_DEPTH + 1` depths
 * (`depth-queue.ts` holds one FIFO per depth in use, so one caller's 100,000 waiting would
 * otherwise be 100,000 FIFOs). The floor only rises while owned items wait at its priority, and
 * goes back to 0 once none does. A room made with `floored` false counts depths from 0 (a cluster's
 * instance: its floor would not compare with another instance's in the shared queue).
 */

/** The deepest turn above the floor: a caller's 1,024th session waiting in one queue and those after it share it. */
export const MAX_DEPTH = 1023;

/** Its caller's turns in one queue: how many of its items wait there, and the depth the latest got. */
export interface Turn {
  readonly caller: string;
  readonly key: string;
  count: number;
  depth: number;
  /** The owned items by depth at its queue's priority, every provider's. */
  readonly queue: Floor;
}

/** The depths of the owned items waiting at one priority: how many at each, and the lowest. */
interface Floor {
  readonly key: string;
  readonly counts: Map<number, number>;
  size: number;
  floor: number;
}

/** Something that may wait in a queue holding request bytes and a place in its caller's share. */
export interface HoldsRoom {
  /** The bytes it holds now: its size while it waits, 0 once released (or never held). */
  queuedBytes: number;
  /** Its caller's turns in its queue while it waits (its caller: `queuedTurn.caller`); `undefined` once released, or for none. */
  queuedTurn: Turn | undefined;
  /** The depth it got (`hold`), while it holds a turn. */
  queuedDepth?: number;
}

/** The queue an item waits in: one provider's, at one priority. */
export interface QueueOf {
  readonly provider: string;
  readonly priority: number;
}

/**
 * Whether one more fits: `fits`; `full` now (it may fit later); `never` (more bytes than the bound);
 * `share`: its caller already has its share waiting (it may fit once one of those starts);
 * `shareBytes`: its caller's waiting items and this one would hold more than its share of the bytes.
 */
export type Room = 'fits' | 'full' | 'never' | 'share' | 'shareBytes';

/** One caller's items waiting: how many, and the bytes they hold. */
interface Held {
  count: number;
  bytes: number;
}

export class QueueRoom {
  private total = 0;
  /** Per caller with items waiting: how many, and their bytes. */
  private readonly callers = new Map<string, Held>();
  /** Per caller and queue with items waiting there (`turnKey`). */
  private readonly turns = new Map<string, Turn>();
  /** Per priority with owned items waiting in any provider's queue (`floorKey`): their depths. */
  private readonly floors = new Map<string, Floor>();
  /** The caller whose count reached 0 last, kept in `callers` at 0 (see above), if still there. */
  private spareCaller: string | undefined = undefined;
  /** The turn whose count reached 0 last, kept in `turns` at 0, if still there. */
  private spareTurn: Turn | undefined = undefined;
  /** The last turn key built, and what it was built of: a session's `depthOf` and `hold` ask for the same one. */
  // Stryker disable next-line StringLiteral: never read before a key is built (`lastCaller` starts as none).
  private lastKey = '';
  private lastCaller: string | undefined = undefined;
  private lastProvider: string | undefined = undefined;
  private lastPriority: number | undefined = undefined;

  /**
   * `limit`: the most bytes the waiting items may hold together; `perCaller`: the most items of one
   * caller that may wait at once (items without a caller count toward no share); `perCallerBytes`:
   * the most bytes one caller's waiting items may hold together, though a caller with none waiting
   * always has room for one within `limit` (a share below one large request would refuse it forever).
   */
  constructor(
    readonly limit: number,
    readonly perCaller: number = Number.POSITIVE_INFINITY,
    /**
     * Whether depths count from the floor (see above); `false`: from 0, for a room whose items
     * share their queue with other rooms' (a cluster's instances), whose floors would not compare.
     */
    readonly floored = true,
    readonly perCallerBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  /** The bytes the waiting items hold now. */
  get held(): number {
    return this.total;
  }

  /** How many items of `caller` wait now. */
  heldBy(caller: string): number {
    return this.callers.get(caller)?.count ?? 0;
  }

  /** The bytes `caller`'s waiting items hold now. */
  bytesHeldBy(caller: string): number {
    return this.callers.get(caller)?.bytes ?? 0;
  }

  /** The depth an item of `caller` joining `queue` now gets (see above). */
  depthOf(caller?: string, queue?: QueueOf): number {
    if (caller === undefined) return 0;
    const floor = this.floored ? (this.floors.get(floorKey(queue))?.floor ?? 0) : 0;
    return depthAt(floor, this.turns.get(this.turnKey(caller, queue)));
  }

  /**
   * Whether a request of `bytes` from `caller` fits now; one that exactly fills a bound fits.
   * `pastShare`: past its caller's count (a child its running parent's slot takes at once), not its bytes.
   */
  room(bytes: number, caller?: string, pastShare = false): Room {
    if (bytes > this.limit) return 'never';
    if (caller !== undefined) {
      const mine = this.callers.get(caller);
      const count = mine?.count ?? 0;
      if (count >= this.perCaller && !pastShare) return 'share';
      // A share as large as the bound is no share: past it, the queue is what is full. A caller with
      // none waiting (no entry, or the spare at 0) has room for one within `limit`.
      if (count > 0 && this.perCallerBytes < this.limit && (mine as Held).bytes + bytes > this.perCallerBytes)
        return 'shareBytes';
    }
    return this.total + bytes > this.limit ? 'full' : 'fits';
  }

  /**
   * `item` waits in `queue` holding `bytes` and a place in `caller`'s share (checked with `room`
   * first: holding never refuses); returns its depth (`depthOf` just before).
   */
  hold(item: HoldsRoom, bytes: number, caller?: string, queue?: QueueOf): number {
    item.queuedBytes = bytes;
    this.total += bytes;
    if (caller === undefined) {
      item.queuedTurn = undefined;
      return 0;
    }
    const mine = this.callers.get(caller);
    if (mine === undefined) this.callers.set(caller, { count: 1, bytes });
    else {
      // The spare at 0 counts again (its bytes are 0).
      if (mine.count++ === 0) this.spareCaller = undefined;
      mine.bytes += bytes;
    }
    const key = this.turnKey(caller, queue);
    let turn = this.turns.get(key);
    let floor: Floor | undefined;
    // The spare turn, back in use: at 0 it is none (`depthAt`), whatever depth it last gave.
    if (turn !== undefined && turn.count === 0) this.spareTurn = undefined;
    if (turn === undefined) {
      const at = floorKey(queue);
      floor = this.floors.get(at);
      if (floor === undefined) {
        floor = { key: at, counts: new Map(), size: 0, floor: 0 };
        this.floors.set(at, floor);
      }
      turn = { caller, key, count: 0, depth: 0, queue: floor };
      this.turns.set(key, turn);
    } else floor = turn.queue;
    const depth = depthAt(this.floored ? floor.floor : 0, turn);
    turn.count++;
    turn.depth = depth;
    floor.size++;
    floor.counts.set(depth, (floor.counts.get(depth) ?? 0) + 1);
    item.queuedTurn = turn;
    item.queuedDepth = depth;
    return depth;
  }

  /** `turnKeyOf`, built once for a session's `depthOf` and `hold` (the same caller and queue). */
  private turnKey(caller: string, queue: QueueOf | undefined): string {
    // The queue's fields, not the queue: a record is its own queue, and its provider changes when it moves on.
    const provider = queue?.provider;
    const priority = queue?.priority;
    // Stryker disable next-line ConditionalExpression: `true` builds the same key each time (a shortcut's loss only).
    if (caller !== this.lastCaller || provider !== this.lastProvider || priority !== this.lastPriority) {
      this.lastKey = turnKeyOf(caller, queue);
      this.lastCaller = caller;
      this.lastProvider = provider;
      this.lastPriority = priority;
    }
    return this.lastKey;
  }

  /** `item` left its queue: what it holds is given back, once. */
  release(item: HoldsRoom): void {
    const bytes = item.queuedBytes;
    this.total -= bytes;
    item.queuedBytes = 0;
    const turn = item.queuedTurn;
    if (turn === undefined) return;
    item.queuedTurn = undefined;
    const caller = turn.caller;
    const mine = this.callers.get(caller) as Held;
    if (--mine.count > 0) mine.bytes -= bytes;
    else {
      // Kept at 0 as the spare, in place of the one before (see above).
      mine.bytes = 0;
      // The spare before is another caller's: one that comes back stops being the spare (`hold`).
      const spare = this.spareCaller;
      // Stryker disable next-line ConditionalExpression: a shortcut; deleting no caller's entry deletes nothing.
      if (spare !== undefined) this.callers.delete(spare);
      this.spareCaller = caller;
    }
    if (--turn.count === 0) {
      const spare = this.spareTurn;
      if (spare !== undefined) this.turns.delete(spare.key);
      this.spareTurn = turn;
    }
    const floor = turn.queue;
    const depth = item.queuedDepth ?? 0;
    const there = (floor.counts.get(depth) ?? 0) - 1;
    if (--floor.size === 0) {
      // Kept, its floor back at 0: one a priority (ten at most), where one made and dropped for each
      // session that waited alone cost a table and a map entry a session. With none waiting the next
      // item's depth is 0: depth 0 stays at a count of 0 (read as none only while none waits, when
      // the floor is not searched), so its table is not emptied and remade.
      if (depth === 0) floor.counts.set(0, 0);
      else floor.counts.delete(depth);
      floor.floor = 0;
      return;
    }
    if (there > 0) {
      floor.counts.set(depth, there);
      return;
    }
    floor.counts.delete(depth);
    // The lowest depth emptied: the floor rises to the next one in use, at most MAX_DEPTH above. A
    // room without a floor keeps none: its items join from 0, below any floor, so the search for one
    // in use above it never ended (a cluster instance's event loop spun; found by the Redis property run).
    if (!this.floored) return;
    // Stryker disable next-line ConditionalExpression: a shortcut; above the floor, the floor's depth is in use and the loop stops at once.
    if (depth === floor.floor) while (!floor.counts.has(floor.floor)) floor.floor++;
  }
}

/** The bounds a runtime's queue holds its waiting items to (its resolved `limits`). */
export interface QueueBounds {
  readonly maxQueuedBytes: number;
  readonly maxQueuedPerCaller: number;
  readonly maxQueuedBytesPerCaller: number;
}

/** A room for those bounds; `floored` as for `QueueRoom`. */
export function queueRoomOf(limits: QueueBounds, floored = true): QueueRoom {
  const { maxQueuedBytes, maxQueuedPerCaller, maxQueuedBytesPerCaller } = limits;
  return new QueueRoom(maxQueuedBytes, maxQueuedPerCaller, floored, maxQueuedBytesPerCaller);
}

/** The depth of the next item of a caller (its `turn` in the queue, if any items wait) at `floor`. */
function depthAt(floor: number, turn: Turn | undefined): number {
  // A turn at 0 is the spare: none of its caller's items waits there.
  if (turn === undefined || turn.count === 0) return floor;
  return Math.min(Math.max(floor + turn.count, turn.depth), floor + MAX_DEPTH);
}

/**
 * The key of a queue's floor: its priority, shared by every provider's queue at that priority, so
 * depths compare between providers (`scheduler.ts`, when `maxConcurrent` is the bound); a floor
 * per provider let a provider's fresh queue (floor 0) go ahead of all of a busy one's (`undefined`:
 * the one queue of a room used without queues).
 */
function floorKey(queue: QueueOf | undefined): string {
  // Stryker disable next-line StringLiteral: any key that is no priority's serves the one queue.
  return queue === undefined ? '' : String(queue.priority);
}

/** A caller's turns in one queue (provider names carry no line break; a caller's name goes last). */
function turnKeyOf(caller: string, queue: QueueOf | undefined): string {
  return queue === undefined ? caller : `${queue.provider}\n${queue.priority}\n${caller}`;
}
