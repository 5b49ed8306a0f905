/**
 * The scheduler against a reference written for clarity, not speed: plain arrays, every rule
 * spelled out. Bulk removals (a burst of queue timeouts, a shutdown) and arbitrary removals are
 * mixed with admissions, so the queue's tombstones and compaction are exercised at every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedulerLimits } from '../../../src/core/scheduler.js';

interface Item {
  readonly provider: string;
  readonly priority: number;
  seq: number;
  readonly name: string;
  readonly depth?: number;
}

/** Whether `a` goes before `b`: higher priority, then lower depth (0 when absent), then earlier arrival. */
const before = (a: Item, b: Item) =>
  a.priority !== b.priority
    ? a.priority > b.priority
    : (a.depth ?? 0) !== (b.depth ?? 0)
      ? (a.depth ?? 0) < (b.depth ?? 0)
      : a.seq < b.seq;

/** The documented policy, as directly as it can be written. */
class Reference {
  readonly queued: Item[] = [];
  private readonly running = new Map<string, number>();
  private readonly sinceFair = new Map<string, number>();
  private readonly lanes: string[] = [];
  private total = 0;
  constructor(private readonly limits: SchedulerLimits) {}

  enqueue(item: Item): boolean {
    if (this.queued.length >= this.limits.maxQueued) return false;
    if (!this.lanes.includes(item.provider)) this.lanes.push(item.provider);
    this.queued.push(item);
    return true;
  }

  remove(item: Item): boolean {
    const at = this.queued.indexOf(item);
    if (at < 0) return false;
    this.queued.splice(at, 1);
    return true;
  }

  next(): Item | undefined {
    if (this.total >= this.limits.maxConcurrent) return undefined;
    let chosen: Item | undefined;
    for (const lane of this.lanes) {
      if ((this.running.get(lane) ?? 0) >= (this.limits.perProvider[lane] ?? Number.POSITIVE_INFINITY))
        continue;
      const mine = this.queued.filter((i) => i.provider === lane);
      if (mine.length === 0) continue;
      const fairTurn = (this.sinceFair.get(lane) ?? 0) + 1 >= this.limits.fairnessEvery;
      // `queued` is in arrival order: the first is the oldest; otherwise the first in turn order wins.
      const candidate = fairTurn ? mine[0]! : mine.reduce((best, i) => (before(i, best) ? i : best));
      if (chosen === undefined || before(candidate, chosen)) chosen = candidate;
    }
    if (chosen === undefined) return undefined;
    const lane = chosen.provider;
    const since = (this.sinceFair.get(lane) ?? 0) + 1;
    this.sinceFair.set(lane, since >= this.limits.fairnessEvery ? 0 : since);
    this.running.set(lane, (this.running.get(lane) ?? 0) + 1);
    this.total++;
    this.remove(chosen);
    return chosen;
  }

  release(provider: string): void {
    this.running.set(provider, (this.running.get(provider) ?? 0) - 1);
    this.total--;
  }

  /** Ahead of `item` in its provider's queue: in turn order before it. */
  position(item: Item): number {
    if (!this.queued.includes(item)) return -1;
    return this.queued.filter((i) => i.provider === item.provider && before(i, item)).length;
  }
}

const PROVIDERS = ['a', 'b', 'c'];

