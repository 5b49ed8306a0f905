/**
 * A queued session whose provider cannot take it before its queue deadline moves on to its next
 * fallback target at once, instead of waiting to time out (docs/routing.md, "When a session moves
 * on"). Decided here once, from the limiter's refusal, for both backends: the in-memory admission
 * loop (`local-limits.ts`) and a shared queue's lease (`src/scale/lease-runner.ts`) ask the same
 * question when they consider the session, and the session machine's `session.reroute` does the rest.
 */
import { canRerouteQueued } from '../../machines/routing.js';
import { initialContext, type SessionInput } from '../../machines/session.js';
import type { TroupeErrorData } from '../core/errors.js';
import type { Acquired } from './limiter.js';

/**
 * The error a queued session moves on with, or `undefined` when it waits: its provider is cooling
 * down until at or past its queue deadline, and its chain has a next target.
 */
export function rerouteOnCooldown(
  input: SessionInput,
  refused: Acquired,
  now: number,
): TroupeErrorData | undefined {
  if (refused.ok || refused.limit !== 'cooldown') return undefined;
  // Stryker disable next-line ConditionalExpression: a shortcut; `canRerouteQueued` is false without a chain too.
  if (input.targets === undefined) return undefined;
  // A cooldown with no end (`at: null`) lasts until its probe answers: the session waits for that.
  const at = refused.at ?? Number.NEGATIVE_INFINITY;
  if (at < input.queueDeadlineAt) return undefined;
  const waitMs = Math.max(0, at - now);
  const error: TroupeErrorData = {
    family: 'provider',
    code: 'RATE_LIMITED',
    message: `Expected provider \`${input.provider}\` to take calls before this session's queue deadline (${new Date(input.queueDeadlineAt).toISOString()}), got it cooling down after a 429 until ${new Date(at).toISOString()} (in ${Math.ceil(waitMs / 1000)} s); moved to the next fallback`,
    retryable: true,
    retryAfterMs: waitMs,
  };
  return canRerouteQueued(initialContext(input), error) ? error : undefined;
}
