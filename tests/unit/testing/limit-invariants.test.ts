/**
 * `cooldownHolds` as the observer judges it: after a cooldown one probe goes; another start while
 * it is out is a breach, unless the probe ended at that same instant (its run deadline, where its
 * slot lapses), which the runtime may tell after the start.
 */
import { describe, expect, it } from 'vitest';
import type { Seen } from '../../../src/testing/invariants.js';
import { LimitsSeen } from '../../../src/testing/limit-invariants.js';

const seen = (): Seen => ({
  provider: 'p0',
  current: 'p0',
  calling: null,
  priority: 0,
  seq: 0,
  admitted: true,
  ended: [],
  deltas: 0,
  fallbacks: 0,
});

function run(probeEnds: 'same instant' | 'later') {
  const broken: string[] = [];
  const limits = new LimitsSeen(
    { maxConcurrent: 10, fairnessEvery: 1, perProvider: {}, historySize: 0 } as never,
    (invariant, detail) => broken.push(`${invariant}: ${detail}`),
  );
  const ev = (event: object) => limits.onEvent(event as never, seen());
  const error = (code: string, retryAfterMs?: number) => ({ code, retryAfterMs });
  ev({ type: 'session.started', sessionId: 'a', at: 0 });
  ev({
    type: 'session.ended',
    sessionId: 'a',
    at: 10,
    result: { ok: false, error: error('RATE_LIMITED', 500), metadata: { state: 'failed' } },
  });
  ev({ type: 'session.started', sessionId: 'probe', at: 600 });
  ev({ type: 'session.started', sessionId: 'other', at: 700 });
  const endAt = probeEnds === 'same instant' ? 700 : 800;
  ev({
    type: 'session.ended',
    sessionId: 'probe',
    at: endAt,
    result: { ok: false, error: error('TIMED_OUT'), metadata: { state: 'timedOut' } },
  });
  limits.checkRates([]);
  return broken;
}

describe('cooldownHolds', () => {
  it('a start while the probe is out is a breach', () => {
    expect(run('later')).toEqual(['cooldownHolds: other started on p0 at 700 while probe probed']);
  });
  it('a start at the instant the probe times out is not, whichever the runtime told first', () => {
    expect(run('same instant')).toEqual([]);
  });
});

/**
 * On a backend (`endsLate`) a session's end comes once its settle is written, after events of
 * other sessions that came later; its `at` is its own time. Judged in time order at the end.
 */
function backend(endsLate: boolean, probeEndsAt: number) {
  const broken: string[] = [];
  const limits = new LimitsSeen(
    { maxConcurrent: 10, fairnessEvery: 1, perProvider: {}, historySize: 0, endsLate } as never,
    (invariant, detail) => broken.push(`${invariant}: ${detail}`),
  );
  const ev = (event: object) => limits.onEvent(event as never, seen());
  const ended = (sessionId: string, at: number, code: string, retryAfterMs?: number) =>
    ev({
      type: 'session.ended',
      sessionId,
      at,
      result: {
        ok: false,
        error: { code, retryAfterMs },
        metadata: { state: code === 'TIMED_OUT' ? 'timedOut' : 'failed' },
      },
    });
  ev({ type: 'session.started', sessionId: 'a', at: 0 });
  ended('a', 10, 'RATE_LIMITED', 500);
  ev({ type: 'session.started', sessionId: 'probe', at: 510 });
  ev({ type: 'session.started', sessionId: 'other', at: 700 });
  // The probe timed out at `probeEndsAt`; its end is heard after the start above.
  ended('probe', probeEndsAt, 'TIMED_OUT');
  limits.checkRates([]);
  return broken;
}

describe('cooldownHolds on a backend (`endsLate`)', () => {
  it('judges every event in the order of its time, an end heard late at its own', () => {
    expect(backend(true, 690)).toEqual([]);
  });
  it('still finds a start while the probe is out', () => {
    expect(backend(true, 800)).toEqual(['cooldownHolds: other started on p0 at 700 while probe probed']);
  });
  it('judged as events come, the late end makes the start look like a breach', () => {
    expect(backend(false, 690)).toEqual(['cooldownHolds: other started on p0 at 700 while probe probed']);
  });
});
