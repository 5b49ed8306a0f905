/** `settlesWithin`: a wait bounded on the injected clock, which leaves no timer behind. */

import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { settlesWithin } from '../../../src/core/clock.js';

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
