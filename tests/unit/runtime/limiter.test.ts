/**
 * The limiter's policy (src/runtime/limiter.ts) and its runner over a shared state
 * (src/runtime/limits.ts), as a provider with limits meets them: a start is charged to the
 * provider and its model or to neither, a cooldown holds every start and lets one probe go, a
 * call's outcome reconciles its tokens and frees its slot.
 */
import { describe, expect, it } from 'vitest';
import { PROBE_ACCEPTED_MS, providerStep } from '../../../machines/provider.js';
import { charge, remaining } from '../../../src/core/rate-window.js';
import {
  acquireModel,
  acquireProvider,
  budgetOf,
  initialProviderState,
  MAX_MODELS_NOTED,
  modelKey,
  neverFits,
  neverFitsAt,
  noteModelCooldown,
  outcomeOf,
  type ProviderLimitsConfig,
  type ProviderState,
  providerKey,
  refundProvider,
  type Start,
  settleModel,
  settleProvider,
} from '../../../src/runtime/limiter.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { ManualClock } from '../../support/manual-clock.js';

const T0 = 10 * 3_600_000 + 500; // mid-second, mid-hour
const start = (sessionId: string, tokens = 100, now = T0): Start => ({
  sessionId,
  model: 'm',
  now,
  tokens,
  lapsesAt: now + 60_000,
});
/** A provider state cooling down after a 429 at `at` for `ms`. */
const cooling = (at: number, ms: number): ProviderState => ({
  w: initialProviderState().w,
  c: providerStep(initialProviderState().c, { type: 'provider.rateLimited', now: at, retryAfterMs: ms }),
});

describe('acquireProvider', () => {
  it('charges a start that fits: one request and its tokens, a slot only with maxConcurrent', () => {
    const limits = { requestsPerMinute: 10, tokensPerMinute: 1000 };
    const { state, result } = acquireProvider(limits, start('a'))(initialProviderState());
    expect(result).toEqual({ ok: true, probe: false });
    expect(remaining(state.w, { ...limits, maxConcurrent: 5 }, T0)).toEqual({
      maxConcurrent: 5,
      requestsPerMinute: 9,
      tokensPerMinute: 900,
      tokensPerDay: null,
    });
    const slotted = acquireProvider({ maxConcurrent: 2 }, start('a'))(initialProviderState()).state;
    expect(slotted.w.r).toEqual([['a', T0 + 60_000]]);
  });

  it('refuses a start that does not fit and changes nothing', () => {
    const before = { ...initialProviderState(), w: charge(initialProviderState().w, T0, 1) };
    const { state, result } = acquireProvider({ requestsPerMinute: 1 }, start('b'))(before);
    expect(result).toMatchObject({ ok: false, limit: 'requestsPerMinute' });
    expect(state).toBe(before);
  });

  it('a cooldown holds every start until it ends, then lets exactly one probe go', () => {
    const held = acquireProvider({}, start('a'))(cooling(T0 - 100, 1000));
    expect(held.result).toEqual({ ok: false, limit: 'cooldown', at: T0 + 900 });
    expect(held.state).toEqual(cooling(T0 - 100, 1000));
    const later = start('a', 100, T0 + 900);
    const probe = acquireProvider({}, later)(cooling(T0 - 100, 1000));
    expect(probe.result).toEqual({ ok: true, probe: true });
    expect(probe.state.c.value).toBe('probing');
    expect(probe.state.c.context.probe).toBe('a');
    // The probe lapses at its run deadline or once it was surely accepted, whichever comes first.
    expect(probe.state.c.context.probeLapsesAt).toBe(T0 + 900 + PROBE_ACCEPTED_MS);
    const short = acquireProvider({}, { ...later, lapsesAt: T0 + 1000 })(cooling(T0 - 100, 1000));
    expect(short.state.c.context.probeLapsesAt).toBe(T0 + 1000);
    // The next start waits for the probe's answer, or its lapse, and is told whose it is.
    const next = acquireProvider({}, start('b', 100, T0 + 901))(probe.state);
    expect(next.result).toEqual({
      ok: false,
      limit: 'cooldown',
      at: T0 + 900 + PROBE_ACCEPTED_MS,
      probe: 'a',
    });
  });

  it('a start that fits the cooldown but not the windows takes no probe', () => {
    const full = { ...cooling(T0 - 100, 100), w: charge(initialProviderState().w, T0, 1) };
    const { state, result } = acquireProvider({ requestsPerMinute: 1 }, start('a'))(full);
    expect(result).toMatchObject({ ok: false, limit: 'requestsPerMinute' });
    expect(state.c.context.probe).toBeNull();
  });
});

