/**
 * Admission policy: which queued session runs next. No I/O, no clock: a deterministic function of
 * the calls made to it, so property tests can drive it directly.
 *
 * - Priorities are integers from 0 (lowest) to 9 (highest); higher first. Within a priority callers
 *   take turns: the lowest `depth` first (the lowest depth waiting at its priority plus how many
 *   of its caller's sessions waited in its queue when it joined, `QueueRoom.depthOf`; 0 without a caller),
 *   then arrival order
 *   (`depth-queue.ts`). So a caller's first waiting session goes ahead of another's second; one
 *   caller's own stay FIFO.
 * - A global limit and one per provider bound how many run at once.
 * - Every operation is O(log n) or better in the queue's length, one at a time as in bulk (a burst
 *   of queue timeouts, a shutdown): see `fifo.ts`; plus O(d) with callers' turns, d the depths in
 *   use at that priority (`depth-queue.ts`). `next()` is O(lanes × priorities).
 * - Anti-starvation: of every `fairnessEvery` admissions for a provider, one goes to the
 *   longest-waiting session of that provider, whatever its priority. Admitting the oldest never
 *   overtakes an earlier, higher-priority session, and it bounds any wait: a session with k
 *   older sessions ahead of it is admitted within (k + 1) × fairnessEvery admissions of its provider.
 * - Limits in the provider's own units (rate windows, cooldown) are a `gate` on `next()`: a lane
 *   whose candidate the gate refuses is skipped this time, so it waits as a whole, keeping its
 *   priority order and fairness turn, and other lanes go on. A limit of one model (its windows,
 *   or its cooldown when its vendor limits each model apart) refuses only that session (`'item'`):
 *   the lane's next one in the same order is looked at, so another model's session does not wait
 *   behind it. Each `next()` looks past each such session once: O(h) in the sessions held.
 * - A session held whoever else waits (its caller runs its share: `held`) is no lane's offer: every
 *   lane's candidate is asked before the lanes are compared, and one held is looked past as above.
 *   Asked of the winner alone (the gate), a held session that lost stood for its lane, and at a
 *   fairness turn (the oldest offered, whatever its priority) a session of that lane behind it that
 *   would have won waited for a later admission (found by the runtime model's `providerOrder`,
 *   2026-12-05). Outside fairness turns it changed nothing: a lane's next one is never ahead of
 *   the one before it.
 */

import { type Deep, DepthQueue } from './depth-queue.js';

export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 9;
// Stryker disable next-line ArithmeticOperator: MIN_PRIORITY is 0.
const LEVELS = MAX_PRIORITY - MIN_PRIORITY + 1;

export interface Schedulable extends Deep {
  readonly provider: string;
  readonly priority: number;
  /** Arrival order; assigned by the scheduler on enqueue. */
  seq: number;
}

export interface SchedulerLimits {
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly fairnessEvery: number;
}

class Lane<T extends Schedulable> {
  readonly buckets: DepthQueue<T>[] = Array.from({ length: LEVELS }, () => new DepthQueue<T>());
  queued = 0;
  running = 0;
  sinceFair = 0;
  constructor(readonly limit: number) {}

  /** Whether its next admission is the fairness turn (the longest-waiting session). */
  fairTurn(fairnessEvery: number): boolean {
    return this.sinceFair + 1 >= fairnessEvery;
  }

  /**
   * The session this lane would admit next, without taking it. `past`: where the buckets whose
   * first sessions the gate held alone (`'item'`) now stand, in the same order.
   */
  candidate(fairnessEvery: number, past?: Past<T>): { item: T; bucket: DepthQueue<T> } | undefined {
    // Stryker disable next-line ConditionalExpression: a shortcut; with nothing queued the loop below finds nothing too.
    if (this.queued === 0) return undefined;
    const fairTurn = this.fairTurn(fairnessEvery);
    let best: { item: T; bucket: DepthQueue<T> } | undefined;
    for (let level = LEVELS - 1; level >= 0; level--) {
      const bucket = this.buckets[level]!;
      const cursor = past?.get(bucket);
      const head = cursor !== undefined ? cursor.current : fairTurn ? bucket.oldest() : bucket.peek();
      if (head === undefined) continue;
      if (!fairTurn) return { item: head, bucket };
      // Stryker disable next-line EqualityOperator: seqs are unique, never equal.
      if (best === undefined || head.seq < best.item.seq) best = { item: head, bucket };
    }
    return best;
  }
}

/** A bucket looked past some of its first sessions in one `next()`: its iterator, at its next one. */
interface Cursor<T> {
  readonly iterator: Iterator<T>;
  current: T | undefined;
}
type Past<T extends Schedulable> = Map<DepthQueue<T>, Cursor<T>>;

/** What the gate says of a candidate: it goes; its lane waits (`false`); or only it waits (`'item'`). */
export type Verdict = boolean | 'item';

