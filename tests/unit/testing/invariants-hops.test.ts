/**
 * `limitsHold` on a backend (`hopsRequeue`): a fallback hop to another provider waits in that
 * provider's queue holding no slot, so it is not counted running until it starts there; judged as
 * in memory (where a hop keeps its slot), the same events are a breach.
 */
import { describe, expect, it } from 'vitest';
import { fedObserver } from '../../support/fed-observer.js';

function observe(hopsRequeue: boolean) {
  const { observer, ev } = fedObserver({
    maxConcurrent: 2,
    fairnessEvery: 1,
    perProvider: {},
    historySize: 0,
    hopsRequeue,
  });
  for (const [id, provider] of [
    ['a', 'p0'],
    ['b', 'p1'],
    ['c', 'p2'],
  ])
    ev({ type: 'session.queued', sessionId: id, provider, position: 0 });
  ev({ type: 'session.started', sessionId: 'a', attempt: 1 });
  const error = { code: 'PROVIDER_UNAVAILABLE', message: 'down', retryable: true };
  ev({
    type: 'session.fallback',
    sessionId: 'a',
    from: { provider: 'p0', model: 'm' },
    to: { provider: 'p1', model: 'm' },
    error,
  });
  // `a` waits in p1's queue: two others run meanwhile.
  ev({ type: 'session.started', sessionId: 'b', attempt: 1 });
  ev({ type: 'session.started', sessionId: 'c', attempt: 1 });
  const beforeItStarts = observer.violations.map((v) => v.detail);
  ev({ type: 'session.started', sessionId: 'a', attempt: 2 });
  return { beforeItStarts, after: observer.violations.map((v) => v.detail) };
}

describe('limitsHold with hops that wait in their target queue', () => {
  it('does not count a waiting hop running, and counts it again when it starts on its target', () => {
    const { beforeItStarts, after } = observe(true);
    expect(beforeItStarts).toEqual([]);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatch(
      /^3 sessions ran at once, limit 2 \(a on p1, calling null; b on p1, calling p1; c on p2, calling p2\)$/,
    );
  });

  it('in memory a hop keeps its slot: the same events break it at the third start', () => {
    const { beforeItStarts } = observe(false);
    expect(beforeItStarts).toHaveLength(1);
    expect(beforeItStarts[0]).toMatch(/^3 sessions ran at once, limit 2/);
  });
});
