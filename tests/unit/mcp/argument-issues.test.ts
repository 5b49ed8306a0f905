/**
 * `argumentError` over every kind it words, on schemas the tools do not have yet (a format, a
 * multiple, an exact length, an exclusive bound of a number that is not an integer), and the kinds
 * it leaves to zod.
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { argumentError, argumentName } from '../../../src/mcp/argument-issues.js';

const said = (schema: z.ZodType, value: unknown): string[] => {
  const parsed = schema.safeParse(value, { error: argumentError });
  if (parsed.success) throw new Error('expected a refusal');
  return parsed.error.issues.map((issue) => issue.message);
};

describe('argumentError', () => {
  it.each([
    [
      z.object({ n: z.number().gt(0).lt(1) }),
      { n: 1 },
      'Expected `n` to be a number of greater than 0 and less than 1, got `1` (number)',
    ],
    [
      z.object({ n: z.number().max(5) }),
      { n: 6 },
      'Expected `n` to be a number of at most 5, got `6` (number)',
    ],
    [z.object({ n: z.number().int() }), { n: 'x' }, 'Expected `n` to be an integer, got `"x"` (string)'],
    [
      z.object({ n: z.number().int().lt(10) }),
      { n: 10 },
      'Expected `n` to be an integer of at most 9, got `10` (number)',
    ],
    [
      z.object({ n: z.number().multipleOf(5) }),
      { n: 7 },
      'Expected `n` to be a multiple of 5, got `7` (number)',
    ],
    [
      z.object({ s: z.string().length(3) }),
      { s: 'ab' },
      'Expected `s` to be a string of exactly 3 characters, got 2 characters',
    ],
    [
      z.object({ s: z.string().min(2) }),
      { s: 'a' },
      'Expected `s` to be a string of at least 2 characters, got 1 character',
    ],
    [
      z.object({ a: z.array(z.number()).max(1) }),
      { a: [1, 2] },
      'Expected `a` to be an array of at most 1 item, got 2 items',
    ],
    [
      z.object({ s: z.string().startsWith('sk-') }),
      { s: 'pk' },
      'Expected `s` to start with `"sk-"` (string), got `"pk"` (string)',
    ],
    [
      z.object({ s: z.string().endsWith('.md') }),
      { s: 'a' },
      'Expected `s` to end with `".md"` (string), got `"a"` (string)',
    ],
    [
      z.object({ s: z.string().includes('@') }),
      { s: 'a' },
      'Expected `s` to include `"@"` (string), got `"a"` (string)',
    ],
    [
      z.object({ s: z.string().regex(/^a+$/) }),
      { s: 'b' },
      'Expected `s` to match `/^a+$/`, got `"b"` (string)',
    ],
    [z.object({ s: z.email() }), { s: 'b' }, 'Expected `s` to be a valid email, got `"b"` (string)'],
    [z.object({ l: z.literal('on') }), { l: 'off' }, 'Expected `l` to be `"on"`, got `"off"` (string)'],
    [z.object({ l: z.literal(2n) }), { l: 3n }, 'Expected `l` to be `2n`, got `3n` (bigint)'],
    [
      z.strictObject({ o: z.strictObject({ a: z.string() }) }),
      { o: { a: 'x', b: 1 } },
      'Expected `o` to have only `a`, got unknown `b`',
    ],
    [z.strictObject({}), { b: 1 }, 'Expected the arguments to have only known fields, got unknown `b`'],
    [z.string(), 5, 'Expected the arguments to be a string, got `5` (number)'],
  ] as const)('says $2', (schema, value, message) => {
    expect(said(schema, value)).toEqual([message]);
  });

  it('leaves a union and a refinement to zod (their own words)', () => {
    expect(said(z.object({ u: z.union([z.string(), z.number()]) }), { u: true })).toEqual(['Invalid input']);
    expect(
      said(
        z.string().refine((s) => s === 'a', 'Expected an a'),
        'b',
      ),
    ).toEqual(['Expected an a']);
  });

  it('names the arguments as a whole, and an argument by its path', () => {
    expect(argumentName(undefined)).toBe('the arguments');
    expect(argumentName([])).toBe('the arguments');
    expect(argumentName(['messages', 0, 'role'])).toBe('`messages.0.role`');
  });
});
