import { describe, expect, it } from 'vitest';
import { DeadlineHeap, type Wakeable } from '../../../src/core/deadlines.js';
import { forEachInSlices } from '../../../src/core/slices.js';
import { ManualClock } from '../../support/manual-clock.js';

type Node = Wakeable & { readonly name: string };
const node = (name: string): Node => ({ name, wakeAt: 0, heapIndex: -1 });

describe('DeadlineHeap in slices', () => {
  it('hands deadlines that fall together over in slices of maxItems, in time order, yielding between', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const heap = new DeadlineHeap<Node>(clock, (n) => fired.push(n.name), { maxItems: 3, budgetMs: 1000 });
    const nodes = Array.from({ length: 10 }, (_, i) => node(`n${i}`));
    // Scheduled out of order: n9 earliest, n0 latest, all due by t=100.
    for (const [i, n] of nodes.entries()) heap.schedule(n, 100 - i);
    clock.advance(100);
    expect(clock.step()).toBe(true);
    expect(fired).toEqual(['n9', 'n8', 'n7']);
    // The rest wait for a 0 ms timer: other work runs first.
    expect(heap.size).toBe(7);
    expect(clock.runDue()).toBe(3);
    expect(fired).toEqual(nodes.map((n) => n.name).reverse());
    expect(heap.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('stops a slice when its time budget is spent and puts back what it did not reach, still in order', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    // Each item takes 4 ms: a 10 ms budget fits three.
    const heap = new DeadlineHeap<Node>(
      clock,
      (n) => {
        fired.push(n.name);
        clock.advance(4);
      },
      { maxItems: 100, budgetMs: 10 },
    );
    const nodes = Array.from({ length: 8 }, (_, i) => node(`n${i}`));
    for (const [i, n] of nodes.entries()) heap.schedule(n, 50 + i);
    clock.advance(60);
    clock.step();
    expect(fired).toEqual(['n0', 'n1', 'n2']);
    expect(heap.size).toBe(5);
    clock.runDue();
    expect(fired).toEqual(nodes.map((n) => n.name));
  });

  it('fires nothing cancelled or moved later by an earlier item of the same slice, and leaves no timer', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const [a, b, c] = [node('a'), node('b'), node('c')];
    const heap = new DeadlineHeap<Node>(clock, (n) => {
      fired.push(n.name);
      if (n === a) {
        heap.cancel(b);
        heap.schedule(c, 500);
      }
    });
    heap.schedule(a, 10);
    heap.schedule(b, 11);
    heap.schedule(c, 12);
    clock.advance(20);
    clock.runDue();
    expect(fired).toEqual(['a']);
    expect(heap.size).toBe(1);
    clock.advance(480);
    clock.runDue();
    expect(fired).toEqual(['a', 'c']);
    expect(clock.pending).toBe(0);
  });

  it('puts back a due item even when one before it throws, so none is lost', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const heap = new DeadlineHeap<Node>(clock, (n) => {
      if (n.name === 'bad') throw new Error('onDue broke');
      fired.push(n.name);
    });
    const [bad, good] = [node('bad'), node('good')];
    heap.schedule(bad, 1);
    heap.schedule(good, 2);
    clock.advance(5);
    expect(() => clock.step()).toThrow('onDue broke');
    clock.runDue();
    expect(fired).toEqual(['good']);
  });
});

describe('forEachInSlices', () => {
  it('runs the first slice at once, the rest on later turns, each item once, in order, then done', () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    let done = 0;
    forEachInSlices(
      clock,
      Array.from({ length: 10 }, (_, i) => i),
      (i) => seen.push(i),
      () => done++,
      { maxItems: 4, budgetMs: 1000 },
    );
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(done).toBe(0);
    clock.step();
    expect(seen).toHaveLength(8);
    clock.runDue();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(done).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('ends a slice on its time budget', () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    forEachInSlices(
      clock,
      [0, 1, 2, 3, 4],
      (i) => {
        seen.push(i);
        clock.advance(6);
      },
      () => {},
      { maxItems: 100, budgetMs: 10 },
    );
    expect(seen).toEqual([0, 1]);
  });

  it('finishes synchronously when the list fits in one slice (an empty one too)', () => {
    const clock = new ManualClock();
    let done = 0;
    forEachInSlices(
      clock,
      [],
      () => {},
      () => done++,
    );
    forEachInSlices(
      clock,
      [1, 2],
      () => {},
      () => done++,
    );
    expect(done).toBe(2);
    expect(clock.pending).toBe(0);
  });

  it('goes on after an item throws: the rest run on the next turn and done is still called', () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    let done = 0;
    const run = () =>
      forEachInSlices(
        clock,
        [0, 1, 2],
        (i) => {
          if (i === 1) throw new Error('item broke');
          seen.push(i);
        },
        () => done++,
      );
    expect(run).toThrow('item broke');
    clock.runDue();
    expect(seen).toEqual([0, 2]);
    expect(done).toBe(1);
  });
});
