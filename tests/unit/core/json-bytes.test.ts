import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonBytes, stringBytes } from '../../../src/core/json-bytes.js';

const truth = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Every kind of character JSON.stringify treats apart: escapes, controls, 1-4 byte UTF-8, lone surrogates. */
const tricky = fc.constantFrom(
  '"',
  '\\',
  '\b',
  '\t',
  '\n',
  '\f',
  '\r',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '\u07ff',
  '\u0800',
  '€',
  '\u2028',
  '\uffff',
  '😀',
  '\ud800',
  '\udfff',
  '\udbff\udc00',
  'a',
);
const text = fc.oneof(
  fc.array(tricky, { maxLength: 12 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

describe('jsonBytes', () => {
  it('counts what Buffer.byteLength(JSON.stringify(string)) counts, for any string', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(stringBytes(s)).toBe(truth(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('counts any JSON value as JSON.stringify writes it', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.double(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.constant(undefined),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(text, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(text, value, { maxKeys: 6 }), (object) => {
        expect(jsonBytes(object)).toBe(truth(object));
      }),
      { numRuns: 1000 },
    );
  });

  it('counts chat messages, tool calls included', () => {
    const message = {
      role: 'assistant',
      content: 'Ça va? "yes"\n',
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      reasoning_content: undefined,
    };
    expect(jsonBytes(message)).toBe(truth(message));
  });

  it('leaves to JSON.stringify what is not plain data, and still throws where it throws', () => {
    const dated = { at: new Date(0), big: [1, { toJSON: () => 'x' }], nothing: () => 1 };
    expect(jsonBytes(dated)).toBe(truth(dated));
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { d: [deep] };
    expect(jsonBytes(deep)).toBe(truth(deep));
    const cycle: Record<string, unknown> = {};
    cycle.self = { again: cycle };
    let nested: unknown = cycle;
    for (let i = 0; i < 40; i++) nested = { n: nested };
    expect(() => jsonBytes(nested)).toThrow(TypeError);
    expect(() => jsonBytes({ n: 1n })).toThrow(TypeError);
  });
});

describe('jsonBytes, case by case', () => {
  it('counts the edges of each UTF-8 width and surrogate pairs as JSON.stringify writes them', () => {
    for (const s of [
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
      '\ud800\udc00',
      '\udc00',
      '\udc00\ud800',
      'a\ud800',
    ]) {
      expect(stringBytes(s)).toBe(truth(s));
      expect(jsonBytes({ [s]: s })).toBe(truth({ [s]: s }));
    }
  });

  it('measures what is not plain data as JSON.stringify does: toJSON, boxed primitives, class instances', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const values: unknown[] = [
      { toJSON: () => 'replaced' },
      { a: { toJSON: () => undefined }, b: 1 },
      [{ toJSON: () => undefined }],
      new String('ab'),
      new Number(5),
      new Boolean(false),
      new Date(0),
      new Point(1, 2),
      Object.assign(Object.create(null), { a: 'é', b: [1, null] }),
      [undefined, () => 1, Symbol('s'), Number.NaN, Number.POSITIVE_INFINITY],
      { u: undefined, f: () => 1, n: -0, e: 1e21, s: 'x' },
    ];
    for (const value of values) expect(jsonBytes(value)).toBe(truth(value));
    expect(jsonBytes(undefined)).toBe(0);
  });

  it('counts nesting past its own depth bound through JSON.stringify, to the same total', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = i % 2 === 0 ? [deep] : { k: deep };
    expect(jsonBytes(deep)).toBe(truth(deep));
  });
});