describe('acquireModel and refundProvider', () => {
  it('a model charges its own windows and slot', () => {
    const { state, result } = acquireModel(
      { maxConcurrent: 1, tokensPerMinute: 150 },
      start('a'),
    )(initialProviderState().w);
    expect(result).toEqual({ ok: true });
    expect(state.r).toEqual([['a', T0 + 60_000]]);
    const refused = acquireModel({ maxConcurrent: 1 }, start('b'))(state);
    expect(refused.result).toMatchObject({ ok: false, limit: 'maxConcurrent' });
    expect(refused.state).toBe(state);
    const noSlot = acquireModel({ tokensPerMinute: 150 }, start('a'))(initialProviderState().w).state;
    expect(noSlot.r).toEqual([]);
  });

  it('a refund takes back the start, its tokens and its slot: the provider is as before', () => {
    const limits = { maxConcurrent: 3, requestsPerMinute: 5, tokensPerMinute: 1000, tokensPerDay: 5000 };
    const first = acquireProvider(limits, start('a', 100))(initialProviderState()).state;
    const second = acquireProvider(limits, start('b', 300))(first).state;
    const refunded = refundProvider(start('b', 300), false)(second).state;
    expect(remaining(refunded.w, limits, T0)).toEqual(remaining(first.w, limits, T0));
    expect(refunded.w.r).toEqual([['a', T0 + 60_000]]);
    // Never below zero, even for a refund of more than was charged.
    const over = refundProvider(start('a', 10_000), false)(first).state;
    expect(remaining(over.w, limits, T0)).toEqual({
      maxConcurrent: 3,
      requestsPerMinute: 5,
      tokensPerMinute: 1000,
      tokensPerDay: 5000,
    });
  });

  it('a refund leaves the buckets of other seconds and hours alone', () => {
    const limits = { tokensPerMinute: 1000, tokensPerDay: 5000 };
    const early = acquireProvider(limits, start('a', 100, T0 - 3_600_000))(initialProviderState()).state;
    const late = acquireProvider(limits, start('b', 200, T0 - 2000))(early).state;
    const refunded = refundProvider(start('c', 50, T0), false)(late).state;
    expect(refunded.w.s).toEqual(late.w.s);
    expect(refunded.w.h).toEqual(late.w.h);
  });

  it('a refunded probe hands the probe to the next start', () => {
    const later = start('a', 100, T0 + 900);
    const probe = acquireProvider({}, later)(cooling(T0 - 100, 1000)).state;
    expect(refundProvider(later, true)(probe).state.c.context.probe).toBeNull();
    expect(refundProvider(later, false)(probe).state.c.context.probe).toBe('a');
  });
});

