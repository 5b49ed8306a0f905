/**
 * `rerouteOnCooldown` (src/runtime/reroute.ts) called directly: a queued session moves on to its
 * next fallback only when its provider cools down until its queue deadline or later and its chain
 * has a next target that fits; the error it moves on with says why, and when the provider reopens.
 */
import { describe, expect, it } from 'vitest';
import type { RouteTargetData } from '../../../machines/routing.js';
import type { SessionInput } from '../../../machines/session.js';
import type { Acquired } from '../../../src/runtime/limiter.js';
import { rerouteOnCooldown } from '../../../src/runtime/reroute.js';

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
const cooling = (at: number | null): Acquired => ({ ok: false, limit: 'cooldown', at });
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
