/**
 * The fallback rules as pure functions (machines/routing.ts): which errors move a session on,
 * which target takes over, where a route starts and what an ended session's route says.
 */
import { describe, expect, it } from 'vitest';
import {
  canRerouteQueued,
  fallbackTarget,
  finalRoute,
  initialRouting,
  isFallbackError,
  nextTarget,
  type RouteTargetData,
} from '../../../machines/routing.js';
import { initialContext, type SessionContext } from '../../../machines/session.js';
import type { TroupeErrorData } from '../../../src/core/errors.js';
import { INPUT } from './fixtures.js';

const target = (model: string, contextWindow: number | null = null, fits = true): RouteTargetData => ({
  provider: 'p',
  model,
  contextWindow,
  fits,
});
const error = (code: TroupeErrorData['code'], retryAfterMs?: number): TroupeErrorData => ({
  family: 'provider',
  code,
  message: code,
  retryable: true,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});
/** A running session's context on `targets`, its run deadline at `runDeadlineAt`. */
const running = (
  targets: readonly RouteTargetData[],
  runDeadlineAt: number | null = 10_000,
): SessionContext => ({
  ...initialContext({ ...INPUT, targets }),
  startedAt: 0,
  runDeadlineAt,
});
const CHAIN = [target('a'), target('b'), target('c')];

describe('isFallbackError', () => {
  it('a RATE_LIMITED falls back only when its wait reaches the run deadline (at it counts)', () => {
    expect(isFallbackError(error('RATE_LIMITED', 500), 9_500, 10_000)).toBe(true);
    expect(isFallbackError(error('RATE_LIMITED', 499), 9_500, 10_000)).toBe(false);
  });

  it('a RATE_LIMITED with no hint, or no run deadline, retries the same target', () => {
    expect(isFallbackError(error('RATE_LIMITED'), 9_500, 10_000)).toBe(false);
    expect(isFallbackError(error('RATE_LIMITED', 1e9), 9_500, null)).toBe(false);
  });

  it('moves on for what another target can fix: quota, a provider down, cut or stalled, a model the key cannot use, a prompt too long', () => {
    for (const code of [
      'QUOTA_EXHAUSTED',
      'PROVIDER_UNAVAILABLE',
      'NETWORK',
      'MODEL_NOT_FOUND',
      'CONTEXT_TOO_LONG',
      'TIMED_OUT',
    ] as const)
      expect(isFallbackError(error(code), 9_500, 10_000)).toBe(true);
    for (const code of ['AUTH_FAILED', 'INVALID_REQUEST', 'CONTENT_FILTERED', 'BAD_RESPONSE'] as const)
      expect(isFallbackError(error(code), 9_500, 10_000)).toBe(false);
  });

  it('a long hint on an error that is not RATE_LIMITED moves nothing', () => {
    expect(isFallbackError(error('AUTH_FAILED', 1e9), 9_500, 10_000)).toBe(false);
    expect(isFallbackError(error('INVALID_REQUEST', 1e9), 9_500, 10_000)).toBe(false);
  });
});

describe('fallbackTarget', () => {
  it('a session without a chain (no routing, or no targets) never moves', () => {
    expect(fallbackTarget({ ...running(CHAIN), routing: null }, error('NETWORK'), 100)).toBe(-1);
    const noTargets = running(CHAIN);
    expect(fallbackTarget({ ...noTargets, input: INPUT }, error('NETWORK'), 100)).toBe(-1);
  });

  it('moves to the next target; a session with no run deadline is not bounded by one', () => {
    expect(fallbackTarget(running(CHAIN), error('NETWORK'), 100)).toBe(1);
    expect(fallbackTarget(running(CHAIN, null), error('NETWORK'), 100)).toBe(1);
    expect(fallbackTarget(running(CHAIN), null, 100)).toBe(1);
    expect(fallbackTarget(running(CHAIN), error('NETWORK'), 10_000)).toBe(-1);
  });

  it('after CONTEXT_TOO_LONG only a larger window takes over: none left means no move', () => {
    const chain = [target('small', 8000), target('same', 8000)];
    expect(fallbackTarget(running(chain), error('CONTEXT_TOO_LONG'), 100)).toBe(-1);
    // The same chain takes an idle timeout (no error): the window does not matter then.
    expect(fallbackTarget(running(chain), null, 100)).toBe(1);
  });

  it('a retryable error the target cannot retry moves on; one it can, or one not retryable, does not', () => {
    expect(fallbackTarget(running(CHAIN), error('RATE_LIMITED'), 100)).toBe(-1);
    expect(fallbackTarget(running(CHAIN), error('RATE_LIMITED'), 100, true)).toBe(-1);
    expect(fallbackTarget(running(CHAIN), error('RATE_LIMITED'), 100, false)).toBe(1);
    const auth = { ...error('AUTH_FAILED'), retryable: false };
    expect(fallbackTarget(running(CHAIN), auth, 100, false)).toBe(-1);
    // Still never at or past the run deadline.
    expect(fallbackTarget(running(CHAIN), error('RATE_LIMITED'), 10_000, false)).toBe(-1);
  });
});

