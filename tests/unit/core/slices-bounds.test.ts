/**
 * `forEachInSlices` at the edges of its bounds: a slice that spends exactly its budget, a clock
 * that does not start at zero, and a throw on the very last item.
 */
import { describe, expect, it } from 'vitest';
import { forEachInSlices } from '../../../src/core/slices.js';
import { ManualClock } from '../../support/manual-clock.js';

describe('forEachInSlices, at its bounds', () => {
  it('ends a slice once it has spent exactly its budget', () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const each = (i: number) => {
      seen.push(i);
      clock.advance(5);
    };
    forEachInSlices(clock, [0, 1, 2, 3], each, () => {}, { maxItems: 100, budgetMs: 10 });
    // Two items take 10 ms: the budget is spent, the third waits for the next turn.
    expect(seen).toEqual([0, 1]);
    expect(clock.pending).toBe(1);
  });

  it('measures the budget from the start of the slice, whatever the clock read then', () => {
    const clock = new ManualClock();
    clock.advance(1_000_000);
    const seen: number[] = [];
    let done = 0;
    const each = (i: number) => {
      seen.push(i);
      clock.advance(1);
    };
    forEachInSlices(clock, [0, 1, 2, 3, 4], each, () => done++, { maxItems: 100, budgetMs: 20 });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(done).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('a throw on the last item: the error reaches the caller first, done runs on a later turn', () => {
    const clock = new ManualClock();
    let done = 0;
    const each = (i: number) => {
      if (i === 1) throw new Error('last item broke');
    };
    expect(() => forEachInSlices(clock, [0, 1], each, () => done++)).toThrow('last item broke');
    expect(done).toBe(0);
    expect(clock.runDue()).toBe(1);
    expect(done).toBe(1);
  });
});
