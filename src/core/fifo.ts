/**
 * One priority level of one lane: a FIFO of items in arrival (`seq`) order, with every operation
 * O(log n) or better, one at a time as in bulk.
 *
 * - `push` and `shift` are O(1): an array with a moving head, compacted as it drains.
 * - `remove` (a cancel, a queue timeout) leaves a tombstone instead of moving the items behind it:
 *   `Array.splice` made removing n sessions O(n²), which at 100,000 queued stalled the event loop
 *   for seconds when their deadlines fell together. The head skips tombstones as it reaches them.
 * - `indexOf` (a session's queue position) is a binary search on `seq`, minus the tombstones ahead
 *   of it, counted by a Fenwick tree over the slots. Queues that never see a removal (the hot path)
 *   never allocate the tree.
 * - Once tombstones and drained slots make up half the array, the live items are copied into a new
 *   one: O(live), paid for by the removals and shifts that made the waste.
 */

/** Below this much waste, compaction is not worth a copy. */
const COMPACT_MIN = 1024;
const MIN_CAPACITY = 16;

export class Fifo<T extends { readonly seq: number }> {
  /** Slots from `head` on hold items, live or tombstoned; slots before `head` are cleared. */
  private items: (T | undefined)[] = [];
  private head = 0;
  private live = 0;
  /** Tombstone flags and their Fenwick tree (1-based), made at the first removal from the middle. */
  private dead: Uint8Array | null = null;
  private tree: Int32Array | null = null;
  /** Slots the tree covers: a power of two, at least `items.length`. */
  private capacity = 0;

  /** @param compactMin waste below which no compaction is done (tests set it low to exercise it) */
  constructor(private readonly compactMin = COMPACT_MIN) {}

  get size(): number {
    return this.live;
  }

  push(item: T): void {
    this.items.push(item);
    this.live++;
    // Stryker disable next-line EqualityOperator: growing the tree one push early changes only its size.
    if (this.tree !== null && this.items.length > this.capacity) this.grow();
  }

  /** The oldest live item, without taking it. */
  peek(): T | undefined {
    const dead = this.dead;
    if (dead !== null) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: no slot at or past the end is ever flagged dead.
      while (this.head < this.items.length && dead[this.head] === 1) this.items[this.head++] = undefined;
    }
    return this.items[this.head];
  }

  shift(): T | undefined {
    const item = this.peek();
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined;
    this.live--;
    this.compactIfWasteful();
    return item;
  }

  /** Takes `item` out wherever it is; `false` when it is not here (never was, or already gone). */
  remove(item: T): boolean {
    const index = this.find(item);
    if (index < 0 || this.isDead(index)) return false;
    // Stryker disable next-line ConditionalExpression: a tombstone at the head is skipped like a cleared slot; only the tree is made.
    if (index === this.head) {
      this.items[this.head++] = undefined;
    } else {
      if (this.tree === null) this.makeTree();
      (this.dead as Uint8Array)[index] = 1;
      this.mark(index);
    }
    this.live--;
    this.compactIfWasteful();
    return true;
  }

  /** How many live items are ahead of `item` here, or -1 when it is not here. */
  indexOf(item: T): number {
    const index = this.find(item);
    if (index < 0 || this.isDead(index)) return -1;
    const tombstones = this.tree === null ? 0 : this.deadBefore(index) - this.deadBefore(this.head);
    return index - this.head - tombstones;
  }

  *[Symbol.iterator](): Iterator<T> {
    const dead = this.dead;
    for (let i = this.head; i < this.items.length; i++)
      if (dead === null || dead[i] === 0) yield this.items[i] as T;
  }

  private isDead(index: number): boolean {
    return this.dead !== null && this.dead[index] === 1;
  }

  /** The slot holding `item` (live or tombstoned), by binary search on `seq`; -1 if none. */
  private find(item: T): number {
    const items = this.items;
    let low = this.head;
    let high = items.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const seq = (items[mid] as T).seq;
      if (seq === item.seq) return items[mid] === item ? mid : -1;
      // Stryker disable next-line EqualityOperator: equal seqs returned on the line above.
      if (seq < item.seq) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  private makeTree(): void {
    let capacity = MIN_CAPACITY;
    // Stryker disable next-line EqualityOperator: a tree twice as large changes only its size.
    while (capacity < this.items.length) capacity *= 2;
    this.capacity = capacity;
    this.dead = new Uint8Array(capacity);
    this.tree = new Int32Array(capacity + 1);
  }

  /** Doubles the tree's reach, rebuilding it from the flags in O(capacity). */
  private grow(): void {
    const capacity = this.capacity * 2;
    const dead = new Uint8Array(capacity);
    dead.set(this.dead as Uint8Array);
    const tree = new Int32Array(capacity + 1);
    // Stryker disable next-line EqualityOperator: node `capacity` (all slots) is never read; deadBefore(i) reads nodes <= i < capacity.
    for (let i = 1; i <= capacity; i++) {
      tree[i] = (tree[i] as number) + (dead[i - 1] as number);
      const parent = i + (i & -i);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: node `capacity` is never read (see above); past it, typed-array writes are dropped.
      if (parent <= capacity) tree[parent] = (tree[parent] as number) + (tree[i] as number);
    }
    this.capacity = capacity;
    this.dead = dead;
    this.tree = tree;
  }

  /** Counts a tombstone at `index` in the tree. Nodes past `items.length` are kept too, for later slots. */
  private mark(index: number): void {
    const tree = this.tree as Int32Array;
    // Stryker disable next-line EqualityOperator: node `capacity` (all slots) is never read; deadBefore(i) reads nodes <= i < capacity.
    for (let k = index + 1; k <= this.capacity; k += k & -k) tree[k] = (tree[k] as number) + 1;
  }

  /** Tombstones in slots `[0, index)`. */
  private deadBefore(index: number): number {
    const tree = this.tree as Int32Array;
    let sum = 0;
    for (let k = index; k > 0; k -= k & -k) sum += tree[k] as number;
    return sum;
  }

  // Stryker disable next-line BlockStatement: compaction changes memory only; its copy is tested with a low `compactMin`.
  private compactIfWasteful(): void {
    // Stryker disable next-line ArithmeticOperator: when to compact changes memory and speed only (see the next line).
    const waste = this.items.length - this.live;
    // Stryker disable next-line all: when to compact changes memory and speed only, never what the queue holds or its order.
    if (waste < this.compactMin || waste * 2 < this.items.length) return;
    const kept: T[] = [];
    const { items, dead } = this;
    for (let i = this.head; i < items.length; i++)
      if (dead === null || dead[i] === 0) kept.push(items[i] as T);
    this.items = kept;
    this.head = 0;
    this.dead = null;
    this.tree = null;
    this.capacity = 0;
  }
}
