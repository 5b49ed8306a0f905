/**
 * `cooldownHolds` as the observer judges it: after a cooldown one probe goes; another start while
 * it is out is a breach, unless the probe ended at that same instant (its run deadline, where its
 * slot lapses), which the runtime may tell after the start.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Seen } from '../../../src/testing/invariants.js';
import { LimitsSeen } from '../../../src/testing/limit-invariants.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const seen = (currentModel = 'm'): Seen => ({
  provider: 'p0',
  current: 'p0',
  currentModel,
  calling: null,
  priority: 0,
  seq: 0,
  admitted: true,
  ended: [],
  deltas: 0,
  written: '',
  reasoned: '',
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

  it('a session moving on between calls (its retry held by the probe) begins no cooldown; one whose call failed does', () => {
    const moveOn = (calling: string | null) => {
      const broken: string[] = [];
      const limits = new LimitsSeen(
        { maxConcurrent: 10, fairnessEvery: 1, perProvider: {}, historySize: 0 } as never,
        (invariant, detail) => broken.push(`${invariant}: ${detail}`),
      );
      const ev = (event: object, as = seen()) => limits.onEvent(event as never, as);
      const limited = { code: 'RATE_LIMITED', retryAfterMs: 500 };
      ev({ type: 'session.started', sessionId: 'a', at: 0 });
      ev({ type: 'session.retry', sessionId: 'a', at: 10, error: limited });
      // The first start after the cooldown is its probe; `a`'s retry, held by it, moves on.
      ev({ type: 'session.started', sessionId: 'probe', at: 600 });
      ev(
        {
          type: 'session.fallback',
          sessionId: 'a',
          at: 650,
          from: { provider: 'p0', model: 'm' },
          to: { provider: 'p1', model: 'm' },
          error: { code: 'RATE_LIMITED', retryAfterMs: 1950 },
        },
        { ...seen(), calling },
      );
      // The probe's lapse passed (PROBE_ACCEPTED_MS after its start): the provider is open.
      ev({ type: 'session.started', sessionId: 'later', at: 2600 });
      ev({ type: 'session.started', sessionId: 'next', at: 2600 });
      limits.checkRates([]);
      return broken;
    };
    expect(moveOn(null)).toEqual([]);
    // Had its call failed with that 429, it would have begun a cooldown until 2600, its probe `later`.
    expect(moveOn('p0')).toEqual(['cooldownHolds: next started on p0 at 2600 while later probed']);
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

describe('cooldownHolds for a provider that cools down per model (`cooldownPerModel`)', () => {
  function judge(perModel: boolean) {
    const broken: string[] = [];
    const limits = new LimitsSeen(
      {
        maxConcurrent: 10,
        fairnessEvery: 1,
        perProvider: {},
        historySize: 0,
        ...(perModel ? { cooldownPerModel: ['p0'] } : {}),
      } as never,
      (invariant, detail) => broken.push(`${invariant}: ${detail}`),
    );
    const ev = (event: object, model: string) => limits.onEvent(event as never, seen(model));
    ev({ type: 'session.started', sessionId: 'a', at: 0 }, 'm1');
    ev(
      {
        type: 'session.ended',
        sessionId: 'a',
        at: 10,
        result: {
          ok: false,
          error: { code: 'RATE_LIMITED', retryAfterMs: 500 },
          metadata: { state: 'failed' },
        },
      },
      'm1',
    );
    // Another model starts during m1's cooldown.
    ev({ type: 'session.started', sessionId: 'b', at: 100 }, 'm2');
    const holds = {
      m1: limits.holdsModel({ current: 'p0', currentModel: 'm1' }, 100),
      m2: limits.holdsModel({ current: 'p0', currentModel: 'm2' }, 100),
      m1After: limits.holdsModel({ current: 'p0', currentModel: 'm1' }, 600),
    };
    // And m1 itself, before its hint.
    ev({ type: 'session.started', sessionId: 'c', at: 200 }, 'm1');
    return { broken, holds };
  }

  it("judges each model apart: another model's start is no breach, the cooled model's is", () => {
    const { broken, holds } = judge(true);
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatch(/^cooldownHolds: c started on p0 at 200, cooling down until 510/);
    expect(holds).toEqual({ m1: true, m2: false, m1After: false });
  });

  it('without it, the provider is judged whole, as Moonshot limits its account', () => {
    const { broken, holds } = judge(false);
    expect(broken.map((b) => b.slice(0, 30))).toEqual([
      'cooldownHolds: b started on p0',
      'cooldownHolds: c started on p0',
    ]);
    // Never a model's hold: priorityOrder judges the provider's queue whole.
    expect(holds).toEqual({ m1: false, m2: false, m1After: false });
  });
});

describe('the observer’s copy of a cooldown (`cooldownAt`, what `workConserved` and `statusCounts` judge by)', () => {
  it('holds every start until the hint, then a probe’s call for at most PROBE_ACCEPTED_MS, then none', () => {
    const limits = new LimitsSeen(
      { maxConcurrent: 10, fairnessEvery: 1, perProvider: {}, historySize: 0 } as never,
      () => {},
    );
    const ev = (event: object) => limits.onEvent(event as never, seen());
    expect(limits.cooldownAt('p0', 'm', 0)).toBeUndefined();
    ev({ type: 'session.started', sessionId: 'a', at: 0 });
    ev({ type: 'session.retry', sessionId: 'a', at: 10, error: { code: 'RATE_LIMITED', retryAfterMs: 500 } });
    expect(limits.cooldownAt('p0', 'm', 10)).toEqual({ until: 510 });
    expect(limits.cooldownAt('p0', 'm', 509)).toEqual({ until: 510 });
    // Over at its end: the next start is the probe.
    expect(limits.cooldownAt('p0', 'm', 510)).toBeUndefined();
    ev({ type: 'session.started', sessionId: 'a', at: 600 });
    expect(limits.cooldownAt('p0', 'm', 600)).toBe('probe');
    expect(limits.cooldownAt('p0', 'm', 2599)).toBe('probe');
    // A probe running PROBE_ACCEPTED_MS (2 s) was accepted.
    expect(limits.cooldownAt('p0', 'm', 2600)).toBeUndefined();
    // Its answer opens the provider at once.
    ev({ type: 'session.ended', sessionId: 'a', at: 700, result: { ok: true, metadata: { state: 'done' } } });
    expect(limits.cooldownAt('p0', 'm', 700)).toBeUndefined();
  });
});

/**
 * A probe that ends on an idle timeout: the runtime's own deadline of a stream that sent nothing
 * (a tick moved it on: no answer, the next start probes) or a call's own end on its idle bound (an
 * answer read whole that stalled once its headers came: the provider's answer, the provider opens).
 * The stream's error is taken from a real runtime, so the observer follows the machine's marker
 * (`stalled: 'stream'`), not its words: until 2026-12-07 it read the message.
 */
