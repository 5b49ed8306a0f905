/**
 * Where a session is and when it must next wake: its leaf state, the time of its next
 * `session.tick` read from a snapshot, and when a retry may come. Plain functions of the session
 * machine's context.
 */
import type { TroupeErrorData } from '../src/core/errors.js';
import type { SessionContext } from './session.js';

/** The delay before the next attempt: exponential with full jitter, never below a provider's hint. */
export function backoffDelayMs(context: SessionContext, error: TroupeErrorData, random: number): number {
  const ceiling = Math.min(
    context.input.backoffMaxMs,
    context.input.backoffBaseMs * 2 ** Math.max(0, context.attempts - 1),
  );
  const jittered = Math.floor(ceiling * random);
  return Math.max(jittered, error.retryAfterMs ?? 0);
}

/**
 * Whether the current target has an attempt left for `error` at `now` and its backoff ends before
 * the run deadline. Retries are counted per target: a fallback starts with the full number again.
 */
export function retryFits(
  context: SessionContext,
  error: TroupeErrorData,
  now: number,
  random: number,
): boolean {
  if (context.attempts - (context.routing?.firstAttempt ?? 0) >= context.input.maxAttempts) return false;
  const retryAt = now + backoffDelayMs(context, error, random);
  return context.runDeadlineAt === null || retryAt < context.runDeadlineAt;
}

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
