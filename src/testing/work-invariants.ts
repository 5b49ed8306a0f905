/**
 * `workConserved` and `cooldownHint` (see `invariants.ts`), for the in-memory runtime on a
 * simulated clock, judged after each command once its work has settled:
 *
 * - `workConserved`: no session waits in the queue while it could run: the runtime accepting, a
 *   slot free under `maxConcurrent` and under its provider's `perProvider`, its caller
 *   (`metadata.owner`) below `maxRunningPerCaller`, its model below its own `maxConcurrent`, its
 *   provider's own `maxConcurrent`, `requestsPerMinute` and token windows (a minute's, a day's)
 *   and its model's own windows with room (for its estimate), no cooldown of its provider or model (nor a probe's call holding it): all of these
 *   by the model's own count of what runs and starts and of the 429s (`slot-invariants.ts`, which
 *   holds `status()` to it: `statusCounts`), not by what the runtime says; its provider's breaker by
 *   the model's copy (`breaker-invariants.ts`: closed, or it waits). A session left so is a wake-up
 *   the admission loop missed: an end, a window's opening or a cooldown's end that let nothing go.
 * - `cooldownHint`: a `RATE_LIMITED` answer cools its provider (or, per model, its model) down until
 *   its hint: `Retry-After` in seconds or as an HTTP date (docs/providers.md), one second without
 *   one, 10 minutes at most (docs/runtime.md, "Cooldown"); a cooldown already longer stays.
 */
import type { Runtime } from '../runtime/types.js';
import type { Violation } from './invariants.js';
import type { LendingSeen } from './lending-seen.js';
import type { SlotsSeen } from './slot-invariants.js';

/** The longest cooldown a hint may ask for (docs/runtime.md: 10 minutes). */
export const MAX_HINT_MS = 600_000;

/** What the judgment needs to know of the model's run besides the runtime. */
export interface WorkContext {
  /** Whether this caller runs its whole share now. */
  readonly atShare: (owner: string | undefined) => boolean;
  /** Calls in flight on a model, and its own `maxConcurrent` (if any). */
  readonly modelRoom: (provider: string, model: string) => boolean;
  /** The model's own count of the sessions running, each provider's slots and requests started. */
  readonly slots: SlotsSeen;
  /** The configured `maxConcurrent`. */
  readonly maxConcurrent: number;
  /** The state of a provider's breaker by the model's copy (`BreakersSeen`). */
  readonly breakerOf: (provider: string) => 'closed' | 'open' | 'halfOpen';
  /** The model's copy of lent slots: their sessions hold no slot of `maxConcurrent`; a free lender's child may go. */
  readonly lending?: LendingSeen;
}

export class WorkSeen {
  readonly violations: Violation[] = [];
  private readonly reported = new Set<string>();
  constructor(
    private readonly runtime: Pick<Runtime, 'sessions' | 'session'>,
    private readonly context: WorkContext,
  ) {}

  get lending(): LendingSeen | undefined {
    return this.context.lending;
  }

  /**
   * After a command: each queued session waits for something that has no room. A child whose parent
   * runs and lends its slot to no one waits for its own provider's limits only (and, of another
   * caller than its parent's, its caller's share): the parent's slot is there for it.
   */
  check(now: number): void {
    const { slots, maxConcurrent, lending } = this.context;
    if (!slots.accepting) return;
    // Sessions on lent slots are in `running`, on no slot of `maxConcurrent`.
    const held = slots.running - (lending?.onLent ?? 0);
    for (const session of this.runtime.sessions()) {
      if (session.state !== 'queued' || this.reported.has(session.sessionId)) continue;
      const lender = held < maxConcurrent ? undefined : lending?.freeLender(session.sessionId);
      if (held >= maxConcurrent && lender === undefined) continue;
      // Of its lender's caller it takes its lender's place: its caller's share does not hold it.
      const sameCaller = lender !== undefined && this.runtime.session(lender)?.owner === session.owner;
      const why = this.heldBy(session.provider, session.model, sameCaller ? undefined : session.owner, now);
      if (why !== undefined) continue;
      this.reported.add(session.sessionId);
      this.violations.push({
        invariant: 'workConserved',
        detail: `${session.sessionId} (${session.provider}, ${session.owner ?? 'no caller'}) still queued at ${now} with ${held} of ${maxConcurrent} slots held${lender === undefined ? '' : ` and its parent ${lender}'s slot lent to no one`} and every limit it waits for with room`,
      });
    }
  }

  /** Whether `provider`'s queue could start a session of `model` without a caller now (`providerOrder`). */
  laneOpen(provider: string, model: string, now: number): boolean {
    return this.heldBy(provider, model, undefined, now) === undefined;
  }

