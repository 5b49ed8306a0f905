/**
 * A session's fallback chain as plain data, and the pure rules the session machine applies to it:
 * which errors move a session to its next target, which target that is, and the route it leaves.
 *
 * A session without fallbacks has no chain (`SessionInput.targets` absent, `routing` null) and
 * pays nothing for any of this. With one, `targets[0]` is the request's own provider and model and
 * the rest are its fallbacks in order; admission resolved every target and checked the request's
 * estimate against each known context window (`fits`) before the session was queued.
 */
import type { TroupeErrorCode, TroupeErrorData } from '../src/core/errors.js';
import type { SessionContext } from './session.js';

/** One place a session may call. */
export interface RouteTargetData {
  readonly provider: string;
  readonly model: string;
  /** The model's context window, in tokens; `null` when unknown (an unknown window is not checked). */
  readonly contextWindow: number | null;
  /** Whether the request's estimate (prompt plus completion budget) fits the window. */
  readonly fits: boolean;
}

/** One entry of the route: a target the session called or skipped, and how that ended. */
export interface RouteHopData {
  readonly provider: string;
  readonly model: string;
  /** `done` for the target that answered, else the error code that ended its turn. */
  readonly outcome: 'done' | TroupeErrorCode;
  /** Time spent on this target, in ms (0 for one skipped without a call). */
  readonly ms: number;
}

/** Where a session with fallbacks is in its chain. */
export interface RoutingData {
  /** Index into `SessionInput.targets` of the target being called. */
  readonly target: number;
  /** When the current target's turn began; `null` until the session starts (then `startedAt`). */
  readonly since: number | null;
  /** `attempts` when the current target's turn began: retries are counted per target. */
  readonly firstAttempt: number;
  /** The target the last hop left (-1 before any): `route[left]` says how its turn ended. */
  readonly left: number;
  /** The targets before the current one, in order: `route[i]` is `targets[i]`, called or skipped. */
  readonly route: readonly RouteHopData[];
}

/**
 * Errors that move a session to its next target rather than retrying the same one: the vendor is
 * out of quota, down or unreachable, the model is not there for this key (unknown, or not in the
 * account's plan: GLM 1311), or the prompt is too long for its window. A call's `TIMED_OUT` is an
 * answer read whole that stalled past `idleTimeoutMs` (the run deadline is never a call's error):
 * it moves on as a stream that sent no delta in time does (`canFallBackOnIdle`). A `RATE_LIMITED`
 * whose wait (`retryAfterMs`, a provider's cooldown) reaches past the run deadline moves too: the
 * same target could not answer in time. A cooldown the runtime imposes itself can use that path by
 * reporting `RATE_LIMITED` with the cooldown's remaining time as `retryAfterMs`.
 */
const FALLBACK_CODES: ReadonlySet<TroupeErrorCode> = new Set<TroupeErrorCode>([
  'QUOTA_EXHAUSTED',
  'PROVIDER_UNAVAILABLE',
  'NETWORK',
  'MODEL_NOT_FOUND',
  'CONTEXT_TOO_LONG',
  'TIMED_OUT',
]);

export function isFallbackError(error: TroupeErrorData, now: number, runDeadlineAt: number | null): boolean {
  if (FALLBACK_CODES.has(error.code)) return true;
  return (
    error.code === 'RATE_LIMITED' &&
    // Stryker disable next-line ConditionalExpression: without a hint `now + undefined` is NaN, never >= the deadline.
    error.retryAfterMs !== undefined &&
    runDeadlineAt !== null &&
    now + error.retryAfterMs >= runDeadlineAt
  );
}

/**
 * The target a session moves to after `error` at `now` (`null`: no delta came within the idle
 * timeout of the call's start), or -1 when it does not move: no chain, an error that is not a
 * fallback's, no target left, or the run deadline reached (a route never runs past it).
 * `retriesLeft`: whether the current target could retry `error` (its attempts, its wait before
 * the deadline); a retryable error it cannot retry (a 429 on every attempt) moves on too.
 */
export function fallbackTarget(
  context: SessionContext,
  error: TroupeErrorData | null,
  now: number,
  retriesLeft = true,
): number {
  const { routing, input, runDeadlineAt } = context;
  if (routing === null || input.targets === undefined) return -1;
  if (runDeadlineAt !== null && now >= runDeadlineAt) return -1;
  if (error !== null && !isFallbackError(error, now, runDeadlineAt) && (retriesLeft || !error.retryable))
    return -1;
  // Stryker disable next-line StringLiteral: nextTarget tells only CONTEXT_TOO_LONG apart from other codes.
  return nextTarget(input.targets, routing, error === null ? 'TIMED_OUT' : error.code);
}

