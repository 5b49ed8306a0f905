/**
 * What one caller holds of something the HTTP front bounds for everyone: 2025-era MCP sessions and
 * open 2026-07-28 `subscriptions/listen` streams (by token name, `anonymous` without one), and
 * open requests (by scope key, `http-open.ts`). A share per caller keeps one client from taking
 * all of it and locking the others (the admin token included) out. `http.ts` uses it.
 */
export class CallerSlots {
  readonly #held = new Map<string, number>();

  constructor(readonly perCaller: number) {}

  /** Whether `caller` holds its whole share. */
  full(caller: string): boolean {
    return (this.#held.get(caller) ?? 0) >= this.perCaller;
  }

  take(caller: string): void {
    this.#held.set(caller, (this.#held.get(caller) ?? 0) + 1);
  }

  give(caller: string): void {
    const left = (this.#held.get(caller) ?? 1) - 1;
    if (left > 0) this.#held.set(caller, left);
    else this.#held.delete(caller);
  }

  /** Takes a place for `caller` until `res` closes; `false`, taking none, when its share is full. */
  hold(caller: string, res: { once(event: 'close', listener: () => void): unknown }): boolean {
    if (this.full(caller)) return false;
    this.take(caller);
    res.once('close', () => this.give(caller));
    return true;
  }

  clear(): void {
    this.#held.clear();
  }
}
