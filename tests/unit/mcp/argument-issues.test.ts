/**
 * `argumentError` over every kind it words, on schemas the tools do not have yet (a format, a
 * multiple, an exact length, an exclusive bound of a number that is not an integer), and the kinds
 * it leaves to zod.
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { argumentError, argumentName, parseArguments } from '../../../src/mcp/argument-issues.js';

const said = (schema: z.ZodType, value: unknown): string[] => {
  const parsed = schema.safeParse(value, { error: argumentError });
  if (parsed.success) throw new Error('expected a refusal');
  return parsed.error.issues.map((issue) => issue.message);
};

/** `argumentError` given a raw issue as the test writes it. */
const raw = (issue: object) => argumentError(issue as Parameters<typeof argumentError>[0]);

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
    // A number's kind carries its range when the type is wrong, too.
    [
      z.object({ n: z.number().min(0).max(2) }),
      { n: 'x' },
      'Expected `n` to be a number from 0 to 2, got `"x"` (string)',
    ],
    // `z.int()` is an integer by its own format, with no `.int()` among its checks.
    [
      z.object({ n: z.int().max(5) }),
      { n: 6 },
      'Expected `n` to be an integer of at most 5, got `6` (number)',
    ],
    [z.object({ n: z.int() }), { n: 'x' }, 'Expected `n` to be an integer, got `"x"` (string)'],
    [z.object({ n: z.int() }), { n: 2.5 }, 'Expected `n` to be an integer, got `2.5` (number)'],
    [
      z.object({ n: z.int() }),
      { n: 2 ** 60 },
      'Expected `n` to be an integer of at most 9007199254740991, got `1152921504606847000` (number)',
    ],
    // A format that is not an integer's keeps "a number".
    [
      z.object({ n: z.float32().max(1) }),
      { n: 2 },
      'Expected `n` to be a number of at most 1, got `2` (number)',
    ],
    [
      z.object({ n: z.bigint().max(5n) }),
      { n: 6n },
      'Expected `n` to be an integer of at most 5, got `6n` (bigint)',
    ],
    // Checks in any order: the bound found by its kind, not by its place.
    [
      z.object({ s: z.string().max(5).min(2) }),
      { s: 'a' },
      'Expected `s` to be a string of 2 to 5 characters, got 1 character',
    ],
    [
      z.object({ s: z.string().min(1).length(3) }),
      { s: 'ab' },
      'Expected `s` to be a string of exactly 3 characters, got 2 characters',
    ],
    [
      z.object({ a: z.array(z.number()).min(2) }),
      { a: [1] },
      'Expected `a` to be an array of at least 2 items, got 1 item',
    ],
    // A set's bounds are sizes.
    [
      z.object({ t: z.set(z.number()).max(1) }),
      { t: new Set([1, 2]) },
      'Expected `t` to be a set of at most 1 item, got 2 items',
    ],
    [
      z.object({ t: z.set(z.number()).min(2).max(3) }),
      { t: new Set([1]) },
      'Expected `t` to be a set of 2 to 3 items, got 1 item',
    ],
    [
      z.object({ t: z.set(z.number()).size(2) }),
      { t: new Set([1]) },
      'Expected `t` to be a set of exactly 2 items, got 1 item',
    ],
  ] as const)('says $2', (schema, value, message) => {
    expect(said(schema, value)).toEqual([message]);
  });

  it('leaves a refinement without words of its own to zod’s', () => {
    expect(
      said(
        z.string().refine((v) => v === 'a'),
        'b',
      ),
    ).toEqual(['Invalid input']);
  });

  it('names at most five unknown keys, each of at most 40 characters', () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(said(z.strictObject({}), Object.fromEntries(keys.map((k) => [k, 1])))).toEqual([
      'Expected the arguments to have only known fields, got unknown `a`, `b`, `c`, `d`, `e` and 2 more',
    ]);
    const forty = 'k'.repeat(40);
    expect(said(z.strictObject({}), { [forty]: 1 })).toEqual([
      `Expected the arguments to have only known fields, got unknown \`${forty}\``,
    ]);
    expect(said(z.strictObject({}), { [`${forty}x`]: 1 })).toEqual([
      `Expected the arguments to have only known fields, got unknown \`${'k'.repeat(39)}…\``,
    ]);
  });

  it('words an issue that comes without its schema by what it has', () => {
    expect(raw({ code: 'too_big', origin: 'number', maximum: 9, input: 10, path: ['n'] })).toBe(
      'Expected `n` to be a number of at most 9, got `10` (number)',
    );
    expect(
      raw({ code: 'too_small', origin: 'number', minimum: 0, inclusive: false, input: 0, path: ['n'] }),
    ).toBe('Expected `n` to be a number of greater than 0, got `0` (number)');
    expect(raw({ code: 'too_small', origin: 'number', minimum: 0, input: -1, path: ['n'], schema: {} })).toBe(
      'Expected `n` to be a number of at least 0, got `-1` (number)',
    );
    for (const inst of [undefined, {}, { _zod: {} }]) {
      expect(raw({ code: 'unrecognized_keys', keys: ['b'], input: { b: 1 }, path: [], inst })).toBe(
        'Expected the arguments to have only known fields, got unknown `b`',
      );
    }
    expect(raw({ code: 'unrecognized_keys', keys: ['b'], input: { b: 1 }, path: [] })).toBe(
      'Expected the arguments to have only known fields, got unknown `b`',
    );
  });

  it('names a union by its forms: each branch’s kind, or an object’s fields', () => {
    expect(said(z.object({ u: z.union([z.string(), z.number()]) }), { u: true })).toEqual([
      'Expected `u` to be a string or a number, got `true` (boolean)',
    ]);
    // `z.int()`'s own kind for a fraction (zod's `expected: 'int'`).
    expect(said(z.object({ u: z.union([z.int(), z.literal('x')]) }), { u: 2.5 })).toEqual([
      'Expected `u` to be an integer or `"x"`, got `2.5` (number)',
    ]);
    // Two branches of one kind are named once.
    expect(said(z.union([z.string(), z.string().array(), z.string()]), 5)).toEqual([
      'Expected the arguments to be a string or an array, got `5` (number)',
    ]);
    const ref = z.union([
      z.object({ type: z.literal('a'), name: z.string() }),
      z.object({ type: z.enum(['b', 'c']), 'u\nri': z.string() }),
    ]);
    const nested = z.union([
      z.object({ type: z.literal('a'), inner: z.object({ name: z.string() }) }),
      z.object({ type: z.literal('b') }),
    ]);
    expect(said(nested, { type: 'c', inner: {} })).toEqual([
      'Expected the arguments to be { type: `"a"`, inner.name: a string } or { type: `"b"` }, got `{"type":"c","inner":{}}` (object)',
    ]);
    expect(said(z.object({ ref }), { ref: { type: 'd' } })).toEqual([
      'Expected `ref` to be { type: `"a"`, name: a string } or { type: one of `"b"`, `"c"`, u\\nri: a string }, got `{"type":"d"}` (object)',
    ]);
  });

  it('names the option a tagged union’s value picks by its tag, and that option’s first issue at its whole path', () => {
    const block = z.union([
      z.object({ type: z.literal('a'), n: z.number().max(1) }),
      z.object({ type: z.literal('b'), inner: z.object({ name: z.string() }) }),
      z.object({ type: z.enum(['c', 'd']), s: z.string().refine((v) => v === 'ok', 'Expected ok') }),
    ]);
    const list = z.object({ blocks: z.array(block) });
    expect(said(list, { blocks: [{ type: 'a', n: 2 }] })).toEqual([
      'Expected `blocks.0.n` to be a number of at most 1, got `2` (number)',
    ]);
    expect(said(list, { blocks: [{ type: 'b', inner: {} }] })).toEqual([
      'Expected `blocks.0.inner.name` to be a string, got none',
    ]);
    // A refinement alone is zod's own pick of its option (the others failed on more): its words stand.
    expect(said(list, { blocks: [{ type: 'd', s: 'no' }] })).toEqual(['Expected ok']);
    expect(said(list, { blocks: [{ type: 'd', s: { deep: 1 } }] })).toEqual([
      'Expected `blocks.0.s` to be a string, got `{"deep":1}` (object)',
    ]);
    // An issue it has no words for keeps zod's after the whole path, with what came.
    const custom = { code: 'custom', path: ['s'], message: 'Expected ok' };
    const pickedA = { input: { type: 'a', s: 'no' }, inst: block, path: ['blocks', 0] };
    expect(raw({ code: 'invalid_union', errors: [[custom], [], []], ...pickedA })).toBe(
      '`blocks.0.s`: Expected ok, got `"no"` (string)',
    );
    expect(raw({ code: 'invalid_union', errors: [[{ ...custom, path: ['t'] }], [], []], ...pickedA })).toBe(
      '`blocks.0.t`: Expected ok, got none',
    );
    // The value as a whole.
    expect(said(block, { type: 'a', n: 'x' })).toEqual(['Expected `n` to be a number, got `"x"` (string)']);
    // No value, or `null`, has no tag: the forms are named.
    expect(said(list, { blocks: [undefined] })).toEqual(['Expected `blocks.0` to be an object, got none']);
    expect(said(list, { blocks: [null] })).toEqual(['Expected `blocks.0` to be an object, got `null`']);
    // The tag is the key with a literal in every option, not one only the first has.
    const extra = z.union([
      z.object({ kind: z.literal('k'), type: z.literal('a'), n: z.number() }),
      z.object({ type: z.literal('b') }),
    ]);
    expect(said(extra, { kind: 'k', type: 'a', n: 'x' })).toEqual([
      'Expected `n` to be a number, got `"x"` (string)',
    ]);
    // An option that is no object has no literal: no tag, the forms are named.
    const mixed = z.union([z.object({ type: z.literal('a'), n: z.number() }), z.string()]);
    expect(said(mixed, { type: 'a', n: 'x' })).toEqual([
      'Expected the arguments to be { n: a number } or a string, got `{"type":"a","n":"x"}` (object)',
    ]);
  });

  it('names a tagged union’s tag when it picks no option and the options have no forms to name', () => {
    const bounded = z.union([
      z.object({ type: z.literal('a'), n: z.number().max(1) }),
      z.object({ kind: z.literal('x'), type: z.literal('b') }),
    ]);
    expect(said(bounded, { type: 'c', n: 2 })).toEqual([
      'Expected `type` to be one of `"a"`, `"b"`, got `"c"` (string)',
    ]);
    expect(said(z.object({ ref: bounded }), { ref: { n: 2 } })).toEqual([
      'Expected `ref.type` to be one of `"a"`, `"b"`, got none',
    ]);
    // A discriminated union says which key itself, and matched no option.
    const picked = z.discriminatedUnion('type', [
      z.object({ type: z.literal('a') }),
      z.object({ type: z.literal('b') }),
    ]);
    expect(said(picked, { type: 'c' })).toEqual([
      'Expected `type` to be one of `"a"`, `"b"`, got `"c"` (string)',
    ]);
    expect(said(z.object({ ref: picked }), { ref: { type: 7 } })).toEqual([
      'Expected `ref.type` to be one of `"a"`, `"b"`, got `7` (number)',
    ]);
    // Its own key and values, though its options share another literal key before it.
    const twoKeys = z.discriminatedUnion('type', [
      z.object({ kind: z.literal('x'), type: z.literal('a') }),
      z.object({ kind: z.literal('y'), type: z.literal('b') }),
    ]);
    expect(said(twoKeys, { kind: 'x', type: 'c' })).toEqual([
      'Expected `type` to be one of `"a"`, `"b"`, got `"c"` (string)',
    ]);
  });

  it('leaves a union to zod when a branch failed on a kind it has no noun for and no tag tells its options apart', () => {
    // No key with a literal in every option (each option fails on a missing field, so zod picks none).
    const untagged = z.union([
      z.object({ a: z.number().max(1), b: z.string() }),
      z.object({ type: z.literal('b') }),
    ]);
    expect(said(untagged, { a: 2 })).toEqual(['Invalid input']);
    // A tag's value in two options tells neither apart.
    const shared = z.union([
      z.object({ type: z.literal('a'), n: z.number().max(1), b: z.string() }),
      z.object({ type: z.enum(['a', 'b']), m: z.number().max(1), b: z.string() }),
    ]);
    expect(said(shared, { type: 'a', n: 2, m: 2 })).toEqual(['Invalid input']);
    expect(said(shared, { type: 'c', n: 2, m: 2 })).toEqual(['Invalid input']);
    // A value that is no object has no tag: its forms, or zod's words.
    const tagged = z.union([z.object({ type: z.literal('a') }), z.object({ type: z.literal('b') })]);
    expect(said(tagged, 5)).toEqual(['Expected the arguments to be an object, got `5` (number)']);
    // An issue whose schema is not zod's union, or none at all, names no tag.
    for (const inst of [undefined, {}, { _zod: {} }, { _zod: { def: {} } }])
      expect(
        raw({
          code: 'invalid_union',
          errors: [[{ code: 'custom', path: [], message: 'no' }]],
          input: { type: 'a' },
          inst,
          path: [],
        }),
      ).toBe(undefined);
    expect(
      raw({
        code: 'invalid_union',
        errors: [[{ code: 'custom', path: [], message: 'no' }]],
        input: 5,
        inst: tagged,
        path: [],
      }),
    ).toBe(undefined);
    expect(
      raw({
        code: 'invalid_union',
        errors: [[{ code: 'custom', path: [], message: 'no' }]],
        input: null,
        inst: tagged,
        path: [],
      }),
    ).toBe(undefined);
    expect(
      raw({
        code: 'invalid_union',
        errors: [],
        input: null,
        discriminator: 'type',
        options: ['a'],
        path: ['type'],
      }),
    ).toBe(undefined);
  });

  it('leaves a refinement to zod (its own words)', () => {
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

  it('names a key on one line and cut at 40 characters, as the client sent it otherwise', () => {
    expect(argumentName(['a\nb', 'c"d'])).toBe('`a\\nb.c\\"d`');
    expect(argumentName(['k'.repeat(40)])).toBe(`\`${'k'.repeat(40)}\``);
    expect(argumentName(['k'.repeat(41)])).toBe(`\`${'k'.repeat(39)}…\``);
    expect(said(z.record(z.string(), z.string()), { [`x\n${'y'.repeat(50)}`]: 1 })).toEqual([
      `Expected \`x\\n${'y'.repeat(36)}…\` to be a string, got \`1\` (number)`,
    ]);
    expect(said(z.strictObject({}), { 'a\nb': 1 })).toEqual([
      'Expected the arguments to have only known fields, got unknown `a\\nb`',
    ]);
  });
});

