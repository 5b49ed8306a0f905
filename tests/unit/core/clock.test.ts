/** `settlesWithin`: a wait bounded on the injected clock, which leaves no timer behind. */

import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  atTime,
  type Clock,
  MAX_TIMER_MS,
  retriedWhileAway,
  settlesWithin,
  steadyClock,
  wallNow,
  wallOf,
} from '../../../src/core/clock.js';

function clock() {
  const simulated = new SimulatedClock();
  let pending = 0;
  return {
    simulated,
    pending: () => pending,
    now: () => simulated.now(),
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
      pending++;
      return simulated.setTimeout(() => {
        pending--;
        fn();
      }, ms);
    },
    clearTimeout: (id: unknown) => {
      pending--;
      simulated.clearTimeout(id as number);
    },
  };
}

describe('settlesWithin', () => {
  it('is true for work that resolves or rejects in time, and clears its timer', async () => {
    const c = clock();
    expect(await settlesWithin(c, Promise.resolve('value'), 1_000)).toBe(true);
    expect(await settlesWithin(c, Promise.reject(new Error('failed')), 1_000)).toBe(true);
    expect(c.pending()).toBe(0);
  });

  it('is false once the bound passes on the clock, and not before', async () => {
    const c = clock();
    let settledAt: number | undefined;
    const waiting = settlesWithin(c, new Promise(() => {}), 1_000).then((ok) => {
      settledAt = c.now();
      return ok;
    });
    c.simulated.increment(999);
    await Promise.resolve();
    expect(settledAt).toBeUndefined();
    c.simulated.increment(1);
    expect(await waiting).toBe(false);
    expect(settledAt).toBe(1_000);
  });
});

describe('atTime', () => {
  it('calls back once the clock reads its time, waiting out timers that fire early', () => {
    const simulated = new SimulatedClock();
    // Every timer fires 30 ms before its time, as Node's can by the clock (the loop's cached time).
    const early = {
      now: () => simulated.now(),
      setTimeout: (fn: (...args: unknown[]) => void, ms: number) =>
        simulated.setTimeout(fn, Math.max(0, ms - 30)),
      clearTimeout: (id: unknown) => simulated.clearTimeout(id as number),
    };
    const timers: unknown[] = [];
    const calls: number[] = [];
    atTime(early, 100, timers, () => calls.push(simulated.now()));
    simulated.increment(70);
    expect(calls).toEqual([]);
    simulated.increment(29);
    expect(calls).toEqual([]);
    simulated.increment(1);
    expect(calls).toEqual([100]);
    simulated.increment(500);
    expect(calls).toEqual([100]);
    // The first timer and each wait after it, all there for the caller to clear.
    expect(timers.length).toBeGreaterThanOrEqual(2);
  });

  it('waits for a time past what one timer can wait in steps of at most MAX_TIMER_MS (a longer Node timer fires at once)', () => {
    const simulated = new SimulatedClock();
    const asked: number[] = [];
    const recording = {
      now: () => simulated.now(),
      setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
        asked.push(ms);
        return simulated.setTimeout(fn, ms);
      },
      clearTimeout: (id: unknown) => simulated.clearTimeout(id as number),
    };
    const at = 2 * MAX_TIMER_MS + 5;
    let called = 0;
    atTime(recording, at, [], () => called++);
    simulated.increment(MAX_TIMER_MS);
    simulated.increment(MAX_TIMER_MS);
    expect(called).toBe(0);
    simulated.increment(5);
    expect(called).toBe(1);
    expect(asked).toEqual([MAX_TIMER_MS, MAX_TIMER_MS, 5]);
  });

  it('calls back at once, on a 0 ms timer, for a time already past', () => {
    const simulated = new SimulatedClock();
    simulated.increment(50);
    const timers: unknown[] = [];
    let called = 0;
    atTime(simulated, 20, timers, () => called++);
    expect(called).toBe(0);
    simulated.increment(0);
    expect(called).toBe(1);
    expect(timers).toHaveLength(1);
  });
});