describe('settleProvider and settleModel', () => {
  const limits = { maxConcurrent: 2, tokensPerMinute: 1000 };
  const charged = () => acquireProvider(limits, start('a', 100))(initialProviderState()).state;

  it('an answer replaces the estimate with the tokens used and frees the slot', () => {
    const { state, result } = settleProvider('a', T0, T0 + 50, { kind: 'answered', delta: 150 })(charged());
    expect(result).toBe(state);
    expect(remaining(state.w, limits, T0 + 50)).toMatchObject({ maxConcurrent: 2, tokensPerMinute: 750 });
    const ended = settleProvider('a', T0, T0 + 50, { kind: 'ended' })(charged()).state;
    expect(remaining(ended.w, limits, T0 + 50)).toMatchObject({ maxConcurrent: 2, tokensPerMinute: 900 });
  });

  it("a 429 cools the provider down for its hint, or the default pause; the probe's answer opens it", () => {
    const hinted = settleProvider('a', T0, T0 + 50, { kind: 'rateLimited', retryAfterMs: 5000 })(charged());
    expect(hinted.state.c.value).toBe('coolingDown');
    expect(hinted.state.c.context.until).toBe(T0 + 5050);
    const bare = settleProvider('a', T0, T0 + 50, { kind: 'rateLimited', retryAfterMs: undefined })(
      charged(),
    );
    expect(bare.state.c.context.until).toBe(T0 + 1050);
    const later = start('p', 100, T0 + 900);
    const probing = acquireProvider({}, later)(cooling(T0 - 100, 1000)).state;
    expect(
      settleProvider('p', later.now, T0 + 950, { kind: 'answered', delta: 0 })(probing).state.c.value,
    ).toBe('open');
    const ended = settleProvider('p', later.now, T0 + 950, { kind: 'ended' })(probing).state;
    expect(ended.c.value).toBe('probing');
    expect(ended.c.context.probe).toBeNull();
  });

  it("a model's settle reconciles its tokens and frees its slot", () => {
    const model = acquireModel(limits, start('a', 100))(initialProviderState().w).state;
    const answered = settleModel('a', T0, T0 + 50, { kind: 'answered', delta: -40 })(model).state;
    expect(remaining(answered, limits, T0 + 50)).toMatchObject({ maxConcurrent: 2, tokensPerMinute: 940 });
    const ended = settleModel('a', T0, T0 + 50, { kind: 'ended' })(model).state;
    expect(remaining(ended, limits, T0 + 50)).toMatchObject({ maxConcurrent: 2, tokensPerMinute: 900 });
  });
});

describe('budgetOf and neverFits', () => {
  it('says what is left and whether the provider cools down, and until when', () => {
    expect(budgetOf(undefined, { requestsPerMinute: 3 }, T0)).toEqual({
      cooldown: 'open',
      cooldownUntil: null,
      cooldowns: 0,
      remaining: { maxConcurrent: null, requestsPerMinute: 3, tokensPerMinute: null, tokensPerDay: null },
    });
    const cool = budgetOf(cooling(T0, 1000), {}, T0 + 10);
    expect(cool).toMatchObject({ cooldown: 'coolingDown', cooldownUntil: T0 + 1000, cooldowns: 1 });
    // Once the pause is over it is probing, with no end to report.
    expect(budgetOf(cooling(T0, 1000), {}, T0 + 1000)).toMatchObject({
      cooldown: 'probing',
      cooldownUntil: null,
    });
  });

  it('refuses up front only a request larger than a whole token limit', () => {
    expect(neverFits({ tokensPerMinute: 100, tokensPerDay: 1000 }, 100)).toBeUndefined();
    expect(neverFits({ tokensPerMinute: 100, tokensPerDay: 1000 }, 101)).toBe('tokensPerMinute');
    expect(neverFits({ tokensPerDay: 1000 }, 1001)).toBe('tokensPerDay');
    expect(neverFits({ tokensPerMinute: 5000, tokensPerDay: 1000 }, 1000)).toBeUndefined();
    expect(neverFits({}, 1e9)).toBeUndefined();
  });

  it('neverFitsAt names the provider’s window first, then its model’s, with the limit and where it is set', () => {
    const config = {
      tokensPerMinute: 500,
      tokensPerDay: 5_000,
      models: { m: { tokensPerMinute: 300, tokensPerDay: 400 } },
    };
    expect(neverFitsAt(undefined, 'p', 'm', 1e9)).toBeUndefined();
    // A provider without limits per model: its own windows only.
    expect(neverFitsAt({ tokensPerMinute: 500 }, 'p', 'm', 500)).toBeUndefined();
    expect(neverFitsAt(config, 'p', 'other', 500)).toBeUndefined();
    expect(neverFitsAt(config, 'p', 'other', 501)).toEqual({
      limit: 'tokensPerMinute',
      max: 500,
      setting: 'limits.providers.p.tokensPerMinute',
    });
    expect(neverFitsAt(config, 'p', 'm', 300)).toBeUndefined();
    expect(neverFitsAt(config, 'p', 'm', 301)).toEqual({
      limit: 'tokensPerMinute',
      max: 300,
      setting: 'limits.providers.p.models["m"].tokensPerMinute',
    });
    expect(neverFitsAt({ models: { m: { tokensPerDay: 400 } } }, 'p', 'm', 401)).toEqual({
      limit: 'tokensPerDay',
      max: 400,
      setting: 'limits.providers.p.models["m"].tokensPerDay',
    });
    expect(neverFitsAt({ tokensPerDay: 5_000 }, 'p', 'm', 5_001)).toEqual({
      limit: 'tokensPerDay',
      max: 5_000,
      setting: 'limits.providers.p.tokensPerDay',
    });
  });
});

