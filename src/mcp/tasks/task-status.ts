/**
 * How a task's status follows its sessions: queued and running are `working`; a call that ended
 * `done` is `completed`; failed and timed out are `failed`; cancelled is `cancelled`. Pure.
 */

import type { TaskStatus } from '../../ports/task-store.js';
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

/** What a working task is doing now, from its live sessions ("queued, 2 ahead when it joined", "running, 420 chars"). */
export function workingMessage(live: readonly (LiveSession | undefined)[]): string | undefined {
  const parts = live
    .filter((s): s is LiveSession => s !== undefined)
    .map((s) =>
      s.state === 'queued'
        ? `queued${s.position === undefined ? '' : `, ${s.position} ahead when it joined`}`
        : `running${s.chars === undefined ? '' : `, ${s.chars} chars so far`}`,
    );
  return parts.length === 0 ? undefined : parts.join('; ');
}
