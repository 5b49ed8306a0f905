import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../src/core/fifo.js';

interface Item {
  readonly seq: number;
}

function filled(count: number, compactMin?: number): { fifo: Fifo<Item>; items: Item[] } {
  const fifo = new Fifo<Item>(compactMin);
  const items = Array.from({ length: count }, (_, i) => ({ seq: i + 1 }));
  for (const item of items) fifo.push(item);
  return { fifo, items };
}

function drain(fifo: Fifo<Item>): number[] {
  const out: number[] = [];
  for (let item = fifo.shift(); item !== undefined; item = fifo.shift()) out.push(item.seq);
  return out;
}

/** Deterministic shuffle (xorshift), so a failure reproduces. */
function shuffled<T>(values: readonly T[], seed = 7): T[] {
  const out = [...values];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('Fifo', () => {
  it('keeps arrival order after a bulk removal, oldest first (a burst of queue timeouts)', () => {
    const { fifo, items } = filled(5000);
    expect(items.slice(0, 3000).every((item) => fifo.remove(item))).toBe(true);
    expect(fifo.size).toBe(2000);
    expect(fifo.indexOf(items[3000]!)).toBe(0);
    expect(fifo.indexOf(items[4999]!)).toBe(1999);
    expect(drain(fifo)).toEqual(items.slice(3000).map((i) => i.seq));
  });

  it('removes arbitrary items: the rest keep their order and their positions count only live items ahead', () => {
    const { fifo, items } = filled(3000);
    const removed = new Set(shuffled(items).slice(0, 1700));
    expect([...removed].every((item) => fifo.remove(item))).toBe(true);
    expect([...removed].some((item) => fifo.remove(item))).toBe(false);
    const left = items.filter((i) => !removed.has(i));
    expect(fifo.size).toBe(left.length);
    expect(left.map((item) => fifo.indexOf(item))).toEqual(left.map((_, at) => at));
    expect([...removed].every((item) => fifo.indexOf(item) === -1)).toBe(true);
    expect([...fifo].map((i) => i.seq)).toEqual(left.map((i) => i.seq));
    expect(drain(fifo)).toEqual(left.map((i) => i.seq));
  });

  it('skips tombstones at the head and counts positions from the head after shifts', () => {
    const { fifo, items } = filled(10);
    fifo.remove(items[1]!);
    fifo.remove(items[2]!);
    fifo.remove(items[5]!);
    expect(fifo.shift()?.seq).toBe(1);
    expect(fifo.peek()?.seq).toBe(4);
    expect(fifo.indexOf(items[6]!)).toBe(2); // 4, 5 ahead of 7
    expect(fifo.remove(items[3]!)).toBe(true); // the head itself
    expect(fifo.indexOf(items[6]!)).toBe(1);
    expect(drain(fifo)).toEqual([5, 7, 8, 9, 10]);
    expect(fifo.size).toBe(0);
    expect(fifo.peek()).toBeUndefined();
  });

  it('keeps positions exact when items arrive after tombstones, past the first tree size', () => {
    const { fifo, items } = filled(20);
    fifo.remove(items[10]!); // the tree is made here, sized for 20 slots
    const later = Array.from({ length: 100 }, (_, i) => ({ seq: 100 + i }));
    for (const item of later) fifo.push(item);
    fifo.remove(later[50]!);
    expect(fifo.indexOf(later[0]!)).toBe(19);
    expect(fifo.indexOf(later[99]!)).toBe(19 + 98);
  });

  it('compacts when half is waste, without losing or reordering anything', () => {
    const { fifo, items } = filled(5000);
    const removed = new Set(shuffled(items, 3).slice(0, 4000));
    for (const item of removed) fifo.remove(item);
    const left = items.filter((i) => !removed.has(i));
    expect(left.map((item) => fifo.indexOf(item))).toEqual(left.map((_, at) => at));
    expect([...removed].some((item) => fifo.remove(item))).toBe(false);
    expect(drain(fifo)).toEqual(left.map((i) => i.seq));
  });

  it('behaves as an array model under any mix of push, shift, remove and indexOf', () => {
    type Op =
      | { kind: 'push' }
      | { kind: 'shift' }
      | { kind: 'remove'; pick: number }
      | { kind: 'removeGone'; pick: number }
      | { kind: 'indexOf'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.constant({ kind: 'push' as const }), weight: 5 },
      { arbitrary: fc.constant({ kind: 'shift' as const }), weight: 1 },
      { arbitrary: fc.nat().map((pick) => ({ kind: 'remove' as const, pick })), weight: 3 },
      { arbitrary: fc.nat().map((pick) => ({ kind: 'removeGone' as const, pick })), weight: 1 },
      { arbitrary: fc.nat().map((pick) => ({ kind: 'indexOf' as const, pick })), weight: 2 },
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 400, size: 'max' }),
        fc.integer({ min: 1, max: 8 }),
        (ops, compactMin) => {
          const fifo = new Fifo<Item>(compactMin);
          const model: Item[] = [];
          const gone: Item[] = [];
          let seq = 0;
          for (const o of ops) {
            if (o.kind === 'push') {
              const item = { seq: ++seq };
              fifo.push(item);
              model.push(item);
            } else if (o.kind === 'shift') {
              const item = model.shift();
              expect(fifo.shift()).toBe(item);
              if (item) gone.push(item);
            } else if (o.kind === 'remove' && model.length > 0) {
              const [item] = model.splice(o.pick % model.length, 1);
              expect(fifo.remove(item!)).toBe(true);
              gone.push(item!);
            } else if (o.kind === 'removeGone' && gone.length > 0) {
              expect(fifo.remove(gone[o.pick % gone.length]!)).toBe(false);
            } else if (o.kind === 'indexOf' && model.length > 0) {
              const at = o.pick % model.length;
              expect(fifo.indexOf(model[at]!)).toBe(at);
            }
            expect(fifo.size).toBe(model.length);
            expect(fifo.peek()).toBe(model[0]);
          }
          expect([...fifo]).toEqual(model);
        },
      ),
      { numRuns: 200 },
    );
  });
});
