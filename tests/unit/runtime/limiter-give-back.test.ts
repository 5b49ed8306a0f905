/**
 * `Limiter.giveBackWhileAway` (src/runtime/limits.ts): a start no call used goes back whole, its
 * request and its slot; when the shared state refuses that, the start is settled as a call's end
 * instead (its slot and probe go, its request stays), tried again while the state is away, unless
 * the caller's signal says it is letting go. Shared by `SharedAsks` and the cluster's lease runner.
 */
import { describe, expect, it } from 'vitest';
import { ENDED, modelCooldownKey, type Start } from '../../../src/runtime/limiter.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { ManualClock } from '../../support/manual-clock.js';

const T0 = 10 * 3_600_000 + 500;
const START: Start = { sessionId: 'a', model: 'm', now: T0, tokens: 10, lapsesAt: T0 + 60_000 };

/** A limiter over a port whose next `refusals` updates fail (`Infinity`: every one). */
function setup() {
  const clock = new ManualClock();
  clock.time = T0;
  const memory = new MemorySharedState(clock);
  const port = { refusals: 0 };
  const state: SharedState = {
    update: async (key, init, change, ttlMs) => {
      if (port.refusals > 0) {
        port.refusals--;
        throw new Error('Connection is closed.');
      }
      return memory.updateNow(key, init, change, ttlMs);
    },
    read: async (key) => memory.readNow(key),
  };
  const limiter = new Limiter(new Map([['p', { requestsPerMinute: 2, maxConcurrent: 1 }]]), state);
  const left = async () => {
    const { remaining } = (await limiter.budgets(['p'], T0)).p ?? {};
    return { requests: remaining?.requestsPerMinute, slots: remaining?.maxConcurrent };
  };
  return { clock, port, limiter, left };
}

describe('a charge given back while the shared state may be away', () => {
  it('gives back the request and the slot when the state takes it', async () => {
    const { clock, limiter, left } = setup();
    expect(await limiter.tryStart('p', START)).toEqual({ ok: true, probe: false });
    expect(await left()).toEqual({ requests: 1, slots: 0 });
    await limiter.giveBackWhileAway(clock, 'p', START, false);
    expect(await left()).toEqual({ requests: 2, slots: 1 });
  });

  it('settles it as an end when the state refuses the give-back: the slot goes, the request stays', async () => {
    const { clock, port, limiter, left } = setup();
    await limiter.tryStart('p', START);
    port.refusals = 1;
    await limiter.giveBackWhileAway(clock, 'p', START, false);
    expect(await left()).toEqual({ requests: 1, slots: 1 });
  });

  it('tries no more once its signal aborted, and says so', async () => {
    const { clock, port, limiter, left } = setup();
    await limiter.tryStart('p', START);
    port.refusals = Number.POSITIVE_INFINITY;
    const letGo = new AbortController();
    letGo.abort();
    await expect(limiter.giveBackWhileAway(clock, 'p', START, false, letGo.signal)).rejects.toThrow(
      /Expected the shared state to take session a's end at p/,
    );
    port.refusals = 0;
    expect(await left()).toEqual({ requests: 1, slots: 0 });
  });
});

describe('a charge given back in memory (`giveBackNow`, a call its own gate refused)', () => {
  const CONFIG = { requestsPerMinute: 2, tokensPerMinute: 100, maxConcurrent: 1 };

  it('gives back its request, its tokens and its slot at once, on the state as it is', () => {
    const memory = new MemorySharedState(new ManualClock());
    const limiter = new Limiter(new Map([['p', CONFIG]]), memory);
    expect(limiter.tryStartNow('p', START)).toEqual({ ok: true, probe: false });
    expect(limiter.budgetsNow(['p'], T0).p?.remaining).toEqual({
      requestsPerMinute: 1,
      tokensPerMinute: 90,
      maxConcurrent: 0,
      tokensPerDay: null,
    });
    limiter.giveBackNow('p', START, false);
    expect(limiter.budgetsNow(['p'], T0).p?.remaining).toEqual({
      requestsPerMinute: 2,
      tokensPerMinute: 100,
      maxConcurrent: 1,
      tokensPerDay: null,
    });
  });

  it('as the probe of its provider’s cooldown, ends the probe: the next start probes', () => {
    const memory = new MemorySharedState(new ManualClock());
    const limiter = new Limiter(new Map([['p', CONFIG]]), memory);
    limiter.settleNow('p', START, T0, { kind: 'rateLimited', retryAfterMs: 1000 });
    const probe = { ...START, sessionId: 'b', now: T0 + 1000 };
    expect(limiter.tryStartNow('p', probe)).toEqual({ ok: true, probe: true });
    limiter.giveBackNow('p', probe, true);
    expect(limiter.tryStartNow('p', { ...probe, sessionId: 'c' })).toEqual({ ok: true, probe: true });
  });

  it('per model: gives back its model’s window and its model’s probe; a model that never cooled down gets no state', async () => {
    const memory = new MemorySharedState(new ManualClock());
    const config = { cooldownScope: 'model' as const, models: { m: { requestsPerMinute: 1 } } };
    const limiter = new Limiter(new Map([['p', config]]), memory);
    const other = { ...START, model: 'n' };
    expect(limiter.tryStartNow('p', other)).toEqual({ ok: true, probe: false });
    limiter.giveBackNow('p', other, true);
    await limiter.giveBack('p', other, true);
    expect(memory.readNow(modelCooldownKey('p', 'n'))).toBeUndefined();
    // Model m cools down; its probe given back leaves its one request and its probe's turn free.
    limiter.settleNow('p', START, T0, { kind: 'rateLimited', retryAfterMs: 1000 });
    const probe = { ...START, sessionId: 'b', now: T0 + 61_000 };
    expect(limiter.tryStartNow('p', probe)).toEqual({ ok: true, probe: true });
    expect(limiter.tryStartNow('p', { ...probe, sessionId: 'c' })).toMatchObject({ ok: false });
    limiter.giveBackNow('p', probe, true);
    expect(limiter.tryStartNow('p', { ...probe, sessionId: 'c' })).toEqual({ ok: true, probe: true });
    // And on the asynchronous path alike.
    await limiter.giveBack('p', { ...probe, sessionId: 'c' }, true);
    expect(await limiter.tryStart('p', { ...probe, sessionId: 'd' })).toEqual({ ok: true, probe: true });
  });
});

describe('a shared state whose adapter throws instead of rejecting', () => {
  it('fails as one that rejects: a settle, a give-back and a cooldown’s read reject, none throws', async () => {
    // Until 2026-12-06 the throw went up to whoever settled: a session moving on to its fallback
    // (its call's charge settled in `deliver`) was left with no wake-up, for ever.
    const clock = new ManualClock();
    clock.time = T0;
    const state: SharedState = {
      update: () => {
        throw new Error('the adapter broke');
      },
      read: () => {
        throw new Error('the adapter broke its read');
      },
    };
    const limiter = new Limiter(new Map([['p', { maxConcurrent: 1 }]]), state);
    const calls: (() => Promise<unknown>)[] = [
      () => limiter.settle('p', START, T0, ENDED),
      () => limiter.giveBack('p', START, false),
    ];
    for (const call of calls) {
      let made: Promise<unknown> | undefined;
      expect(() => {
        made = call();
      }).not.toThrow();
      await expect(made).rejects.toThrow('the adapter broke');
    }
    let read: Promise<unknown> | undefined;
    expect(() => {
      read = limiter.coolingAt('p', 'm', T0);
    }).not.toThrow();
    await expect(read).rejects.toThrow('the adapter broke its read');
  });
});