describe('canRerouteQueued', () => {
  it('a queued session moves on only with a chain and a next target that fits', () => {
    expect(canRerouteQueued(running(CHAIN), error('NETWORK'))).toBe(true);
    expect(canRerouteQueued({ ...running(CHAIN), routing: null }, error('NETWORK'))).toBe(false);
    expect(canRerouteQueued({ ...running(CHAIN), input: INPUT }, error('NETWORK'))).toBe(false);
    expect(canRerouteQueued(running([target('a'), target('b', null, false)]), error('NETWORK'))).toBe(false);
  });
});

describe('nextTarget', () => {
  const at = (target: number) => ({ ...initialRouting(CHAIN), target });

  it('passes over a target the estimate does not fit', () => {
    const chain = [target('a'), target('b', null, false), target('c')];
    expect(nextTarget(chain, initialRouting(chain), 'NETWORK')).toBe(2);
  });

  it('after CONTEXT_TOO_LONG passes over unknown and not larger windows', () => {
    const chain = [target('small', 8000), target('unknown'), target('same', 8000), target('big', 9000)];
    expect(nextTarget(chain, initialRouting(chain), 'CONTEXT_TOO_LONG')).toBe(3);
    // Any other error takes the next one, whatever its window.
    expect(nextTarget(chain, initialRouting(chain), 'NETWORK')).toBe(1);
  });

  it('from an unknown window, any known window can take over after CONTEXT_TOO_LONG', () => {
    const chain = [target('unknown'), target('small', 8000)];
    expect(nextTarget(chain, initialRouting(chain), 'CONTEXT_TOO_LONG')).toBe(1);
    // An unknown window is never known to be larger, not even than another unknown one.
    const unknowns = [target('unknown'), target('also unknown'), target('small', 8000)];
    expect(nextTarget(unknowns, initialRouting(unknowns), 'CONTEXT_TOO_LONG')).toBe(2);
  });

  it('the last target has none after it', () => {
    expect(nextTarget(CHAIN, at(2), 'NETWORK')).toBe(-1);
  });
});

describe('initialRouting and finalRoute', () => {
  it('starts at the first target that fits, before any hop (left -1), the ones before skipped', () => {
    const chain = [target('a', 8000, false), target('b', 128000)];
    expect(initialRouting(chain)).toEqual({
      target: 1,
      since: null,
      firstAttempt: 0,
      left: -1,
      route: [{ provider: 'p', model: 'a', outcome: 'CONTEXT_TOO_LONG', ms: 0 }],
    });
  });

  it('with no target that fits, starts at the first (admission refuses such a request)', () => {
    const routing = initialRouting([target('a', 1, false), target('b', 1, false)]);
    expect(routing.target).toBe(0);
    expect(routing.route).toEqual([]);
  });

  it('a session that never started called no target: its route is what was skipped', () => {
    const chain = [target('a', 8000, false), target('b', 128000)];
    expect(finalRoute(chain, initialRouting(chain), 'CANCELLED', 5000, null)).toEqual([
      { provider: 'p', model: 'a', outcome: 'CONTEXT_TOO_LONG', ms: 0 },
    ]);
    expect(finalRoute(chain, initialRouting(chain), 'done', 5000, 1000)).toEqual([
      { provider: 'p', model: 'a', outcome: 'CONTEXT_TOO_LONG', ms: 0 },
      { provider: 'p', model: 'b', outcome: 'done', ms: 4000 },
    ]);
  });
});
