/**
 * The deadline heap through its public interface: items fire in time order whatever the sequence
 * of schedules, moves and cancels, and exactly one clock timer is pending while anything is
 * scheduled, re-armed when (and only when) the earliest time moves earlier.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { systemClock } from '../../../src/core/clock.js';
import { DeadlineHeap, type Wakeable } from '../../../src/core/deadlines.js';
import { seededRandom } from '../../../src/core/random.js';

type Node = Wakeable & { name: string };
const node = (name: string): Node => ({ name, wakeAt: 0, heapIndex: -1 });

/** A simulated clock that records every timer asked for and how many are pending. */
function recordingClock() {
  const clock = new SimulatedClock();
  const delays: number[] = [];
  let cleared = 0;
  return {
    clock: {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => {
        delays.push(ms);
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (id: unknown) => {
        cleared++;
        clock.clearTimeout(id as number);
      },
    },
    advance: (ms: number) => clock.increment(ms),
    delays,
    cleared: () => cleared,
    pending: () => (clock as unknown as { timeouts: Map<number, unknown> }).timeouts.size,
  };
}

function setup() {
  const rec = recordingClock();
  const fired: [string, number][] = [];
  const heap = new DeadlineHeap<Node>(rec.clock, (item, now) => fired.push([item.name, now]));
  return { ...rec, heap, fired };
}

describe('re-arming the one timer', () => {
  it('arms once for the first item, for the time until it is due', () => {
    const t = setup();
    t.advance(1000);
    t.heap.schedule(node('a'), 1250);
    expect(t.delays).toEqual([250]);
    expect(t.pending()).toBe(1);
  });

  it('re-arms, replacing the timer, when an earlier item arrives', () => {
    const t = setup();
    t.heap.schedule(node('late'), 500);
    t.heap.schedule(node('early'), 200);
    expect(t.delays).toEqual([500, 200]);
    expect(t.cleared()).toBe(1);
    expect(t.pending()).toBe(1);
    t.advance(200);
    expect(t.fired).toEqual([['early', 200]]);
  });

  it('does not re-arm for a later item or an item at the armed time', () => {
    const t = setup();
    t.heap.schedule(node('first'), 200);
    t.heap.schedule(node('later'), 300);
    t.heap.schedule(node('same'), 200);
    expect(t.delays).toEqual([200]);
    expect(t.cleared()).toBe(0);
  });

  it('re-arms when the earliest item moves earlier, and ignores a move to the same time', () => {
    const t = setup();
    const a = node('a');
    t.heap.schedule(a, 500);
    t.heap.schedule(a, 500);
    expect(t.delays).toEqual([500]);
    t.heap.schedule(a, 100);
    expect(t.delays).toEqual([500, 100]);
    expect(t.pending()).toBe(1);
    t.advance(100);
    expect(t.fired).toEqual([['a', 100]]);
  });

  it('after firing, re-arms for the next item only', () => {
    const t = setup();
    t.heap.schedule(node('a'), 100);
    t.heap.schedule(node('b'), 300);
    t.advance(100);
    expect(t.delays).toEqual([100, 200]);
    expect(t.pending()).toBe(1);
    t.advance(200);
    expect(t.fired).toEqual([
      ['a', 100],
      ['b', 300],
    ]);
    expect(t.pending()).toBe(0);
  });

  it('when the earliest item moved later, wakes at the old time and re-arms for the new one', () => {
    const t = setup();
    const a = node('a');
    t.heap.schedule(a, 100);
    t.heap.schedule(a, 400);
    t.advance(100);
    expect(t.fired).toEqual([]);
    expect(t.pending()).toBe(1);
    t.advance(300);
    expect(t.fired).toEqual([['a', 400]]);
  });

  it('asks for a zero delay, never a negative one, for a time already past', () => {
    const t = setup();
    t.advance(1000);
    t.heap.schedule(node('past'), 400);
    expect(t.delays).toEqual([0]);
    t.advance(0);
    expect(t.fired).toEqual([['past', 1000]]);
  });

  it('fires every item due at once, with the same now', () => {
    const t = setup();
    for (const [name, at] of [
      ['a', 10],
      ['b', 20],
      ['c', 30],
      ['d', 40],
    ] as const)
      t.heap.schedule(node(name), at);
    t.advance(35);
    expect(t.fired).toEqual([
      ['a', 35],
      ['b', 35],
      ['c', 35],
    ]);
    expect(t.heap.size).toBe(1);
  });
});

/** As `recordingClock`, with timers that can be unref'd (Node's): each says whether it holds the process. */
function refClock() {
  const clock = new SimulatedClock();
  const timers: { id: number; refed: boolean; ref(): void; unref(): void }[] = [];
  let cleared = 0;
  return {
    clock: {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => {
        const timer = {
          id: clock.setTimeout(fn, ms),
          refed: true,
          ref: () => {
            timer.refed = true;
          },
          unref: () => {
            timer.refed = false;
          },
        };
        timers.push(timer);
        return timer;
      },
      clearTimeout: (timer: unknown) => {
        cleared++;
        clock.clearTimeout((timer as { id: number }).id);
      },
    },
    advance: (ms: number) => clock.increment(ms),
    timers,
    cleared: () => cleared,
    pending: () => (clock as unknown as { timeouts: Map<number, unknown> }).timeouts.size,
  };
}

describe('a timer that can be unref’d, with nothing scheduled', () => {
  it('stays armed but holds no process, and serves the next item due no earlier', () => {
    const rec = refClock();
    const fired: [string, number][] = [];
    const heap = new DeadlineHeap<Node>(rec.clock, (item, now) => fired.push([item.name, now]));
    const a = node('a');
    heap.schedule(a, 100);
    heap.cancel(a);
    expect([rec.timers.length, rec.timers[0]?.refed, rec.cleared(), rec.pending()]).toEqual([1, false, 0, 1]);
    // A later item: the same timer, holding the process again.
    heap.schedule(node('b'), 150);
    expect([rec.timers.length, rec.timers[0]?.refed]).toEqual([1, true]);
    // It fires at the old time, finds nothing due, and arms for b.
    rec.advance(100);
    expect([fired, rec.timers.length, rec.timers[1]?.refed]).toEqual([[], 2, true]);
    rec.advance(50);
    expect(fired).toEqual([['b', 150]]);
    expect(rec.pending()).toBe(0);
  });

  it('is replaced by a timer for an earlier item, and fires for none once it rested', () => {
    const rec = refClock();
    const fired: [string, number][] = [];
    const heap = new DeadlineHeap<Node>(rec.clock, (item, now) => fired.push([item.name, now]));
    const a = node('a');
    heap.schedule(a, 100);
    heap.cancel(a);
    heap.schedule(node('b'), 40);
    expect([rec.cleared(), rec.timers.length, rec.timers[1]?.refed, rec.pending()]).toEqual([1, 2, true, 1]);
    rec.advance(40);
    expect(fired).toEqual([['b', 40]]);
    // A resting timer that fires arms nothing; stop clears one that rests.
    const c = node('c');
    heap.schedule(c, 60);
    heap.cancel(c);
    expect(rec.timers[2]?.refed).toBe(false);
    heap.stop();
    expect(rec.pending()).toBe(0);
    heap.schedule(node('d'), 80);
    expect([rec.timers.length, rec.timers[3]?.refed]).toEqual([4, true]);
  });

  it('clears a timer that can be unref’d but not ref’d again', () => {
    const rec = recordingClock();
    const clock = {
      ...rec.clock,
      setTimeout: (fn: () => void, ms: number) => ({ id: rec.clock.setTimeout(fn, ms), unref: () => {} }),
      clearTimeout: (timer: unknown) => rec.clock.clearTimeout((timer as { id: number }).id),
    };
    const heap = new DeadlineHeap<Node>(clock, () => {});
    const a = node('a');
    heap.schedule(a, 100);
    heap.cancel(a);
    expect([rec.cleared(), rec.pending()]).toEqual([1, 0]);
  });

  it('with Node’s own timers, holds the process only while something is scheduled', () => {
    const heap = new DeadlineHeap<Node>(systemClock, () => {});
    const timerOf = () => (heap as unknown as { timer: NodeJS.Timeout | undefined }).timer;
    const a = node('a');
    heap.schedule(a, Date.now() + 60_000);
    expect(timerOf()?.hasRef()).toBe(true);
    heap.cancel(a);
    expect(timerOf()?.hasRef()).toBe(false);
    heap.schedule(node('b'), Date.now() + 120_000);
    expect(timerOf()?.hasRef()).toBe(true);
    heap.stop();
    expect(timerOf()).toBeUndefined();
  });
});

describe('stop', () => {
  it('clears the timer but keeps items, and the next schedule arms again', () => {
    const t = setup();
    const a = node('a');
    t.heap.schedule(a, 100);
    t.heap.stop();
    expect(t.pending()).toBe(0);
    expect(t.heap.size).toBe(1);
    t.advance(200);
    expect(t.fired).toEqual([]);
    // Arms for the true minimum even though the new item is later than the old armed time.
    t.heap.schedule(node('b'), 300);
    expect(t.pending()).toBe(1);
    t.advance(0);
    expect(t.fired).toEqual([['a', 200]]);
  });

  it('does nothing harmful when nothing was armed', () => {
    const t = setup();
    t.heap.stop();
    expect(t.cleared()).toBe(0);
    t.heap.schedule(node('a'), 10);
    expect(t.pending()).toBe(1);
  });
});

describe('cancel', () => {
  it('ignores an item that is not scheduled', () => {
    const t = setup();
    const a = node('a');
    t.heap.schedule(node('b'), 10);
    t.heap.cancel(a);
    expect(t.heap.size).toBe(1);
    expect(a.heapIndex).toBe(-1);
  });

  it('keeps the timer while other items remain', () => {
    const t = setup();
    const [a, b] = [node('a'), node('b')];
    t.heap.schedule(a, 10);
    t.heap.schedule(b, 20);
    t.heap.cancel(a);
    expect(t.pending()).toBe(1);
    t.advance(20);
    expect(t.fired).toEqual([['b', 20]]);
  });
});

describe('order under any sequence of operations', () => {
  it('fires exactly the scheduled items, each at its time, in time order (seeded random model)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const t = setup();
      const nodes = Array.from({ length: 40 }, (_, i) => node(`n${i}`));
      const model = new Map<Node, number>();
      for (let op = 0; op < 200; op++) {
        const n = nodes[Math.floor(random() * nodes.length)]!;
        const r = random();
        if (r < 0.15) {
          t.heap.cancel(n);
          model.delete(n);
        } else if (r < 0.2) {
          t.heap.schedule(n, null);
          model.delete(n);
        } else {
          // Distinct times so the expected order is total.
          const at = 1 + Math.floor(random() * 1000) * 64 + nodes.indexOf(n);
          t.heap.schedule(n, at);
          model.set(n, at);
        }
        expect(t.heap.size).toBe(model.size);
      }
      // Step the clock from timer to timer: the last timer asked for is the pending one.
      // Bounded: a heap that re-arms without moving time on would otherwise loop here forever.
      for (let steps = 0; t.pending() > 0 && steps < 1000; steps++) t.advance(t.delays.at(-1)!);
      const expected = [...model].sort((x, y) => x[1] - y[1]).map(([n]) => n.name);
      expect(t.fired.map(([name]) => name)).toEqual(expected);
      // Each fired when the clock reached its time, in one timer callback per time.
      for (const [name, now] of t.fired) expect(now).toBe(model.get(nodes.find((n) => n.name === name)!));
      expect(nodes.every((n) => n.heapIndex === -1)).toBe(true);
      expect(t.pending()).toBe(0);
    }
  });
});
