/**
 * src/runtime/reroute.ts called directly. `rerouteOnCooldown`: a queued session moves on to its
 * next fallback only when its provider cools down until its queue deadline or later and its chain
 * has a next target that fits; the error it moves on with says why, and when the provider reopens.
 * `rerouteHeld` and `markHeldReroute`: the same for a running session between attempts, against its
 * run deadline; `heldGoes`: the event a held session is sent.
 */
import { describe, expect, it } from 'vitest';
import type { RouteTargetData } from '../../../machines/routing.js';
import { initialContext, type SessionContext, type SessionInput } from '../../../machines/session.js';
import type { Acquired } from '../../../src/runtime/limiter.js';
import {
  heldGoes,
  markHeldReroute,
  rerouteHeld,
  rerouteOfRun,
  rerouteOnCooldown,
} from '../../../src/runtime/reroute.js';
import type { SessionActor } from '../../../src/runtime/session-engine.js';
import type { SessionRecord } from '../../../src/runtime/session-record.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const DEADLINE = T0 + 60_000;
const target = (provider: string, fits = true): RouteTargetData => ({
  provider,
  model: 'm',
  contextWindow: null,
  fits,
});

function input(targets?: readonly RouteTargetData[]): SessionInput {
  return {
    sessionId: 's',
    requestId: 'r',
    provider: 'p',
    model: 'm',
    priority: 0,
    stream: false,
    createdAt: T0,
    queueDeadlineAt: DEADLINE,
    timeoutMs: 30_000,
    idleTimeoutMs: 10_000,
    maxAttempts: 3,
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
    ...(targets === undefined ? {} : { targets }),
  };
}
const cooling = (at: number | null): Extract<Acquired, { ok: false }> => ({
  ok: false,
  limit: 'cooldown',
  at,
});
const CHAIN = [target('p'), target('q')];

describe('rerouteOnCooldown', () => {
  it('moves on when the cooldown lasts until the queue deadline, saying until when and in how long', () => {
    expect(rerouteOnCooldown(input(CHAIN), cooling(DEADLINE), T0 + 58_500)).toEqual({
      family: 'provider',
      code: 'RATE_LIMITED',
      message:
        "Expected provider `p` to take calls before this session's queue deadline (2026-12-01T10:01:00.000Z), got it cooling down after a 429 until 2026-12-01T10:01:00.000Z (in 2 s); moved to the next fallback",
      retryable: true,
      retryAfterMs: 1500,
    });
    const later = rerouteOnCooldown(input(CHAIN), cooling(DEADLINE + 90_000), T0);
    expect(later?.retryAfterMs).toBe(150_000);
    expect(later?.message).toContain('until 2026-12-01T10:02:30.000Z (in 150 s)');
  });

  it('never says a negative wait', () => {
    const late = rerouteOnCooldown(input(CHAIN), cooling(DEADLINE), DEADLINE + 5000);
    expect(late?.retryAfterMs).toBe(0);
    expect(late?.message).toContain('(in 0 s)');
  });

  it('waits when the provider reopens before the deadline', () => {
    expect(rerouteOnCooldown(input(CHAIN), cooling(DEADLINE - 1), T0)).toBeUndefined();
  });

  it('waits for anything but a cooldown with a known end', () => {
    const refusals: Acquired[] = [
      { ok: true, probe: false },
      { ok: false, limit: 'maxConcurrent', at: DEADLINE + 1000 },
      { ok: false, limit: 'requestsPerMinute', at: DEADLINE + 1000 },
      cooling(null),
    ];
    for (const refused of refusals) expect(rerouteOnCooldown(input(CHAIN), refused, T0)).toBeUndefined();
  });

  it('waits without a chain, or when no later target fits', () => {
    expect(rerouteOnCooldown(input(), cooling(DEADLINE + 1000), T0)).toBeUndefined();
    expect(
      rerouteOnCooldown(input([target('p'), target('q', false)]), cooling(DEADLINE + 1000), T0),
    ).toBeUndefined();
    expect(rerouteOnCooldown(input([target('p')]), cooling(DEADLINE + 1000), T0)).toBeUndefined();
  });
});

const RUN_DEADLINE = T0 + 30_000;
/** A running session on `targets`, at the first, its run deadline at RUN_DEADLINE. */
const running = (targets?: readonly RouteTargetData[], at = 0): SessionContext => {
  const context = initialContext(input(targets));
  return {
    ...context,
    startedAt: T0,
    runDeadlineAt: RUN_DEADLINE,
    routing: context.routing === null ? null : { ...context.routing, target: at },
  };
};