describe('Limiter over a shared state', () => {
  const config = new Map([
    [
      'p',
      {
        maxConcurrent: 9,
        requestsPerMinute: 10,
        models: { m: { requestsPerMinute: 1, maxConcurrent: 1 } },
      },
    ],
    ['q', { tokensPerMinute: 500 }],
  ]);
  const setup = () => {
    const clock = new ManualClock();
    clock.time = T0;
    const state = new MemorySharedState(clock);
    return { state, limiter: new Limiter(config, state) };
  };

  it("the provider's maxConcurrent bounds its calls in flight (fallback hops included); a model's limits are its own", () => {
    const { limiter } = setup();
    expect(limiter.providerLimits('p')).toEqual({ maxConcurrent: 9, requestsPerMinute: 10 });
    // Nine calls of another model hold the provider's nine slots: the tenth waits for one.
    for (let i = 0; i < 9; i++)
      expect(limiter.tryStartNow('p', { ...start(`s${i}`), model: 'other' })).toMatchObject({ ok: true });
    const tenth = limiter.tryStartNow('p', { ...start('s9'), model: 'other' });
    expect(tenth).toMatchObject({ ok: false, limit: 'maxConcurrent' });
    expect(tenth).not.toHaveProperty('model');
    expect(limiter.providerLimits('unknown')).toEqual({});
    expect(limiter.modelLimits('p', 'm')).toEqual({ requestsPerMinute: 1, maxConcurrent: 1 });
    expect(limiter.modelLimits('p', 'other')).toBeUndefined();
    expect(limiter.modelLimits('q', 'm')).toBeUndefined();
  });

  it('a start the model refuses is charged to neither (in memory)', () => {
    const { state, limiter } = setup();
    expect(limiter.tryStartNow('p', start('a'))).toEqual({ ok: true, probe: false });
    const refused = limiter.tryStartNow('p', start('b'));
    expect(refused).toMatchObject({ ok: false, limit: 'maxConcurrent', model: true });
    const provider = state.readNow<ProviderState>(providerKey('p')) as ProviderState;
    expect(remaining(provider.w, { requestsPerMinute: 10 }, T0).requestsPerMinute).toBe(9);
    expect(state.readNow(modelKey('p', 'm'))).toBeDefined();
    // Another model of the same provider has only the provider's limits.
    expect(limiter.tryStartNow('p', { ...start('c'), model: 'other' })).toEqual({ ok: true, probe: false });
  });

  it('the same over the asynchronous port', async () => {
    const { state, limiter } = setup();
    expect(await limiter.tryStart('p', start('a'))).toEqual({ ok: true, probe: false });
    expect(await limiter.tryStart('p', start('b'))).toMatchObject({ ok: false, model: true });
    const provider = state.readNow<ProviderState>(providerKey('p')) as ProviderState;
    expect(remaining(provider.w, { requestsPerMinute: 10 }, T0).requestsPerMinute).toBe(9);
    // A refusal by the provider itself is not the model's.
    const q = await limiter.tryStart('q', start('x', 600));
    expect(q).toEqual({ ok: false, limit: 'tokensPerMinute', at: Number.POSITIVE_INFINITY });
  });

  it("settling frees the model's slot and reconciles both, in memory and over the port", async () => {
    const { limiter } = setup();
    limiter.tryStartNow('p', start('a'));
    limiter.settleNow('p', start('a'), T0 + 10, { kind: 'ended' });
    // The model's minute is spent, its slot free: it refuses on requestsPerMinute now.
    expect(limiter.tryStartNow('p', start('b'))).toMatchObject({ limit: 'requestsPerMinute', model: true });
    const other = setup().limiter;
    await other.tryStart('q', start('x', 100));
    await other.settle('q', start('x', 100), T0 + 10, { kind: 'answered', delta: 300 });
    expect((await other.budgets(['q'], T0 + 10)).q?.remaining.tokensPerMinute).toBe(100);
    expect(other.budgetsNow(['q'], T0 + 10).q?.remaining.tokensPerMinute).toBe(100);
    await other.settle('q', start('y', 1), T0 + 10, { kind: 'rateLimited', retryAfterMs: 100 });
    expect(other.budgetsNow(['q', 'p'], T0 + 10)).toMatchObject({
      q: { cooldown: 'coolingDown' },
      p: { cooldown: 'open' },
    });
  });

  it('settling says whether the outcome began a cooldown: a first 429 does, an answer or a 429 during it does not', async () => {
    for (const provider of ['p', 'q']) {
      // p has model limits (its settle writes the model too), q only its own.
      const { limiter } = setup();
      expect(limiter.settleNow(provider, start('a'), T0, { kind: 'answered', delta: 0 })).toBe(false);
      expect(limiter.settleNow(provider, start('a'), T0, { kind: 'ended' })).toBe(false);
      expect(limiter.settleNow(provider, start('a'), T0, { kind: 'rateLimited', retryAfterMs: 1000 })).toBe(
        true,
      );
      expect(
        limiter.settleNow(provider, start('b'), T0 + 1, { kind: 'rateLimited', retryAfterMs: 1000 }),
      ).toBe(false);
      const other = setup().limiter;
      expect(await other.settle(provider, start('a'), T0, { kind: 'answered', delta: 0 })).toBe(false);
      expect(
        await other.settle(provider, start('a'), T0, { kind: 'rateLimited', retryAfterMs: undefined }),
      ).toBe(true);
      expect(await other.settle(provider, start('a'), T0 + 1, { kind: 'rateLimited', retryAfterMs: 5 })).toBe(
        false,
      );
    }
  });

  it('says what cooldown holds a start, and until when, charging nothing; per model for a provider that cools so', async () => {
    const perModel = new Map<string, ProviderLimitsConfig>([['g', { cooldownScope: 'model' }], ...config]);
    const clock = new ManualClock();
    clock.time = T0;
    const state = new MemorySharedState(clock);
    const limiter = new Limiter(perModel, state);
    // Nothing ever cooled down: nothing holds, and nothing is written.
    expect(limiter.coolingNow('q', 'm', T0)).toBeUndefined();
    expect(await limiter.coolingAt('g', 'm1', T0)).toBeUndefined();
    expect(state.readNow(providerKey('q'))).toBeUndefined();
    limiter.settleNow('q', start('a'), T0, { kind: 'rateLimited', retryAfterMs: 5_000 });
    limiter.settleNow('g', { ...start('b'), model: 'm1' }, T0, { kind: 'rateLimited', retryAfterMs: 7_000 });
    const before = JSON.stringify(state.readNow(providerKey('q')));
    expect(limiter.coolingNow('q', 'any', T0 + 1)).toEqual({ limit: 'cooldown', at: T0 + 5_000 });
    expect(await limiter.coolingAt('q', 'any', T0 + 1)).toEqual({ limit: 'cooldown', at: T0 + 5_000 });
    expect(JSON.stringify(state.readNow(providerKey('q')))).toBe(before);
    // g cools per model: only m1 is held.
    expect(limiter.coolingNow('g', 'm1', T0 + 1)).toEqual({ limit: 'cooldown', at: T0 + 7_000 });
    expect(limiter.coolingNow('g', 'm2', T0 + 1)).toBeUndefined();
    // Over: the next start may probe, so nothing holds it; once a probe is out, its lapse does.
    expect(limiter.coolingNow('q', 'any', T0 + 5_000)).toBeUndefined();
    expect(limiter.tryStartNow('q', start('probe', 1, T0 + 5_000))).toMatchObject({ ok: true, probe: true });
    expect(limiter.coolingNow('q', 'any', T0 + 5_001)).toEqual({
      limit: 'cooldown',
      at: T0 + 5_000 + PROBE_ACCEPTED_MS,
    });
    expect(limiter.coolingNow('p', 'm', T0 + 5_001)).toBeUndefined();
  });

  it('a model slot is freed over the port too', async () => {
    const { limiter } = setup();
    await limiter.tryStart('p', start('a'));
    await limiter.settle('p', start('a'), T0 + 10, { kind: 'ended' });
    expect(await limiter.tryStart('p', start('b'))).toMatchObject({
      limit: 'requestsPerMinute',
      model: true,
    });
  });
});