export class Scheduler<T extends Schedulable> {
  private readonly lanes = new Map<string, Lane<T>>();
  private seq = 0;
  /** In one `next()`: the buckets whose first sessions were looked past, and where each stands. */
  private past: Past<T> | undefined;
  private queuedTotal = 0;
  private runningTotal = 0;
  /** Running sessions on a slot another running session lent them (`borrow`): not counted against `maxConcurrent`. */
  private borrowing = 0;

  constructor(private readonly limits: SchedulerLimits) {}

  get queued(): number {
    return this.queuedTotal;
  }

  get running(): number {
    return this.runningTotal;
  }

  /** Every global slot is taken: sessions on a lent slot (`borrow`) count on their lender's. */
  private get full(): boolean {
    return this.runningTotal - this.borrowing >= this.limits.maxConcurrent;
  }

  /** Adds a session to its provider's queue; `false` when the queue is full (`pastBound`: a child its running parent's slot takes at once). */
  enqueue(item: T, pastBound = false): boolean {
    if (this.queuedTotal >= this.limits.maxQueued && !pastBound) return false;
    item.seq = ++this.seq;
    const lane = this.lane(item.provider);
    // Stryker disable next-line ArithmeticOperator: MIN_PRIORITY is 0.
    lane.buckets[item.priority - MIN_PRIORITY]!.push(item);
    lane.queued++;
    this.queuedTotal++;
    return true;
  }

  /** Takes a queued session out without running it (cancelled or timed out while queued). */
  remove(item: T): boolean {
    const lane = this.lanes.get(item.provider);
    // Stryker disable next-line ArithmeticOperator: MIN_PRIORITY is 0.
    if (lane === undefined || !lane.buckets[item.priority - MIN_PRIORITY]!.remove(item)) return false;
    lane.queued--;
    this.queuedTotal--;
    return true;
  }

  /**
   * The next session to run, counted as running; `undefined` when nothing can run now. `held` is
   * asked of every lane's candidate before they are compared: `true` looks past it (a session held
   * whatever else waits, e.g. by its caller's share). `gate` is asked about a lane's candidate once
   * it would be chosen; `false` skips that lane, `'item'` that session only (the lane's next one is
   * looked at).
   */
  next(gate?: (item: T) => Verdict, held?: (item: T) => boolean): T | undefined {
    // Stryker disable next-line ConditionalExpression: `queuedTotal === 0` is a shortcut; with nothing queued no lane has a candidate.
    if (this.full || this.queuedTotal === 0) return undefined;
    let chosen: { lane: Lane<T>; item: T; bucket: DepthQueue<T> } | undefined;
    let refused: Set<Lane<T>> | undefined;
    this.past = undefined;
    for (;;) {
      chosen = this.choose(refused, held);
      if (chosen === undefined) return undefined;
      const verdict = gate === undefined ? true : gate(chosen.item);
      if (verdict === true) break;
      if (verdict === 'item') {
        this.lookPast(chosen.lane, chosen.bucket);
        continue;
      }
      refused ??= new Set<Lane<T>>();
      refused.add(chosen.lane);
    }
    const { lane, bucket } = chosen;
    bucket.remove(chosen.item);
    lane.sinceFair = lane.sinceFair + 1 >= this.limits.fairnessEvery ? 0 : lane.sinceFair + 1;
    lane.queued--;
    lane.running++;
    this.queuedTotal--;
    this.runningTotal++;
    return chosen.item;
  }

  /** The gate held `bucket`'s candidate alone: the bucket's next one, in the same order, is its candidate now. */
  private lookPast(lane: Lane<T>, bucket: DepthQueue<T>): void {
    this.past ??= new Map();
    let cursor = this.past.get(bucket);
    if (cursor === undefined) {
      const iterator = lane.fairTurn(this.limits.fairnessEvery)
        ? bucket.inArrivalOrder()
        : bucket[Symbol.iterator]();
      // Its first is the candidate just held.
      iterator.next();
      cursor = { iterator, current: undefined };
      this.past.set(bucket, cursor);
    }
    cursor.current = cursor.iterator.next().value;
  }

  private choose(
    refused: Set<Lane<T>> | undefined,
    held: ((item: T) => boolean) | undefined,
  ): { lane: Lane<T>; item: T; bucket: DepthQueue<T> } | undefined {
    let chosen: { lane: Lane<T>; item: T; bucket: DepthQueue<T> } | undefined;
    for (const lane of this.lanes.values()) {
      if (lane.running >= lane.limit || refused?.has(lane)) continue;
      let c = lane.candidate(this.limits.fairnessEvery, this.past);
      while (c !== undefined && held?.(c.item) === true) {
        this.lookPast(lane, c.bucket);
        c = lane.candidate(this.limits.fairnessEvery, this.past);
      }
      if (c === undefined) continue;
      if (chosen === undefined || ahead(c.item, chosen.item)) chosen = { lane, ...c };
    }
    return chosen;
  }

