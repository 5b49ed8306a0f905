/**
 * The last `size` keys seen, oldest forgotten first: what a wake-up that may arrive before the
 * wait it ends looks back on (`SessionQueue.wake`, `LocalLimits.wake`: a probe's session that
 * ended while a session held by it was still being put back).
 */
export class Recent {
  private readonly keys = new Set<string>();

  constructor(private readonly size: number) {}

  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.size) this.keys.delete(this.keys.values().next().value as string);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Whether `key` was seen, forgetting it: what it lets happen happens once. */
  take(key: string): boolean {
    return this.keys.delete(key);
  }
}