describe('Limiter.tryStartFresh: a RATE_LIMITED answer received while a start is asked', () => {
  const config = new Map([
    [
      'p',
      { maxConcurrent: 9, requestsPerMinute: 10, models: { m: { requestsPerMinute: 1, maxConcurrent: 1 } } },
    ],
  ]);
  /**
   * A port over a memory state whose next update of `p`'s state, once applied, runs `meanwhile`
   * before it answers: what another call's answer does while a start's compare-and-set is on its way.
   */
  const setup = () => {
    const clock = new ManualClock();
    clock.time = T0;
    const memory = new MemorySharedState(clock);
    let meanwhile: (() => void) | undefined;
    const updates: string[] = [];
    const state: SharedState = {
      update: async (key, init, change, ttlMs) => {
        updates.push(key);
        const result = memory.updateNow(key, init, change, ttlMs);
        const then = key === providerKey('p') ? meanwhile : undefined;
        meanwhile = undefined;
        then?.();
        return result;
      },
      read: async (key) => memory.readNow(key),
    };
    const limiter = new Limiter(config, state);
    const left = () => ({
      provider: remaining(
        (memory.readNow<ProviderState>(providerKey('p')) as ProviderState).w,
        { maxConcurrent: 9, requestsPerMinute: 10 },
        T0,
      ),
      model: remaining(
        memory.readNow(modelKey('p', 'm')) ?? initialProviderState().w,
        config.get('p')!.models.m,
        T0,
      ),
    });
    return { limiter, memory, updates, left, meanwhile: (fn: () => void) => (meanwhile = fn) };
  };

  it("is given back and asked again after that answer's settle, and finds its cooldown", async () => {
    const { limiter, left, meanwhile } = setup();
    let answers = 0;
    const x = { ...start('x'), model: 'other' };
    await limiter.tryStart('p', x);
    meanwhile(() => {
      // x's 429 reaches this instance; its settle is made after the start's update, before its answer.
      answers++;
      void limiter.settle('p', x, T0 + 1, { kind: 'rateLimited', retryAfterMs: 1000 });
    });
    const got = await limiter.tryStartFresh('p', start('y'), () => answers);
    expect(got).toEqual({ ok: false, limit: 'cooldown', at: T0 + 1001 });
    // y is charged to neither: x's request alone is counted, every slot is free.
    expect(left()).toEqual({
      provider: { maxConcurrent: 9, requestsPerMinute: 9, tokensPerMinute: null, tokensPerDay: null },
      model: { maxConcurrent: 1, requestsPerMinute: 1, tokensPerMinute: null, tokensPerDay: null },
    });
  });

  it('asked again with no cooldown to find, it is charged once; with no answer meanwhile, asked once', async () => {
    const { limiter, left, meanwhile, updates, memory } = setup();
    let answers = 0;
    // A 429 of another provider: nothing to find, but this instance cannot tell.
    meanwhile(() => answers++);
    expect(await limiter.tryStartFresh('p', start('y'), () => answers)).toEqual({ ok: true, probe: false });
    expect(left()).toEqual({
      provider: { maxConcurrent: 8, requestsPerMinute: 9, tokensPerMinute: null, tokensPerDay: null },
      model: { maxConcurrent: 0, requestsPerMinute: 0, tokensPerMinute: null, tokensPerDay: null },
    });
    // A model without limits of its own: nothing of it to give back, no state written for it.
    meanwhile(() => answers++);
    expect(await limiter.tryStartFresh('p', { ...start('w'), model: 'other' }, () => answers)).toMatchObject({
      ok: true,
    });
    expect(memory.readNow(modelKey('p', 'other'))).toBeUndefined();
    const asked = updates.length;
    expect(await limiter.tryStartFresh('p', { ...start('z'), model: 'other' }, () => answers)).toEqual({
      ok: true,
      probe: false,
    });
    expect(updates.length).toBe(asked + 1);
  });

  it('a probe given back hands the probe to its next ask', async () => {
    const { limiter, meanwhile } = setup();
    let answers = 0;
    await limiter.settle('p', start('x'), T0 - 2000, { kind: 'rateLimited', retryAfterMs: 1000 });
    meanwhile(() => answers++);
    expect(await limiter.tryStartFresh('p', start('y'), () => answers)).toEqual({ ok: true, probe: true });
    // The probe is y's: another start waits for it.
    expect(await limiter.tryStart('p', { ...start('z'), model: 'other' })).toMatchObject({
      ok: false,
      limit: 'cooldown',
    });
  });
});

