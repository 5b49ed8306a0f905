import { metadataSummary } from './session-record.js';
import type { SessionMetadata, SessionSummary } from './types.js';

/**
 * The bounded history of ended sessions: summaries only, the oldest dropped first, so memory is
 * bounded by live sessions and this size, never by how many sessions ever ran.
 */
export class History<T extends { readonly sessionId: string }> {
  private readonly ring: (T | undefined)[];
  private next = 0;
  private readonly byId = new Map<string, T>();

  constructor(readonly capacity: number) {
    // Stryker disable next-line ArrayDeclaration: preallocation only; an unset slot reads `undefined` either way.
    this.ring = new Array(capacity);
  }

  get size(): number {
    return this.byId.size;
  }

  add(item: T): void {
    if (this.capacity === 0) return;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.byId.delete(evicted.sessionId);
    this.ring[this.next] = item;
    this.byId.set(item.sessionId, item);
    this.next = (this.next + 1) % this.capacity;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /** Puts `item` in the place of the entry of its id (added if there is none): a corrected end. */
  replace(item: T) {
    const slot = this.ring.findIndex((kept) => kept?.sessionId === item.sessionId);
    if (slot === -1) return this.add(item);
    this.ring[slot] = item;
    this.byId.set(item.sessionId, item);
  }

  /** Most recent first. */
  recent(limit = this.capacity): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const item = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (item === undefined) break;
      out.push(item);
    }
    return out;
  }
}

/**
 * The local runtime's history: the same ring, but it keeps each ended session's result metadata and
 * its three times in typed arrays, and builds the summary only when asked. Nothing is allocated per
 * session but the index entry: the runtime ends tens of thousands of sessions a second and reads
 * its history rarely.
 */
export class EndedSessions {
  private readonly ring: (SessionMetadata | undefined)[];
  private readonly times: Float64Array;
  private next = 0;
  private readonly slotOf = new Map<string, number>();

  constructor(readonly capacity: number) {
    // Stryker disable next-line ArrayDeclaration: preallocation only; an unset slot reads `undefined` either way.
    this.ring = new Array(capacity);
    this.times = new Float64Array(capacity * 3);
  }

  /** `startedAt` is `null` for a session that never started. */
  add(metadata: SessionMetadata, createdAt: number, startedAt: number | null, endedAt: number): void {
    if (this.capacity === 0) return;
    const slot = this.next;
    const evicted = this.ring[slot];
    if (evicted !== undefined) this.slotOf.delete(evicted.sessionId);
    this.ring[slot] = metadata;
    this.times[slot * 3] = createdAt;
    this.times[slot * 3 + 1] = startedAt ?? Number.NaN;
    this.times[slot * 3 + 2] = endedAt;
    this.slotOf.set(metadata.sessionId, slot);
    this.next = (slot + 1) % this.capacity;
  }

  get(id: string): SessionSummary | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.summary(slot);
  }

  /** Most recent first. */
  recent(limit = this.capacity): SessionSummary[] {
    const out: SessionSummary[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const slot = (this.next - i + this.capacity) % this.capacity;
      if (this.ring[slot] === undefined) break;
      out.push(this.summary(slot));
    }
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
