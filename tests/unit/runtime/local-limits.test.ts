/**
 * The in-memory admission gate over the limiter (src/runtime/local-limits.ts), as the admission
 * loop drives it: a session starts when its provider's limits have room and is charged its
 * estimate; a refused one waits for the limit that held it (counted once per wait), and the alarm
 * rings when the earliest of them may have room; a fallback hop leaves its slot and takes its
 * target's; a call's outcome settles its charge; a new cooldown moves on the queued sessions that
 * cannot wait for it. On a manual clock, without a runtime.
 */
import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../../src/providers/port.js';
import {
  answered,
  CHAIN,
  MINUTE_OPENS,
  rateLimited,
  record,
  setup,
  T0,
  TOKENS,
  target,
  tick,
  unavailable,
} from './local-limits-fixture.js';

const LAPSE = T0 + 60_000;

describe('LocalLimits: the gate', () => {
  it('starts with nothing counted', () => {
    expect(setup().limits.counters).toEqual({
      waits: {
        maxConcurrent: 0,
        requestsPerMinute: 0,
        tokensPerMinute: 0,
        tokensPerDay: 0,
        cooldown: 0,
        maxRunningPerCaller: 0,
      },
      rateLimited: 0,
      cooldowns: 0,
    });
  });

  it('lets work other than a chat call go uncharged, whatever the limits', () => {
    const { limits } = setup({ p: { requestsPerMinute: 1 } });
    expect(limits.gate(record('a'), LAPSE)).toBe(true);
    const task = record('t', { task: true });
    expect(limits.gate(task, LAPSE)).toBe(true);
    expect(limits.gate(task, LAPSE)).toBe(true);
    expect(task.limitStart).toBeUndefined();
    expect(limits.estimate(task, { provider: 'p', model: 'm' })).toBe(0);
    expect(limits.retry(record('u', { task: true, admitted: true }), LAPSE)).toBe(true);
  });

  it('lets every session of a provider with no limits and no cooldown go, uncounted', () => {
    const { limits } = setup({ other: { requestsPerMinute: 1 } });
    const a = record('a');
    a.waitingFor = 'cooldown';
    for (let i = 0; i < 3; i++) expect(limits.gate(a, LAPSE)).toBe(true);
    expect(a.waitingFor).toBeUndefined();
    expect(a.limitStart).toBeUndefined();
    expect(limits.state.size).toBe(0);
  });

  it("charges a start its estimate, at now, its slot lapsing at the session's run deadline", () => {
    const { limits, clock } = setup({
      p: { maxConcurrent: 2, requestsPerMinute: 5, tokensPerMinute: 100_000 },
    });
    clock.time = T0 + 7;
    const a = record('a');
    a.waitingFor = 'requestsPerMinute';
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(a.waitingFor).toBeUndefined();
    expect(a.limitStart).toEqual({
      sessionId: 'a',
      model: 'm',
      now: T0 + 7,
      tokens: TOKENS,
      lapsesAt: LAPSE,
    });
    expect(limits.estimate(a, { provider: 'p', model: 'm' })).toBe(TOKENS);
    expect(limits.budgets(['p']).p?.remaining).toEqual({
      maxConcurrent: 1,
      requestsPerMinute: 4,
      tokensPerMinute: 100_000 - TOKENS,
      tokensPerDay: null,
    });
    // Its slot lapses at its run deadline.
    clock.time = LAPSE;
    expect(limits.budgets(['p']).p?.remaining.maxConcurrent).toBe(2);
  });

  it('a refused session waits for the limit that held it, counted once per wait, and holds its queue', () => {
    const { limits, clock } = setup({ p: { requestsPerMinute: 1 } });
    expect(limits.gate(record('a'), LAPSE)).toBe(true);
    const b = record('b');
    expect(limits.gate(b, LAPSE)).toBe(false);
    expect(limits.gate(b, LAPSE)).toBe(false);
    expect(b.waitingFor).toBe('requestsPerMinute');
    expect(b.limitStart).toBeUndefined();
    expect(limits.counters.waits).toMatchObject({ requestsPerMinute: 1, cooldown: 0 });
    expect(limits.holds.laneHeld.get('p')).toBe('requestsPerMinute');
    // Another session queued behind it waits for the same; an admitted one for nothing of the queue's.
    expect(limits.waitingOf(record('c'))).toBe('requestsPerMinute');
    expect(limits.waitingOf(record('d', { provider: 'q' }))).toBeUndefined();
    expect(limits.waitingOf(record('e', { admitted: true }))).toBeUndefined();
    const f = record('f', { admitted: true });
    f.waitingFor = 'cooldown';
    expect(limits.waitingOf(f)).toBe('cooldown');
    // Once the minute frees, the head goes and its queue is no longer held.
    clock.time = MINUTE_OPENS;
    expect(limits.gate(b, LAPSE)).toBe(true);
    expect(b.waitingFor).toBeUndefined();
    expect(limits.holds.laneHeld.has('p')).toBe(false);
    expect(limits.waitingOf(record('c'))).toBeUndefined();
    // A new wait is counted again.
    expect(limits.gate(record('c'), LAPSE)).toBe(false);
    expect(limits.counters.waits.requestsPerMinute).toBe(2);
  });

  it('charges each target of a session what its provider and model count, asking once per target', () => {
    const asked: string[] = [];
    const { limits } = setup(
      { p: { tokensPerMinute: 1_000 }, q: { tokensPerMinute: 1_000 } },
      {
        charge: (_request, provider, model) => {
          asked.push(`${provider}/${model}`);
          return provider === 'p' ? 100 : 5_000;
        },
      },
    );
    const a = record('a', { targets: CHAIN, at: 0 });
    expect(limits.estimate(a, { provider: 'p', model: 'm' })).toBe(100);
    expect(limits.estimate(a, { provider: 'p', model: 'm' })).toBe(100);
    expect(limits.estimate(a, { provider: 'q', model: 'n' })).toBe(5_000);
    expect(asked).toEqual(['p/m', 'q/n']);
    // The start is charged its target's figure: q's window (1,000) can never take 5,000.
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(a.limitStart?.tokens).toBe(100);
    const hop = record('h', { admitted: true, targets: CHAIN, at: 1 });
    expect(limits.gate(hop, LAPSE)).toBe(false);
    expect(hop.waitingFor).toBe('tokensPerMinute');
  });

  it("an admitted session's refusal or start says nothing of its provider's queue", () => {
    // The model's slot holds queued sessions of model m alone ('item'): the provider's queue goes
    // on past them, and a retry of another model goes.
    const { limits } = setup({ p: { models: { m: { maxConcurrent: 1 } } }, r: { requestsPerMinute: 1 } });
    expect(limits.gate(record('a'), LAPSE)).toBe(true);
    const b = record('b');
    expect(limits.gate(b, LAPSE)).toBe('item');
    expect(b.waitingFor).toBe('maxConcurrent');
    expect(limits.holds.laneHeld.has('p')).toBe(false);
    const other = record('o', { admitted: true, targets: [target('p', 'n')], at: 0 });
    expect(limits.gate(other, LAPSE)).toBe(true);
    expect(other.limitStart?.model).toBe('n');
    // A provider's own limit holds its queue.
    expect(limits.gate(record('z', { provider: 'r' }), LAPSE)).toBe(true);
    expect(limits.gate(record('w', { provider: 'r' }), LAPSE)).toBe(false);
    expect(limits.holds.laneHeld.get('r')).toBe('requestsPerMinute');
    // An admitted retry refused does not hold the queue.
    limits.holds.laneHeld.clear();
    const y = record('y', { provider: 'r', admitted: true });
    expect(limits.gate(y, LAPSE)).toBe(false);
    expect(y.waitingFor).toBe('requestsPerMinute');
    expect(limits.holds.laneHeld.has('r')).toBe(false);
  });

  it("an admitted session's start leaves its provider's queue held", () => {
    const { limits, clock } = setup({ p: { cooldownScope: 'provider' } });
    const x = record('x', { admitted: true });
    limits.gate(x, LAPSE);
    limits.observe(x, rateLimited(1000));
    expect(limits.gate(record('b'), LAPSE)).toBe(false);
    expect(limits.holds.laneHeld.get('p')).toBe('cooldown');
    clock.time = T0 + 1000;
    // A due retry takes the probe; the queue behind the cooldown is still held.
    expect(limits.gate(record('y', { admitted: true }), LAPSE)).toBe(true);
    expect(limits.holds.laneHeld.get('p')).toBe('cooldown');
  });

  it('in one pass, a model held alone holds its later sessions without a second look; after the pass the limiter is asked again', () => {
    // The model's minute has room for one more session: a larger one is refused, and a session
    // that would fit waits behind it in this pass, keeping the model's order.
    const { limits } = setup({ p: { models: { m: { tokensPerMinute: TOKENS * 2 } } } });
    expect(limits.gate(record('a'), LAPSE)).toBe(true);
    const big = record('big');
    (big.work as { request: ChatRequest }).request = {
      model: 'm',
      messages: [{ role: 'user', content: 'x'.repeat(400) }],
    };
    limits.begin();
    expect(limits.gate(big, LAPSE)).toBe('item');
    const small = record('small');
    expect(limits.gate(small, LAPSE)).toBe('item');
    expect(small.waitingFor).toBe('tokensPerMinute');
    // Another model of the provider is looked at.
    expect(limits.gate(record('n', { model: 'n' }), LAPSE)).toBe(true);
    limits.end();
    // Between passes (a retry come due) the limiter is asked again, not the pass that is over.
    expect(limits.gate(small, LAPSE)).toBe(true);
  });

  it('after a pass, the alarm rings when the earliest refused limit may have room; never without one', () => {
    const { limits, armed } = setup({ p: { requestsPerMinute: 1 }, q: { maxConcurrent: 1 } });
    limits.gate(record('a'), LAPSE);
    limits.gate(record('x', { provider: 'q' }), T0 + 30_000);
    limits.begin();
    expect(limits.gate(record('b'), LAPSE)).toBe(false);
    expect(limits.gate(record('y', { provider: 'q' }), LAPSE)).toBe(false);
    expect(limits.gate(record('c'), LAPSE)).toBe(false);
    limits.end();
    expect(armed).toEqual([T0 + 30_000]);
    limits.begin();
    limits.end();
    expect(armed).toEqual([T0 + 30_000, null]);
    limits.begin();
    limits.gate(record('b'), LAPSE);
    limits.end();
    expect(armed).toEqual([T0 + 30_000, null, MINUTE_OPENS]);
  });

  it('a refusal that opens only when something ends (a hop with no slot) does not move the alarm', () => {
    const { limits, armed, full } = setup({ p: { requestsPerMinute: 1 } });
    full.add('q');
    limits.gate(record('a'), LAPSE);
    limits.begin();
    expect(limits.gate(record('b'), LAPSE)).toBe(false);
    expect(limits.gate(record('h', { admitted: true, targets: CHAIN, at: 1 }), LAPSE)).toBe(false);
    limits.end();
    expect(armed).toEqual([MINUTE_OPENS]);
  });
});

