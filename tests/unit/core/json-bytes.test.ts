import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { jsonBytes, leastArrayBytes, stringBytes } from '../../../src/core/json-bytes.js';

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

/** An array of `length` whose entries are `entry`, counting the entries read (a Proxy: JSON cannot make one). */
function counted(length: number, entry: unknown = 'x'): { array: unknown[]; reads: () => number } {
  let reads = 0;
  const array = new Proxy([entry], {
    get(target, key, receiver) {
      if (key === 'length') return length;
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        reads++;
        return entry;
      }
      return Reflect.get(target, key, receiver);
    },
  });
  return { array, reads: () => reads };
}

describe('jsonBytes under a limit', () => {
  it('counts exactly up to the limit, and past it gives some count over the limit', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.constant(null),
        fc.constant(undefined),
        fc.array(tie('node'), { maxLength: 5 }),
        fc.dictionary(text, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, fc.nat(300), (v, limit) => {
        const bytes = jsonBytes(v, limit);
        const exact = v === undefined ? 0 : truth(v);
        if (exact <= limit) expect(bytes).toBe(exact);
        else expect(bytes).toBeGreaterThan(limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('past its depth bound, stops a wide object or a long string once past the limit', () => {
    let reads = 0;
    const wide: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++)
      Object.defineProperty(wide, `k${i}`, {
        enumerable: true,
        get: () => {
          reads++;
          return 0;
        },
      });
    /** `inner` under 40 levels, past the depth counted by hand. */
    const nest = (inner: unknown) => {
      let deep = inner;
      for (let i = 0; i < 40; i++) deep = i % 2 === 0 ? [deep] : { k: deep };
      return deep;
    };
    // Each member is 5 bytes at least (`"k0":`): past 1,000 within about 200 of the 10,000.
    expect(jsonBytes(nest(wide), 1000)).toBeGreaterThan(1000);
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(200);
    // A string past the limit: JSON.stringify is stopped before it makes the JSON. Under arrays alone
    // (their brackets counted, 2 bytes each) it is counted at its length and quotes: here exactly.
    let arrays: unknown = 'y'.repeat(1_000_000);
    for (let i = 0; i < 40; i++) arrays = [arrays];
    expect(jsonBytes(arrays, 1000)).toBe(80 + 1_000_002);
    const byteLength = vi.spyOn(Buffer, 'byteLength');
    try {
      expect(jsonBytes(nest({ text: 'y'.repeat(1_000_000) }), 1000)).toBeGreaterThan(1000);
      expect(byteLength).not.toHaveBeenCalled();
    } finally {
      byteLength.mockRestore();
    }
  });

  it('past its depth bound, is exact at the limit: what it counts as met is never more than is written', () => {
    const leaves = [
      { k: 'v' },
      // Left out, so not counted: more than the braces' 2 bytes it has uncounted.
      { u: undefined, f: () => 1, s: Symbol('s'), k: 'v' },
      { '': 'e', u: undefined, f: () => 1, s: Symbol('s'), a: ['x', 'yy', { b: true }], n: 12 },
      ['é', 'a\n', { ké: 'ü' }],
      'plain',
      { t: { toJSON: () => 'told' } },
    ];
    for (const leaf of leaves) {
      let deep: unknown = leaf;
      for (let i = 0; i < 34; i++) deep = [deep];
      const exact = truth(deep);
      expect(jsonBytes(deep, exact), JSON.stringify(leaf)).toBe(exact);
      expect(jsonBytes(deep, exact - 1)).toBeGreaterThan(exact - 1);
    }
  });

  it('weighs a string past the limit by its length alone: a byte a character, and its quotes', () => {
    // 'é' is 2 bytes in UTF-8 (202 in all): past a limit of 100 by its length, 102 is said.
    expect(jsonBytes('é'.repeat(100), 100)).toBe(102);
    expect(jsonBytes({ a: 'é'.repeat(100) }, 100)).toBeGreaterThan(100);
    // At the limit by its length it is counted, and over it.
    expect(jsonBytes('é'.repeat(98), 100)).toBe(truth('é'.repeat(98)));
    expect(jsonBytes('a'.repeat(98), 100)).toBe(100);
  });

  it('weighs an array at its fewest bytes of JSON, 2 × length + 1, whatever is in it', () => {
    expect(leastArrayBytes(3)).toBe(truth([0, 0, 0]));
    expect(leastArrayBytes(1)).toBe(truth([0]));
  });

  it('counts what follows in what is left of the limit: an array past it there is not read', () => {
    // 505 bytes before it leave 495: an array of 300 (601 bytes at least) is over, unread.
    const { array, reads } = counted(300);
    expect(jsonBytes(['x'.repeat(500), array], 1000)).toBeGreaterThan(1000);
    expect(jsonBytes({ a: 'x'.repeat(494), b: array }, 1000)).toBeGreaterThan(1000);
    expect(reads()).toBe(0);
  });

  it('refuses an array by its length alone: a length of 1e9 is not read, at any depth', () => {
    const { array, reads } = counted(1e9);
    expect(jsonBytes(array, 1000)).toBe(leastArrayBytes(1e9));
    expect(jsonBytes({ messages: [{ content: array }] }, 1000)).toBeGreaterThan(1000);
    let deep: unknown = array;
    for (let i = 0; i < 40; i++) deep = i % 2 === 0 ? [deep] : { k: deep };
    expect(jsonBytes(deep, 1000)).toBeGreaterThan(1000);
    // Behind a `toJSON`, which only JSON.stringify sees through.
    expect(jsonBytes({ a: { toJSON: () => ({ b: array }) } }, 1000)).toBeGreaterThan(1000);
    expect(reads()).toBe(0);
    // A sparse array, as `length = 1e9` makes one.
    const sparse = ['a'];
    sparse.length = 1e9;
    expect(jsonBytes({ stop: sparse }, 256 * 1024 * 1024)).toBeGreaterThan(256 * 1024 * 1024);
  });

  it('stops once past the limit: an array shared many times is not read for each', () => {
    const { array, reads } = counted(400, 'xx');
    const shared = Array.from({ length: 1000 }, () => array);
    // 400 entries of 5 bytes: about 2,000 bytes each time; 10,000 bytes is past after 5 of them
    // (all 1,000 are 400,000 reads).
    expect(jsonBytes(shared, 10_000)).toBeGreaterThan(10_000);
    expect(reads()).toBeLessThanOrEqual(6 * 400);
    // Past the depth bound JSON.stringify counts, stopped once the arrays' brackets and commas are past
    // (entries of 0: a byte each, counted as their array is met; a string would count as it is met).
    const { array: deepArray, reads: deepReads } = counted(400, 0);
    let deep: unknown = Array.from({ length: 1000 }, () => deepArray);
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(jsonBytes(deep, 10_000)).toBeGreaterThan(10_000);
    expect(deepReads()).toBeLessThanOrEqual(10_000);
    // To the byte: 40 arrays of one (2 bytes each of brackets), one of 1,000 (1,001 bytes of its own),
    // then each shared array's 401 and, not yet read, its 400 entries: past 9,902 at the 22nd, past
    // 9,901 at the 21st; the ones before are read.
    for (const [limit, read] of [
      [9902, 21],
      [9901, 20],
    ] as const) {
      const at = deepReads();
      expect(jsonBytes(deep, limit)).toBeGreaterThan(limit);
      expect(deepReads() - at).toBe(read * 400);
    }
    // An array and an object within the limit by their length, past it by their entries.
    const { array: long, reads: longReads } = counted(3000, { k: 'x' });
    expect(jsonBytes(long, 10_000)).toBeGreaterThan(10_000);
    expect(longReads()).toBeLessThanOrEqual(1100);
    let memberReads = 0;
    const wide = new Proxy(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, 'xxxx'])), {
      get(target, key, receiver) {
        memberReads++;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(jsonBytes(wide, 10_000)).toBeGreaterThan(10_000);
    expect(memberReads).toBeLessThanOrEqual(1000);
    // With no limit, all of it, as before.
    expect(jsonBytes(shared)).toBe(truth(shared));
  });
});