describe('parseArguments', () => {
  const schema = z.object({
    n: z.number().default(3),
    s: z
      .object({ t: z.string().refine((t) => t === 'ok', 'Expected ok') })
      .nullable()
      .optional(),
  });

  it('gives the parsed value, defaults and all', () => {
    expect(parseArguments(schema, {})).toEqual({ ok: true, data: { n: 3 } });
  });

  it('gives one line an issue: troupe’s words, else zod’s after the argument’s name, with what came', () => {
    expect(parseArguments(schema, { n: 'x', s: { t: 'no' } })).toEqual({
      ok: false,
      problems: [
        'Expected `n` to be a number, got `"x"` (string)',
        '`s.t`: Expected ok, got `"no"` (string)',
      ],
    });
    const whole = z.object({ a: z.string().optional() }).refine((v) => v.a !== undefined, 'Expected `a`');
    expect(parseArguments(whole, {})).toEqual({ ok: false, problems: ['arguments: Expected `a`'] });
  });

  it('says none came for a path the value does not reach', () => {
    const deep = z.object({ a: z.unknown() }).superRefine((_, ctx) => {
      ctx.addIssue({ code: 'custom', message: 'Expected a b', path: ['a', 'b'] });
    });
    expect(parseArguments(deep, { a: null })).toEqual({
      ok: false,
      problems: ['`a.b`: Expected a b, got none'],
    });
    expect(parseArguments(deep, { a: { b: 2 } })).toEqual({
      ok: false,
      problems: ['`a.b`: Expected a b, got `2` (number)'],
    });
    expect(parseArguments(deep, { a: 'str' })).toEqual({
      ok: false,
      problems: ['`a.b`: Expected a b, got none'],
    });
    // A string's characters are no items: none came for `a.0`.
    const item = z.object({ a: z.unknown() }).superRefine((_, ctx) => {
      ctx.addIssue({ code: 'custom', message: 'Expected an item', path: ['a', 0] });
    });
    expect(parseArguments(item, { a: 'str' })).toEqual({
      ok: false,
      problems: ['`a.0`: Expected an item, got none'],
    });
  });
});