describe('LocalLimits: a fallback hop', () => {
  it("leaves its provider's slot once, waits for room in its target's, then takes it", () => {
    const { limits, lanes, full } = setup();
    full.add('q');
    const a = record('a', { admitted: true, targets: CHAIN, at: 1 });
    expect(limits.gate(a, LAPSE)).toBe(false);
    expect(limits.gate(a, LAPSE)).toBe(false);
    expect(a.waitingFor).toBe('maxConcurrent');
    expect(limits.counters.waits.maxConcurrent).toBe(1);
    expect(lanes).toEqual(['leave p']);
    expect(a.laneless).toBe(true);
    expect(a.provider).toBe('p');
    expect(limits.holds.laneHeld.size).toBe(0);
    full.delete('q');
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(lanes).toEqual(['leave p', 'enter q']);
    expect(a.provider).toBe('q');
    expect(a.laneless).toBe(false);
    expect(a.waitingFor).toBeUndefined();
  });

  it("is charged to its target's limits and model, not its provider's", () => {
    const { limits, lanes } = setup({ p: { requestsPerMinute: 5 }, q: { requestsPerMinute: 1 } });
    const a = record('a', { admitted: true, targets: CHAIN, at: 1 });
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(a.limitStart).toMatchObject({ sessionId: 'a', model: 'n' });
    expect(a.provider).toBe('q');
    expect(lanes).toEqual(['leave p', 'enter q']);
    expect(limits.budgets(['p', 'q'])).toMatchObject({
      p: { remaining: { requestsPerMinute: 5 } },
      q: { remaining: { requestsPerMinute: 0 } },
    });
    // Another hop to q finds its minute spent: it waits without its slot, on p still.
    const b = record('b', { admitted: true, targets: CHAIN, at: 1 });
    expect(limits.gate(b, LAPSE)).toBe(false);
    expect(b.waitingFor).toBe('requestsPerMinute');
    expect(b.provider).toBe('p');
    expect(b.laneless).toBe(true);
    expect(lanes).toEqual(['leave p', 'enter q', 'leave p']);
  });

  it("a session moved on to another model of its provider without a slot waits for room in that provider's slots, then takes one", () => {
    // A queued session rerouted to a fallback on its own provider (another model) left its queue
    // without a slot (`reroutes`): its call holds one of its provider's like any other.
    const { limits, lanes, full } = setup({ p: { models: { n: { requestsPerMinute: 5 } } } });
    full.add('free');
    const chain = [target('free', 'm'), target('free', 'n')];
    const a = record('a', { admitted: true, provider: 'free', targets: chain, at: 1 });
    a.laneless = true;
    expect(limits.gate(a, LAPSE)).toBe(false);
    expect(a.waitingFor).toBe('maxConcurrent');
    expect(lanes).toEqual([]);
    full.delete('free');
    expect(limits.gate(a, LAPSE)).toBe(true);
    const b = record('b', { admitted: true, targets: [target('p', 'm'), target('p', 'n')], at: 1 });
    b.laneless = true;
    expect(limits.gate(b, LAPSE)).toBe(true);
    expect(b.limitStart?.model).toBe('n');
    expect(lanes).toEqual(['enter free', 'enter p']);
    expect([a.laneless, b.laneless]).toEqual([false, false]);
    expect([a.provider, b.provider]).toEqual(['free', 'p']);
  });

  it('a session at its first target, or not yet admitted, is no hop', () => {
    const { limits, lanes } = setup({ p: { requestsPerMinute: 5 } });
    const first = record('a', { admitted: true, targets: CHAIN, at: 0 });
    expect(limits.gate(first, LAPSE)).toBe(true);
    const queued = record('b', { targets: CHAIN });
    expect(limits.gate(queued, LAPSE)).toBe(true);
    expect(queued.limitStart?.model).toBe('m');
    limits.leaveLane(queued);
    expect(lanes).toEqual([]);
    expect(queued.laneless).toBeUndefined();
    expect(limits.budgets(['p']).p?.remaining.requestsPerMinute).toBe(3);
  });
});

