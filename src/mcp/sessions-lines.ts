/**
 * The `sessions` tool's text lines for the sessions it lists: one line a session, its id first, so
 * a model that reads only a result's text (most hosts give their model the text content, not
 * `structuredContent`) can name one to `cancel_session` or read it by `session_id`. Until
 * 2026-12-07 the text gave only counts ("Recent: 4 session(s).") and no id at all.
 */
import type { SessionSummary } from '../runtime/types.js';
import type { LiveSession } from './live-sessions.js';

/** One live (queued or running) session: id, tool, provider, and where it is. */
export function liveLine(session: LiveSession): string {
  const where =
    session.state === 'queued'
      ? `queued${session.position === undefined ? '' : `, ${session.position} ahead when it joined`}`
      : `running, ${session.chars ?? 0} chars so far`;
  return `  ${session.sessionId} · ${where} · ${session.provider}${session.label === undefined ? '' : ` · ${session.label}`}`;
}

/** One ended session: id, how it ended, on what, and its attempts. */
export function recentLine(session: SessionSummary): string {
  const code = session.code === undefined ? '' : ` (${session.code})`;
  const took =
    session.endedAt === undefined
      ? ''
      : ` · ${session.endedAt - (session.startedAt ?? session.createdAt)} ms`;
  return `  ${session.sessionId} · ${session.state}${code} · ${session.provider}/${session.model}${session.label === undefined ? '' : ` · ${session.label}`} · ${session.attempts} attempt(s)${took}`;
}

/** The lines for the live lists and the recent page, each list under its heading when not empty. */
export function sessionLines(
  live: { readonly queued: readonly LiveSession[]; readonly running: readonly LiveSession[] },
  recent: readonly SessionSummary[],
): string[] {
  return [
    ...(live.running.length === 0 ? [] : ['Running:', ...live.running.map(liveLine)]),
    ...(live.queued.length === 0 ? [] : ['Queued:', ...live.queued.map(liveLine)]),
    ...(recent.length === 0 ? [] : ['Recent, newest first:', ...recent.map(recentLine)]),
  ];
}
