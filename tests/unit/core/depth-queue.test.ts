/**
 * One priority level in callers' turns: the lowest depth first, then arrival; removal from any
 * depth, positions across depths, the oldest whatever its depth, and depths that empty go.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DepthQueue } from '../../../src/core/depth-queue.js';

interface Item {
  readonly seq: number;
  readonly depth?: number;
  readonly name: string;
}

let seq = 0;
const item = (name: string, depth?: number): Item => ({
  name,
  seq: ++seq,
  ...(depth === undefined ? {} : { depth }),
});

function drain(q: DepthQueue<Item>): string[] {
  const out: string[] = [];
  for (let head = q.peek(); head !== undefined; head = q.peek()) {
    out.push(head.name);
    expect(q.remove(head)).toBe(true);
  }
  return out;
}

describe('DepthQueue', () => {
  it('serves the lowest depth first, then arrival; no depth is depth 0', () => {
    const q = new DepthQueue<Item>();
    for (const [name, depth] of [
      ['a0', 0],
      ['a1', 1],
      ['a2', 2],
      ['b0', 0],
      ['b1', 1],
      ['c', undefined],
      ['d3', 3],
      ['e1', 1],
    ] as const)
      q.push(item(name, depth));
    expect(q.size).toBe(8);
    expect([...q].map((i) => i.name)).toEqual(['a0', 'b0', 'c', 'a1', 'b1', 'e1', 'a2', 'd3']);
    expect(drain(q)).toEqual(['a0', 'b0', 'c', 'a1', 'b1', 'e1', 'a2', 'd3']);
    expect(q.size).toBe(0);
    expect(q.peek()).toBeUndefined();
    expect(q.oldest()).toBeUndefined();
  });

  it('takes an item out of any depth once, counts positions across depths, and finds the oldest at any depth', () => {
    const q = new DepthQueue<Item>();
    const deep = item('deep', 2);
    const x = item('x', 0);
    const y = item('y', 1);
    const z = item('z', 0);
    const w = item('w', 1);
    for (const i of [deep, x, y, z, w]) q.push(i);
    // Turn order: x z y w deep.
    expect([deep, x, y, z, w].map((i) => q.indexOf(i))).toEqual([4, 0, 2, 1, 3]);
    expect(q.oldest()).toBe(deep);
    expect(q.peek()).toBe(x);
    expect(q.remove(y)).toBe(true);
    expect(q.remove(y)).toBe(false);
    expect(q.indexOf(y)).toBe(-1);
    expect(q.remove(item('stranger', 1))).toBe(false);
    expect(q.remove(item('nowhere', 7))).toBe(false);
    expect(q.indexOf(item('nowhere', 7))).toBe(-1);
    expect(q.indexOf(w)).toBe(2);
    expect(q.remove(deep)).toBe(true);
    expect(q.oldest()).toBe(x);
    expect(q.size).toBe(3);
    expect(drain(q)).toEqual(['x', 'z', 'w']);
  });

  it('a depth that empties goes: the next depth is served, and a later item at the emptied depth takes its place in order', () => {
    const q = new DepthQueue<Item>();
    const one = item('one', 1);
    q.push(one);
    q.push(item('two', 2));
    expect(q.remove(one)).toBe(true);
    expect(q.peek()?.name).toBe('two');
    q.push(item('zero', 0));
    q.push(item('one-again', 1));
    expect([...q].map((i) => i.name)).toEqual(['zero', 'one-again', 'two']);
  });

  it('matches a sorted list under any mix of pushes and removals', () => {
    const op = fc.oneof(
      fc.record({ push: fc.nat({ max: 4 }) }),
      fc.record({ remove: fc.nat() }),
      fc.record({ shift: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new DepthQueue<Item>(2); // compaction early, so the FIFOs' copies run too
        let model: Item[] = [];
        const order = (a: Item, b: Item) => (a.depth ?? 0) - (b.depth ?? 0) || a.seq - b.seq;
        for (const o of ops) {
          if ('push' in o) {
            const i = item('i', o.push);
            q.push(i);
            model = [...model, i].sort(order);
          } else if ('remove' in o) {
            if (model.length === 0) continue;
            const i = model[o.remove % model.length] as Item;
            expect(q.remove(i)).toBe(true);
            model = model.filter((m) => m !== i);
          } else {
            const head = q.peek();
            expect(head).toBe(model[0]);
            if (head !== undefined) q.remove(head);
            model = model.slice(1);
          }
          expect(q.size).toBe(model.length);
          expect([...q]).toEqual(model);
          const oldest = [...model].sort((a, b) => a.seq - b.seq)[0];
          expect(q.oldest()).toBe(oldest);
          for (const [index, m] of model.entries()) expect(q.indexOf(m)).toBe(index);
        }
      }),
    );
  });
});
