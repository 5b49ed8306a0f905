/**
 * One answer's page of a session list (the `sessions` tool's `recent` and `live_by_state`): at
 * most `SESSIONS_PAGE_MAX` entries and `SESSIONS_PAGE_BYTES` of their JSON, so what one small call
 * makes the server build is bounded whatever it asks. Before 2026-12-05 an answer held every
 * session asked for: a batch of 100 `sessions` calls with `recent_limit` 1000 (an 11 KB request)
 * made `troupe serve` build a 30 MB answer (0.9 s of its CPU, 90 MB more at its peak). The recent
 * list is paged: an answer that stops short of what remains names where it stopped (`next`, the
 * last session shown), and the next call asks for what comes after it (`cursor`), so a client gets
 * the whole history by paging and loses nothing. The live lists change every moment (sessions
 * start and end between two calls), so they are not paged: an answer shows the oldest of each state
 * (those live longest) and counts the rest; any one of them is read by its id.
 */
import { jsonBytes } from '../core/json-bytes.js';
import type { SessionSummary } from '../runtime/types.js';
import { RECENT_SCAN } from './scope.js';

/** The most sessions one answer lists, in each list. */
export const SESSIONS_PAGE_MAX = 100;
/** The most bytes of session JSON one answer lists, in each list (an entry alone may be larger). */
export const SESSIONS_PAGE_BYTES = 32 * 1024;

/**
 * The entries of `entries` from `start` on, up to `limit` (at most `SESSIONS_PAGE_MAX`) and
 * `SESSIONS_PAGE_BYTES` of JSON (always the first, however large).
 */
function page<T>(entries: readonly T[], start: number, limit: number): { shown: T[]; bytes: number } {
  const end = Math.min(entries.length, start + Math.min(limit, SESSIONS_PAGE_MAX));
  const shown: T[] = [];
  let bytes = 0;
  for (let i = start; i < end; i++) {
    const entry = jsonBytes(entries[i]);
    if (shown.length > 0 && bytes + entry > SESSIONS_PAGE_BYTES) break;
    bytes += entry;
    shown.push(entries[i] as T);
  }
  return { shown, bytes };
}

/**
 * The live sessions by state, a page of each (the oldest), and how many of each it left out
 * (`notShown`, absent when none): the `sessions` tool's `live_by_state` and `troupe://sessions`.
 */
export function livePages<T extends { readonly state: string }>(live: readonly T[]) {
  const all = {
    queued: live.filter((s) => s.state === 'queued'),
    running: live.filter((s) => s.state === 'running'),
  };
  const queued = page(all.queued, 0, SESSIONS_PAGE_MAX);
  const running = page(all.running, 0, SESSIONS_PAGE_MAX);
  const notShown = {
    queued: all.queued.length - queued.shown.length,
    running: all.running.length - running.shown.length,
  };
  return {
    queued: queued.shown,
    running: running.shown,
    notShown: notShown.queued + notShown.running === 0 ? undefined : notShown,
    /** The bytes of the two lists' entries (their JSON), for the request's answer budget. */
    bytes: queued.bytes + running.bytes,
  };
}

/**
 * How many of the newest ended sessions a `recent` page needs read: without a cursor, the `limit`
 * it may show (at most a page) and one more, which tells whether older ones remain, so a call's
 * cost follows what it lists (until 2026-12-05 every call read `RECENT_SCAN`, 1,000, and built a
 * summary of each: most of a `sessions` call's CPU). A cursor is looked for among the newest
 * `RECENT_SCAN`, as before: where it is, only the history's order tells.
 */
export function recentRead(limit: number, cursor: string | undefined): number {
  return cursor === undefined ? Math.min(limit, SESSIONS_PAGE_MAX) + 1 : RECENT_SCAN;
}

export type RecentPage =
  | {
      readonly ok: true;
      readonly shown: SessionSummary[];
      /** The bytes of `shown`'s entries (their JSON), for the request's answer budget. */
      readonly bytes: number;
      readonly next?: string;
    }
  | { readonly ok: false; readonly message: string };

/**
 * The page of `recent` (newest first) after the session `cursor` names (from its start without
 * one), up to `limit` sessions and the page's bounds; `next` names the last one shown when more
 * remain in the list, for the next call's `cursor`.
 */
export function recentPage(
  recent: readonly SessionSummary[],
  limit: number,
  cursor: string | undefined,
): RecentPage {
  const start = cursor === undefined ? 0 : recent.findIndex((s) => s.sessionId === cursor) + 1;
  if (start === 0 && cursor !== undefined) {
    return {
      ok: false,
      message: `Expected \`cursor\` to be the \`recent_next_cursor\` of an earlier answer, naming a session still in the history, got "${cursor}": it has left the history since (or is none of yours); call again without \`cursor\` for the newest`,
    };
  }
  const { shown, bytes } = page(recent, start, limit);
  const last = shown.at(-1);
  const more = start + shown.length < recent.length;
  return last !== undefined && more
    ? { ok: true, shown, bytes, next: last.sessionId }
    : { ok: true, shown, bytes };
}
