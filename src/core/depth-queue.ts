/**
 * One priority level of one lane: its items in turn order. An item's `depth` is how many sessions
 * of its caller were waiting when it joined (at least its caller's previous one's, so a caller's own
 * sessions keep their order: `QueueRoom.depthOf`); the lowest depth goes first, then the earliest
 * arrival (`seq`). A caller's first waiting session goes ahead of another caller's second, third,
 * and so on: callers take turns instead of one flood holding everyone behind it.
 *
 * One `Fifo` per depth in use, in ascending order of depth; a depth's FIFO goes once it is empty,
 * so the list holds only the depths some item has (the last one to go is kept for the next depth
 * to come, so a level that empties and fills again allocates nothing). With one caller, or items
 * without a caller (all at depth 0), it is one FIFO and every operation is the FIFO's.
 */
import { Fifo } from './fifo.js';

export interface Deep {
  readonly seq: number;
  /** Its place among its caller's sessions waiting (`QueueRoom.depthOf`); 0 when absent. */
  readonly depth?: number;
}

export class DepthQueue<T extends Deep> {
  /** Depths in ascending order, each with a non-empty FIFO at the same index of `fifos`. */
  private readonly depths: number[] = [];
  private readonly fifos: Fifo<T>[] = [];
  private count = 0;
  /** An emptied FIFO, for the next new depth. */
  private spare: Fifo<T> | undefined;

  /** @param compactMin passed to each depth's FIFO (tests set it low) */
  constructor(private readonly compactMin?: number) {}

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    const depth = item.depth ?? 0;
    const at = this.search(depth);
    if (this.depths[at] !== depth) {
      this.depths.splice(at, 0, depth);
      this.fifos.splice(at, 0, this.spare ?? new Fifo<T>(this.compactMin));
      this.spare = undefined;
    }
    (this.fifos[at] as Fifo<T>).push(item);
    this.count++;
  }

  /** The item whose turn it is: the earliest of the lowest depth. */
  peek(): T | undefined {
    return this.fifos[0]?.peek();
  }

  /** The longest-waiting item, whatever its depth (the fairness turn). */
  oldest(): T | undefined {
    let best: T | undefined;
    for (const fifo of this.fifos) {
      const head = fifo.peek() as T;
      // Stryker disable next-line EqualityOperator: seqs are unique, never equal.
      if (best === undefined || head.seq < best.seq) best = head;
    }
    return best;
  }

  /** Takes `item` out wherever it is; `false` when it is not here. */
  remove(item: T): boolean {
    const at = this.search(item.depth ?? 0);
    const fifo = this.fifos[at];
    if (this.depths[at] !== (item.depth ?? 0) || fifo === undefined) return false;
    if (fifo.peek() === item) fifo.shift();
    else if (!fifo.remove(item)) return false;
    this.count--;
    if (fifo.size === 0) {
      this.depths.splice(at, 1);
      this.fifos.splice(at, 1);
      this.spare = fifo;
    }
    return true;
  }

  /** How many items are ahead of `item` in turn order, or -1 when it is not here. */
  indexOf(item: T): number {
    const at = this.search(item.depth ?? 0);
    if (this.depths[at] !== (item.depth ?? 0)) return -1;
    const index = (this.fifos[at] as Fifo<T>).indexOf(item);
    if (index < 0) return -1;
    let ahead = index;
    for (let i = 0; i < at; i++) ahead += (this.fifos[i] as Fifo<T>).size;
    return ahead;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const fifo of this.fifos) yield* fifo;
  }

  /** The index of the first depth at or above `depth` (the deepest is checked first: arrivals mostly go there). */
  private search(depth: number): number {
    const depths = this.depths;
    let high = depths.length;
    if (high > 0 && (depths[high - 1] as number) < depth) return high;
    let low = 0;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((depths[mid] as number) < depth) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
