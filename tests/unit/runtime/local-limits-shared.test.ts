/**
 * `LocalLimits` on a shared backend (src/runtime/local-limits.ts): a shared queue admitted each
 * session it leased under the shared limits, so the gate lets it go (a session submitted here asks
 * them first: `local-limits-queued.test.ts`); a due retry asks the shared limiter and goes
 * when it answers, looks again when the limit that held it may have room, and goes anyway when the
 * shared limiter fails; outcomes settle on the shared limiter. The shared state here is a
 * `MemorySharedState` behind the asynchronous port, on a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { type ProviderState, providerKey } from '../../../src/runtime/limiter.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { ManualClock } from '../../support/manual-clock.js';
import {
  answered,
  CHAIN,
  MINUTE_OPENS,
  rateLimited,
  record,
  settle,
  setup,
  T0,
  TOKENS,
  target,
} from './local-limits-fixture.js';

const LAPSE = T0 + 60_000;

/** The keys of the shared state's updates from now on, in order (each ask and settle is one). */
function keysUpdated(sharedState: SharedState | undefined): string[] {
  const asked: string[] = [];
  const update = sharedState?.update.bind(sharedState);
  if (sharedState !== undefined && update !== undefined)
    sharedState.update = ((...args: Parameters<typeof update>) => {
      asked.push(args[0]);
      return update(...args);
    }) as typeof update;
  return asked;
}

