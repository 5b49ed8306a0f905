/**
 * The deadline heap's slices at their edges: a slice that spends exactly its budget, and an item
 * cancelled by an earlier item of the same slice after that slice ran out of time.
 */
import { describe, expect, it } from 'vitest';
import { DeadlineHeap, type Wakeable } from '../../../src/core/deadlines.js';
import { ManualClock } from '../../support/manual-clock.js';

type Node = Wakeable & { readonly name: string };
const node = (name: string): Node => ({ name, wakeAt: 0, heapIndex: -1 });

describe('DeadlineHeap slices, at their bounds', () => {
  it('ends a slice once it has spent exactly its budget; the rest fire on the next turn', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const heap = new DeadlineHeap<Node>(
      clock,
      (n) => {
        fired.push(n.name);
        clock.advance(5);
      },
      { maxItems: 100, budgetMs: 10 },
    );
    const nodes = ['a', 'b', 'c', 'd'].map(node);
    for (const [i, n] of nodes.entries()) heap.schedule(n, 10 + i);
    clock.advance(20);
    clock.step();
    expect(fired).toEqual(['a', 'b']);
    clock.runDue();
    expect(fired).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never fires an item cancelled by an earlier item of a slice that then ran out of time', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const [a, b, c] = [node('a'), node('b'), node('c')];
    const heap = new DeadlineHeap<Node>(
      clock,
      (n) => {
        fired.push(n.name);
        if (n === a) {
          heap.cancel(c);
          clock.advance(50);
        }
      },
      { maxItems: 100, budgetMs: 10 },
    );
    heap.schedule(a, 1);
    heap.schedule(b, 2);
    heap.schedule(c, 3);
    clock.advance(5);
    clock.step();
    expect(fired).toEqual(['a']);
    clock.runDue();
    expect(fired).toEqual(['a', 'b']);
    expect(heap.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
