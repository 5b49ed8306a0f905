/**
 * The scheduler's gate saying `'item'`: a limit of one model (its windows, or its own cooldown when
 * its vendor limits each model apart) holds that session alone, and its lane's next one, in the
 * same order (priority, callers' turns, or the fairness turn), is looked at. Each `next()` looks
 * past each held session once.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, type Verdict } from '../../../src/core/scheduler.js';

interface Item {
  readonly provider: string;
  readonly priority: number;
  seq: number;
  readonly name: string;
  readonly model: string;
  readonly depth?: number;
}

const item = (name: string, model: string, priority = 5, depth?: number, provider = 'glm'): Item => ({
  name,
  model,
  priority,
  provider,
  seq: 0,
  ...(depth === undefined ? {} : { depth }),
});

function scheduler(fairnessEvery = 1000, maxConcurrent = 10) {
  return new Scheduler<Item>({ maxConcurrent, maxQueued: 100, perProvider: {}, fairnessEvery });
}

/** A gate holding the models in `held` alone, recording what it was asked. */
function holding(held: readonly string[]) {
  const asked: string[] = [];
  const gate = (candidate: Item): Verdict => {
    asked.push(candidate.name);
    return held.includes(candidate.model) ? 'item' : true;
  };
  return { asked, gate };
}

describe("the scheduler's gate holding one session ('item')", () => {
  it('the lane goes on past it, in its order; the held sessions stay queued, in theirs', () => {
    const s = scheduler();
    for (const [name, model, priority] of [
      ['a46', 'glm-4.6', 9],
      ['b46', 'glm-4.6', 7],
      ['c-flash', 'glm-4.5-flash', 7],
      ['d-flash', 'glm-4.5-flash', 5],
    ] as const)
      s.enqueue(item(name, model, priority));
    const { asked, gate } = holding(['glm-4.6']);
    expect(s.next(gate)?.name).toBe('c-flash');
    expect(asked).toEqual(['a46', 'b46', 'c-flash']);
    expect(s.next(gate)?.name).toBe('d-flash');
    expect(s.next(gate)).toBeUndefined();
    expect(s.queued).toBe(2);
    // Once the model may go, its sessions keep their priority order.
    expect([s.next()?.name, s.next()?.name]).toEqual(['a46', 'b46']);
  });

  it('looks past each held session once per call: the gate is asked h + 1 times, not h²', () => {
    const s = scheduler();
    for (let i = 0; i < 50; i++) s.enqueue(item(`held${i}`, 'glm-4.6', 5));
    s.enqueue(item('last', 'glm-4.5-flash', 5));
    const { asked, gate } = holding(['glm-4.6']);
    expect(s.next(gate)?.name).toBe('last');
    expect(asked.length).toBe(51);
  });

  it("callers' turns hold: past a held first turn, the next turn in order goes", () => {
    const s = scheduler();
    s.enqueue(item('alice1', 'glm-4.6', 5, 0));
    s.enqueue(item('bob1', 'glm-4.5-flash', 5, 0));
    s.enqueue(item('alice2', 'glm-4.5-flash', 5, 1));
    const { gate } = holding(['glm-4.6']);
    expect([s.next(gate)?.name, s.next(gate)?.name]).toEqual(['bob1', 'alice2']);
  });

  it('on the fairness turn, the longest-waiting session not held goes', () => {
    const s = scheduler(1);
    s.enqueue(item('old46', 'glm-4.6', 1));
    s.enqueue(item('old-flash', 'glm-4.5-flash', 2));
    s.enqueue(item('new-high', 'glm-4.5-flash', 9));
    const { gate } = holding(['glm-4.6']);
    expect(s.next(gate)?.name).toBe('old-flash');
  });

  it("a provider's own limit after a held session still holds the whole lane; other lanes go", () => {
    const s = scheduler();
    s.enqueue(item('a46', 'glm-4.6', 9));
    s.enqueue(item('b-flash', 'glm-4.5-flash', 5));
    s.enqueue(item('c-air', 'glm-4.5-air', 5));
    s.enqueue(item('kimi', 'kimi-k2.6', 1, undefined, 'kimi'));
    const asked: string[] = [];
    const next = s.next((c) => {
      asked.push(c.name);
      if (c.model === 'glm-4.6') return 'item';
      return c.provider !== 'glm';
    });
    expect(next?.name).toBe('kimi');
    // The lane is not asked past the session its own limit held.
    expect(asked).toEqual(['a46', 'b-flash', 'kimi']);
    expect(s.queued).toBe(3);
  });

  it('nothing goes when every session is held alone; a held lane is looked at again in the next call', () => {
    const s = scheduler();
    s.enqueue(item('a', 'glm-4.6'));
    s.enqueue(item('b', 'glm-4.6'));
    const { asked, gate } = holding(['glm-4.6']);
    expect(s.next(gate)).toBeUndefined();
    expect(s.next(gate)).toBeUndefined();
    expect(asked).toEqual(['a', 'b', 'a', 'b']);
    expect(s.running).toBe(0);
  });
});

describe("sessions held whoever else waits (`held`, a caller's share): no lane's offer", () => {
  // Lane glm at its fairness turn offers its oldest, `old-held` (priority 1), whose caller runs its
  // share; behind it in arrival order waits `next-high` (priority 9). Lane kimi offers `kimi5`.
  function fairTurnBehindHeld() {
    const s = scheduler(1);
    s.enqueue(item('old-held', 'glm-4.6', 1));
    s.enqueue(item('kimi5', 'kimi-k2.6', 5, undefined, 'kimi'));
    s.enqueue(item('next-high', 'glm-4.6', 9));
    return s;
  }

  it('at a fairness turn, the session behind a held one is its lane’s offer, and wins on priority', () => {
    const s = fairTurnBehindHeld();
    const asked: string[] = [];
    const held = (c: Item) => {
      asked.push(c.name);
      return c.name === 'old-held';
    };
    // Asked of the winner alone, `old-held` stood for glm, lost to kimi5, and next-high waited.
    expect(s.next(undefined, held)?.name).toBe('next-high');
    expect(asked).toContain('old-held');
    expect(s.next(undefined, held)?.name).toBe('kimi5');
    expect(s.next(undefined, held)).toBeUndefined();
    expect(s.queued).toBe(1);
  });

  it('the gate is asked only of the winner, after `held`; a held session never reaches it', () => {
    const s = fairTurnBehindHeld();
    const { asked, gate } = holding([]);
    expect(s.next(gate, (c) => c.name === 'old-held')?.name).toBe('next-high');
    expect(asked).toEqual(['next-high']);
  });

  it('a lane whose every session is held offers none; the others go', () => {
    const s = scheduler();
    s.enqueue(item('a', 'glm-4.6', 9));
    s.enqueue(item('b', 'glm-4.6', 8));
    s.enqueue(item('k', 'kimi-k2.6', 1, undefined, 'kimi'));
    expect(s.next(undefined, (c) => c.provider === 'glm')?.name).toBe('k');
    expect(s.next(undefined, (c) => c.provider === 'glm')).toBeUndefined();
    expect(s.next()?.name).toBe('a');
  });
});
