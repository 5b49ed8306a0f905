/**
 * One priority level of one lane: its items in turn order. An item's `depth` is how many sessions
 * of its caller were waiting in this queue when it joined (at least its caller's previous one's
 * there, so a caller's own sessions keep their order: `QueueRoom.depthOf`); the lowest depth goes
 * first, then the earliest arrival (`seq`). A caller's first waiting session goes ahead of another
 * caller's second, third, and so on: callers take turns instead of one flood holding everyone
 * behind it.
 *
 * One `Fifo` per depth in use, in ascending order of depth; a depth's FIFO goes once it is empty,
 * so the list holds only the depths some item has (the last one to go is kept for the next depth
 * to come, so a priority level that empties and fills again allocates nothing). With one caller,
 * or items without a caller (all at depth 0), it is one FIFO and every operation is the FIFO's.
 * Otherwise a push, removal or position costs the FIFO's plus O(d), and `oldest` O(d), d the
 * depths in use: at most the most sessions one caller has waiting there.
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
  /** The depths in use, in ascending order, each with a non-empty FIFO. */
  private readonly levels: Depth<T>[] = [];
  private count = 0;
  /** An emptied depth, for the next new one. */
  private spare: Depth<T> | undefined;

  /** @param compactMin passed to each depth's FIFO (tests set it low) */
  constructor(private readonly compactMin?: number) {}

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    const depth = item.depth ?? 0;
    const at = this.search(depth);
    let level = this.levels[at];
    if (level?.depth !== depth) {
      level = this.spare ?? { depth, fifo: new Fifo<T>(this.compactMin) };
      level.depth = depth;
      this.spare = undefined;
      this.levels.splice(at, 0, level);
    }
    level.fifo.push(item);
    this.count++;
  }

  /** The item whose turn it is: the earliest of the lowest depth. */
  peek(): T | undefined {
    return this.levels[0]?.fifo.peek();
  }

  /** The longest-waiting item, whatever its depth (the fairness turn). */
  oldest(): T | undefined {
    let best: T | undefined;
    for (const { fifo } of this.levels) {
      const head = fifo.peek() as T;
      // Stryker disable next-line EqualityOperator: seqs are unique, never equal.
      if (best === undefined || head.seq < best.seq) best = head;
    }
    return best;
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
    this.count--;
    if (fifo.size === 0) {
      this.levels.splice(at, 1);
      this.spare = level;
    }
    return true;
  }

  /** How many items are ahead of `item` in turn order, or -1 when it is not here. */
  indexOf(item: T): number {
    const at = this.search(item.depth ?? 0);
    const index = this.levels[at]?.fifo.indexOf(item) ?? -1;
    if (index < 0) return -1;
    let ahead = index;
    for (let i = 0; i < at; i++) ahead += (this.levels[i] as Depth<T>).fifo.size;
    return ahead;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const { fifo } of this.levels) yield* fifo;
  }

  /** The index of the first depth at or above `depth`. */
  private search(depth: number): number {
    const levels = this.levels;
    let high = levels.length;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut for arrivals, which mostly go to the deepest; the search below finds the same index.
    if (high > 0 && (levels[high - 1] as Depth<T>).depth < depth) return high;
    let low = 0;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((levels[mid] as Depth<T>).depth < depth) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
