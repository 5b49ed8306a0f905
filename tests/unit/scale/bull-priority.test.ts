/**
 * troupe's priority and callers' turns as one BullMQ priority number: the order the in-memory
 * scheduler keeps (higher priority first, then the lower depth), within BullMQ's range.
 */
import { describe, expect, it } from 'vitest';
import { BULL_DEPTHS, bullPriority } from '../../../src/scale/job-data.js';

describe('bullPriority', () => {
  it('orders by priority, then depth, lower numbers first, from 1 to within BullMQ’s 2^21', () => {
    expect(bullPriority(9)).toBe(1);
    expect(bullPriority(9, 0)).toBe(1);
    expect(bullPriority(9, 1)).toBe(2);
    const ordered: [number, number][] = [];
    for (let priority = 9; priority >= 0; priority--)
      for (const depth of [0, 1, 2, 1000, BULL_DEPTHS - 2, BULL_DEPTHS - 1]) ordered.push([priority, depth]);
    const numbers = ordered.map(([p, d]) => bullPriority(p, d));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
    expect(bullPriority(0, BULL_DEPTHS - 1)).toBeLessThanOrEqual(2 ** 21);
  });

  it('gives depths past its range the last one: they stay behind the shallower, FIFO among themselves', () => {
    expect(bullPriority(5, BULL_DEPTHS)).toBe(bullPriority(5, BULL_DEPTHS - 1));
    expect(bullPriority(5, 10 * BULL_DEPTHS)).toBe(bullPriority(5, BULL_DEPTHS - 1));
    expect(bullPriority(5, 10 * BULL_DEPTHS)).toBeLessThan(bullPriority(4, 0));
  });
});