describe('LocalLimits: outcomes', () => {
  it('an answer reconciles the tokens charged and frees the slot; only once', () => {
    const { limits } = setup({ p: { maxConcurrent: 1, tokensPerMinute: 100_000 } });
    const a = record('a', { admitted: true });
    limits.gate(a, LAPSE);
    expect(limits.gate(record('b'), LAPSE)).toBe(false);
    expect(limits.observe(a, answered(40))).toBe(true);
    expect(a.limitStart).toBeNull();
    expect(limits.budgets(['p']).p?.remaining).toMatchObject({
      maxConcurrent: 1,
      tokensPerMinute: 100_000 - 40,
    });
    // Nothing left to settle: the same answer again is not an outcome.
    expect(limits.observe(a, answered(40))).toBe(false);
    expect(limits.observe(a, unavailable)).toBe(false);
    expect(limits.gate(record('b'), LAPSE)).toBe(true);
  });

  it('an answer without usage keeps the estimate; an error that is not a 429 is an answer', () => {
    const { limits } = setup({ p: { tokensPerMinute: 100_000 } });
    const a = record('a', { admitted: true });
    limits.gate(a, LAPSE);
    expect(limits.observe(a, answered())).toBe(true);
    const b = record('b', { admitted: true });
    limits.gate(b, LAPSE);
    expect(limits.observe(b, unavailable)).toBe(true);
    expect(limits.budgets(['p']).p?.remaining.tokensPerMinute).toBe(100_000 - 2 * TOKENS);
    expect(limits.counters.rateLimited).toBe(0);
  });

  it('a 429 begins a cooldown of its provider, even one with no limits, and holds its next starts', () => {
    const { limits, clock } = setup();
    const a = record('a', { admitted: true });
    expect(limits.gate(a, LAPSE)).toBe(true);
    expect(limits.observe(a, rateLimited(10_000))).toBe(true);
    expect(limits.counters).toMatchObject({ rateLimited: 1, cooldowns: 1 });
    expect(limits.budgets(['p']).p).toMatchObject({ cooldown: 'coolingDown', cooldownUntil: T0 + 10_000 });
    const b = record('b', { admitted: true });
    expect(limits.gate(b, LAPSE)).toBe(false);
    expect(b.waitingFor).toBe('cooldown');
    // A second 429 while it cools down counts, but begins no new cooldown.
    expect(limits.observe(a, rateLimited(10_000))).toBe(true);
    expect(limits.counters).toMatchObject({ rateLimited: 2, cooldowns: 1 });
    clock.time = T0 + 10_000;
    expect(limits.gate(b, LAPSE)).toBe(true);
  });

  it("a queued session's tick says what holds it; an admitted one's tick is no outcome", () => {
    const { limits } = setup({ p: { requestsPerMinute: 1 } });
    const a = record('a', { admitted: true });
    limits.gate(a, LAPSE);
    limits.gate(record('b'), LAPSE);
    const c = record('c');
    expect(limits.observe(c, tick)).toBe(false);
    expect(c.waitingFor).toBe('requestsPerMinute');
    // Any other event leaves what it waits for as it was.
    const d = record('d');
    expect(limits.observe(d, { type: 'session.cancel', now: 0, reason: 'x' })).toBe(false);
    expect(d.waitingFor).toBeUndefined();
    a.waitingFor = undefined;
    expect(limits.observe(a, tick)).toBe(false);
    expect(a.waitingFor).toBeUndefined();
    expect(a.limitStart).not.toBeNull();
  });

  it("a session's end frees its slot once, and takes it out of the held retries", () => {
    const { limits } = setup({ p: { maxConcurrent: 1 } });
    const a = record('a', { admitted: true });
    limits.gate(a, LAPSE);
    expect(limits.retry(record('b', { admitted: true }), LAPSE)).toBe(false);
    limits.ended(a);
    expect(a.limitStart).toBeNull();
    expect(limits.budgets(['p']).p?.remaining.maxConcurrent).toBe(1);
    const held = [...limits.held];
    expect(held.map((r) => r.input.sessionId)).toEqual(['b']);
    limits.ended(held[0] as (typeof held)[number]);
    expect(limits.held.size).toBe(0);
  });
});

