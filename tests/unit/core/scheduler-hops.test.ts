/**
 * The scheduler's gate and its fallback-hop operations: a lane whose candidate the gate refuses
 * waits while the others go on; a hop leaves its provider's slot, waits for room at its target
 * (`hasRoom`), takes a slot there (`enter`), and a queued session can be taken out to run past its
 * provider's limit (`take`) within the global one.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/core/scheduler.js';

interface Item {
  readonly provider: string;
  readonly priority: number;
  seq: number;
  readonly name: string;
}

const item = (name: string, priority: number, provider: string): Item => ({
  name,
  priority,
  provider,
  seq: 0,
});

function scheduler(maxConcurrent = 10, perProvider: Record<string, number> = {}) {
  return new Scheduler<Item>({ maxConcurrent, maxQueued: 100, perProvider, fairnessEvery: 1000 });
}

describe('Scheduler gate', () => {
  it('skips a lane whose candidate the gate refuses and admits the next lane', () => {
    const s = scheduler();
    s.enqueue(item('kimi-high', 9, 'kimi'));
    s.enqueue(item('glm-low', 1, 'glm'));
    const asked: string[] = [];
    const next = s.next((candidate) => {
      asked.push(candidate.name);
      return candidate.provider !== 'kimi';
    });
    expect(next?.name).toBe('glm-low');
    // Each lane is asked once: a refused lane is not asked again within one call.
    expect(asked).toEqual(['kimi-high', 'glm-low']);
    expect(s.queued).toBe(1);
    expect(s.running).toBe(1);
  });

  it('admits nothing, and counts nothing, when the gate refuses every lane', () => {
    const s = scheduler();
    s.enqueue(item('a', 5, 'kimi'));
    s.enqueue(item('b', 5, 'glm'));
    expect(s.next(() => false)).toBeUndefined();
    expect(s.queued).toBe(2);
    expect(s.running).toBe(0);
    // The refused sessions are still there, in order, once the gate opens.
    expect(s.next()?.name).toBe('a');
  });
});

describe('Scheduler fallback hops', () => {
  it('frees the provider slot on leave and charges the target on enter', () => {
    const s = scheduler(10, { kimi: 1, glm: 1 });
    s.enqueue(item('hop', 5, 'kimi'));
    s.enqueue(item('waits', 5, 'kimi'));
    const hop = s.next();
    expect(hop?.name).toBe('hop');
    expect(s.next()).toBeUndefined(); // kimi's single slot is taken
    expect(s.hasRoom('glm')).toBe(true);
    s.leave('kimi');
    s.enter('glm');
    expect(s.hasRoom('glm')).toBe(false);
    expect(s.providers()).toEqual(
      expect.arrayContaining([
        { name: 'kimi', queued: 1, running: 0, limit: 1 },
        { name: 'glm', queued: 0, running: 1, limit: 1 },
      ]),
    );
    // kimi's slot is free again for the session behind the hop; the global count kept the hop's.
    expect(s.next()?.name).toBe('waits');
    expect(s.running).toBe(2);
    // The hop ends on glm: glm's slot and the global one free.
    s.release('glm');
    expect(s.hasRoom('glm')).toBe(true);
    expect(s.running).toBe(1);
  });

  it('says a provider at its limit has no room, and one under it has', () => {
    const s = scheduler(10, { glm: 2 });
    expect(s.hasRoom('glm')).toBe(true);
    s.enter('glm');
    expect(s.hasRoom('glm')).toBe(true);
    s.enter('glm');
    expect(s.hasRoom('glm')).toBe(false);
    s.leave('glm');
    expect(s.hasRoom('glm')).toBe(true);
  });

  it('releases only the global slot of a session that holds no provider slot', () => {
    const s = scheduler(10, { kimi: 1 });
    s.enqueue(item('a', 5, 'kimi'));
    s.next();
    s.leave('kimi'); // it hopped and is waiting for its target's room
    expect(() => s.release(null)).not.toThrow();
    expect(s.running).toBe(0);
    expect(s.providers()).toEqual([{ name: 'kimi', queued: 0, running: 0, limit: 1 }]);
  });

  it('refuses to leave a provider that has no running session', () => {
    const s = scheduler();
    expect(() => s.leave('kimi')).toThrow('release without a running session on kimi');
  });

  it('takes a queued session out to run past its provider limit, within the global limit', () => {
    const s = scheduler(2, { kimi: 1 });
    const first = item('first', 5, 'kimi');
    const second = item('second', 5, 'kimi');
    const third = item('third', 5, 'kimi');
    s.enqueue(first);
    s.enqueue(second);
    s.enqueue(third);
    expect(s.next()).toBe(first);
    expect(s.take(second)).toBe(true);
    expect(s.queued).toBe(1);
    expect(s.running).toBe(2);
    expect(s.providers()).toEqual([{ name: 'kimi', queued: 1, running: 2, limit: 1 }]);
    // The global limit is full: nothing more is taken, and the session stays queued.
    expect(s.take(third)).toBe(false);
    expect(s.queued).toBe(1);
    expect([...s.queuedOf('kimi')]).toEqual([third]);
  });

  it('does not take a session that is not queued', () => {
    const s = scheduler(5);
    const ghost = item('ghost', 5, 'kimi');
    expect(s.take(ghost)).toBe(false);
    expect(s.running).toBe(0);
    s.enqueue(ghost);
    expect(s.take(ghost)).toBe(true);
    expect(s.take(ghost)).toBe(false);
    expect(s.running).toBe(1);
  });

  it('lists the sessions queued for one provider only', () => {
    const s = scheduler();
    const a = item('a', 1, 'kimi');
    const b = item('b', 9, 'kimi');
    s.enqueue(a);
    s.enqueue(b);
    s.enqueue(item('c', 5, 'glm'));
    expect(new Set(s.queuedOf('kimi'))).toEqual(new Set([a, b]));
    expect([...s.queuedOf('nobody')]).toEqual([]);
  });
});