describe('cooldownHolds after a probe that ends on an idle timeout', () => {
  async function streamIdleError() {
    const clock = new SimulatedClock();
    const [first, second] = [new ScriptedProvider('p0'), new ScriptedProvider('p1')];
    const runtime = createRuntime({ providers: [first, second], clock });
    let error: unknown;
    runtime.subscribe((event) => {
      if (event.type === 'session.fallback') error = event.error;
    });
    const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
    const handle = runtime.submit(
      {
        provider: 'p0',
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        fallbacks: [{ provider: 'p1', model: 'm' }],
      },
      { idleTimeoutMs: 100 },
    );
    await flush();
    clock.increment(100);
    await flush();
    handle.cancel();
    await handle.result;
    await runtime.shutdown({ deadlineMs: 0 });
    return error as { code: string; timeout?: string; stalled?: string; message: string };
  }
  /** The whole answer's stall as the adapter tells it (`StalledAnswerError`, `http-errors.ts`). */
  const stalled = {
    code: 'TIMED_OUT',
    timeout: 'idle',
    stalled: 'body',
    message:
      "p0 chat completion: Expected the answer's body to keep coming, no byte of it came for 100 ms (idleTimeoutMs)",
  };

  function judge(error: object, end: 'fallback' | 'timedOut') {
    const broken: string[] = [];
    const limits = new LimitsSeen(
      { maxConcurrent: 10, fairnessEvery: 1, perProvider: {}, historySize: 0 } as never,
      (invariant, detail) => broken.push(`${invariant}: ${detail}`),
    );
    const ev = (event: object) => limits.onEvent(event as never, { ...seen(), calling: 'p0' });
    ev({ type: 'session.started', sessionId: 'a', at: 0 });
    ev({
      type: 'session.ended',
      sessionId: 'a',
      at: 10,
      result: {
        ok: false,
        error: { code: 'RATE_LIMITED', retryAfterMs: 500 },
        metadata: { state: 'failed' },
      },
    });
    ev({ type: 'session.started', sessionId: 'probe', at: 600 });
    if (end === 'fallback')
      ev({
        type: 'session.fallback',
        sessionId: 'probe',
        at: 700,
        from: { provider: 'p0', model: 'm' },
        to: { provider: 'p1', model: 'm' },
        error,
      });
    else
      ev({
        type: 'session.ended',
        sessionId: 'probe',
        at: 700,
        result: { ok: false, error, metadata: { state: 'timedOut' } },
      });
    ev({ type: 'session.started', sessionId: 'b', at: 800 });
    ev({ type: 'session.started', sessionId: 'c', at: 800 });
    limits.checkRates([]);
    return broken;
  }

  it('a stream’s idle deadline left the probe unanswered: the next start probes, one beside it breaks', async () => {
    const error = await streamIdleError();
    expect(error).toMatchObject({ code: 'TIMED_OUT', timeout: 'idle', stalled: 'stream' });
    for (const end of ['fallback', 'timedOut'] as const)
      expect(judge(error, end)).toEqual(['cooldownHolds: c started on p0 at 800 while b probed']);
  });

  it('an idle timeout of an adapter of one’s own, with no marker, is the provider’s answer, whatever its words', async () => {
    const { stalled: _, ...own } = await streamIdleError();
    expect(judge(own, 'fallback')).toEqual([]);
    expect(judge(own, 'timedOut')).toEqual([]);
  });

  it('a whole answer that stalled was answered: the provider is open, two calls may start', () => {
    expect(judge(stalled, 'fallback')).toEqual([]);
    expect(judge(stalled, 'timedOut')).toEqual([]);
  });
});
