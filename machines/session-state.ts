/**
 * Where a session is and when it must next wake: its leaf state and the time of its next
 * `session.tick`, read from a snapshot. Plain functions of the session machine's context.
 */
import type { SessionContext } from './session.js';

/** When the runtime must next send `session.tick`, given a state and its context; `null` for never. */
export function nextWakeAt(state: SessionStateValue, context: SessionContext): number | null {
  switch (state) {
    case 'queued':
      return context.input.queueDeadlineAt;
    case 'calling':
    case 'streaming':
      return context.input.stream
        ? minTime(context.runDeadlineAt, context.idleDeadlineAt)
        : context.runDeadlineAt;
    case 'backingOff':
    case 'fallingBack':
      return minTime(context.runDeadlineAt, context.retryAt);
    default:
      return null;
  }
}

/** The leaf state a session is in. */
export type SessionStateValue =
  | 'queued'
  | 'calling'
  | 'streaming'
  | 'backingOff'
  | 'fallingBack'
  | 'done'
  | 'failed'
  | 'timedOut'
  | 'cancelled';

/** Reads the leaf out of a snapshot's `value` (`'queued'`, `{ running: 'backingOff' }`, `{ running: { attempt: 'calling' } }`). */
export function leafState(value: unknown): SessionStateValue {
  if (typeof value === 'string') return value as SessionStateValue;
  const running = (value as { running: unknown }).running;
  if (typeof running === 'string') return running as SessionStateValue;
  return (running as { attempt: SessionStateValue }).attempt;
}

function minTime(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  // Stryker disable next-line EqualityOperator: on a tie both arguments are the same number.
  return a < b ? a : b;
}