describe('outcomeOf', () => {
  const error = (code: 'RATE_LIMITED' | 'PROVIDER_UNAVAILABLE', retryAfterMs?: number) => ({
    type: 'provider.error' as const,
    now: 1,
    random: 0,
    error: { family: 'provider' as const, code, message: code, retryable: true, retryAfterMs },
  });

  it('an answer reconciles by the tokens used; without usage it keeps the estimate', () => {
    const usage = { promptTokens: 100, completionTokens: 150, totalTokens: 250 };
    const done = { type: 'provider.done' as const, now: 1, output: { content: 'x' } };
    expect(outcomeOf({ ...done, usage }, 200)).toEqual({ kind: 'answered', delta: 50 });
    expect(outcomeOf(done, 200)).toEqual({ kind: 'answered', delta: 0 });
  });

  it("an answer whose vendor counts otherwise (Moonshot: prompt + budget sent) reconciles by the vendor's count", () => {
    const usage = { promptTokens: 100, completionTokens: 150, totalTokens: 250, rateLimitTokens: 1124 };
    const done = { type: 'provider.done' as const, now: 1, output: { content: 'x' }, usage };
    expect(outcomeOf(done, 200)).toEqual({ kind: 'answered', delta: 924 });
  });

  it('a 429 is a rate limit with its hint; any other error is an answer; other events are nothing', () => {
    expect(outcomeOf(error('RATE_LIMITED', 300), 10)).toEqual({ kind: 'rateLimited', retryAfterMs: 300 });
    expect(outcomeOf(error('PROVIDER_UNAVAILABLE'), 10)).toEqual({ kind: 'answered', delta: 0 });
    expect(outcomeOf({ type: 'session.tick', now: 1 }, 10)).toBeUndefined();
  });
});

