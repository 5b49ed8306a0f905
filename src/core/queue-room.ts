/**
 * What the sessions waiting in a queue (submitted, not started) hold, against its bounds: their
 * request bytes (`limits.maxQueuedBytes`) and each caller's share of the queue
 * (`limits.maxQueuedPerCaller`: sessions of one `metadata.owner`). One piece for every runtime: the
 * in-memory scheduler holds a queued session's room from `enqueue` until it leaves its queue,
 * whichever way; the cluster runtime holds it for the sessions submitted at this instance that
 * have not started. No I/O, no clock.
 *
 * Each waiting item carries what it holds (`queuedBytes`, `queuedTurn`): `release` gives it back
 * and clears it, so a second release of the same item gives back nothing, and the totals stay the
 * sums over the items still held. A caller's count, and its turns in one queue, are kept only while
 * above 0, so the tables never hold more entries than items wait.
 *
 * It also gives each waiting item its `depth`, its turn among callers in its queue (one provider's
 * sessions at one priority; `depth-queue.ts`): how many of its caller's items wait in that queue
 * when it joins, or the depth its caller's previous item there got if that is more (so a caller's
 * own items keep their order), until none of its caller's wait there; 0 without a caller. A depth
 * is never more than `perCaller`, nor than `MAX_DEPTH`: past it, a caller's items in one queue share
 * the last depth, first in, first out with other callers' as deep, so a queue keeps at most
 * `MAX_DEPTH + 1` depths (`depth-queue.ts` holds one FIFO per depth in use, so one caller's 100,000
 * waiting would otherwise be 100,000 FIFOs).
 */

/** The deepest turn: a caller's 1,024th session waiting in one queue and those after it share it. */
export const MAX_DEPTH = 1023;

/** Its caller's turns in one queue: how many of its items wait there, and the depth the latest got. */
export interface Turn {
  readonly caller: string;
  readonly key: string;
  count: number;
  depth: number;
}

/** Something that may wait in a queue holding request bytes and a place in its caller's share. */
export interface HoldsRoom {
  /** The bytes it holds now: its size while it waits, 0 once released (or never held). */
  queuedBytes: number;
  /** Its caller's turns in its queue while it waits (its caller: `queuedTurn.caller`); `undefined` once released, or for none. */
  queuedTurn: Turn | undefined;
}

/** The queue an item waits in: one provider's, at one priority. */
export interface QueueOf {
  readonly provider: string;
  readonly priority: number;
}

/**
 * Whether one more fits: `fits`; `full` now (it may fit later); `never` (more bytes than the bound);
 * `share`: its caller already has its share waiting (it may fit once one of those starts).
 */
export type Room = 'fits' | 'full' | 'never' | 'share';

export class QueueRoom {
  private total = 0;
  /** Per caller with items waiting: how many. */
  private readonly callers = new Map<string, number>();
  /** Per caller and queue with items waiting there (`turnKey`). */
  private readonly turns = new Map<string, Turn>();

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
    return this.callers.get(caller) ?? 0;
  }

  /** The depth an item of `caller` joining `queue` now gets (see above). */
  depthOf(caller?: string, queue?: QueueOf): number {
    if (caller === undefined) return 0;
    const turn = this.turns.get(turnKey(caller, queue));
    return turn === undefined ? 0 : Math.min(Math.max(turn.count, turn.depth), MAX_DEPTH);
  }

  /** Whether a request of `bytes` from `caller` fits now; one that exactly fills a bound fits. */
  room(bytes: number, caller?: string): Room {
    if (bytes > this.limit) return 'never';
    if (caller !== undefined && this.heldBy(caller) >= this.perCaller) return 'share';
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
    this.callers.set(caller, this.heldBy(caller) + 1);
    const key = turnKey(caller, queue);
    let turn = this.turns.get(key);
    if (turn === undefined) {
      turn = { caller, key, count: 0, depth: 0 };
      this.turns.set(key, turn);
    }
    const depth = Math.min(Math.max(turn.count, turn.depth), MAX_DEPTH);
    turn.count++;
    turn.depth = depth;
    item.queuedTurn = turn;
    return depth;
  }

  /** `item` left its queue: what it holds is given back, once. */
  release(item: HoldsRoom): void {
    this.total -= item.queuedBytes;
    item.queuedBytes = 0;
    const turn = item.queuedTurn;
    if (turn === undefined) return;
    item.queuedTurn = undefined;
    const left = this.heldBy(turn.caller) - 1;
    if (left > 0) this.callers.set(turn.caller, left);
    else this.callers.delete(turn.caller);
    if (--turn.count === 0) this.turns.delete(turn.key);
  }
}

/** A caller's turns in one queue (provider names carry no line break; a caller's name goes last). */
function turnKey(caller: string, queue: QueueOf | undefined): string {
  return queue === undefined ? caller : `${queue.provider}\n${queue.priority}\n${caller}`;
}