describe('LocalLimits: due retries', () => {
  it('a retry goes when there is room, else it is held, and later ones wait behind it', () => {
    const { limits } = setup({ p: { requestsPerMinute: 1 } });
    const a = record('a', { admitted: true });
    expect(limits.retry(a, LAPSE)).toBe(true);
    expect(a.limitStart).toMatchObject({ sessionId: 'a', lapsesAt: LAPSE });
    const b = record('b', { admitted: true });
    expect(limits.retry(b, LAPSE)).toBe(false);
    expect(b.waitingFor).toBe('requestsPerMinute');
    // A provider with room: still behind the held one.
    const c = record('c', { admitted: true, provider: 'free' });
    expect(limits.retry(c, LAPSE)).toBe(false);
    expect([...limits.held]).toEqual([b, c]);
    expect(c.waitingFor).toBeUndefined();
  });
});

describe('LocalLimits: a new cooldown moves on the queued sessions that cannot wait', () => {
  const cooled = (retryAfterMs = 10_000) => {
    const made = setup();
    const x = record('x', { admitted: true });
    made.limits.gate(x, LAPSE);
    made.limits.observe(x, rateLimited(retryAfterMs));
    return made;
  };

  it("looks through the provider's queue once per cooldown, the refused session first", () => {
    const { limits } = cooled();
    expect(limits.mayReroute).toBe(false);
    const b = record('b', { targets: CHAIN });
    expect(limits.gate(b, LAPSE)).toBe(false);
    expect(b.waitingFor).toBe('cooldown');
    expect(limits.mayReroute).toBe(true);
    const plain = record('c');
    const admitted = record('d', { admitted: true, targets: CHAIN });
    const ended = record('e', { targets: CHAIN });
    ended.result = { ok: true } as never;
    const patient = record('f', { targets: CHAIN, queueDeadlineAt: T0 + 20_000 });
    const elsewhere = record('g', { targets: CHAIN, provider: 'z' });
    const asked: string[] = [];
    const out = limits.reroutes((provider) => {
      asked.push(provider);
      return [b, plain, admitted, ended, patient, elsewhere];
    });
    expect(asked).toEqual(['p']);
    expect(out).toEqual([b]);
    expect(b.reroute).toMatchObject({ family: 'provider', code: 'RATE_LIMITED', retryAfterMs: 10_000 });
    expect(b.waitingFor).toBeUndefined();
    for (const r of [plain, admitted, ended, patient, elsewhere]) expect(r.reroute).toBeUndefined();
    expect(limits.mayReroute).toBe(false);
    expect(limits.reroutes(() => [patient])).toEqual([]);
    // The same cooldown refusing another session: its queue was looked through already.
    expect(limits.gate(record('h', { targets: CHAIN }), LAPSE)).toBe(false);
    expect(limits.mayReroute).toBe(false);
    // One that already has its reroute is not given another.
    const again = record('i', { targets: CHAIN });
    again.reroute = { family: 'runtime', code: 'INTERNAL', message: 'x', retryable: false };
    limits.queued(again);
    expect(limits.reroutes(() => [])).toEqual([]);
    expect(again.reroute.code).toBe('INTERNAL');
  });

  it("a model's own cooldown (cooldownScope 'model') moves on that model's sessions only", () => {
    const { limits } = setup({ p: { cooldownScope: 'model' } });
    const x = record('x', { admitted: true });
    limits.gate(x, LAPSE);
    limits.observe(x, rateLimited(10_000));
    const b = record('b', { targets: CHAIN });
    expect(limits.gate(b, LAPSE)).toBe('item');
    expect(b.waitingFor).toBe('cooldown');
    expect(limits.mayReroute).toBe(true);
    // Another model of the provider is not held, nor moved on.
    const other = record('o', { targets: CHAIN, model: 'm2' });
    expect(limits.reroutes(() => [b, other])).toEqual([b]);
    expect(other.reroute).toBeUndefined();
    expect(limits.gate(other, LAPSE)).toBe(true);
    // Arrivals: only one of the cooling model is looked at.
    limits.queued(record('late-other', { targets: CHAIN, model: 'm2' }));
    expect(limits.mayReroute).toBe(false);
    const late = record('late', { targets: CHAIN });
    limits.queued(late);
    expect(limits.mayReroute).toBe(true);
    expect(limits.reroutes(() => [])).toEqual([late]);
    // A second model cooling down meanwhile keeps the first one's cooldown in view.
    const y = record('y', { admitted: true, model: 'm2' });
    limits.gate(y, LAPSE);
    limits.observe(y, rateLimited(10_000));
    expect(limits.gate(record('c', { targets: CHAIN, model: 'm2' }), LAPSE)).toBe('item');
    limits.reroutes(() => []);
    const later = record('later', { targets: CHAIN });
    limits.queued(later);
    expect(limits.reroutes(() => [])).toEqual([later]);
  });

  it('a refusal by another limit than a cooldown has no queue looked through', () => {
    const { limits } = setup({ p: { requestsPerMinute: 1 } });
    limits.gate(record('a'), LAPSE);
    const b = record('b', { targets: CHAIN });
    expect(limits.gate(b, LAPSE)).toBe(false);
    expect(limits.mayReroute).toBe(false);
    limits.queued(record('c', { targets: CHAIN }));
    expect(limits.mayReroute).toBe(false);
    expect(limits.reroutes(() => [b])).toEqual([]);
  });

  it('an admitted retry refused by the cooldown has no queue looked through', () => {
    const { limits } = cooled();
    expect(limits.gate(record('b', { admitted: true, targets: CHAIN }), LAPSE)).toBe(false);
    expect(limits.mayReroute).toBe(false);
  });

  it('a session with fallbacks queued during the cooldown is looked at on the next pass', () => {
    const { limits, clock } = cooled();
    // The cooldown is known to the gate once it refused a session.
    limits.gate(record('b'), LAPSE);
    limits.reroutes(() => []);
    limits.queued(record('plain'));
    limits.queued(record('elsewhere', { provider: 'z', targets: CHAIN }));
    expect(limits.mayReroute).toBe(false);
    const c = record('c', { targets: CHAIN });
    limits.queued(c);
    expect(limits.mayReroute).toBe(true);
    expect(limits.reroutes(() => [])).toEqual([c]);
    expect(limits.mayReroute).toBe(false);
    // Once the cooldown is over, nobody is queued behind it.
    clock.time = T0 + 10_000;
    limits.queued(record('d', { targets: CHAIN }));
    expect(limits.mayReroute).toBe(false);
  });

  it('a second cooldown after the first is a new one: the queue is looked through again', () => {
    const { limits, clock } = cooled(1_000);
    limits.gate(record('b', { targets: CHAIN }), LAPSE);
    limits.reroutes(() => []);
    clock.time = T0 + 1_000;
    const probe = record('p1', { admitted: true });
    expect(limits.gate(probe, LAPSE)).toBe(true);
    limits.observe(probe, rateLimited(9_000));
    expect(limits.counters.cooldowns).toBe(2);
    const c = record('c', { targets: CHAIN });
    expect(limits.gate(c, LAPSE)).toBe(false);
    expect(limits.mayReroute).toBe(true);
    expect(limits.reroutes(() => [c])).toEqual([c]);
  });
});

