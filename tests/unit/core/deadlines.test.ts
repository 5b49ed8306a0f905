import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { DeadlineHeap, type Wakeable } from '../../../src/core/deadlines.js';

const node = (name: string): Wakeable & { name: string } => ({ name, wakeAt: 0, heapIndex: -1 });

describe('DeadlineHeap', () => {
  it('fires items in time order with one clock timer, not one per item', () => {
    const clock = new SimulatedClock();
    let timers = 0;
    const counting = {
      now: () => clock.now(),
      clearTimeout: (id: unknown) => clock.clearTimeout(id as number),
      setTimeout: (fn: () => void, ms: number) => {
        timers++;
        return clock.setTimeout(fn, ms);
      },
    };
    const fired: string[] = [];
    const heap = new DeadlineHeap<ReturnType<typeof node>>(counting, (item) => fired.push(item.name));
    // Later deadlines arriving after earlier ones: the common case under load.
    const items = Array.from({ length: 100 }, (_, i) => node(`n${i}`));
    for (const [i, n] of items.entries()) heap.schedule(n, 100 + i);
    expect(timers).toBe(1);
    clock.increment(149);
    expect(fired).toEqual(items.slice(0, 50).map((n) => n.name));
    clock.increment(1000);
    expect(fired).toHaveLength(100);
  });

  it('arms no timer longer than Node’s longest, and fires a far item when it is due, not before', () => {
    const clock = new SimulatedClock();
    const delays: number[] = [];
    const recording = {
      now: () => clock.now(),
      clearTimeout: (id: unknown) => clock.clearTimeout(id as number),
      setTimeout: (fn: () => void, ms: number) => {
        delays.push(ms);
        return clock.setTimeout(fn, ms);
      },
    };
    const fired: string[] = [];
    const heap = new DeadlineHeap<ReturnType<typeof node>>(recording, (item) => fired.push(item.name));
    // A cooldown for a Retry-After of 1e9 s: Node fires a longer timer at once, and before this
    // bound the heap re-armed it every millisecond.
    heap.schedule(node('far'), 1e12);
    expect(delays).toEqual([2_147_483_647]);
    clock.increment(2_147_483_647);
    expect(fired).toEqual([]);
    expect(delays).toHaveLength(2);
    clock.increment(1e12);
    expect(fired).toEqual(['far']);
  });

  it('moves and cancels scheduled items', () => {
    const clock = new SimulatedClock();
    const fired: string[] = [];
    const heap = new DeadlineHeap<ReturnType<typeof node>>(clock, (item) => fired.push(item.name));
    const [a, b, c] = [node('a'), node('b'), node('c')];
    heap.schedule(a, 100);
    heap.schedule(b, 200);
    heap.schedule(c, 300);
    heap.schedule(c, 50); // earlier
    heap.schedule(a, 250); // later
    heap.cancel(b);
    heap.schedule(b, null);
    expect(heap.size).toBe(2);
    clock.increment(100);
    expect(fired).toEqual(['c']);
    clock.increment(200);
    expect(fired).toEqual(['c', 'a']);
    expect(a.heapIndex).toBe(-1);
  });

  it('lets a due item reschedule itself from its callback', () => {
    const clock = new SimulatedClock();
    let count = 0;
    const n = node('again');
    const heap = new DeadlineHeap<ReturnType<typeof node>>(clock, (item, now) => {
      if (++count < 3) heap.schedule(item, now + 10);
    });
    heap.schedule(n, 10);
    for (let i = 0; i < 5; i++) clock.increment(10);
    expect(count).toBe(3);
  });

  it('leaves no clock timer behind once nothing is scheduled (regression: it kept Node alive)', () => {
    const clock = new SimulatedClock();
    const heap = new DeadlineHeap<ReturnType<typeof node>>(clock, () => {});
    const [a, b] = [node('a'), node('b')];
    heap.schedule(a, 60_000);
    heap.schedule(b, 120_000);
    heap.cancel(a);
    expect((clock as unknown as { timeouts: Map<number, unknown> }).timeouts.size).toBe(1);
    heap.cancel(b);
    expect((clock as unknown as { timeouts: Map<number, unknown> }).timeouts.size).toBe(0);
  });
});