/**
 * Whether a queued session may start by moving past its first target, which cannot take it before
 * its queue deadline (a cooldown, an open breaker): it has a chain and a next target that fits.
 */
export function canRerouteQueued(context: SessionContext, error: TroupeErrorData): boolean {
  const { routing, input } = context;
  if (routing === null || input.targets === undefined) return false;
  return nextTarget(input.targets, routing, error.code) !== -1;
}

/** The context after the current target's turn ended with `error` at `now`: the next one is due now. */
export function fallBackTo(
  context: SessionContext,
  error: TroupeErrorData,
  now: number,
): Partial<SessionContext> {
  const targets = context.input.targets as readonly RouteTargetData[];
  const routing = context.routing as RoutingData;
  const next = nextTarget(targets, routing, error.code);
  return {
    error,
    retryAt: now,
    routing: hop(targets, routing, next, error.code, now, context.startedAt, context.attempts),
  };
}

/** The routing a session starts with: at the first target that fits, the ones before it skipped. */
export function initialRouting(targets: readonly RouteTargetData[]): RoutingData {
  const first = targets.findIndex((t) => t.fits);
  const target = first === -1 ? 0 : first;
  return { target, since: null, firstAttempt: 0, left: -1, route: skipped(targets, 0, target) };
}

/**
 * The index of the target after the current one that can take over, or -1. A target whose window
 * the estimate does not fit is passed over; after `CONTEXT_TOO_LONG` only a target with a larger
 * known window than the current one's (any known window when the current one's is unknown) is.
 */
export function nextTarget(
  targets: readonly RouteTargetData[],
  routing: RoutingData,
  code: TroupeErrorCode,
): number {
  const current = targets[routing.target];
  // Stryker disable next-line OptionalChaining: routing.target is always an index of targets.
  const window = current?.contextWindow ?? null;
  for (let i = routing.target + 1; i < targets.length; i++) {
    const t = targets[i] as RouteTargetData;
    if (!t.fits) continue;
    if (code === 'CONTEXT_TOO_LONG' && !largerWindow(t.contextWindow, window)) continue;
    return i;
  }
  return -1;
}

/** Whether `next` is a known window larger than `current` (any known one when `current` is unknown). */
function largerWindow(next: number | null, current: number | null): boolean {
  if (next === null) return false;
  // Stryker disable next-line ConditionalExpression: `next > null` compares with 0, and no window is 0 or less.
  return current === null || next > current;
}

/** The routing after the current target's turn ended with `code` at `now` and `next` takes over. */
export function hop(
  targets: readonly RouteTargetData[],
  routing: RoutingData,
  next: number,
  code: TroupeErrorCode,
  now: number,
  startedAt: number | null,
  attempts: number,
): RoutingData {
  const route = [
    ...routing.route,
    entry(targets[routing.target], code, now - (routing.since ?? startedAt ?? now)),
  ];
  for (const passed of skipped(targets, routing.target + 1, next)) route.push(passed);
  return { target: next, since: now, firstAttempt: attempts, left: routing.target, route };
}

/** The whole route of an ended session: the targets before, then the last one with its outcome. */
export function finalRoute(
  targets: readonly RouteTargetData[],
  routing: RoutingData,
  outcome: RouteHopData['outcome'],
  endedAt: number,
  startedAt: number | null,
): readonly RouteHopData[] {
  // A session that never started (cancelled or timed out in the queue) called no target.
  if (startedAt === null) return routing.route;
  return [...routing.route, entry(targets[routing.target], outcome, endedAt - (routing.since ?? startedAt))];
}

function skipped(targets: readonly RouteTargetData[], from: number, to: number): RouteHopData[] {
  const out: RouteHopData[] = [];
  for (let i = from; i < to; i++) out.push(entry(targets[i], 'CONTEXT_TOO_LONG', 0));
  return out;
}

function entry(
  target: RouteTargetData | undefined,
  outcome: RouteHopData['outcome'],
  ms: number,
): RouteHopData {
  const t = target as RouteTargetData;
  return { provider: t.provider, model: t.model, outcome, ms };
}