describe('Scheduler at depth', () => {
  it('admits FIFO within a priority across lanes: arrival order decides between providers', () => {
    const s = new Scheduler<Item>({
      maxConcurrent: 100,
      maxQueued: 100,
      perProvider: {},
      fairnessEvery: 1000,
    });
    const names = ['a1', 'b1', 'b2', 'a2', 'c1', 'a3', 'b3'];
    for (const name of names) s.enqueue({ name, provider: name[0]!, priority: 4, seq: 0 });
    const order: string[] = [];
    for (let next = s.next(); next !== undefined; next = s.next()) order.push(next.name);
    expect(order).toEqual(names);
  });

  it('keeps order and positions after removing most of a deep queue, oldest first', () => {
    const s = new Scheduler<Item>({
      maxConcurrent: 1,
      maxQueued: 50_000,
      perProvider: {},
      fairnessEvery: 1000,
    });
    const items = Array.from({ length: 20_000 }, (_, i) => ({
      name: `i${i}`,
      provider: PROVIDERS[i % 3]!,
      priority: i % 2 === 0 ? 5 : 6,
      seq: 0,
    }));
    for (const item of items) s.enqueue(item);
    // The first 15,000 time out together, in the order their deadlines were set.
    expect(items.slice(0, 15_000).every((item) => s.remove(item))).toBe(true);
    const left = items.slice(15_000);
    expect(s.queued).toBe(left.length);
    const inA = left.filter((i) => i.provider === 'a');
    const expected = [...inA].sort((x, y) => y.priority - x.priority || x.seq - y.seq);
    expect(inA.map((i) => s.position(i))).toEqual(inA.map((i) => expected.indexOf(i)));
    const admitted: string[] = [];
    for (let next = s.next(); next !== undefined; next = s.next()) {
      admitted.push(next.name);
      s.release(next.provider);
    }
    const all = [...left].sort((x, y) => y.priority - x.priority || x.seq - y.seq);
    expect(admitted).toEqual(all.map((i) => i.name));
  });

  it('matches the reference policy under any mix of enqueue, bulk and single removal, admission and release', () => {
    type Op =
      | { kind: 'enqueue'; provider: number; priority: number; depth: number }
      | { kind: 'remove'; pick: number }
      | { kind: 'removeOldest'; count: number }
      | { kind: 'next' }
      | { kind: 'release'; pick: number }
      | { kind: 'position'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant('enqueue' as const),
          provider: fc.nat({ max: 2 }),
          // Mostly two priorities, so buckets get deep enough for removals from their middle.
          priority: fc.oneof(
            { arbitrary: fc.constantFrom(4, 5), weight: 3 },
            { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 1 },
          ),
          // Callers' turns: mostly depth 0, as without callers; some deeper, in any order.
          depth: fc.oneof(
            { arbitrary: fc.constant(0), weight: 2 },
            { arbitrary: fc.nat({ max: 3 }), weight: 1 },
          ),
        }),
        weight: 6,
      },
      { arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }), weight: 2 },
      {
        arbitrary: fc.record({ kind: fc.constant('removeOldest' as const), count: fc.nat({ max: 30 }) }),
        weight: 1,
      },
      { arbitrary: fc.constant({ kind: 'next' as const }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant('position' as const), pick: fc.nat() }), weight: 2 },
    );
    const limits = fc.record({
      maxConcurrent: fc.integer({ min: 1, max: 6 }),
      maxQueued: fc.integer({ min: 1, max: 200 }),
      perProvider: fc.record({ a: fc.integer({ min: 1, max: 4 }), b: fc.integer({ min: 1, max: 4 }) }),
      fairnessEvery: fc.integer({ min: 1, max: 5 }),
    });
    fc.assert(
      fc.property(limits, fc.array(op, { maxLength: 300, size: 'max' }), (l, ops) => {
        const s = new Scheduler<Item>(l);
        const ref = new Reference(l);
        const running: Item[] = [];
        let made = 0;
        for (const o of ops) {
          switch (o.kind) {
            case 'enqueue': {
              const provider = PROVIDERS[o.provider]!;
              const a = { name: `s${made}`, provider, priority: o.priority, seq: 0, depth: o.depth };
              const b = { ...a };
              made++;
              const accepted = s.enqueue(a);
              expect(accepted).toBe(ref.enqueue(b));
              // Let the reference share identities: it compares items by reference.
              if (accepted) ref.queued[ref.queued.length - 1] = a;
              break;
            }
            case 'remove': {
              if (ref.queued.length === 0) break;
              const item = ref.queued[o.pick % ref.queued.length]!;
              expect(s.remove(item)).toBe(ref.remove(item));
              expect(s.remove(item)).toBe(false);
              break;
            }
            case 'removeOldest': {
              for (const item of ref.queued.slice(0, o.count)) expect(s.remove(item)).toBe(ref.remove(item));
              break;
            }
            case 'next': {
              const got = s.next();
              expect(got?.name).toBe(ref.next()?.name);
              if (got) running.push(got);
              break;
            }
            case 'release': {
              if (running.length === 0) break;
              const [item] = running.splice(o.pick % running.length, 1);
              s.release(item!.provider);
              ref.release(item!.provider);
              break;
            }
            case 'position': {
              if (ref.queued.length === 0) break;
              const item = ref.queued[o.pick % ref.queued.length]!;
              expect(s.position(item)).toBe(ref.position(item));
              break;
            }
          }
          expect(s.queued).toBe(ref.queued.length);
        }
        const byPriority: Record<number, number> = {};
        for (const i of ref.queued) byPriority[i.priority] = (byPriority[i.priority] ?? 0) + 1;
        expect(s.queuedByPriority()).toEqual(byPriority);
        expect(new Set(s.queuedItems())).toEqual(new Set(ref.queued));
      }),
      { numRuns: 200 },
    );
  });
});
