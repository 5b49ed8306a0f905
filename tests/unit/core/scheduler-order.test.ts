/**
 * The scheduler's order and bookkeeping through its public interface: first come, first served
 * within a priority across providers, the fairness turn, the limits, and what status reports.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PRIORITY, MIN_PRIORITY, Scheduler, type SchedulerLimits } from '../../../src/core/scheduler.js';

interface Item {
  readonly provider: string;
  readonly priority: number;
  seq: number;
  readonly name: string;
}

const item = (name: string, priority: number, provider = 'p'): Item => ({ name, priority, provider, seq: 0 });

function scheduler(overrides: Partial<SchedulerLimits> = {}) {
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

describe('order across providers', () => {
  it('serves equal priorities first come, first served, whichever provider they are for', () => {
    const s = scheduler();
    for (const [name, provider] of [
      ['a1', 'a'],
      ['b1', 'b'],
      ['b2', 'b'],
      ['a2', 'a'],
      ['c1', 'c'],
      ['a3', 'a'],
    ] as const)
      s.enqueue(item(name, 5, provider));
    expect(drain(s)).toEqual(['a1', 'b1', 'b2', 'a2', 'c1', 'a3']);
  });

  it('serves a higher priority on another provider before an older lower one', () => {
    const s = scheduler();
    s.enqueue(item('old-low', 3, 'a'));
    s.enqueue(item('new-high', 4, 'b'));
    s.enqueue(item('newer-low', 3, 'b'));
    expect(drain(s)).toEqual(['new-high', 'old-low', 'newer-low']);
  });

  it('skips a provider at its limit and serves the next one in order', () => {
    const s = scheduler({ maxConcurrent: 10, perProvider: { a: 1 } });
    for (const [name, provider] of [
      ['a1', 'a'],
      ['a2', 'a'],
      ['b1', 'b'],
    ] as const)
      s.enqueue(item(name, 5, provider));
    expect([s.next()?.name, s.next()?.name, s.next()?.name]).toEqual(['a1', 'b1', undefined]);
    s.release('a');
    expect(s.next()?.name).toBe('a2');
  });

  it('accepts the lowest and highest priorities', () => {
    const s = scheduler();
    s.enqueue(item('min', MIN_PRIORITY));
    s.enqueue(item('max', MAX_PRIORITY));
    expect(drain(s)).toEqual(['max', 'min']);
  });
});

describe('the fairness turn', () => {
  it('with fairnessEvery 1, every admission is the oldest: pure arrival order', () => {
    const s = scheduler({ fairnessEvery: 1 });
    for (const [name, prio] of [
      ['a', 1],
      ['b', 9],
      ['c', 5],
      ['d', 9],
    ] as const)
      s.enqueue(item(name, prio));
    expect(drain(s)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('comes back every fairnessEvery admissions, not only once', () => {
    const s = scheduler({ fairnessEvery: 3 });
    s.enqueue(item('low0', 0));
    s.enqueue(item('low1', 0));
    const order: string[] = [];
    for (let i = 0; i < 9; i++) {
      s.enqueue(item(`high${i}`, 9));
      const next = s.next()!;
      order.push(next.name);
      s.release(next.provider);
    }
    expect(order.indexOf('low0')).toBe(2);
    expect(order.indexOf('low1')).toBe(5);
  });

  it('on its turn takes the oldest of any priority, not the oldest of the highest', () => {
    const s = scheduler({ fairnessEvery: 2 });
    s.enqueue(item('high-first', 9));
    s.enqueue(item('mid-old', 5));
    s.enqueue(item('low-older', 1));
    s.enqueue(item('high-second', 9));
    // Admission 1 by priority, admission 2 is the fairness turn: the oldest left is mid-old.
    expect(drain(s)).toEqual(['high-first', 'mid-old', 'high-second', 'low-older']);
  });

  it('a fairness turn picks within its provider; it does not overtake another provider’s higher priority', () => {
    const s = scheduler({ maxConcurrent: 10, fairnessEvery: 2 });
    s.enqueue(item('a-low', 0, 'a'));
    s.enqueue(item('a-high', 9, 'a'));
    s.enqueue(item('b1', 9, 'b'));
    s.enqueue(item('b2', 9, 'b'));
    expect(s.next()?.name).toBe('a-high');
    // Provider a's next candidate is its oldest (a-low, its fairness turn), but b1 outranks it.
    expect(s.next()?.name).toBe('b1');
    expect(s.next()?.name).toBe('b2');
    expect(s.next()?.name).toBe('a-low');
  });
});

describe('limits and counts', () => {
  it('admits nothing while the global limit is reached, and nothing from an empty queue', () => {
    const s = scheduler({ maxConcurrent: 2 });
    expect(s.next()).toBeUndefined();
    for (const name of ['a', 'b', 'c']) s.enqueue(item(name, 5));
    expect(s.next()?.name).toBe('a');
    expect(s.next()?.name).toBe('b');
    expect(s.next()).toBeUndefined();
    expect(s.running).toBe(2);
    expect(s.queued).toBe(1);
    s.release('p');
    expect(s.next()?.name).toBe('c');
    expect(s.queued).toBe(0);
  });

  it('refuses exactly at maxQueued', () => {
    const s = scheduler({ maxQueued: 1 });
    expect(s.enqueue(item('a', 5))).toBe(true);
    expect(s.enqueue(item('b', 5))).toBe(false);
    expect(s.queued).toBe(1);
    expect([...s.queuedItems()].map((x) => x.name)).toEqual(['a']);
  });

  it('numbers arrivals in order', () => {
    const s = scheduler();
    const [a, b] = [item('a', 1), item('b', 9, 'q')];
    s.enqueue(a);
    s.enqueue(b);
    expect(b.seq).toBeGreaterThan(a.seq);
  });

  it('says who released without running, by provider', () => {
    const s = scheduler();
    s.lane('idle');
    expect(() => s.release('idle')).toThrow('release without a running session on idle');
    expect(() => s.release('never-seen')).toThrow('release without a running session on never-seen');
  });
});

describe('removal and positions', () => {
  it('removes only what is queued, on the right provider', () => {
    const s = scheduler();
    const a = item('a', 5, 'x');
    expect(s.remove(a)).toBe(false);
    s.enqueue(a);
    expect(s.remove({ ...a, provider: 'y' })).toBe(false);
    expect(s.remove({ ...a })).toBe(false);
    expect(s.queued).toBe(1);
    expect(s.remove(a)).toBe(true);
    expect(s.queued).toBe(0);
    expect(s.providers()).toEqual([{ name: 'x', queued: 0, running: 0, limit: null }]);
    expect(s.next()).toBeUndefined();
  });

  it('gives -1 for a session it does not hold', () => {
    const s = scheduler();
    expect(s.position(item('ghost', 5, 'nowhere'))).toBe(-1);
    s.enqueue(item('a', 5));
    expect(s.position(item('b', 5))).toBe(-1);
  });

  it('counts every higher priority ahead, and only its own provider', () => {
    const s = scheduler();
    const mine = item('mine', 4);
    s.enqueue(item('h9', 9));
    s.enqueue(item('h5', 5));
    s.enqueue(item('other', 9, 'other'));
    s.enqueue(item('low', 3));
    s.enqueue(mine);
    expect(s.position(mine)).toBe(2);
  });

  it('keeps positions right after admissions', () => {
    const s = scheduler();
    const items = ['a', 'b', 'c', 'd'].map((n) => item(n, 5));
    for (const x of items) s.enqueue(x);
    s.next();
    expect(items.map((x) => s.position(x))).toEqual([-1, 0, 1, 2]);
  });
});

describe('status', () => {
  it('reports queued by priority summed over providers', () => {
    const s = scheduler();
    s.enqueue(item('a', 5, 'x'));
    s.enqueue(item('b', 5, 'y'));
    s.enqueue(item('c', 0, 'y'));
    expect(s.queuedByPriority()).toEqual({ 0: 1, 5: 2 });
  });

  it('lists each provider with its counts and limit, null for none', () => {
    const s = scheduler({ maxConcurrent: 5, perProvider: { x: 2 } });
    s.lane('registered');
    s.enqueue(item('a', 5, 'x'));
    s.enqueue(item('b', 5, 'x'));
    s.enqueue(item('c', 5, 'y'));
    s.next();
    expect(s.providers()).toEqual([
      { name: 'registered', queued: 0, running: 0, limit: null },
      { name: 'x', queued: 1, running: 1, limit: 2 },
      { name: 'y', queued: 1, running: 0, limit: null },
    ]);
  });

  it('lists every queued session', () => {
    const s = scheduler();
    for (const [n, p, prov] of [
      ['a', 1, 'x'],
      ['b', 9, 'y'],
      ['c', 5, 'x'],
    ] as const)
      s.enqueue(item(n, p, prov));
    expect(new Set([...s.queuedItems()].map((x) => x.name))).toEqual(new Set(['a', 'b', 'c']));
  });
});

describe('a long queue', () => {
  it('stays in order past thousands of admissions (the queue compacts as it drains)', () => {
    const s = scheduler({ maxQueued: 10_000 });
    const n = 5_000;
    for (let i = 0; i < n; i++) s.enqueue(item(`i${i}`, 5));
    const order = drain(s);
    expect(order).toHaveLength(n);
    expect(order.every((name, i) => name === `i${i}`)).toBe(true);
    s.enqueue(item('after', 5));
    expect(s.next()?.name).toBe('after');
  });

  it('finds positions after the queue compacted', () => {
    const s = scheduler({ maxQueued: 10_000 });
    const items = Array.from({ length: 3_000 }, (_, i) => item(`i${i}`, 5));
    for (const x of items) s.enqueue(x);
    for (let i = 0; i < 2_000; i++) s.release(s.next()!.provider);
    expect(s.position(items[2_000]!)).toBe(0);
    expect(s.position(items[2_999]!)).toBe(999);
    expect(s.remove(items[2_500]!)).toBe(true);
    expect(s.position(items[2_999]!)).toBe(998);
  });
});