describe('keys and lifetimes', () => {
  it("a model's state is kept apart from its provider's and from other models'", () => {
    expect(providerKey('p')).toBe('limits:p');
    expect(modelKey('p', 'm')).toBe('limits:p:m');
    expect(modelKey('p', 'n')).not.toBe(modelKey('p', 'm'));
  });

  it('a charge outlives a day, so tokensPerDay holds across it', () => {
    const clock = new ManualClock();
    clock.time = T0;
    const state = new MemorySharedState(clock);
    const limiter = new Limiter(new Map([['d', { tokensPerDay: 1000 }]]), state);
    limiter.tryStartNow('d', start('a', 400));
    clock.time = T0 + 23 * 3_600_000;
    expect(limiter.budgetsNow(['d'], clock.time).d?.remaining.tokensPerDay).toBe(600);
  });

  it('a provider without limits has no model limits; its settle writes no model state', () => {
    const clock = new ManualClock();
    const state = new MemorySharedState(clock);
    const limiter = new Limiter(new Map([['q', { tokensPerMinute: 500 }]]), state);
    expect(limiter.modelLimits('unknown', 'm')).toBeUndefined();
    limiter.tryStartNow('q', start('a'));
    limiter.settleNow('q', start('a'), T0, { kind: 'ended' });
    expect(state.readNow(modelKey('q', 'm'))).toBeUndefined();
  });

  it("a start the provider refuses never reaches its model's windows", () => {
    const clock = new ManualClock();
    const state = new MemorySharedState(clock);
    const limiter = new Limiter(
      new Map([['r', { requestsPerMinute: 1, models: { m: { requestsPerMinute: 5 } } }]]),
      state,
    );
    limiter.tryStartNow('r', start('a'));
    const refused = limiter.tryStartNow('r', start('b'));
    expect(refused).toMatchObject({ ok: false, limit: 'requestsPerMinute' });
    expect(refused).not.toHaveProperty('model');
    const model = state.readNow<import('../../../src/core/rate-window.js').WindowState>(modelKey('r', 'm'));
    expect(remaining(model ?? initialProviderState().w, { requestsPerMinute: 5 }, T0).requestsPerMinute).toBe(
      4,
    );
  });
});

