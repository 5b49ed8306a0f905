/**
 * What one caller holds of something bounded for everyone, against its share: the HTTP front's
 * 2025-era MCP sessions and open 2026-07-28 `subscriptions/listen` streams (by token name,
 * `anonymous` without one) and open requests (by scope key, `http-open.ts`); the runtime's running
 * sessions (by `metadata.owner`, `limits.maxRunningPerCaller`: `src/runtime/running-share.ts` in
 * one process, `src/scale/caller-runs.ts` per instance of a cluster). A share per caller keeps one
 * client from taking all of it and locking the others (the admin token included) out. A caller's
 * count is kept only while above 0, so the table holds no more entries than places are taken.
 */
export class CallerSlots<H = unknown> {
  readonly #held = new Map<string, number>();
  /** Who holds a place taken with `takeFor`, and whose place it is. */
  readonly #holders = new Map<H, string>();

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

  /** `holder` (a session) takes a place of `caller`'s until `release(holder)`; a second take of one holder takes none. */
  takeFor(holder: H, caller: string): void {
    if (this.#holders.has(holder)) return;
    this.take(caller);
    this.#holders.set(holder, caller);
  }

  /** `holder`'s place frees; the caller it was of, or `undefined` when it held none. */
  release(holder: H): string | undefined {
    const caller = this.#holders.get(holder);
    // Stryker disable next-line ConditionalExpression: a holder with no place has no caller: `give` of `undefined` changes nothing, and `undefined` is returned either way.
    if (caller === undefined) return undefined;
    this.#holders.delete(holder);
    this.give(caller);
    return caller;
  }

  /** How many callers hold a place. */
  get callers(): number {
    return this.#held.size;
  }

  /** How many places `caller` holds. */
  heldBy(caller: string): number {
    return this.#held.get(caller) ?? 0;
  }

  /** The callers holding their whole share. */
  *atShare(): Generator<string> {
    for (const [caller, held] of this.#held) if (held >= this.perCaller) yield caller;
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
    this.#holders.clear();
  }
}
