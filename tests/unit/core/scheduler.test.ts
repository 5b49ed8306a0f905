import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/core/scheduler.js';

interface Item {
  readonly provider: string;
  readonly priority: number;
  seq: number;
  readonly name: string;
  readonly depth?: number;
}

const item = (name: string, priority: number, provider = 'p', depth?: number): Item => ({
  name,
  priority,
  provider,
  seq: 0,
  ...(depth === undefined ? {} : { depth }),
});

function scheduler(overrides: Partial<ConstructorParameters<typeof Scheduler>[0]> = {}) {
  return new Scheduler<Item>({
    maxConcurrent: 1,
    maxQueued: 100,
    perProvider: {},
    fairnessEvery: 1000,
    ...overrides,
  });
}

/** Admits one at a time, releasing each, and returns the order. */
function drain(s: Scheduler<Item>): string[] {
  const order: string[] = [];
  for (let next = s.next(); next !== undefined; next = s.next()) {
    order.push(next.name);
    s.release(next.provider);
  }
  return order;
}

describe('Scheduler', () => {
  it('admits higher priority first, FIFO within a priority', () => {
    const s = scheduler();
    for (const [name, prio] of [
      ['a', 1],
      ['b', 5],
      ['c', 5],
      ['d', 9],
      ['e', 1],
    ] as const)
      s.enqueue(item(name, prio));
    expect(drain(s)).toEqual(['d', 'b', 'c', 'a', 'e']);
  });

  it('lets callers take turns within a priority: the lowest depth first, then arrival; priority still first', () => {
    const s = scheduler();
    for (const [name, prio, depth] of [
      ['a0', 5, 0],
      ['a1', 5, 1],
      ['a2', 5, 2],
      ['b0', 5, 0],
      ['low', 1, 0],
      ['b1', 5, 1],
      ['top-deep', 9, 4],
    ] as const)
      s.enqueue(item(name, prio, 'p', depth));
    const b1 = [...s.queuedItems()].find((i) => i.name === 'b1')!;
    expect(s.position(b1)).toBe(4); // top-deep, a0, b0, a1
    expect(drain(s)).toEqual(['top-deep', 'a0', 'b0', 'a1', 'b1', 'a2', 'low']);
  });

  it('between providers under the global limit too: a lower depth goes before an earlier arrival', () => {
    const s = scheduler({ maxConcurrent: 1 });
    s.enqueue(item('p-deep', 5, 'p', 3));
    s.enqueue(item('q-first', 5, 'q', 0));
    s.enqueue(item('p-high', 6, 'p', 9));
    expect(drain(s)).toEqual(['p-high', 'q-first', 'p-deep']);
  });

  it('on the fairness turn takes the oldest of the provider, whatever its depth', () => {
    const s = scheduler({ fairnessEvery: 2 });
    s.enqueue(item('old-deep', 5, 'p', 3));
    s.enqueue(item('new0', 5, 'p', 0));
    s.enqueue(item('new1', 5, 'p', 0));
    expect(drain(s)).toEqual(['new0', 'old-deep', 'new1']);
  });

  it('holds the global limit and each provider limit', () => {
    const s = scheduler({ maxConcurrent: 3, perProvider: { slow: 1 } });
    for (let i = 0; i < 3; i++) s.enqueue(item(`slow${i}`, 5, 'slow'));
    for (let i = 0; i < 3; i++) s.enqueue(item(`fast${i}`, 5, 'fast'));
    const admitted = [s.next(), s.next(), s.next(), s.next()].map((x) => x?.name);
    expect(admitted).toEqual(['slow0', 'fast0', 'fast1', undefined]);
    expect(s.running).toBe(3);
    s.release('slow');
    expect(s.next()?.name).toBe('slow1');
  });

  it('refuses past maxQueued and counts only what is queued', () => {
    const s = scheduler({ maxQueued: 2, maxConcurrent: 1 });
    expect(s.enqueue(item('a', 5))).toBe(true);
    expect(s.enqueue(item('b', 5))).toBe(true);
    expect(s.enqueue(item('c', 5))).toBe(false);
    s.next();
    expect(s.enqueue(item('c', 5))).toBe(true);
  });

  it('bounds starvation: the oldest waiting session runs on every fairnessEvery-th admission', () => {
    const s = scheduler({ fairnessEvery: 4 });
    s.enqueue(item('low', 0));
    const order: string[] = [];
    // A steady stream of high-priority work: one new arrival per admission.
    for (let i = 0; i < 12; i++) {
      s.enqueue(item(`high${i}`, 9));
      const next = s.next()!;
      order.push(next.name);
      s.release(next.provider);
    }
    expect(order.indexOf('low')).toBe(3);
  });

  it('reports positions and removes a queued session', () => {
    const s = scheduler({ maxConcurrent: 0 + 1 });
    const running = item('running', 5);
    s.enqueue(running);
    s.next();
    const a = item('a', 5);
    const b = item('b', 9);
    const c = item('c', 5);
    for (const x of [a, b, c]) s.enqueue(x);
    expect([s.position(b), s.position(a), s.position(c)]).toEqual([0, 1, 2]);
    expect(s.remove(a)).toBe(true);
    expect(s.remove(a)).toBe(false);
    expect(s.position(c)).toBe(1);
    expect(s.queued).toBe(2);
    expect(s.queuedByPriority()).toEqual({ 5: 1, 9: 1 });
  });

  it('positions and removals stay exact in a long queue with removals and admissions mixed in', () => {
    // Regression: position() scanned the whole bucket, so every submission with a listener was
    // O(queue length); it is a binary search on arrival order now, which must find the same places.
    const s = scheduler({ maxConcurrent: 1, maxQueued: 5_000 });
    const queued: Item[] = [];
    for (let i = 0; i < 3_000; i++) {
      const x = item(`i${i}`, (i * 7) % 10);
      s.enqueue(x);
      queued.push(x);
    }
    for (let i = 0; i < 3_000; i += 3) s.remove(queued[i]!);
    const admitted = new Set<Item>();
    for (let k = 0; k < 200; k++) {
      const next = s.next()!;
      admitted.add(next);
      s.release(next.provider);
    }
    const left = queued.filter((x, i) => i % 3 !== 0 && !admitted.has(x));
    // Expected: higher priority first, then arrival order.
    const order = [...left].sort((x, y) => y.priority - x.priority || x.seq - y.seq);
    for (const [at, x] of order.entries()) expect(s.position(x)).toBe(at);
    expect(s.position(queued[0]!)).toBe(-1);
    expect(s.remove(queued[0]!)).toBe(false);
  });

  it('rejects a release with nothing running: a double release is a bug, not a silent miscount', () => {
    const s = scheduler();
    expect(() => s.release('p')).toThrow(/release without a running session/);
  });
});
