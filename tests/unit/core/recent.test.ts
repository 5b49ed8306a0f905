import { describe, expect, it } from 'vitest';
import { Recent } from '../../../src/core/recent.js';

describe('Recent', () => {
  it('holds the last `size` keys, forgetting the oldest first', () => {
    const recent = new Recent(2);
    expect(recent.has('a')).toBe(false);
    recent.add('a');
    recent.add('b');
    expect([recent.has('a'), recent.has('b')]).toEqual([true, true]);
    recent.add('c');
    expect([recent.has('a'), recent.has('b'), recent.has('c')]).toEqual([false, true, true]);
  });

  it('forgets a key taken: a second take finds nothing', () => {
    const recent = new Recent(2);
    recent.add('a');
    expect([recent.take('a'), recent.take('a'), recent.has('a'), recent.take('b')]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it('counts a key added again as the newest', () => {
    const recent = new Recent(2);
    recent.add('a');
    recent.add('b');
    recent.add('a');
    recent.add('c');
    expect([recent.has('a'), recent.has('b'), recent.has('c')]).toEqual([true, false, true]);
  });
});