describe('the note of models cooling down (status only)', () => {
  // A model id is whatever a client sends: distinct ids answered 429 grew the provider's state.
  it('keeps at most MAX_MODELS_NOTED, the latest to end and the one just noted; drops those over', () => {
    let state = initialProviderState();
    state = noteModelCooldown('over-soon', 0, 50)(state).state;
    // Ends in an order unlike the order noted: what stays is chosen by end, not by arrival.
    const n = MAX_MODELS_NOTED + 6;
    const endOf = (i: number) => 10_000 + ((i * 37) % n);
    for (let i = 0; i < n; i++) state = noteModelCooldown(`m-${i}`, 100, endOf(i))(state).state;
    const m = state.m ?? {};
    expect(Object.keys(m)).toHaveLength(MAX_MODELS_NOTED);
    expect(m).not.toHaveProperty('over-soon');
    const last = `m-${n - 1}`;
    const others = Array.from({ length: n - 1 }, (_, i) => i).sort((a, b) => endOf(b) - endOf(a));
    const kept = new Set([last, ...others.slice(0, MAX_MODELS_NOTED - 1).map((i) => `m-${i}`)]);
    expect(new Set(Object.keys(m))).toEqual(kept);
    // The one noted stays even when it ends first; a model noted again is one entry, ending anew.
    const early = noteModelCooldown('short', 100, 200)(state).state.m ?? {};
    expect(early).toHaveProperty('short', 200);
    expect(Object.keys(early)).toHaveLength(MAX_MODELS_NOTED);
    const again = noteModelCooldown(last, 100, 20_000)(state).state.m ?? {};
    expect(again).toHaveProperty(last, 20_000);
    expect(Object.keys(again)).toHaveLength(MAX_MODELS_NOTED);
  });
});

describe('Limiter.settleWhileAway', () => {
  const start: Start = { sessionId: 's', model: 'm', now: 0, tokens: 5, lapsesAt: 60_000 };
  const ended = { kind: 'ended' } as const;

  it('tries a refused settle again every 500 ms until the shared state takes it', async () => {
    const clock = new ManualClock();
    const memory = new MemorySharedState(clock);
    let refusals = 2;
    const blip: SharedState = {
      update: (key, init, change, ttlMs) =>
        refusals-- > 0 ? Promise.reject(new Error('away')) : memory.update(key, init, change, ttlMs),
      read: (key) => memory.read(key),
    };
    const limiter = new Limiter(new Map([['p', { maxConcurrent: 1 }]]), blip);
    const held = new Limiter(new Map([['p', { maxConcurrent: 1 }]]), memory);
    expect((await held.tryStart('p', start)).ok).toBe(true);
    let settled = false;
    void limiter.settleWhileAway(clock, 'p', start, 0, ended).then(() => {
      settled = true;
    });
    for (let i = 0; i < 2; i++) {
      await Promise.resolve();
      await Promise.resolve();
      expect(settled).toBe(false);
      clock.advance(499);
      expect(clock.runDue()).toBe(0);
      clock.advance(1);
      expect(clock.runDue()).toBe(1);
    }
    await expect.poll(() => settled).toBe(true);
    expect(held.budgetsNow(['p'], 0).p?.remaining.maxConcurrent).toBe(1);
  });

  it('gives up after 61 tries, saying whose slot at which provider it could not free', async () => {
    const clock = new ManualClock();
    let tries = 0;
    const away: SharedState = {
      update: () => {
        tries++;
        return Promise.reject(new Error('Stream isn\u2019t writeable'));
      },
      read: () => Promise.reject(new Error('away')),
    };
    const limiter = new Limiter(new Map([['p', { maxConcurrent: 1 }]]), away);
    let failure: Error | undefined;
    void limiter.settleWhileAway(clock, 'p', start, 0, ended).catch((e: Error) => {
      failure = e;
    });
    for (let i = 0; i < 70 && failure === undefined; i++) {
      for (let j = 0; j < 5; j++) await Promise.resolve();
      clock.advance(500);
      clock.runDue();
    }
    expect(tries).toBe(61);
    expect(failure?.message).toBe(
      "Expected the shared state to take session s's end at p (its limit slot and window), got Stream isn\u2019t writeable for 30 s; the slot frees at its run deadline",
    );
    expect((failure as Error).cause).toMatchObject({ message: 'Stream isn\u2019t writeable' });
  });
});
