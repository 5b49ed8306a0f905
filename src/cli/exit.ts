/**
 * The end of a serving command (`serve`, `stdio`). A module of its own so that `troupe stdio` does
 * not load `serve.ts` for it, and with it the HTTP front, the dashboard and the metrics (until
 * 2026-12-06 it did: about a third of its start-up).
 */

/** Exits even if a stray handle keeps the loop alive; an unref'd timer never delays a clean exit. */
export function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 500).unref();
}
