import { ownerIn } from '../core/metadata.js';
import { metadataSummary } from './session-record.js';
import type { SessionMetadata, SessionSummary } from './types.js';

/** No slot (an end of a list). */
const NONE = -1;

/** One caller's entries in the history: its oldest and newest slot, and how many it holds. */
interface Holder {
  readonly owner: string | undefined;
  oldest: number;
  newest: number;
  count: number;
}

/**
 * Which ended sessions a bounded history keeps, written once for both histories below. The
 * newest entry always goes in; once the history is full, one entry makes room for it, the oldest
 * of the caller holding the most (`metadata.owner`; sessions without one count as one caller). So
 * a caller running calls fast pushes out its own ended sessions, not another's: before, one list
 * for every caller let a thousand calls of one client make every other client's sessions unknown.
 * On a tie the new entry's own caller gives way when it is among the largest; otherwise the one
 * that has held that many the longest. With one caller this is the plain ring (oldest first).
 *
 * Slots are linked twice, in the order entries came (for `recent`) and within each caller; both
 * lists live in typed arrays, so an entry costs no allocation but its index entry.
 */
class Slots {
  private readonly ids: (string | undefined)[];
  private readonly holderOf: (Holder | undefined)[];
  /** The order entries came: toward the oldest and toward the newest. */
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  /** The same within each caller. */
  private readonly ownOlder: Int32Array;
  private readonly ownNewer: Int32Array;
  private newest = NONE;
  /** Slots never used yet start at `fresh`; freed ones wait in `free`. */
  private fresh = 0;
  private readonly free: number[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly holders = new Map<string | undefined, Holder>();
  /** The callers holding each count of entries (1 and more), in the order they came to hold it. */
  private readonly atCount: (Set<Holder> | undefined)[] = [];
  private most = 0;

  constructor(readonly capacity: number) {
    // Stryker disable next-line ArrayDeclaration: preallocation only; an unset slot reads `undefined` either way.
    this.ids = new Array(capacity);
    // Stryker disable next-line ArrayDeclaration: preallocation only, as above.
    this.holderOf = new Array(capacity);
    this.older = new Int32Array(capacity);
    this.newer = new Int32Array(capacity);
    this.ownOlder = new Int32Array(capacity);
    this.ownNewer = new Int32Array(capacity);
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** How many callers hold entries. */
  get callers(): number {
    return this.holders.size;
  }

  find(id: string): number | undefined {
    return this.slotOf.get(id);
  }

  /**
   * The slot for a new entry `id` of `owner`, made the newest: a free one, or the one given up by
   * the rule above. An entry already held for `id` is dropped first. `-1` with capacity 0.
   */
  place(id: string, owner: string | undefined): number {
    if (this.capacity === 0) return NONE;
    const held = this.slotOf.get(id);
    if (held !== undefined) {
      this.drop(held);
      this.free.push(held);
    }
    let holder = this.holders.get(owner);
    let slot: number;
    if (this.fresh < this.capacity) slot = this.fresh++;
    else if (this.free.length > 0) slot = this.free.pop() as number;
    else {
      const giving = holder !== undefined && holder.count === this.most ? holder : this.firstAtMost();
      slot = giving.oldest;
      if (giving === holder) {
        // Its own oldest makes room: its count stays, and so does its place among the counts.
        this.unlink(slot, holder, false);
        this.link(slot, id, holder, false);
        return slot;
      }
      this.drop(slot);
    }
    if (holder === undefined) {
      holder = { owner, oldest: NONE, newest: NONE, count: 0 };
      this.holders.set(owner, holder);
    }
    this.link(slot, id, holder, true);
    return slot;
  }

  /**
   * Slots from the newest, at most `limit`: every caller's, or with `owner` given (a string) only
   * that caller's, from its own list (so its newest are found however many others ended since).
   * With `after`, those older than its entry, in the same list: a page goes on from where the last
   * ended, reading no slot before it (none when `after` is not held, or is another caller's).
   */
  *newestFirst(limit: number, owner?: string, after?: string): Generator<number> {
    const own = owner !== undefined;
    const step = own ? this.ownOlder : this.older;
    let slot = own ? (this.holders.get(owner)?.newest ?? NONE) : this.newest;
    if (after !== undefined) {
      const from = this.slotOf.get(after);
      // Another caller's entry starts nothing: its own list is not this caller's to walk.
      slot =
        from === undefined || (own && (this.holderOf[from] as Holder).owner !== owner)
          ? NONE
          : (step[from] as number);
    }
    for (let n = 0; slot !== NONE && n < limit; slot = step[slot] as number, n++) yield slot;
  }

  private firstAtMost(): Holder {
    return (this.atCount[this.most] as Set<Holder>).values().next().value as Holder;
  }

  /** Takes the entry out of `slot`. */
  private drop(slot: number): void {
    this.unlink(slot, this.holderOf[slot] as Holder, true);
  }

  private link(slot: number, id: string, holder: Holder, counted: boolean): void {
    this.ids[slot] = id;
    this.holderOf[slot] = holder;
    this.slotOf.set(id, slot);
    this.older[slot] = this.newest;
    this.newer[slot] = NONE;
    // Stryker disable next-line ConditionalExpression: with none, the write goes to index -1 of a typed array, which ignores it
    if (this.newest !== NONE) this.newer[this.newest] = slot;
    this.newest = slot;
    this.ownOlder[slot] = holder.newest;
    this.ownNewer[slot] = NONE;
    if (holder.newest === NONE) holder.oldest = slot;
    else this.ownNewer[holder.newest] = slot;
    holder.newest = slot;
    if (counted) this.recount(holder, holder.count + 1);
  }

  private unlink(slot: number, holder: Holder, counted: boolean): void {
    this.slotOf.delete(this.ids[slot] as string);
    this.ids[slot] = undefined;
    this.holderOf[slot] = undefined;
    const older = this.older[slot] as number;
    const newer = this.newer[slot] as number;
    // Stryker disable next-line ConditionalExpression: as in `link`, index -1 of a typed array
    if (older !== NONE) this.newer[older] = newer;
    if (newer === NONE) this.newest = older;
    else this.older[newer] = older;
    const ownOlder = this.ownOlder[slot] as number;
    const ownNewer = this.ownNewer[slot] as number;
    if (ownOlder === NONE) holder.oldest = ownNewer;
    else this.ownNewer[ownOlder] = ownNewer;
    if (ownNewer === NONE) holder.newest = ownOlder;
    else this.ownOlder[ownNewer] = ownOlder;
    if (counted) this.recount(holder, holder.count - 1);
  }

  /**
   * Moves `holder` to the callers holding `count`; `most` follows (a count moves by one). A caller
   * left with none is forgotten, so the callers kept are at most `capacity`.
   */
  private recount(holder: Holder, count: number): void {
    const before = holder.count;
    this.atCount[before]?.delete(holder);
    holder.count = count;
    if (count === 0) this.holders.delete(holder.owner);
    else {
      let set = this.atCount[count];
      if (set === undefined) {
        set = new Set();
        this.atCount[count] = set;
      }
      set.add(holder);
    }
    // Stryker disable next-line EqualityOperator: at `count === most` it sets the same value
    if (count > this.most) this.most = count;
    else if (before === this.most && (this.atCount[before] as Set<Holder>).size === 0) this.most = count;
  }
}

/**
 * The bounded history of ended sessions: summaries only, so memory is bounded by live sessions
 * and this size, never by how many sessions ever ran. Which one goes when it is full: `Slots`.
 */
export class History<T extends { readonly sessionId: string; readonly owner?: string }> {
  private readonly slots: Slots;
  private readonly items: (T | undefined)[];

  constructor(readonly capacity: number) {
    this.slots = new Slots(capacity);
    // Stryker disable next-line ArrayDeclaration: preallocation only; an unset slot reads `undefined` either way.
    this.items = new Array(capacity);
  }

  get size(): number {
    return this.slots.size;
  }

  /** How many callers hold entries: at most `capacity`. */
  get callers(): number {
    return this.slots.callers;
  }

  add(item: T): void {
    const slot = this.slots.place(item.sessionId, item.owner);
    // Stryker disable next-line ConditionalExpression: capacity 0 only; `items[-1]` is read by nobody
    if (slot !== NONE) this.items[slot] = item;
  }

  get(id: string): T | undefined {
    return this.items[this.slots.find(id) ?? NONE];
  }

  /** Puts `item` in the place of the entry of its id (added if there is none): a corrected end. */
  replace(item: T): void {
    const slot = this.slots.find(item.sessionId);
    if (slot === undefined) this.add(item);
    else this.items[slot] = item;
  }

  /** Most recent first; with `owner`, that caller's only; with `after`, those older than that entry. */
  recent(limit = this.capacity, owner?: string, after?: string): T[] {
    const out: T[] = [];
    for (const slot of this.slots.newestFirst(limit, owner, after)) out.push(this.items[slot] as T);
    return out;
  }
}

/**
 * The local runtime's history: the same slots, but it keeps each ended session's result metadata
 * and its three times in typed arrays, and builds the summary only when asked. Nothing is
 * allocated per session but the index entry: the runtime ends tens of thousands of sessions a
 * second and reads its history rarely.
 */
export class EndedSessions {
  private readonly slots: Slots;
  private readonly ring: (SessionMetadata | undefined)[];
  private readonly times: Float64Array;

  constructor(readonly capacity: number) {
    this.slots = new Slots(capacity);
    // Stryker disable next-line ArrayDeclaration: preallocation only; an unset slot reads `undefined` either way.
    this.ring = new Array(capacity);
    this.times = new Float64Array(capacity * 3);
  }

  /** `startedAt` is `null` for a session that never started. */
  add(metadata: SessionMetadata, createdAt: number, startedAt: number | null, endedAt: number): void {
    const slot = this.slots.place(metadata.sessionId, ownerIn(metadata.caller));
    // Stryker disable next-line ConditionalExpression: capacity 0 only; the writes below would go to `ring[-1]` and past the typed array's end, read by nobody
    if (slot === NONE) return;
    this.ring[slot] = metadata;
    this.times[slot * 3] = createdAt;
    this.times[slot * 3 + 1] = startedAt ?? Number.NaN;
    this.times[slot * 3 + 2] = endedAt;
  }

  get(id: string): SessionSummary | undefined {
    const slot = this.slots.find(id);
    return slot === undefined ? undefined : this.summary(slot);
  }

  /** Most recent first; with `owner`, that caller's only; with `after`, those older than that entry. */
  recent(limit = this.capacity, owner?: string, after?: string): SessionSummary[] {
    const out: SessionSummary[] = [];
    for (const slot of this.slots.newestFirst(limit, owner, after)) out.push(this.summary(slot));
    return out;
  }

  private summary(slot: number): SessionSummary {
    const startedAt = this.times[slot * 3 + 1] as number;
    return metadataSummary(this.ring[slot] as SessionMetadata, {
      createdAt: this.times[slot * 3] as number,
      startedAt: Number.isNaN(startedAt) ? null : startedAt,
      endedAt: this.times[slot * 3 + 2] as number,
    });
  }
}