describe('rerouteHeld', () => {
  it('moves on when the provider it would call cools down until its run deadline or later', () => {
    expect(rerouteHeld(running(CHAIN), 'q', cooling(RUN_DEADLINE), T0 + 28_500)).toEqual({
      family: 'provider',
      code: 'RATE_LIMITED',
      message:
        "Expected provider `q` to take calls before this session's run deadline (2026-12-01T10:00:30.000Z), got it cooling down after a 429 until 2026-12-01T10:00:30.000Z (in 2 s); moved to the next fallback",
      retryable: true,
      retryAfterMs: 1500,
    });
    expect(rerouteHeld(running(CHAIN), 'p', cooling(RUN_DEADLINE - 1), T0)).toBeUndefined();
  });

  it('waits for another limit, a cooldown with no end, no chain, no target after, or no run deadline', () => {
    const far = RUN_DEADLINE + 1000;
    expect(rerouteHeld(running(CHAIN), 'p', { limit: 'maxConcurrent', at: far }, T0)).toBeUndefined();
    expect(rerouteHeld(running(CHAIN), 'p', { limit: 'tokensPerMinute', at: far }, T0)).toBeUndefined();
    expect(rerouteHeld(running(CHAIN), 'p', cooling(null), T0)).toBeUndefined();
    expect(rerouteHeld(running(), 'p', cooling(far), T0)).toBeUndefined();
    expect(rerouteHeld(running(CHAIN, 1), 'q', cooling(far), T0)).toBeUndefined();
    expect(rerouteHeld({ ...running(CHAIN), runDeadlineAt: null }, 'p', cooling(far), T0)).toBeUndefined();
    // Never at or past the run deadline itself: the session times out there.
    expect(rerouteHeld(running(CHAIN), 'p', cooling(far), RUN_DEADLINE)).toBeUndefined();
  });
});

describe('markHeldReroute and heldGoes', () => {
  const held = (context: SessionContext | null, admitted = true): SessionRecord =>
    ({
      input: context?.input ?? input(CHAIN),
      admitted,
      actor: context === null ? null : ({ getSnapshot: () => ({ context }) } as unknown as SessionActor),
    }) as SessionRecord;
  const far = cooling(RUN_DEADLINE + 1000);

  it('sets the reroute of an admitted session with a chain and says so; heldGoes sends it once', () => {
    const record = held(running(CHAIN));
    expect(markHeldReroute(record, 'p', far, T0)).toBe(true);
    expect(record.reroute?.retryAfterMs).toBe(31_000);
    const error = record.reroute;
    expect(heldGoes(record, T0 + 5)).toEqual({ type: 'session.reroute', now: T0 + 5, error });
    expect(record.reroute).toBeUndefined();
    expect(heldGoes(record, T0 + 6)).toEqual({ type: 'session.tick', now: T0 + 6 });
  });

  it('leaves a queued session, one without a chain or an actor, and another limit alone', () => {
    const cases: [SessionRecord, Parameters<typeof markHeldReroute>[2]][] = [
      [held(running(CHAIN), false), far],
      [held(running()), far],
      [{ ...held(running(CHAIN)), input: input() } as SessionRecord, far],
      [held(null), far],
      [held(running(CHAIN)), { limit: 'requestsPerMinute', at: RUN_DEADLINE + 1000 }],
      [held(running(CHAIN)), cooling(RUN_DEADLINE - 1)],
    ];
    for (const [record, refused] of cases) {
      expect(markHeldReroute(record, 'p', refused, T0)).toBe(false);
      expect(record.reroute).toBeUndefined();
    }
  });
});

describe('rerouteOfRun', () => {
  const far = cooling(RUN_DEADLINE + 1000);
  const run = (target: number, runDeadlineAt = RUN_DEADLINE) => ({
    attempts: 1,
    startedAt: T0,
    runDeadlineAt,
    routing: { target, since: T0, firstAttempt: 0, left: target - 1, route: [] },
  });

  it('reads the run record as the context: its deadline, the target it reached, the chain after it', () => {
    const three = [target('p'), target('q'), target('r')];
    expect(rerouteOfRun(input(three), run(1), 'q', far, T0)?.retryAfterMs).toBe(31_000);
    // At the chain's last target, or with a run deadline the cooldown ends before: it waits.
    expect(rerouteOfRun(input(three), run(2), 'r', far, T0)).toBeUndefined();
    expect(rerouteOfRun(input(three), run(1, RUN_DEADLINE + 2000), 'q', far, T0)).toBeUndefined();
    // A record without routing is at its chain's first target.
    expect(rerouteOfRun(input(three), { ...run(0), routing: undefined }, 'p', far, T0)).toBeDefined();
    expect(rerouteOfRun(input(), { ...run(0), routing: undefined }, 'p', far, T0)).toBeUndefined();
  });
});
