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
import { Buffer } from 'node:buffer';
import type { SessionSummary } from '../runtime/types.js';

/** The most sessions one answer lists, in each list. */
export const SESSIONS_PAGE_MAX = 100;
/** The most bytes of session JSON one answer lists, in each list (an entry alone may be larger). */
export const SESSIONS_PAGE_BYTES = 32 * 1024;

export type Page<T> = { readonly shown: T[]; readonly more: number };

/**
 * The first entries of `entries`, up to `limit` (at most `SESSIONS_PAGE_MAX`) and
 * `SESSIONS_PAGE_BYTES` of JSON (always the first, however large), and how many of `entries` it
 * left out (`more`).
 */
export function firstPage<T>(entries: readonly T[], limit = SESSIONS_PAGE_MAX): Page<T> {
  const wanted = Math.min(limit, entries.length);
  const shown: T[] = [];
  let bytes = 0;
  for (const entry of entries.slice(0, Math.min(wanted, SESSIONS_PAGE_MAX))) {
    bytes += Buffer.byteLength(JSON.stringify(entry));
    if (shown.length > 0 && bytes > SESSIONS_PAGE_BYTES) break;
    shown.push(entry);
  }
  return { shown, more: entries.length - shown.length };
}

export type RecentPage =
  | { readonly ok: true; readonly shown: SessionSummary[]; readonly next?: string }
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
  const { shown } = firstPage(recent.slice(start), limit);
  const last = shown.at(-1);
  const more = start + shown.length < recent.length;
  return last !== undefined && more ? { ok: true, shown, next: last.sessionId } : { ok: true, shown };
}
