/**
 * The bounded history of ended sessions: summaries only, the oldest dropped first, so memory is
 * bounded by live sessions and this size, never by how many sessions ever ran.
 */
export class History<T extends { readonly sessionId: string }> {
  private readonly ring: (T | undefined)[];
  private next = 0;
  private readonly byId = new Map<string, T>();

  constructor(readonly capacity: number) {
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
