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
 * How many ended sessions a `recent` page needs read, after its cursor (from the newest without
 * one): the `limit` it may show (at most a page) and one more, which tells whether older ones
 * remain, so a call's cost follows what it lists. Until 2026-12-05 every call read `RECENT_SCAN`,
 * 1,000, and built a summary of each (most of a `sessions` call's CPU); until 2026-12-06 a call with
 * a cursor still did, to find the cursor among them: the history now reads on from the cursor's
 * own entry (`status({ after })`).
 */
export function recentRead(limit: number): number {
  return Math.min(limit, SESSIONS_PAGE_MAX) + 1;
}

/** Why a `cursor` is refused: it names no ended session this caller lists (gone from the history, or another's). */
export function cursorRefused(cursor: string): string {
  return `Expected \`cursor\` to be the \`recent_next_cursor\` of an earlier answer, naming a session still in the history, got "${cursor}": it has left the history since (or is none of yours); call again without \`cursor\` for the newest`;
}

/**
 * The page of `recent` (newest first, from the first after the cursor when there is one), up to
 * `limit` sessions and the page's bounds; `next` names the last one shown when more remain in the
 * list, for the next call's `cursor`.
 */
export function recentPage(
  recent: readonly SessionSummary[],
  limit: number,
): { readonly shown: SessionSummary[]; readonly bytes: number; readonly next?: string } {
  const { shown, bytes } = page(recent, 0, limit);
  const last = shown.at(-1);
  return last !== undefined && shown.length < recent.length
    ? { shown, bytes, next: last.sessionId }
    : { shown, bytes };
}