describe('retriedWhileAway', () => {
  it('retries until the work answers, and its waits never keep the process alive', async () => {
    const unrefs: number[] = [];
    let tries = 0;
    const timers: Clock = {
      now: () => 0,
      setTimeout: (fn) => {
        const timer = { unref: () => unrefs.push(tries) };
        queueMicrotask(fn);
        return timer;
      },
      clearTimeout: () => {},
    };
    const answer = await retriedWhileAway(
      timers,
      async () => {
        tries++;
        if (tries < 4) throw new Error('away');
        return 'written';
      },
      61,
      500,
    );
    expect(answer).toBe('written');
    expect(unrefs).toEqual([1, 2, 3]);
  });

  it('gives up after its tries with the last rejection', async () => {
    let tries = 0;
    const failing = retriedWhileAway(
      { now: () => 0, setTimeout: (fn) => queueMicrotask(fn), clearTimeout: () => {} },
      async () => {
        tries++;
        throw new Error(`away ${tries}`);
      },
      3,
      500,
    );
    await expect(failing).rejects.toThrow('away 3');
    expect(tries).toBe(3);
  });

  it('tries no more once its signal aborts: a wait ends there with the last rejection', async () => {
    const clock = new SimulatedClock();
    const letGo = new AbortController();
    let tries = 0;
    const failing = retriedWhileAway(
      clock,
      async () => {
        tries++;
        throw new Error(`away ${tries}`);
      },
      61,
      500,
      letGo.signal,
    );
    const settled = failing.catch((error: unknown) => error);
    await Promise.resolve();
    clock.increment(500);
    await new Promise((resolve) => setImmediate(resolve));
    expect(tries).toBe(2);
    // Mid-wait: no third try, and no time has to pass.
    letGo.abort();
    expect(String(await settled)).toContain('away 2');
    expect(tries).toBe(2);
  });
});

describe('steadyClock', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reads whole epoch ms that a step of the wall clock does not move; `wall()` reads the wall clock, stepped', async () => {
    const realNow = Date.now.bind(Date);
    expect(Math.abs(steadyClock.now() - realNow())).toBeLessThan(1_000);
    expect(Number.isInteger(steadyClock.now())).toBe(true);
    const before = steadyClock.now();
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const after = steadyClock.now();
    expect(after - before).toBeGreaterThanOrEqual(15);
    expect(after - before).toBeLessThan(1_000);
    expect(Math.abs((steadyClock.wall?.() ?? 0) - (realNow() - 3_600_000))).toBeLessThan(1_000);
    // A time read on it goes out on the stepped wall clock, as long ago as it really was.
    expect(Math.abs(wallOf(steadyClock, before) - (realNow() - 3_600_000 - (after - before)))).toBeLessThan(
      50,
    );
    expect(Math.abs(wallNow(steadyClock) - (realNow() - 3_600_000))).toBeLessThan(1_000);
  });

  it('turns a time into the wall clock’s by an offset kept while the two clocks only round apart', () => {
    let now = 1_000;
    let wall = 5_000;
    const clock: Clock = { ...steadyClock, now: () => now, wall: () => wall };
    expect(wallOf(clock, 900)).toBe(4_900);
    wall = 5_001; // a rounding apart: the same time reads the same
    expect(wallOf(clock, 900)).toBe(4_900);
    wall = 4_999;
    expect(wallOf(clock, 900)).toBe(4_900);
    wall = 5_002; // a step (or drift) of more: followed
    expect(wallOf(clock, 900)).toBe(4_902);
    now = 1_100;
    wall = 5_102;
    expect(wallOf(clock, 900)).toBe(4_902);
  });

  it('reads the two clocks again when `now()` moved meanwhile, so a pause between them moves no time', () => {
    // The thread paused 5 ms between `now()` and `wall()` on the first try: that reading is dropped.
    const nows = [1_000, 1_005, 1_005, 1_005];
    const walls = [6_005, 6_005];
    const clock: Clock = {
      ...steadyClock,
      now: () => nows.shift() ?? 1_005,
      wall: () => walls.shift() ?? 6_005,
    };
    expect(wallOf(clock, 900)).toBe(5_900);
    // Paused on every try: the third reading is taken, whatever it says.
    const paused: Clock = { ...steadyClock, now: stepping(1_000, 5), wall: () => 9_000 };
    expect(wallOf(paused, 900)).toBe(9_000 - 1_020 + 900);
  });

  it('leaves times alone on a clock without `wall`: its `now()` is the wall clock', () => {
    const simulated = new SimulatedClock();
    simulated.set(42);
    expect(wallOf(simulated, 7)).toBe(7);
    expect(wallNow(simulated)).toBe(42);
  });
});

/** A `now()` that moves by `by` at each read, from `from`. */
function stepping(from: number, by: number): () => number {
  let next = from;
  return () => {
    const now = next;
    next += by;
    return now;
  };
}
