/**
 * What one caller (a token's name, `anonymous` without one) holds of something the HTTP front
 * bounds for everyone: 2025-era MCP sessions, open 2026-07-28 `subscriptions/listen` streams. A
 * share per caller keeps one client from taking all of it and locking the others (the admin token
 * included) out. `http.ts` uses it.
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

  clear(): void {
    this.#held.clear();
  }
}
