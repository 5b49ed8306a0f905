/**
 * One timer for every deadline: an indexed binary min-heap of wake-up times, with a single clock
 * timeout armed for the earliest. A timer per session costs a `setTimeout` and a `clearTimeout`
 * for each state with a deadline; this costs O(log n) array moves and re-arms only when the
 * earliest time changes, which under steady load is rare (new deadlines land after old ones).
 * When the heap empties, a timer that can be unref'd (Node's) stays armed, unref'd, so it keeps no
 * process alive: the next item, usually later, needs no new timer (one call at a time made a
 * `setTimeout` and a `clearTimeout` a session); a clock whose timers cannot be unref'd has it cleared.
 *
 * Deadlines that fall together (100,000 queued sessions with one queue deadline) fire in slices
 * (`slices.ts`): a slice takes at most `maxItems` due items, hands them over in time order until its
 * time budget is spent, puts back what it did not reach, and re-arms a 0 ms timer for the rest.
 */
import { type Clock, MAX_TIMER_MS } from './clock.js';
import { DEFAULT_SLICE, type SliceLimits } from './slices.js';

export interface Wakeable {
  /** Absolute time to wake at. Managed by the heap; read-only elsewhere. */
  wakeAt: number;
  /** Position in the heap, -1 when not scheduled (-2 while due and about to be handed over). */
  heapIndex: number;
}

/** `heapIndex` of an item taken off the heap by a slice and not yet handed to `onDue`. */
const DUE = -2;

export class DeadlineHeap<T extends Wakeable> {
  private readonly heap: T[] = [];
  private timer: unknown = undefined;
  private armedAt = Number.POSITIVE_INFINITY;
  /** The timer, while it stays armed unref'd with nothing scheduled (`rest`). */
  private resting: RefTimer | undefined = undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (item: T, now: number) => void,
    private readonly slice: SliceLimits = DEFAULT_SLICE,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `item` at `at` (moving it if already scheduled); `null` unschedules it. */
  schedule(item: T, at: number | null): void {
    if (at === null) {
      this.cancel(item);
      return;
    }
    if (item.heapIndex >= 0) {
      // Stryker disable next-line ConditionalExpression: a shortcut; moving an item to its own time leaves the heap and timer as they are.
      if (item.wakeAt === at) return;
      // Stryker disable next-line EqualityOperator: equal times returned on the line above.
      const earlier = at < item.wakeAt;
      item.wakeAt = at;
      if (earlier) this.up(item.heapIndex);
      else this.down(item.heapIndex);
    } else {
      this.insert(item, at);
    }
    this.arm();
  }

  private insert(item: T, at: number): void {
    item.wakeAt = at;
    item.heapIndex = this.heap.length;
    this.heap.push(item);
    this.up(item.heapIndex);
  }

  cancel(item: T): void {
    const index = item.heapIndex;
    if (index < 0) {
      // Due, but not handed over yet: it will not be.
      item.heapIndex = -1;
      return;
    }
    const last = this.heap.pop()!;
    item.heapIndex = -1;
    if (last !== item) {
      this.heap[index] = last;
      last.heapIndex = index;
      this.up(index);
      this.down(last.heapIndex);
    }
    // An armed timer for a later item is harmless (`fire` re-arms for the true minimum), but
    // with nothing left it may not keep the process alive.
    if (this.heap.length === 0) this.rest();
  }

  /** Stops the clock timer; scheduled items stay scheduled but nothing fires. */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    this.resting = undefined;
  }

  /** Nothing scheduled: the timer stays armed but unref'd where the clock's timers can be, else it goes. */
  private rest(): void {
    const timer = this.timer as RefTimer | undefined;
    if (typeof timer?.unref === 'function' && typeof timer.ref === 'function') {
      timer.unref();
      this.resting = timer;
    } else this.stop();
  }

  private arm(): void {
    const first = this.heap[0];
    if (first === undefined) return;
    if (first.wakeAt >= this.armedAt) {
      // The resting timer serves (it fires no later than this item is due): it holds the process again.
      const resting = this.resting;
      if (resting !== undefined) {
        this.resting = undefined;
        resting.ref();
      }
      return;
    }
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.resting = undefined;
    this.armedAt = first.wakeAt;
    // At most Node's longest timer: a longer one fires at once, and the heap re-armed it every
    // millisecond until its item was due (a provider cooling down for a `Retry-After` of years).
    const wait = Math.min(Math.max(0, first.wakeAt - this.clock.now()), MAX_TIMER_MS);
    this.timer = this.clock.setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    this.resting = undefined;
    const clock = this.clock;
    const now = clock.now();
    // Take this slice's due items first: `onDue` may reschedule items, including the ones just taken.
    const due: T[] = [];
    while (due.length < this.slice.maxItems && this.heap.length > 0 && this.heap[0]!.wakeAt <= now) {
      const item = this.heap[0]!;
      this.cancel(item);
      item.heapIndex = DUE;
      due.push(item);
    }
    let handed = 0;
    try {
      while (handed < due.length) {
        const item = due[handed++]!;
        // Cancelled or rescheduled by an earlier item's `onDue`: no longer due now.
        if (item.heapIndex !== DUE) continue;
        item.heapIndex = -1;
        this.onDue(item, now);
        if (clock.now() - now >= this.slice.budgetMs) break;
      }
    } finally {
      // Out of time (or `onDue` threw): what this slice did not reach goes back, still due.
      for (let i = handed; i < due.length; i++) {
        const item = due[i]!;
        if (item.heapIndex === DUE) this.insert(item, item.wakeAt);
      }
      this.arm();
    }
  }

  private up(index: number): void {
    const heap = this.heap;
    const item = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      // Stryker disable next-line EqualityOperator: ties: the heap promises no order among equal times, and stays a heap either way.
      if (parent.wakeAt <= item.wakeAt) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.heapIndex = index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const item = heap[index]!;
    const half = heap.length >> 1;
    while (index < half) {
      let child = 2 * index + 1;
      const right = child + 1;
      // Stryker disable next-line EqualityOperator: ties: either equal child keeps the heap a heap; no order among equal times is promised.
      if (right < heap.length && heap[right]!.wakeAt < heap[child]!.wakeAt) child = right;
      const smaller = heap[child]!;
      // Stryker disable next-line EqualityOperator: ties: the heap promises no order among equal times, and stays a heap either way.
      if (item.wakeAt <= smaller.wakeAt) break;
      heap[index] = smaller;
      smaller.heapIndex = index;
      index = child;
    }
    heap[index] = item;
    item.heapIndex = index;
  }
}

/** A timer that can stop holding the process and hold it again (Node's `Timeout`). */
interface RefTimer {
  unref(): void;
  ref(): void;
}
