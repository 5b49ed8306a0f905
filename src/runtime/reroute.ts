/**
 * A session whose provider cannot take it before its deadline moves on to its next fallback target
 * at once, instead of waiting to time out (docs/routing.md, "When a session moves on"). Decided
 * here once, from the limiter's refusal, for both backends: the in-memory admission loop
 * (`local-limits.ts`) and a shared queue's lease (`src/scale/lease-runner.ts`) ask it of a queued
 * session, and the gate of a due retry or hop (`local-limits.ts`, in memory and on a shared
 * limiter) of a running one; the session machine's `session.reroute` does the rest.
 */
import { canRerouteQueued, fallbackTarget } from '../../machines/routing.js';
import {
  initialContext,
  type SessionContext,
  type SessionInput,
  type SessionMachineEvent,
} from '../../machines/session.js';
import type { TroupeErrorData } from '../core/errors.js';
import type { Acquired, LimitName } from './limiter.js';
import type { RunRecord } from './ports.js';
import { contextOfRun, type SessionRecord } from './session-record.js';

/** What refused a start: its limit, and when it may let one go (`null`: when a probe answers). */
export interface Refusal {
  readonly limit: LimitName;
  readonly at: number | null;
}

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
  const error = cooldownError(input.provider, 'queue', input.queueDeadlineAt, at, now);
  return canRerouteQueued(initialContext(input), error) ? error : undefined;
}

/**
 * The error a running session between attempts (a due retry, or a hop to its next target) moves on
 * with, or `undefined` when it waits: the provider it would call next is cooling down until at or
 * past its run deadline, and its chain has a target after that one.
 */
export function rerouteHeld(
  context: SessionContext,
  provider: string,
  refused: Refusal,
  now: number,
): TroupeErrorData | undefined {
  if (refused.limit !== 'cooldown') return undefined;
  const deadline = context.runDeadlineAt;
  // A cooldown with no end waits for its probe, as above.
  const at = refused.at ?? Number.NEGATIVE_INFINITY;
  // Stryker disable next-line ConditionalExpression: narrows the type; without a run deadline `fallbackTarget` finds no RATE_LIMITED to move on for.
  if (deadline === null || at < deadline) return undefined;
  const error = cooldownError(provider, 'run', deadline, at, now);
  return fallbackTarget(context, error, now) !== -1 ? error : undefined;
}

/**
 * `rerouteHeld` for a session known by its run record: a hop a shared backend recorded, about to
 * move to its target's queue, which need not wait there for a slot it could not use.
 */
export function rerouteOfRun(
  input: SessionInput,
  run: RunRecord,
  provider: string,
  refused: Refusal,
  now: number,
): TroupeErrorData | undefined {
  return rerouteHeld(contextOfRun(input, run, null), provider, refused, now);
}

/**
 * A due retry or hop of `record` that `provider` refused (`held`): when that is a cooldown past its
 * run deadline and its chain goes on, its `reroute` is set and `true` returned; the pump or the
 * shared limiter's `go` then sends it (`heldGoes`). A queued session is left to `rerouteOnCooldown`.
 */
export function markHeldReroute(
  record: SessionRecord,
  provider: string,
  held: Refusal,
  now: number,
): boolean {
  if (!record.admitted || record.input.targets === undefined) return false;
  // Stryker disable next-line ConditionalExpression: a shortcut before the snapshot's read; `rerouteHeld` refuses other limits too.
  if (held.limit !== 'cooldown') return false;
  const context = record.actor?.getSnapshot().context;
  if (context !== undefined) record.reroute = rerouteHeld(context, provider, held, now);
  return record.reroute !== undefined;
}

/** What a held session is sent when it may go: the reroute the gate found for it, else its tick. */
export function heldGoes(record: SessionRecord, now: number): SessionMachineEvent {
  const error = record.reroute;
  if (error === undefined) return { type: 'session.tick', now };
  record.reroute = undefined;
  return { type: 'session.reroute', now, error };
}

function cooldownError(
  provider: string,
  deadline: 'queue' | 'run',
  deadlineAt: number,
  at: number,
  now: number,
): TroupeErrorData {
  const waitMs = Math.max(0, at - now);
  return {
    family: 'provider',
    code: 'RATE_LIMITED',
    message: `Expected provider \`${provider}\` to take calls before this session's ${deadline} deadline (${new Date(deadlineAt).toISOString()}), got it cooling down after a 429 until ${new Date(at).toISOString()} (in ${Math.ceil(waitMs / 1000)} s); moved to the next fallback`,
    retryable: true,
    retryAfterMs: waitMs,
  };
}
