/**
 * How a task's status follows its sessions: queued and running are `working`; a call that ended
 * `done` is `completed`; failed and timed out are `failed`; cancelled is `cancelled`. Pure.
 */

import type { TaskStatus } from '../../ports/task-store.js';
import type { SessionSummary } from '../../runtime/types.js';
import type { LiveSession } from '../live-sessions.js';
import type { ToolOutcome } from '../tool.js';

/** The terminal status and its message for a finished tool call. */
export function finalStatus(outcome: ToolOutcome): { status: TaskStatus; statusMessage: string } {
  const { structured } = outcome;
  if (structured.ok) return { status: 'completed', statusMessage: 'done' };
  const error = structured.error;
  if (error?.code === 'CANCELLED')
    return { status: 'cancelled', statusMessage: cancelledMessage(error.message) };
  return {
    status: 'failed',
    statusMessage: error === undefined ? 'failed' : `${error.code}: ${error.message}`,
  };
}

/**
 * A cancelled call's reason said once: the session's "Cancelled: <reason>" with its reason's own
 * "cancelled …" kept ("cancelled with cancel_session"), any other reason after "cancelled: ". Until
 * 2026-12-07 it read "cancelled: Cancelled: cancelled with cancel_session".
 */
function cancelledMessage(message: string): string {
  const reason = message.replace(/^Cancelled: /, '');
  return /^cancelled\b/i.test(reason) ? reason : `cancelled: ${reason}`;
}

/** One session of a task as this instance sees it: its live progress, and the runtime's summary. */
export interface TaskSession {
  readonly live?: LiveSession | undefined;
  readonly summary?: SessionSummary | undefined;
  /** A model refused before its session existed: who was asked (`provider/model`), and the code. */
  readonly refused?: { readonly who: string; readonly code: string } | undefined;
}

/**
 * What a working task is doing now, one part per session in the order they started ("queued, 2
 * ahead when it joined", "running, 420 chars"). Several sessions (consensus: one per model) each lead
 * with their provider and model, and an ended one says how it ended ("fast/sim-fast: done",
 * "failed (AUTH_FAILED)"): until 2026-12-07 an ended session's part was left out, and a poller could
 * not tell which model the others were. A model refused before its session existed says so
 * ("broken/sim-fast: refused (UNKNOWN_MODEL)"; until 2026-12-07 it had no part). A session the
 * runtime no longer holds has no part.
 */
export function workingMessage(sessions: readonly TaskSession[]): string | undefined {
  const parts: string[] = [];
  for (const session of sessions) {
    const text = sessionText(session);
    if (text === undefined) continue;
    const summary = session.summary;
    const who =
      session.refused?.who ?? `${summary?.provider ?? session.live?.provider}/${summary?.model ?? '?'}`;
    parts.push(sessions.length === 1 ? text : `${who}: ${text}`);
  }
  return parts.length === 0 ? undefined : parts.join('; ');
}

function sessionText({ live, summary, refused }: TaskSession): string | undefined {
  if (refused !== undefined) return `refused (${refused.code})`;
  const state = live?.state ?? summary?.state;
  switch (state) {
    case undefined:
      return undefined;
    case 'queued':
      return `queued${live?.position === undefined ? '' : `, ${live.position} ahead when it joined`}`;
    case 'running':
      return `running${live?.chars === undefined ? '' : `, ${live.chars} chars so far`}`;
    case 'done':
      return 'done';
    case 'cancelled':
      return 'cancelled';
    default:
      return `${state === 'timedOut' ? 'timed out' : 'failed'}${summary?.code === undefined ? '' : ` (${summary.code})`}`;
  }
}
