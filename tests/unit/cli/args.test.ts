/**
 * `troupe demo` and `troupe load` integer flags: plain digits within the range, both ends included;
 * anything else is one line saying what was expected (exit code 2 at the command).
 */
import { describe, expect, it } from 'vitest';
import { intFlag } from '../../../src/cli/args.js';

const sessions = { fallback: 200, min: 1, max: 1_000_000 };

describe('intFlag', () => {
  it('takes the default when the flag is absent, and both ends of the range', () => {
    expect(intFlag('sessions', undefined, sessions)).toBe(200);
    expect(intFlag('sessions', '1', sessions)).toBe(1);
    expect(intFlag('sessions', '1000000', sessions)).toBe(1_000_000);
    expect(intFlag('sessions', ' 42 ', sessions)).toBe(42);
  });

  it('refuses a value past either end, and anything but plain digits, naming the flag and range', () => {
    for (const value of ['0', '1000001', '1e3', '0x10', '12abc', '-5', '2.5', '', ' ']) {
      expect(intFlag('sessions', value, sessions)).toBe(
        `Expected \`--sessions\` to be an integer from 1 to 1000000, got \`${value}\``,
      );
    }
  });
});