describe('LocalLimits: a due retry or hop its provider cools down past its run deadline', () => {
  /** Provider `p` cooling down for two minutes from T0 (a 429 with that wait). */
  const cooling = (config = {}) => {
    const made = setup(config);
    const x = record('x', { admitted: true });
    made.limits.gate(x, LAPSE);
    made.limits.observe(x, rateLimited(120_000));
    return made;
  };
  const LAST = [target('z', 'm'), target('p', 'm')];

  it('is refused with its reroute set; one whose deadline comes after the cooldown just waits', () => {
    const { limits } = cooling();
    const hurried = record('b', { admitted: true, targets: CHAIN, at: 0, runDeadlineAt: T0 + 60_000 });
    expect(limits.gate(hurried, LAPSE)).toBe(false);
    expect(hurried.reroute).toEqual({
      family: 'provider',
      code: 'RATE_LIMITED',
      message: expect.stringContaining("before this session's run deadline"),
      retryable: true,
      retryAfterMs: 120_000,
    });
    const patient = record('c', { admitted: true, targets: CHAIN, at: 0, runDeadlineAt: T0 + 120_001 });
    expect(limits.gate(patient, LAPSE)).toBe(false);
    expect(patient.reroute).toBeUndefined();
    expect(patient.waitingFor).toBe('cooldown');
  });

  it('not for a queued session, one without a chain or at its last target, or another limit', () => {
    const { limits } = cooling();
    const deadline = { runDeadlineAt: T0 + 60_000 };
    const queued = record('q', { targets: CHAIN, at: 0, ...deadline });
    const alone = record('a', { admitted: true, at: 0, ...deadline });
    const last = record('l', { admitted: true, targets: LAST, at: 1, ...deadline });
    for (const r of [queued, alone, last]) {
      expect(limits.gate(r, LAPSE)).toBe(false);
      expect(r.reroute).toBeUndefined();
    }
    const full = setup({ p: { requestsPerMinute: 1 } });
    full.limits.gate(record('first', { admitted: true }), LAPSE);
    const windowed = record('w', { admitted: true, targets: CHAIN, at: 0, runDeadlineAt: T0 + 1 });
    expect(full.limits.gate(windowed, LAPSE)).toBe(false);
    expect(windowed.waitingFor).toBe('requestsPerMinute');
    expect(windowed.reroute).toBeUndefined();
  });

  it('a reroute one look found is gone when a later look lets the retry go; a queued one is kept', () => {
    const { limits, clock } = cooling();
    const held = record('b', { admitted: true, targets: CHAIN, at: 0, runDeadlineAt: T0 + 60_000 });
    expect(limits.gate(held, LAPSE)).toBe(false);
    expect(held.reroute).toBeDefined();
    // The cooldown is over before the pump sends it on: it goes as the probe, and not elsewhere.
    clock.time = T0 + 120_000;
    expect(limits.gate(held, LAPSE + 120_000)).toBe(true);
    expect(held.reroute).toBeUndefined();
    // A queued session's reroute is the queue's (`reroutes`): a look at the gate leaves it.
    const queued = record('q', { targets: CHAIN, at: 0, runDeadlineAt: T0 + 60_000 });
    queued.reroute = { family: 'provider', code: 'RATE_LIMITED', message: 'x', retryable: true };
    limits.gate(queued, LAPSE + 120_000);
    expect(queued.reroute).toBeDefined();
  });

  it('a hop whose target has no slot free and cools down past its run deadline moves on too', () => {
    // p/m → q/n → r/o: the hop to q finds its slots full and q cooling down for two minutes.
    const chain = [target('p', 'm'), target('q', 'n'), target('r', 'o')];
    const made = setup();
    const x = record('x', { admitted: true, provider: 'q', model: 'n' });
    made.limits.gate(x, LAPSE);
    made.limits.observe(x, rateLimited(120_000));
    made.full.add('q');
    const hop = record('b', { admitted: true, targets: chain, at: 1, runDeadlineAt: T0 + 60_000 });
    const before = made.limits.counters.waits.maxConcurrent;
    expect(made.limits.gate(hop, LAPSE)).toBe(false);
    expect(hop.reroute).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 120_000 });
    // It moves on at once: no wait for a slot is counted (an audit: it counted one).
    expect(made.limits.counters.waits.maxConcurrent).toBe(before);
    expect(hop.waitingFor).toBeUndefined();
    // Full but not cooling: it waits for a slot, as before.
    const plain = setup();
    plain.full.add('q');
    const waiting = record('c', { admitted: true, targets: chain, at: 1, runDeadlineAt: T0 + 60_000 });
    expect(plain.limits.gate(waiting, LAPSE)).toBe(false);
    expect(waiting.reroute).toBeUndefined();
    expect(waiting.waitingFor).toBe('maxConcurrent');
  });

  it("a model's own cooldown held in this pass moves on each of that model's later retries too", () => {
    const { limits } = cooling({ p: { cooldownScope: 'model' } });
    limits.begin();
    const retries = ['b', 'c'].map((id) =>
      record(id, { admitted: true, targets: CHAIN, at: 0, runDeadlineAt: T0 + 60_000 }),
    );
    for (const r of retries) {
      expect(limits.gate(r, LAPSE)).not.toBe(true);
      expect(r.reroute?.retryAfterMs).toBe(120_000);
    }
    limits.end();
  });
});
