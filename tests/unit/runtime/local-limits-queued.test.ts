/**
 * `LocalLimits` on a shared limiter, for sessions submitted here (`createRuntime({ sharedState })`
 * without a backend): the first start of a queued session asks the shared limits, one session of a
 * provider's queue at a time (`shared-asks.ts`, `queued-asks.ts`), and goes once let go; a session
 * a shared queue leased goes at once (`local-limits-shared.test.ts`). Until 2026-12-05 the gate let
 * every session go on a shared state, charged or not. Plain records on a manual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Limiter } from '../../../src/runtime/limits.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { CHAIN, MINUTE_OPENS, record, settle, setup, T0, TOKENS, tick } from './local-limits-fixture.js';

const LAPSE = T0 + 60_000;
/** The keys of the shared state's updates from now on, in order. */
function keysUpdated(sharedState: SharedState | undefined): string[] {
  const asked: string[] = [];
  const state = sharedState as SharedState;
  const update = state.update.bind(state);
  state.update = ((...args: Parameters<typeof update>) => {
    asked.push(args[0]);
    return update(...args);
  }) as typeof update;
  return asked;
}
const at = (sessionId: string, now = T0) => ({ sessionId, model: 'm', now, tokens: 1, lapsesAt: LAPSE });

describe('a session submitted here, on a shared limiter', () => {
  it('asks the shared limits before its first start, and goes once charged', async () => {
    const { limits, went, sharedLimiter, clock } = setup(
      { p: { requestsPerMinute: 5, tokensPerMinute: 100_000 } },
      { shared: true },
    );
    clock.time = T0 + 7;
    const a = record('a');
    expect(limits.gate(a, LAPSE)).toBe(false);
    expect(went).toEqual([]);
    await settle();
    // Let go: the runtime pumps, and the gate lets it go then.
    expect(went).toEqual([a]);
    // Its charge lapses a run's length (its `timeoutMs`) after it asked.
    expect(a.limitStart).toEqual({
      sessionId: 'a',
      model: 'm',
      now: T0 + 7,
      tokens: TOKENS,
      lapsesAt: T0 + 60_007,
    });
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(sharedLimiter?.budgetsNow(['p'], T0 + 7).p?.remaining).toMatchObject({
      requestsPerMinute: 4,
      tokensPerMinute: 100_000 - TOKENS,
    });
    // Its own limiter holds nothing: the shared one counts.
    expect(limits.state.size).toBe(0);
    // Its status reads the shared state.
    expect(limits.budgets(['p']).p?.remaining.requestsPerMinute).toBe(4);
    // A task asks nothing.
    expect(limits.gate(record('t', { task: true }), LAPSE)).toBe(true);
  });

  it('waits while refused, naming the limit, and its queue waits behind it; looks again when it may have room', async () => {
    const { limits, went, clock, sharedLimiter, sharedState } = setup(
      { p: { requestsPerMinute: 1 } },
      { shared: true },
    );
    await sharedLimiter?.tryStart('p', at('x'));
    const [a, b] = [record('a'), record('b')];
    const asked = keysUpdated(sharedState);
    expect(limits.gate(a, LAPSE)).toBe(false);
    // Its answer is on its way: one that came ahead of it meanwhile waits for it, and asks nothing.
    expect(limits.gate(record('ahead'), LAPSE)).toBe(false);
    expect(asked).toEqual(['limits:p']);
    await settle();
    expect(a.waitingFor).toBe('requestsPerMinute');
    expect(limits.counters.waits.requestsPerMinute).toBe(1);
    // Refused, it has the runtime pump (its cooldown may move others on): it does not go.
    expect(went).toEqual([a]);
    expect(a.limitStart).toBeUndefined();
    // Its queue waits behind it (the scheduler looks no further), held by its limit.
    limits.begin();
    expect(limits.gate(a, LAPSE)).toBe(false);
    limits.end();
    expect(limits.waitingOf(b)).toBe('requestsPerMinute');
    expect(limits.counters.waits.requestsPerMinute).toBe(1);
    // One look, when the minute opens.
    expect(clock.pending).toBe(1);
    clock.time = MINUTE_OPENS - 1;
    expect(clock.runDue()).toBe(0);
    clock.time = MINUTE_OPENS;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(a.waitingFor).toBeUndefined();
    expect(limits.gate(a, LAPSE)).toBe(true);
    // Its queue is held no more: the one behind it is not said to wait before it asks.
    expect(limits.waitingOf(b)).toBeUndefined();
    // Its queue's next one asks now.
    expect(limits.gate(b, LAPSE)).toBe(false);
    await settle();
    expect(b.waitingFor).toBe('requestsPerMinute');
  });

  it('held by a concurrency slot, looks again every second', async () => {
    const { limits, clock, sharedLimiter } = setup({ p: { maxConcurrent: 1 } }, { shared: true });
    await sharedLimiter?.tryStart('p', at('x'));
    const a = record('a');
    limits.gate(a, LAPSE);
    await settle();
    expect(a.waitingFor).toBe('maxConcurrent');
    clock.time = T0 + 999;
    expect(clock.runDue()).toBe(0);
    clock.time = T0 + 1000;
    expect(clock.runDue()).toBe(1);
    await settle();
    await sharedLimiter?.settle('p', at('x'), T0 + 1000, { kind: 'ended' });
    clock.time = T0 + 2000;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(limits.gate(a, LAPSE)).toBe(true);
  });

  it('one that comes ahead of a waiting one asks in its place; one let go goes first', async () => {
    const { limits, went, clock, sharedLimiter } = setup({ p: { maxConcurrent: 1 } }, { shared: true });
    const x = at('x');
    await sharedLimiter?.tryStart('p', x);
    const [a, high] = [record('a'), record('high')];
    limits.gate(a, LAPSE);
    await settle();
    expect(clock.pending).toBe(1);
    // `high` is the queue's first now: `a`'s next look is off, and `high` asks.
    expect(limits.gate(high, LAPSE)).toBe(false);
    expect(clock.pending).toBe(0);
    await settle();
    expect(high.waitingFor).toBe('maxConcurrent');
    expect(clock.pending).toBe(1);
    // `a` is behind it: it waits, and asks nothing.
    expect(limits.gate(high, LAPSE)).toBe(false);
    await sharedLimiter?.settle('p', x, T0, { kind: 'ended' });
    clock.time = T0 + 1000;
    clock.runDue();
    await settle();
    expect(went.at(-1)).toBe(high);
    // Let go: a session that came ahead of it meanwhile is looked past, to it.
    const higher = record('higher');
    expect(limits.gate(higher, LAPSE)).toBe('item');
    expect(limits.gate(high, LAPSE)).toBe(true);
    expect(higher.limitStart).toBeUndefined();
    // Now `higher` asks (and is refused: `high` holds the slot).
    expect(limits.gate(higher, LAPSE)).toBe(false);
    await settle();
    expect(higher.waitingFor).toBe('maxConcurrent');
    expect(a.limitStart).toBeUndefined();
  });

  it('a limit of its model alone holds only that model’s sessions; another model’s asks', async () => {
    const { limits, clock, sharedLimiter } = setup(
      { p: { models: { m: { requestsPerMinute: 1 } } } },
      { shared: true },
    );
    await sharedLimiter?.tryStart('p', at('x'));
    const [a, b, c] = [record('a'), record('b'), record('c', { model: 'n' })];
    limits.gate(a, LAPSE);
    await settle();
    expect(a.waitingFor).toBe('requestsPerMinute');
    limits.begin();
    expect(limits.gate(a, LAPSE)).toBe('item');
    expect(limits.gate(b, LAPSE)).toBe('item');
    expect(b.waitingFor).toBe('requestsPerMinute');
    expect(limits.gate(c, LAPSE)).toBe(false);
    limits.end();
    await settle();
    expect(limits.gate(c, LAPSE)).toBe(true);
    // The first of model `m` looks again when the minute opens: while that answer is on its way its
    // queue waits for it (its model's limit may be gone).
    clock.time = MINUTE_OPENS - 1;
    expect(clock.runDue()).toBe(0);
    clock.time = MINUTE_OPENS;
    expect(clock.runDue()).toBe(1);
    expect(limits.gate(a, LAPSE)).toBe(false);
    await settle();
    expect(limits.gate(a, LAPSE)).toBe(true);
    // `b` did not ask: it waited behind `a`.
    expect(b.limitStart).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it('one that comes ahead of a model-held one of another model leaves it waiting; of its model, asks in its place', async () => {
    const { limits, clock, sharedLimiter } = setup(
      { p: { models: { m: { requestsPerMinute: 1 }, n: { requestsPerMinute: 1 } } } },
      { shared: true },
    );
    await sharedLimiter?.tryStart('p', at('x'));
    await sharedLimiter?.tryStart('p', { ...at('y'), model: 'n' });
    const [a, c] = [record('a'), record('c', { model: 'n' })];
    limits.gate(a, LAPSE);
    await settle();
    limits.gate(c, LAPSE);
    await settle();
    expect(clock.pending).toBe(2);
    // A session of model `n` ahead of both: `c`'s look is off, `a`'s stays.
    limits.begin();
    const d = record('d', { model: 'n' });
    expect(limits.gate(d, LAPSE)).toBe(false);
    limits.end();
    expect(clock.pending).toBe(1);
    await settle();
    expect(d.waitingFor).toBe('requestsPerMinute');
    // And one of model `m` ahead of all: `a`'s look is off, `d`'s stays.
    limits.begin();
    expect(limits.gate(record('e'), LAPSE)).toBe(false);
    limits.end();
    await settle();
    clock.time = MINUTE_OPENS;
    // `d`'s look and the new one's; `a` looks no more.
    expect(clock.runDue()).toBe(2);
    expect(a.waitingFor).toBe('requestsPerMinute');
  });

  it('one that comes ahead of a waiting one of another model, held by its provider’s limit, asks in its place', async () => {
    const { limits, clock, sharedLimiter } = setup({ p: { requestsPerMinute: 1 } }, { shared: true });
    await sharedLimiter?.tryStart('p', at('x'));
    limits.gate(record('a'), LAPSE);
    await settle();
    expect(clock.pending).toBe(1);
    expect(limits.gate(record('c', { model: 'n' }), LAPSE)).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('ending while it asks gives its charge back; ending while it waits ends its look', async () => {
    const { limits, went, clock, sharedLimiter } = setup({ p: { maxConcurrent: 1 } }, { shared: true });
    const a = record('a');
    limits.gate(a, LAPSE);
    limits.ended(a);
    await settle();
    expect(went).toEqual([]);
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining.maxConcurrent).toBe(1);
    // The next one asks (the ended one is no longer in its queue's way).
    const b = record('b');
    expect(limits.gate(b, LAPSE)).toBe(false);
    await settle();
    expect(limits.gate(b, LAPSE)).toBe(true);
    const c = record('c');
    limits.gate(c, LAPSE);
    await settle();
    expect(clock.pending).toBe(1);
    limits.ended(c);
    expect(clock.pending).toBe(0);
    // Let go, then ended before its pass: its charge is given back with its end.
    limits.ended(b);
    await settle();
    const d = record('d');
    limits.gate(d, LAPSE);
    await settle();
    expect(d.limitStart).toBeDefined();
    limits.ended(d);
    await settle();
    expect(sharedLimiter?.budgetsNow(['p'], T0).p?.remaining.maxConcurrent).toBe(1);
    const e = record('e');
    expect(limits.gate(e, LAPSE)).toBe(false);
    await settle();
    expect(limits.gate(e, LAPSE)).toBe(true);
  });

  it('ended while it asks, or let go and ended before its pass, it gives back its request and tokens; once its pass let it go, they stay', async () => {
    const config = { p: { requestsPerMinute: 3, tokensPerMinute: 10 * TOKENS, tokensPerDay: 100 * TOKENS } };
    const { limits, sharedLimiter } = setup(config, { shared: true });
    const left = () => sharedLimiter?.budgetsNow(['p'], T0).p?.remaining;
    const whole = { requestsPerMinute: 3, tokensPerMinute: 10 * TOKENS, tokensPerDay: 100 * TOKENS };
    const a = record('a');
    limits.gate(a, LAPSE);
    limits.ended(a);
    await settle();
    expect(left()).toMatchObject(whole);
    const b = record('b');
    limits.gate(b, LAPSE);
    await settle();
    expect(b.limitStart).toBeDefined();
    expect(left()?.requestsPerMinute).toBe(2);
    // Cancelled (or its queue deadline) before the pass that would let it go.
    limits.ended(b);
    await settle();
    expect(left()).toMatchObject(whole);
    // Let go by its pass: its call uses the charge, which an end keeps.
    const c = record('c');
    limits.gate(c, LAPSE);
    await settle();
    expect(limits.gate(c, LAPSE)).toBe(true);
    c.admitted = true;
    limits.ended(c);
    await settle();
    expect(left()).toMatchObject({
      requestsPerMinute: 2,
      tokensPerMinute: 9 * TOKENS,
      tokensPerDay: 99 * TOKENS,
    });
  });

  it('leased by a shared queue and ended before its pass, it gives back its charge, and the probe it began', async () => {
    const config = { p: { requestsPerMinute: 3 } };
    const { limits, sharedLimiter, clock } = setup(config, { shared: true });
    const limiter = sharedLimiter as Limiter;
    const startOf = (id: string) => ({
      sessionId: id,
      model: 'm',
      now: clock.now(),
      tokens: TOKENS,
      lapsesAt: LAPSE,
    });
    // A 429 cools the provider down a second; the first start after it is its probe.
    const first = startOf('first');
    await limiter.tryStart('p', first);
    await limiter.settle('p', first, clock.now(), { kind: 'rateLimited', retryAfterMs: 1000 });
    clock.time += 1000;
    const leased = { ...record('l'), leased: true as const, limitStart: startOf('l') };
    expect(await limiter.tryStart('p', startOf('l'))).toEqual({ ok: true, probe: true });
    expect(await limiter.tryStart('p', startOf('x'))).toMatchObject({ ok: false, limit: 'cooldown' });
    limits.ended(leased);
    await settle();
    expect(limiter.budgetsNow(['p'], clock.now()).p?.remaining.requestsPerMinute).toBe(2);
    // Its probe went with it: the next start probes at once, not at its lapse.
    expect(await limiter.tryStart('p', startOf('y'))).toEqual({ ok: true, probe: true });
  });

  it('a provider cooling down past the queue deadline of one with fallbacks moves it on, asking no more', async () => {
    const { limits, went, clock, sharedLimiter } = setup({ p: { requestsPerMinute: 100 } }, { shared: true });
    await sharedLimiter?.settle('p', at('x'), T0, { kind: 'rateLimited', retryAfterMs: 30_000 });
    const a = record('a', { targets: CHAIN, queueDeadlineAt: T0 + 5_000 });
    const b = record('b', { targets: CHAIN, queueDeadlineAt: T0 + 5_000 });
    limits.gate(a, LAPSE);
    await settle();
    expect(a.waitingFor).toBe('cooldown');
    expect(limits.counters.waits.cooldown).toBe(1);
    expect(went).toEqual([a]);
    expect(limits.mayReroute).toBe(true);
    expect(clock.pending).toBe(1);
    const moving = limits.reroutes(() => [a, b]);
    expect(moving).toEqual([a, b]);
    expect(a.reroute?.code).toBe('RATE_LIMITED');
    // Its look is off: it asks no more.
    expect(clock.pending).toBe(0);
  });

  it('a window opening past the queue deadline of one with fallbacks moves nothing on (only a cooldown does)', async () => {
    const { limits, sharedLimiter } = setup({ p: { requestsPerMinute: 1 } }, { shared: true });
    await sharedLimiter?.tryStart('p', at('x'));
    const a = record('a', { targets: CHAIN, queueDeadlineAt: T0 + 5_000 });
    limits.gate(a, LAPSE);
    await settle();
    expect(a.waitingFor).toBe('requestsPerMinute');
    expect(limits.mayReroute).toBe(false);
    expect(limits.reroutes(() => [a])).toEqual([]);
  });

  it('without fallbacks, a cooldown moves nothing on', async () => {
    const { limits, sharedLimiter } = setup({ p: { requestsPerMinute: 100 } }, { shared: true });
    await sharedLimiter?.settle('p', at('x'), T0, { kind: 'rateLimited', retryAfterMs: 30_000 });
    const a = record('a');
    limits.gate(a, LAPSE);
    await settle();
    expect(a.waitingFor).toBe('cooldown');
    expect(limits.reroutes(() => [a])).toEqual([]);
  });

  it('a failing shared limiter is reported and asked again a second later; the session does not go uncharged', async () => {
    const failure = new Error('state away');
    let failing = true;
    const { limits, went, errors, clock, sharedState } = setup(
      { p: { requestsPerMinute: 1 } },
      { shared: true },
    );
    const state = sharedState as SharedState;
    const update = state.update.bind(state);
    state.update = ((...args: Parameters<typeof update>) =>
      failing ? Promise.reject(failure) : update(...args)) as typeof update;
    const a = record('a');
    limits.gate(a, LAPSE);
    await settle();
    expect(errors).toEqual([failure]);
    expect(went).toEqual([]);
    expect(limits.gate(a, LAPSE)).toBe(false);
    clock.time = T0 + 999;
    expect(clock.runDue()).toBe(0);
    failing = false;
    clock.time = T0 + 1000;
    expect(clock.runDue()).toBe(1);
    await settle();
    expect(went).toEqual([a]);
    expect(limits.gate(a, LAPSE)).toBe(true);
    // Failing after it ended: reported, nothing more.
    failing = true;
    const b = record('b');
    limits.gate(b, LAPSE);
    limits.ended(b);
    await settle();
    expect(errors).toEqual([failure, failure]);
    expect(clock.pending).toBe(0);
  });

  it('without a shared state, an end heard on the bus wakes nothing (nothing asks)', () => {
    const { limits, clock } = setup({ p: { requestsPerMinute: 1 } });
    expect(() => limits.wake('p', 'x')).not.toThrow();
    expect(clock.pending).toBe(0);
  });

  it('at its queue deadline it names the limit that held it', async () => {
    const { limits, sharedLimiter } = setup({ p: { requestsPerMinute: 1 } }, { shared: true });
    await sharedLimiter?.tryStart('p', at('x'));
    const [a, b] = [record('a'), record('b')];
    limits.gate(a, LAPSE);
    await settle();
    limits.begin();
    limits.gate(a, LAPSE);
    limits.end();
    expect(limits.observe(b, tick)).toBe(false);
    expect(b.waitingFor).toBe('requestsPerMinute');
  });
});