  /** What holds a session of `provider`/`model`/`owner` now, `undefined` when nothing does. */
  private heldBy(
    provider: string,
    model: string,
    owner: string | undefined,
    now: number,
  ): string | undefined {
    if (this.context.slots.laneFull(provider)) return 'perProvider';
    if (this.context.atShare(owner)) return 'maxRunningPerCaller';
    if (!this.context.modelRoom(provider, model)) return 'model maxConcurrent';
    if (this.context.breakerOf(provider) !== 'closed') return 'breaker';
    // The cooldown, its probe's turn too, by the model's copy (`LimitsSeen.cooldownAt`), for every
    // provider and model: since 2026-12-06 a probe whose run deadline came before its acceptance time
    // is never accepted, so the runtime's outcome no longer hangs on whether a simulated advance tells
    // a tick or the probe's end first (`probeAccepted`, machines/provider.ts).
    return this.context.slots.heldBy(provider, model, now);
  }
}

/**
 * The cooldown a `Retry-After` header asks for, by the documented rule, from the answer's time
 * `now`: seconds, or an HTTP date (less `now`, at least 0); `undefined` without one (the runtime
 * then waits one second).
 */
export function hintedMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(Math.round(seconds * 1000), MAX_HINT_MS);
  return Math.min(Math.max(0, Date.parse(header) - now), MAX_HINT_MS);
}

/**
 * `cooldownHint` after a `RATE_LIMITED` answer of `provider`/`model` at `now`: what the runtime shows
 * (`status().limits`) against the hint, given what it showed before the answer.
 */
export function checkCooldownHint(
  before: ReturnType<Runtime['status']>['limits'],
  after: ReturnType<Runtime['status']>['limits'],
  provider: string,
  model: string,
  perModel: boolean,
  header: string | undefined,
  now: number,
): Violation | undefined {
  const was = until(before?.[provider], model, perModel, now);
  const got = until(after?.[provider], model, perModel, now);
  if (after?.[provider] === undefined) return undefined;
  const hinted = now + (hintedMs(header, now) ?? 1000);
  const expected = was === undefined ? hinted : Math.max(was, hinted);
  // A cooldown of 0 ms is over at once: nothing to show.
  if (got === expected || (got === undefined && expected <= now)) return undefined;
  return {
    invariant: 'cooldownHint',
    detail: `a 429 of ${provider}${perModel ? `/${model}` : ''} at ${now} with Retry-After ${header === undefined ? 'absent' : JSON.stringify(header)}: cooling down until ${got ?? 'no cooldown'}, expected ${expected}`,
  };
}

function until(
  limits: NonNullable<ReturnType<Runtime['status']>['limits']>[string] | undefined,
  model: string,
  perModel: boolean,
  now: number,
): number | undefined {
  if (limits === undefined) return undefined;
  if (perModel) {
    const at = limits.models?.[model];
    return at !== undefined && at > now ? at : undefined;
  }
  return limits.cooldown === 'coolingDown' && limits.cooldownUntil !== null
    ? limits.cooldownUntil
    : undefined;
}

/**
 * `idleTimeout`: a stream whose call has sent nothing for its `idleTimeoutMs` (since the call began
 * or its last delta) has ended `TIMED_OUT` or moved on to a fallback by then (docs/routing.md, "When
 * a session moves on"; machines.md, `idleDeadlinePassed` and `canFallBackOnIdle`); its call is
 * aborted (`callsReleased`, at the end of the run). Judged after each command, as deadlines are.
 */
export class IdleSeen {
  readonly violations: Violation[] = [];
  /** Streams with a call in flight: since when it has been quiet. */
  private readonly quiet = new Map<string, number>();
  private readonly reported = new Set<string>();
  readonly unsubscribe: () => void;

  constructor(
    runtime: Pick<Runtime, 'subscribe'>,
    /** A session's `idleTimeoutMs` as submitted, when it streams with one. */
    private readonly idleOf: (sessionId: string) => number | undefined,
  ) {
    this.unsubscribe = runtime.subscribe((event) => {
      if (!('sessionId' in event)) return;
      if (event.type === 'session.started' || event.type === 'session.delta') {
        if (this.idleOf(event.sessionId) !== undefined) this.quiet.set(event.sessionId, event.at);
      } else if (event.type !== 'session.queued') this.quiet.delete(event.sessionId);
    });
  }

  check(now: number): void {
    for (const [id, since] of this.quiet) {
      const idle = this.idleOf(id) as number;
      if (now < since + idle || this.reported.has(id)) continue;
      this.reported.add(id);
      this.violations.push({
        invariant: 'idleTimeout',
        detail: `${id} still streams at ${now}, quiet since ${since} with idleTimeoutMs ${idle}`,
      });
    }
  }
}