describe('LocalLimits on a shared backend', () => {
  it('admits every session a shared queue leased at the gate: the queue charged it already', () => {
    const { limits, sharedLimiter } = setup({ p: { requestsPerMinute: 1 } }, { shared: true });
    for (const id of ['a', 'b', 'c']) expect(limits.gate({ ...record(id), leased: true }, LAPSE)).toBe(true);
    expect(limits.state.size).toBe(0);
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining.requestsPerMinute).toBe(1);
  });

  it('a due retry asks the shared limiter once, and goes when it is charged', async () => {
    const { limits, went, sharedLimiter, sharedState, clock, lanes } = setup(
      { p: { requestsPerMinute: 5, tokensPerMinute: 100_000 } },
      { shared: true },
    );
    clock.time = T0 + 3;
    const asked = keysUpdated(sharedState);
    const a = record('a', { admitted: true });
    a.waitingFor = 'cooldown';
    expect(limits.retry(a, LAPSE)).toBe(false);
    expect(limits.retry(a, LAPSE)).toBe(false);
    expect(went).toEqual([]);
    await settle();
    expect(went).toEqual([a]);
    // One ask: a second one's charge would be given back (a write more), and it would not go twice.
    expect(asked).toEqual([providerKey('p')]);
    expect(a.waitingFor).toBeUndefined();
    expect(a.limitStart).toEqual({
      sessionId: 'a',
      model: 'm',
      now: T0 + 3,
      tokens: TOKENS,
      lapsesAt: LAPSE,
    });
    expect(sharedLimiter?.budgetsNow(['p'], T0 + 3).p?.remaining).toMatchObject({
      requestsPerMinute: 4,
      tokensPerMinute: 100_000 - TOKENS,
    });
    expect(limits.state.size).toBe(0);
    // No hop: its slot is its own all along.
    expect(lanes).toEqual([]);
    expect(a.laneless).toBeUndefined();
    // Answered: it may ask again on its next retry.
    expect(limits.retry(a, LAPSE)).toBe(false);
    await settle();
    expect(went).toEqual([a, a]);
    expect(limits.retry(record('t', { task: true, admitted: true }), LAPSE)).toBe(true);
  });

  it('a refused retry waits for the limit that held it and asks again when it may have room', async () => {
    const { limits, went, clock, sharedLimiter } = setup({ p: { requestsPerMinute: 1 } }, { shared: true });
    await sharedLimiter?.tryStart('p', { sessionId: 'x', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE });
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    await settle();
    expect(went).toEqual([]);
    expect(a.waitingFor).toBe('requestsPerMinute');
    expect(limits.counters.waits.requestsPerMinute).toBe(1);
    expect(clock.pending).toBe(1);
    clock.time = MINUTE_OPENS - 1;
    expect(clock.runDue()).toBe(0);
    clock.time = MINUTE_OPENS;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([a]);
    expect(limits.counters.waits.requestsPerMinute).toBe(1);
  });

  it('a retry’s wait is told when it begins and when it ends, once each, however often it asks; a queued session’s is not', async () => {
    const { limits, went, clock, waited, sharedLimiter } = setup(
      { p: { maxConcurrent: 1 } },
      { shared: true },
    );
    const x = { sessionId: 'x', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE };
    await sharedLimiter?.tryStart('p', x);
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    await settle();
    expect(waited).toEqual(['a maxConcurrent']);
    // A queued session asks too, and waits, untold: its summary is its queue's (`SessionTable`).
    const q = record('q');
    expect(limits.gate(q, LAPSE)).toBe(false);
    await settle();
    expect(q.waitingFor).toBe('maxConcurrent');
    // Still full a second later: it looks again, and nothing changed to tell.
    clock.time = T0 + 1_000;
    expect(clock.runDue()).toBe(2);
    await settle();
    expect(waited).toEqual(['a maxConcurrent']);
    await sharedLimiter?.settle('p', x, T0 + 1_500, { kind: 'ended' });
    clock.time = T0 + 2_000;
    clock.runDue();
    await settle();
    expect(went).toContain(a);
    expect(a.waitingFor).toBeUndefined();
    expect(waited).toEqual(['a maxConcurrent', 'a -']);
    // Let go at once on its next retry: nothing to tell.
    limits.observe(a, answered());
    await settle();
    limits.retry(a, LAPSE);
    await settle();
    expect(went.filter((r) => r === a)).toHaveLength(2);
    expect(waited).toEqual(['a maxConcurrent', 'a -']);
  });

  it('held by a concurrency slot, it looks again every second; held by a limit opening soon, after at least 50 ms', async () => {
    const { limits, went, clock, sharedLimiter } = setup({ p: { maxConcurrent: 1 } }, { shared: true });
    const x = { sessionId: 'x', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE };
    await sharedLimiter?.tryStart('p', x);
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    await settle();
    expect(a.waitingFor).toBe('maxConcurrent');
    clock.time = T0 + 999;
    expect(clock.runDue()).toBe(0);
    clock.time = T0 + 1_000;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(limits.counters.waits.maxConcurrent).toBe(1);
    // A cooldown ending 10 ms from now: it looks again in 50 ms, not sooner.
    await sharedLimiter?.settle('p', x, T0 + 1_990, { kind: 'rateLimited', retryAfterMs: 20 });
    clock.time = T0 + 2_000;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(a.waitingFor).toBe('cooldown');
    expect(limits.counters.waits.cooldown).toBe(1);
    clock.time = T0 + 2_049;
    expect(clock.runDue()).toBe(0);
    clock.time = T0 + 2_050;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([a]);
  });

  it('a session that ended while it asked does not go, and its charge is given back', async () => {
    const { limits, went, sharedLimiter, clock } = setup({ p: { maxConcurrent: 1 } }, { shared: true });
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    limits.ended(a);
    await settle();
    expect(went).toEqual([]);
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining.maxConcurrent).toBe(1);
    // Ended before its refusal came back: it neither goes nor looks again.
    const b = record('b', { admitted: true });
    limits.retry(b, LAPSE);
    await settle();
    expect(went).toEqual([b]);
    const c = record('c', { admitted: true });
    limits.retry(c, LAPSE);
    limits.ended(c);
    await settle();
    expect(went).toEqual([b]);
    expect(clock.pending).toBe(0);
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining.maxConcurrent).toBe(0);
    // It may ask again after (the asking set forgot it).
    limits.ended(b);
    await settle();
    limits.retry(c, LAPSE);
    await settle();
    expect(went).toEqual([b, c]);
  });

  it('a retry that ended while it asked, or in its `go`, gives back its request and tokens; one whose call went keeps them', async () => {
    const config = { p: { requestsPerMinute: 3, tokensPerMinute: 10 * TOKENS, tokensPerDay: 100 * TOKENS } };
    const ends = new Set<string>();
    const { limits, went, sharedLimiter } = setup(config, {
      shared: true,
      go: (r) => {
        if (ends.has(r.input.sessionId)) limits.ended(r);
      },
    });
    const left = () => sharedLimiter?.budgetsNow(['p'], T0).p?.remaining;
    const whole = { requestsPerMinute: 3, tokensPerMinute: 10 * TOKENS, tokensPerDay: 100 * TOKENS };
    // Ended while its ask was on its way: the answer's charge is given back.
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    limits.ended(a);
    await settle();
    expect(left()).toMatchObject(whole);
    // Refused while it asked: nothing was charged, so nothing is given back.
    const others = ['o1', 'o2', 'o3'].map((id) => ({
      sessionId: id,
      model: 'm',
      now: T0,
      tokens: TOKENS,
      lapsesAt: LAPSE,
    }));
    for (const start of others) await sharedLimiter?.tryStart('p', start);
    const refused = record('refused', { admitted: true });
    limits.retry(refused, LAPSE);
    limits.ended(refused);
    await settle();
    expect(left()?.requestsPerMinute).toBe(0);
    for (const start of others) await sharedLimiter?.giveBack('p', start, false);
    expect(left()).toMatchObject(whole);
    // Ended in its `go` (its run deadline due in that step): no call used the charge.
    ends.add('b');
    const b = record('b', { admitted: true });
    limits.retry(b, LAPSE);
    await settle();
    expect(went).toEqual([b]);
    expect(b.limitStart).toBeNull();
    await settle();
    expect(left()).toMatchObject(whole);
    // Its call went: ended unanswered, it keeps its request and tokens (the vendor counted them).
    const c = record('c', { admitted: true });
    limits.retry(c, LAPSE);
    await settle();
    expect(went).toEqual([b, c]);
    limits.ended(c);
    await settle();
    expect(left()).toMatchObject({
      requestsPerMinute: 2,
      tokensPerMinute: 9 * TOKENS,
      tokensPerDay: 99 * TOKENS,
    });
  });

  it('a probe given back wakes the retries its cooldown holds: they look again now, not at its lapse', async () => {
    const { limits, went, sharedLimiter, clock } = setup({ p: { requestsPerMinute: 5 } }, { shared: true });
    const limiter = sharedLimiter as Limiter;
    const startOf = (id: string) => ({
      sessionId: id,
      model: 'm',
      now: clock.now(),
      tokens: TOKENS,
      lapsesAt: LAPSE,
    });
    const first = startOf('first');
    await limiter.tryStart('p', first);
    await limiter.settle('p', first, clock.now(), { kind: 'rateLimited', retryAfterMs: 1000 });
    clock.time += 1000;
    // A session a shared queue leased is the probe; a retry here waits for it.
    const leased = { ...record('l'), leased: true as const, limitStart: startOf('l') };
    expect(await limiter.tryStart('p', startOf('l'))).toEqual({ ok: true, probe: true });
    const retry = record('r', { admitted: true });
    limits.retry(retry, LAPSE);
    await settle();
    expect(retry.waitingFor).toBe('cooldown');
    // Ended before its pass: its probe is given back, and the retry becomes the probe at once.
    limits.ended(leased);
    await settle();
    expect(went).toEqual([retry]);
  });

  it('a charge given back while the shared state refuses it still frees its slot (settled as an end)', async () => {
    const { limits, sharedLimiter } = setup({ p: { maxConcurrent: 1 } }, { shared: true });
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    const limiter = sharedLimiter as Limiter;
    limiter.giveBack = () => Promise.reject(new Error('away'));
    limits.ended(a);
    await settle();
    expect(limiter.budgetsNow(['p'], T0).p?.remaining.maxConcurrent).toBe(1);
  });

  it('a retry asking while a RATE_LIMITED answer arrives here asks again after its settle, and waits for its cooldown', async () => {
    const { limits, went, clock, sharedLimiter } = setup({ p: { requestsPerMinute: 10 } }, { shared: true });
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    // Its ask is on its way (charged, not yet answered) when another call's 429 comes back here.
    limits.observe(record('b', { admitted: true }), rateLimited(5_000));
    await settle();
    expect(went).toEqual([]);
    expect(a.waitingFor).toBe('cooldown');
    // Given back: only the probe that ends the cooldown will be charged.
    expect(sharedLimiter?.budgetsNow(['p'], T0).p).toMatchObject({
      cooldown: 'coolingDown',
      remaining: { requestsPerMinute: 10 },
    });
    clock.time = T0 + 5_000;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([a]);
  });

  it('a retry its provider cools down past its run deadline goes at once, to move on, and asks no more', async () => {
    const { limits, went, clock } = setup({}, { shared: true });
    limits.observe(record('x', { admitted: true }), rateLimited(120_000));
    await settle();
    const hurried = record('a', { admitted: true, targets: CHAIN, at: 0, runDeadlineAt: T0 + 60_000 });
    limits.retry(hurried, LAPSE);
    await settle();
    expect(went).toEqual([hurried]);
    expect(hurried.reroute).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 120_000 });
    expect(clock.pending).toBe(0);
    // It waits no more: where it moves on, its next target's gate says what holds it, if anything.
    expect(hurried.waitingFor).toBeUndefined();
    // One whose run outlasts the cooldown waits for it, looking again when it ends.
    const patient = record('b', { admitted: true, targets: CHAIN, at: 0, runDeadlineAt: T0 + 180_000 });
    limits.retry(patient, LAPSE);
    await settle();
    expect(went).toEqual([hurried]);
    expect(patient.reroute).toBeUndefined();
    expect(clock.pending).toBe(1);
  });

  it("a retry held by another session's probe looks again when the probe settles here, not at the probe's lapse", async () => {
    const { limits, went, clock } = setup({ p: { requestsPerMinute: 100 } }, { shared: true });
    // A 429 here: p cools down for 200 ms.
    limits.observe(record('x', { admitted: true }), rateLimited(200));
    await settle();
    clock.time = T0 + 200;
    // The cooldown is over: the first retry to ask is p's probe, the second waits behind it.
    const probe = record('probe', { admitted: true });
    const b = record('b', { admitted: true });
    limits.retry(probe, LAPSE);
    await settle();
    expect(went).toEqual([probe]);
    limits.retry(b, LAPSE);
    await settle();
    expect(b.waitingFor).toBe('cooldown');
    // The probe is answered 429 at T0 + 220: a new cooldown, until T0 + 420. Its settle here wakes b,
    // which now waits for that cooldown's end rather than the probe's lapse (T0 + 2,200).
    clock.time = T0 + 220;
    limits.observe(probe, rateLimited(200));
    await settle();
    clock.time = T0 + 420;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([probe, b]);
  });

  /** p cooled down by another instance, and probed there from T0 + 200: `b`, a retry here, waits behind the probe. */
  async function probedElsewhere() {
    const env = setup({ p: { requestsPerMinute: 100 } }, { shared: true });
    const limiter = env.sharedLimiter as NonNullable<typeof env.sharedLimiter>;
    const at = (sessionId: string, now: number) => ({
      sessionId,
      model: 'm',
      now,
      tokens: 1,
      lapsesAt: LAPSE,
    });
    await limiter.settle('p', at('x', T0), T0, { kind: 'rateLimited', retryAfterMs: 200 });
    env.clock.time = T0 + 200;
    expect(await limiter.tryStart('p', at('probe', T0 + 200))).toMatchObject({ ok: true, probe: true });
    const b = record('b', { admitted: true });
    const answerProbe = () =>
      limiter.settle('p', at('probe', T0 + 200), T0 + 250, { kind: 'answered', delta: 0 });
    return { ...env, b, answerProbe };
  }

  it("a retry held by a probe on another instance looks again when the bus tells of a session's end there", async () => {
    const { limits, went, clock, b, answerProbe } = await probedElsewhere();
    limits.retry(b, LAPSE);
    await settle();
    expect(b.waitingFor).toBe('cooldown');
    clock.time = T0 + 250;
    await answerProbe();
    // Nothing here settled: without a word from the bus, b would wait for the probe's lapse (T0 + 2,200).
    await settle();
    expect(went).toEqual([]);
    // The end of another provider's session, or of another session of p, wakes nothing.
    limits.wake('q', 'probe');
    limits.wake('p', 'other');
    await settle();
    expect(went).toEqual([]);
    limits.wake('p', 'probe');
    await settle();
    expect(went).toEqual([b]);
    // Its timer went with its wait.
    clock.time = T0 + 2_200;
    expect(clock.runDue()).toBe(0);
  });

  it("a retry woken by the probe's end before its settle is written looks again after 50, 100, 200 ms and on, until the probe's lapse", async () => {
    const { limits, went, clock, b, sharedState } = await probedElsewhere();
    limits.retry(b, LAPSE);
    await settle();
    const asked = keysUpdated(sharedState);
    // Another session of p ended: no look. The probe's end comes before its settle: b looks, is
    // refused by the same probe, and looks again at growing intervals.
    limits.wake('p', 'other');
    await settle();
    expect(asked).toEqual([]);
    limits.wake('p', 'probe');
    await settle();
    expect(asked).toEqual([providerKey('p')]);
    // Until 2026-12-05 it waited for the probe's lapse from here: a settle slower than one ask held it 2 s.
    const looks: number[] = [];
    for (const time of [T0 + 249, T0 + 250, T0 + 350, T0 + 550, T0 + 950, T0 + 1_750, T0 + 2_199]) {
      clock.time = time;
      if (clock.runDue() > 0) looks.push(time - T0);
      await settle();
    }
    expect(looks).toEqual([250, 350, 550, 950, 1_750]);
    expect(asked).toHaveLength(6);
    expect([went, b.waitingFor]).toEqual([[], 'cooldown']);
    // The next look would come after the lapse: it waits for the lapse (T0 + 2,200), where it probes p itself.
    clock.time = T0 + 2_200;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([b]);
  });

  it("a retry woken by the probe's end goes at the first look after the probe's settle is written", async () => {
    const { limits, went, clock, b, answerProbe } = await probedElsewhere();
    limits.retry(b, LAPSE);
    await settle();
    limits.wake('p', 'probe');
    await settle();
    clock.time = T0 + 250;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([]);
    await answerProbe();
    clock.time = T0 + 350;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([b]);
    // Its timer went with its wait: nothing is left for the probe's lapse.
    clock.time = T0 + 2_200;
    expect(clock.runDue()).toBe(0);
  });

  it('a retry held by another limit than the cooldown does not ask again for a wake on its way', async () => {
    const { limits, went, sharedLimiter, sharedState } = setup(
      { p: { requestsPerMinute: 1 } },
      { shared: true },
    );
    await sharedLimiter?.tryStart('p', { sessionId: 'x', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE });
    const asked = keysUpdated(sharedState);
    const held = record('held', { admitted: true });
    limits.retry(held, LAPSE);
    limits.wake('p', 'x');
    await settle();
    expect(asked).toEqual([providerKey('p')]);
    expect([went, held.waitingFor]).toEqual([[], 'requestsPerMinute']);
  });

  it('a retry whose ask was on its way when the bus woke it asks again once answered', async () => {
    const { limits, went, clock, b, answerProbe } = await probedElsewhere();
    // Its ask reads the state now (the probe holds p); the probe's end and its word come before the answer.
    limits.retry(b, LAPSE);
    clock.time = T0 + 250;
    void answerProbe();
    limits.wake('p', 'probe');
    await settle();
    expect(went).toEqual([b]);
  });

  it("a settle wakes only the retries held by its own provider's cooldown, and none already asking", async () => {
    const { limits, sharedLimiter, sharedState } = setup(
      { p: { requestsPerMinute: 1 }, q: { requestsPerMinute: 100 } },
      { shared: true },
    );
    // `held` waits for p's minute; `cooling` for q's cooldown.
    await sharedLimiter?.tryStart('p', { sessionId: 'x', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE });
    const held = record('held', { admitted: true });
    limits.retry(held, LAPSE);
    limits.observe(record('y', { admitted: true, provider: 'q' }), rateLimited(5_000));
    await settle();
    const cooling = record('cooling', { admitted: true, provider: 'q' });
    limits.retry(cooling, LAPSE);
    await settle();
    expect([held.waitingFor, cooling.waitingFor]).toEqual(['requestsPerMinute', 'cooldown']);
    const asked = keysUpdated(sharedState);
    // A 429 of p settles here: only its own settle writes; neither waiter looks again.
    limits.observe(record('z', { admitted: true }), rateLimited(100));
    await settle();
    expect(asked).toEqual([providerKey('p')]);
    // Two of q settle one after the other: `cooling` looks again once, not once for each.
    asked.length = 0;
    limits.observe(record('v', { admitted: true, provider: 'q' }), rateLimited(5_000));
    limits.observe(record('w', { admitted: true, provider: 'q' }), rateLimited(5_000));
    await settle();
    expect(asked).toEqual([providerKey('q'), providerKey('q'), providerKey('q')]);
    expect(cooling.waitingFor).toBe('cooldown');
  });

  it('a session that ends while its retry waits to look again asks the shared limiter no more', async () => {
    const { limits, went, clock, sharedLimiter, sharedState } = setup(
      { p: { requestsPerMinute: 1 } },
      { shared: true },
    );
    await sharedLimiter?.tryStart('p', { sessionId: 'x', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE });
    const a = record('a', { admitted: true });
    limits.retry(a, LAPSE);
    await settle();
    expect(a.waitingFor).toBe('requestsPerMinute');
    expect(clock.pending).toBe(1);
    // Its end (a shutdown's cancellation) takes the next look away: on a closed backend it would fail.
    a.result = { ok: false } as never;
    const asked = keysUpdated(sharedState);
    limits.ended(a);
    expect(clock.pending).toBe(0);
    clock.time = MINUTE_OPENS;
    await settle();
    expect(asked).toEqual([]);
    expect(went).toEqual([]);
    // It is no longer asking: a retry of the same record (taken over again here) asks afresh.
    a.result = null;
    limits.retry(a, LAPSE);
    await settle();
    expect(asked).toEqual([providerKey('p')]);
    expect(went).toEqual([a]);
  });

  it('a failing shared limiter reports the error and lets the retry go rather than wait', async () => {
    const failure = new Error('redis away');
    const away: SharedState = {
      update: () => Promise.reject(failure),
      read: () => Promise.reject(failure),
    };
    const { limits, went, errors, lanes, waited } = setup({ p: { requestsPerMinute: 1 } }, { shared: away });
    const a = record('a', { admitted: true, targets: CHAIN, at: 1 });
    a.waitingFor = 'cooldown';
    limits.retry(a, LAPSE);
    expect(lanes).toEqual(['leave p']);
    await settle();
    expect(errors).toEqual([failure]);
    expect(went).toEqual([a]);
    // It goes: no limit holds it through its call (a timeout there would name it).
    expect(a.waitingFor).toBeUndefined();
    expect(waited).toEqual(['a -']);
    expect(a.provider).toBe('q');
    expect(lanes).toEqual(['leave p', 'enter q']);
    // Asked again later, it asks (it is not still "asking").
    limits.retry(a, LAPSE);
    await settle();
    expect(errors).toEqual([failure, failure]);
    // A session that ended meanwhile does not go.
    const b = record('b', { admitted: true });
    limits.retry(b, LAPSE);
    limits.ended(b);
    await settle();
    expect(went).toEqual([a, a]);
  });

  it('a session moved on to another model of its provider without a slot takes one, charged or not', async () => {
    const failure = new Error('redis away');
    const away: SharedState = { update: () => Promise.reject(failure), read: () => Promise.reject(failure) };
    for (const shared of [true, away] as const) {
      const { limits, went, lanes } = setup({}, { shared });
      const a = record('a', { admitted: true, targets: [target('p', 'm'), target('p', 'n')], at: 1 });
      a.laneless = true;
      limits.retry(a, LAPSE);
      await settle();
      expect(went).toEqual([a]);
      expect(lanes).toEqual(['enter p']);
      expect(a.laneless).toBe(false);
    }
  });

  it("a hop asks its target's limits, and takes its target's slot once charged", async () => {
    const { limits, went, lanes, sharedLimiter } = setup(
      { p: { requestsPerMinute: 5 }, q: { requestsPerMinute: 5 } },
      { shared: true },
    );
    const a = record('a', { admitted: true, targets: CHAIN, at: 1 });
    limits.retry(a, LAPSE);
    expect(lanes).toEqual(['leave p']);
    expect(a.provider).toBe('p');
    await settle();
    expect(went).toEqual([a]);
    expect(lanes).toEqual(['leave p', 'enter q']);
    expect(a.provider).toBe('q');
    expect(a.limitStart?.model).toBe('n');
    expect(sharedLimiter?.budgetsNow(['p', 'q'], T0)).toMatchObject({
      p: { remaining: { requestsPerMinute: 5 } },
      q: { remaining: { requestsPerMinute: 4 } },
    });
  });

  it('outcomes and ends settle on the shared limiter; a 429 there counts the cooldown it began', async () => {
    const { limits, sharedLimiter, sharedState } = setup(
      { p: { maxConcurrent: 2, tokensPerMinute: 100_000 } },
      { shared: true },
    );
    const a = record('a', { admitted: true });
    const b = record('b', { admitted: true });
    limits.retry(a, LAPSE);
    limits.retry(b, LAPSE);
    await settle();
    expect(limits.observe(a, answered(30))).toBe(true);
    expect(a.limitStart).toBeNull();
    limits.ended(b);
    expect(b.limitStart).toBeNull();
    await settle();
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining).toMatchObject({
      maxConcurrent: 2,
      tokensPerMinute: 100_000 - 30 - TOKENS,
    });
    expect(limits.observe(record('c', { admitted: true }), rateLimited(5_000))).toBe(true);
    expect(limits.counters.cooldowns).toBe(0);
    await settle();
    expect(limits.counters).toMatchObject({ rateLimited: 1, cooldowns: 1 });
    const shared = (await sharedState?.read<ProviderState>(providerKey('p'))) as ProviderState;
    expect(shared.c.value).toBe('coolingDown');
    // The local state is not the one charged.
    expect(limits.state.size).toBe(0);
    // A second 429 during the cooldown begins none.
    limits.observe(record('d', { admitted: true }), rateLimited(5_000));
    await settle();
    expect(limits.counters).toMatchObject({ rateLimited: 2, cooldowns: 1 });
  });

  // A 429's cooldown was written beside its session's end: a session submitted once that end was
  // told met the model open, and its call got the vendor's 429 in turn (`SessionDriver` waits).
  it('a 429 keeps its settle on the record (`cooling`) until its first try is answered, refused or not', async () => {
    const memory = new MemorySharedState(new ManualClock());
    let answer = () => {};
    let refuse = false;
    const slow: SharedState = {
      update: (key, init, change, ttlMs) => {
        if (refuse) return Promise.reject(new Error('redis away'));
        return new Promise<void>((resolve) => (answer = resolve)).then(() =>
          memory.update(key, init, change, ttlMs),
        );
      },
      read: (key) => memory.read(key),
    };
    const { limits, clock, errors } = setup({}, { shared: slow });
    const c = record('c', { admitted: true });
    limits.observe(c, rateLimited(5_000));
    let written = false;
    void c.cooling?.then(() => (written = true));
    await settle();
    expect(written).toBe(false);
    answer();
    await settle();
    expect(written).toBe(true);
    expect((await memory.read<ProviderState>(providerKey('p')))?.c.value).toBe('coolingDown');
    expect(limits.counters.cooldowns).toBe(1);
    // Any other outcome (its retry's, charged) begins no cooldown: its end waits for nothing.
    c.limitStart = { sessionId: 'c', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE };
    limits.observe(c, answered(30));
    answer();
    expect(c.cooling).toBeUndefined();
    // Refused (Redis away): its end is told at once, and the settle is tried again meanwhile.
    refuse = true;
    const d = record('d', { admitted: true });
    limits.observe(d, rateLimited(5_000));
    let told = false;
    void d.cooling?.then(() => (told = true));
    await settle();
    expect(told).toBe(true);
    refuse = false;
    clock.advance(500);
    clock.runDue();
    await settle();
    answer();
    await settle();
    expect(limits.counters).toMatchObject({ rateLimited: 2, cooldowns: 1 });
    expect(errors).toEqual([]);
  });

  // A settle the shared state refused (Redis reconnecting) was dropped: the call's slot stayed
  // taken on every instance until its run deadline.
  it('a settle the shared state refuses is tried again every 500 ms, about 30 s, before it is reported', async () => {
    const memory = new MemorySharedState(new ManualClock());
    let refusals = 3;
    const blip: SharedState = {
      update: (key, init, change, ttlMs) =>
        refusals-- > 0 ? Promise.reject(new Error('redis away')) : memory.update(key, init, change, ttlMs),
      read: (key) => memory.read(key),
    };
    const { limits, clock, errors, sharedLimiter } = setup({ p: { maxConcurrent: 1 } }, { shared: blip });
    const limiter = new Limiter(new Map([['p', { maxConcurrent: 1 }]]), memory);
    // The session holds the one slot (charged where the queue admitted it), then ends while Redis is away.
    expect(
      await limiter.tryStart('p', { sessionId: 'a', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE }),
    ).toMatchObject({ ok: true });
    const a = record('a', { admitted: true });
    a.limitStart = { sessionId: 'a', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE };
    limits.ended(a);
    await settle();
    const slots = () => limiter.budgetsNow(['p'], T0).p?.remaining.maxConcurrent;
    expect(slots()).toBe(0);
    for (let i = 0; i < 3; i++) {
      clock.advance(500);
      clock.runDue();
      await settle();
    }
    expect(slots()).toBe(1);
    expect(errors).toEqual([]);
    expect(sharedLimiter).toBeDefined();
    // Away for good: 61 tries, then the error is reported once.
    refusals = Number.POSITIVE_INFINITY;
    const b = record('b', { admitted: true });
    b.limitStart = { sessionId: 'b', model: 'm', now: T0, tokens: 1, lapsesAt: LAPSE };
    limits.ended(b);
    for (let i = 0; i < 70; i++) {
      await settle();
      clock.advance(500);
      clock.runDue();
    }
    await settle();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe(
      "Expected the shared state to take session b's end at p (its limit slot and window), got redis away for 30 s; the slot frees at its run deadline",
    );
  });
});