  /**
   * A running session ended: its slots free (`null`: it held no provider's slot, only the global
   * one; `borrowed`: its global one was lent, and goes back to its lender).
   */
  release(provider: string | null, borrowed = false): void {
    if (provider !== null) this.leave(provider);
    this.runningTotal--;
    if (borrowed) this.borrowing--;
  }

  /**
   * Takes a queued session out of its queue to run now on a global slot another running session
   * lends it (one waiting for it: `lending.ts`); the caller found its provider's lane with room
   * (`hasRoom`) before asking that provider's gate. It counts as running, not against
   * `maxConcurrent`, until it ends (`release(..., true)`) or keeps the slot (`keep`); `false` when it
   * is not queued.
   */
  borrow(item: T): boolean {
    if (!this.remove(item)) return false;
    this.lane(item.provider).running++;
    this.runningTotal++;
    this.borrowing++;
    return true;
  }

  /** A session running on a lent slot keeps it: its lender ended (and released its own count). */
  keep(): void {
    this.borrowing--;
  }

  /**
   * A running session moves to another provider (a fallback hop): it leaves its provider's slot
   * now and keeps its global one; `enter` gives it the next provider's once that has room.
   */
  leave(provider: string): void {
    const lane = this.lanes.get(provider);
    if (lane === undefined || lane.running === 0)
      throw new Error(`release without a running session on ${provider}`);
    lane.running--;
  }

  /** Whether a provider has a free slot for a session that left another's. */
  hasRoom(provider: string): boolean {
    const lane = this.lane(provider);
    return lane.running < lane.limit;
  }

  /** A running session that left its provider's slot takes one of `provider`'s. */
  enter(provider: string): void {
    this.lane(provider).running++;
  }

  /** Sessions ahead of this one in its provider's queue (0 = next for its provider). */
  position(item: T): number {
    const lane = this.lanes.get(item.provider);
    if (lane === undefined) return -1;
    let ahead = 0;
    // Stryker disable next-line ArithmeticOperator: MIN_PRIORITY is 0.
    for (let level = LEVELS - 1; level > item.priority - MIN_PRIORITY; level--)
      ahead += lane.buckets[level]!.size;
    // Stryker disable next-line ArithmeticOperator: MIN_PRIORITY is 0.
    const index = lane.buckets[item.priority - MIN_PRIORITY]!.indexOf(item);
    return index < 0 ? -1 : ahead + index;
  }

  queuedByPriority(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const lane of this.lanes.values()) {
      lane.buckets.forEach((bucket, level) => {
        // Stryker disable next-line ArithmeticOperator: MIN_PRIORITY is 0.
        if (bucket.size > 0) out[level + MIN_PRIORITY] = (out[level + MIN_PRIORITY] ?? 0) + bucket.size;
      });
    }
    return out;
  }

  providers(): { name: string; queued: number; running: number; limit: number | null }[] {
    return [...this.lanes].map(([name, lane]) => ({
      name,
      queued: lane.queued,
      running: lane.running,
      limit: Number.isFinite(lane.limit) ? lane.limit : null,
    }));
  }

  /**
   * Takes a queued session out of its queue to run now, past its provider's limit (it leaves that
   * provider at once: a fallback hop), within the global one; `false` when that is full.
   */
  take(item: T): boolean {
    if (this.full || !this.remove(item)) return false;
    this.lane(item.provider).running++;
    this.runningTotal++;
    return true;
  }

  /** The sessions queued for one provider, in no particular order. */
  *queuedOf(provider: string): Generator<T> {
    const lane = this.lanes.get(provider);
    if (lane !== undefined) for (const bucket of lane.buckets) yield* bucket;
  }

  /** Every queued session, in no particular order. */
  *queuedItems(): Generator<T> {
    for (const lane of this.lanes.values()) for (const bucket of lane.buckets) yield* bucket;
  }

  /** Registers a provider up front so status lists it before its first session. */
  lane(provider: string): Lane<T> {
    let lane = this.lanes.get(provider);
    if (lane === undefined) {
      lane = new Lane<T>(this.limits.perProvider[provider] ?? Number.POSITIVE_INFINITY);
      this.lanes.set(provider, lane);
    }
    return lane;
  }
}

/** Whether `a` goes before `b` of another lane: the higher priority, then the lower depth, then the earlier arrival. */
function ahead(a: Schedulable, b: Schedulable): boolean {
  // Stryker disable next-line EqualityOperator: the priorities differ here, so `>=` is `>`.
  if (a.priority !== b.priority) return a.priority > b.priority;
  const depthA = a.depth ?? 0;
  const depthB = b.depth ?? 0;
  // Stryker disable next-line EqualityOperator: seqs are unique, never equal.
  return depthA !== depthB ? depthA < depthB : a.seq < b.seq;
}
