/**
 * One priority level of one lane: its items in turn order. An item's `depth` is the lowest depth
 * waiting at this priority plus how many sessions of its caller were waiting here when it joined (at
 * least its caller's previous one's there, so a caller's own sessions keep their order:
 * `QueueRoom.depthOf`); the lowest depth goes
 * first, then the earliest arrival (`seq`). A caller's first waiting session goes ahead of another
 * caller's second, third, and so on: callers take turns instead of one flood holding everyone
 * behind it.
 *
 * One `Fifo` per depth in use, in ascending order of depth; a depth's FIFO goes once it is empty,
 * so the list holds only the depths some item has (the last one to go is kept for the next depth
 * to come, so a priority level that empties and fills again allocates nothing). With one caller,
 * or items without a caller (all at depth 0), it is one FIFO and every operation is the FIFO's.
 * Otherwise a position costs the FIFO's plus O(d), d the depths in use (at most `MAX_DEPTH + 1`,
 * `queue-room.ts`), and a new depth between two others O(d); the depths come and go at both ends in
 * O(1) (the list has a moving head, compacted as it drains, as `Fifo`'s), and `oldest` is the head
 * of a second FIFO of every item in arrival order.
 */
import { Fifo } from './fifo.js';

export interface Deep {
  readonly seq: number;
  /** Its place among its caller's sessions waiting (`QueueRoom.depthOf`); 0 when absent. */
  readonly depth?: number;
}

/** One depth in use and its items, in arrival order. */
interface Depth<T extends Deep> {
  depth: number;
  readonly fifo: Fifo<T>;
}

export class DepthQueue<T extends Deep> {
  /** From `first` on: the depths in use, in ascending order, each with a non-empty FIFO. */
  private levels: (Depth<T> | undefined)[] = [];
  private first = 0;
  /** Every item, in arrival order (`oldest`). */
  private readonly arrivals: Fifo<T>;
  /** An emptied depth, for the next new one. */
  private spare: Depth<T> | undefined;

  /** @param compactMin passed to each FIFO; and the drained head of the list of depths past which it is compacted (tests set it low) */
  constructor(private readonly compactMin = 1024) {
    this.arrivals = new Fifo<T>(compactMin);
  }

  get size(): number {
    return this.arrivals.size;
  }

  push(item: T): void {
    const depth = item.depth ?? 0;
    const at = this.search(depth);
    let level = this.levels[at];
    if (level?.depth !== depth) {
      level = this.spare ?? { depth, fifo: new Fifo<T>(this.compactMin) };
      level.depth = depth;
      this.spare = undefined;
      // Stryker disable next-line ConditionalExpression: a shortcut; splicing it in at `first` gives the same depths, in O(d).
      if (at === this.first && at > 0) this.levels[--this.first] = level;
      else this.levels.splice(at, 0, level);
    }
    level.fifo.push(item);
    this.arrivals.push(item);
  }

  /** The item whose turn it is: the earliest of the lowest depth. */
  peek(): T | undefined {
    return this.levels[this.first]?.fifo.peek();
  }

  /** The longest-waiting item, whatever its depth (the fairness turn). */
  oldest(): T | undefined {
    return this.arrivals.peek();
  }

  /** Takes `item` out wherever it is; `false` when it is not here. */
  remove(item: T): boolean {
    const at = this.search(item.depth ?? 0);
    const level = this.levels[at];
    // A level of another depth does not hold it either: its FIFO finds items by identity.
    if (level === undefined) return false;
    const fifo = level.fifo;
    // Stryker disable next-line ConditionalExpression: a shortcut; `Fifo.remove` takes the head too, in O(log n) instead of O(1).
    if (fifo.peek() === item) fifo.shift();
    else if (!fifo.remove(item)) return false;
    // Stryker disable next-line ConditionalExpression: a shortcut, as above.
    if (this.arrivals.peek() === item) this.arrivals.shift();
    else this.arrivals.remove(item);
    if (fifo.size === 0) {
      this.spare = level;
      // Stryker disable next-line ConditionalExpression: a shortcut; splicing the first out gives the same depths, in O(d).
      if (at === this.first) {
        this.levels[this.first++] = undefined;
        this.compactIfWasteful();
      } else this.levels.splice(at, 1);
    }
    return true;
  }

  /** How many items are ahead of `item` in turn order, or -1 when it is not here. */
  indexOf(item: T): number {
    const at = this.search(item.depth ?? 0);
    const index = this.levels[at]?.fifo.indexOf(item) ?? -1;
    if (index < 0) return -1;
    let ahead = index;
    for (let i = this.first; i < at; i++) ahead += (this.levels[i] as Depth<T>).fifo.size;
    return ahead;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.first; i < this.levels.length; i++) yield* (this.levels[i] as Depth<T>).fifo;
  }

  /** Every item in arrival order, whatever its depth: `oldest` first. */
  inArrivalOrder(): Iterator<T> {
    return this.arrivals[Symbol.iterator]();
  }

  /** The index of the first depth at or above `depth`, from `first` on. */
  private search(depth: number): number {
    const levels = this.levels;
    let high = levels.length;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut for arrivals, which mostly go to the deepest; the search below finds the same index.
    if (high > this.first && (levels[high - 1] as Depth<T>).depth < depth) return high;
    let low = this.first;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((levels[mid] as Depth<T>).depth < depth) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  // Stryker disable next-line BlockStatement: compaction changes memory only; its copy is tested with a low `compactMin`.
  private compactIfWasteful(): void {
    // Stryker disable next-line all: when to compact changes memory and speed only, never the depths held or their order.
    if (this.first < this.compactMin || this.first * 2 < this.levels.length) return;
    this.levels = this.levels.slice(this.first);
    this.first = 0;
  }
}
