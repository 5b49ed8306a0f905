/**
 * The bounded histories of ended sessions (`src/runtime/history.ts`): the oldest dropped first,
 * read by id or most recent first; `EndedSessions` builds each summary from the metadata and the
 * three times it keeps.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EndedSessions, History } from '../../../../src/runtime/history.js';
import type { SessionMetadata } from '../../../../src/runtime/types.js';

const item = (sessionId: string, n = 0) => ({ sessionId, n });

describe('History', () => {
  it('keeps at most `capacity` items, the oldest dropped first, readable by id', () => {
    const history = new History<{ sessionId: string; n: number }>(3);
    expect(history.capacity).toBe(3);
    expect(history.size).toBe(0);
    expect(history.recent()).toEqual([]);
    for (const id of ['a', 'b', 'c', 'd']) history.add(item(id));
    expect(history.size).toBe(3);
    expect(history.get('a')).toBeUndefined();
    expect(history.get('d')).toEqual(item('d'));
    expect(history.get('b')).toEqual(item('b'));
    expect(history.recent()).toEqual([item('d'), item('c'), item('b')]);
  });

  it('lists the most recent first, at most `limit`, and only what it holds before it is full', () => {
    const history = new History<{ sessionId: string; n: number }>(4);
    history.add(item('a'));
    history.add(item('b'));
    expect(history.recent()).toEqual([item('b'), item('a')]);
    expect(history.recent(1)).toEqual([item('b')]);
    expect(history.recent(0)).toEqual([]);
    for (const id of ['c', 'd', 'e', 'f', 'g']) history.add(item(id));
    expect(history.recent(10)).toEqual([item('g'), item('f'), item('e'), item('d')]);
  });

  it('replaces the item of an id in its place, or adds it when it holds none', () => {
    const history = new History<{ sessionId: string; n: number }>(3);
    for (const id of ['a', 'b', 'c']) history.add(item(id));
    history.replace(item('b', 1));
    expect(history.size).toBe(3);
    expect(history.get('b')).toEqual(item('b', 1));
    expect(history.recent()).toEqual([item('c'), item('b', 1), item('a')]);
    // The replaced one is dropped in its turn, after `a`, and the index follows.
    history.add(item('d'));
    history.add(item('e'));
    expect(history.get('b')).toBeUndefined();
    expect(history.recent()).toEqual([item('e'), item('d'), item('c')]);
    history.replace(item('z'));
    expect(history.recent()).toEqual([item('z'), item('e'), item('d')]);
    expect(history.get('z')).toEqual(item('z'));
    expect(history.get('c')).toBeUndefined();
    // Not full yet: its empty places are passed over.
    const young = new History<{ sessionId: string; n: number }>(4);
    young.add(item('a'));
    young.replace(item('x'));
    young.replace(item('a', 2));
    expect(young.recent()).toEqual([item('x'), item('a', 2)]);
  });

  it('keeps nothing with capacity 0', () => {
    const history = new History<{ sessionId: string; n: number }>(0);
    history.add(item('a'));
    history.replace(item('b'));
    expect(history.get('b')).toBeUndefined();
    expect(history.size).toBe(0);
    expect(history.get('a')).toBeUndefined();
    expect(history.recent()).toEqual([]);
  });

  it('lists the ones after an entry, from its place, none after one it does not hold', () => {
    const history = new History<{ sessionId: string; n: number }>(4);
    for (const id of ['a', 'b', 'c', 'd', 'e']) history.add(item(id));
    expect(history.recent(2, undefined, 'd')).toEqual([item('c'), item('b')]);
    expect(history.recent(undefined, undefined, 'd')).toEqual([item('c'), item('b')]);
    expect(history.recent(10, undefined, 'b')).toEqual([]);
    // `a` was dropped: a page after it has no place to start from.
    expect(history.recent(10, undefined, 'a')).toEqual([]);
    expect(history.recent(0, undefined, 'e')).toEqual([]);
    history.add(item('f'));
    // A newer entry changes nothing after `d`; `b` was dropped meanwhile.
    expect(history.recent(10, undefined, 'd')).toEqual([item('c')]);
  });

  it('reads the latest of an id added again', () => {
    const history = new History<{ sessionId: string; n: number }>(2);
    history.add(item('a', 1));
    history.add(item('a', 2));
    expect(history.get('a')).toEqual(item('a', 2));
  });
});

function metadata(sessionId: string, over: Partial<SessionMetadata> = {}): SessionMetadata {
  return {
    sessionId,
    requestId: `r-${sessionId}`,
    provider: 'p',
    model: 'm',
    priority: 5,
    state: 'done',
    queuedMs: 1,
    runMs: 2,
    totalMs: 3,
    attempts: 1,
    ...over,
  };
}

describe('EndedSessions', () => {
  it('summarises an ended session from its metadata and its three times', () => {
    const ended = new EndedSessions(2);
    expect(ended.capacity).toBe(2);
    ended.add(
      metadata('a', { label: 'nightly', state: 'failed', code: 'TIMED_OUT', attempts: 2 }),
      10,
      20,
      30,
    );
    expect(ended.get('a')).toEqual({
      sessionId: 'a',
      requestId: 'r-a',
      provider: 'p',
      model: 'm',
      priority: 5,
      state: 'failed',
      label: 'nightly',
      createdAt: 10,
      startedAt: 20,
      endedAt: 30,
      attempts: 2,
      code: 'TIMED_OUT',
    });
    expect(ended.get('b')).toBeUndefined();
  });

  it('has no start time for a session that never started', () => {
    const ended = new EndedSessions(2);
    ended.add(metadata('a', { state: 'cancelled' }), 10, null, 30);
    const summary = ended.get('a');
    expect(summary).not.toHaveProperty('startedAt');
    expect(summary?.createdAt).toBe(10);
    expect(summary?.endedAt).toBe(30);
  });

  it('keeps at most `capacity`, the oldest dropped first; lists the most recent first, at most `limit`', () => {
    const ended = new EndedSessions(3);
    expect(ended.recent()).toEqual([]);
    ended.add(metadata('a'), 1, 2, 3);
    ended.add(metadata('b'), 4, 5, 6);
    expect(ended.recent().map((s) => s.sessionId)).toEqual(['b', 'a']);
    ended.add(metadata('c'), 7, 8, 9);
    ended.add(metadata('d'), 10, 11, 12);
    expect(ended.get('a')).toBeUndefined();
    expect(ended.recent().map((s) => [s.sessionId, s.createdAt, s.startedAt, s.endedAt])).toEqual([
      ['d', 10, 11, 12],
      ['c', 7, 8, 9],
      ['b', 4, 5, 6],
    ]);
    expect(ended.recent(2).map((s) => s.sessionId)).toEqual(['d', 'c']);
    expect(ended.recent(10).map((s) => s.sessionId)).toEqual(['d', 'c', 'b']);
    expect(ended.recent(0)).toEqual([]);
    expect(ended.get('b')?.createdAt).toBe(4);
  });

  it('keeps nothing with capacity 0', () => {
    const ended = new EndedSessions(0);
    ended.add(metadata('a'), 1, 2, 3);
    expect(ended.get('a')).toBeUndefined();
    expect(ended.recent()).toEqual([]);
  });
});

type Owned = { sessionId: string; owner?: string; n: number };
const owned = (sessionId: string, owner?: string, n = 0): Owned =>
  owner === undefined ? { sessionId, n } : { sessionId, owner, n };
const ids = (items: readonly { sessionId: string }[]) => items.map((i) => i.sessionId);

describe('History, between callers', () => {
  it('makes room with the oldest of the caller holding the most, not the oldest of all', () => {
    const history = new History<Owned>(4);
    history.add(owned('b1', 'bob'));
    for (const id of ['a1', 'a2', 'a3']) history.add(owned(id, 'alice'));
    // Full: alice's fast calls push out her own, never bob's older one.
    for (const id of ['a4', 'a5', 'a6']) history.add(owned(id, 'alice'));
    expect(ids(history.recent())).toEqual(['a6', 'a5', 'a4', 'b1']);
    expect(history.get('b1')).toEqual(owned('b1', 'bob'));
    expect(history.get('a3')).toBeUndefined();
    // A caller new to the history takes its place from the largest holder.
    history.add(owned('c1', 'carol'));
    expect(ids(history.recent())).toEqual(['c1', 'a6', 'a5', 'b1']);
    expect(history.size).toBe(4);
  });

  it('shares a full history evenly between callers that keep adding', () => {
    const history = new History<Owned>(9);
    for (let i = 0; i < 9; i++) history.add(owned(`a${i}`, 'alice'));
    for (let i = 0; i < 30; i++) {
      history.add(owned(`b${i}`, 'bob'));
      history.add(owned(`c${i}`, 'carol'));
    }
    const count = (prefix: string) => ids(history.recent()).filter((id) => id.startsWith(prefix)).length;
    expect([count('a'), count('b'), count('c')]).toEqual([3, 3, 3]);
    // Each keeps its newest.
    expect(ids(history.recent()).filter((id) => id.startsWith('a'))).toEqual(['a8', 'a7', 'a6']);
    expect(ids(history.recent(2))).toEqual(['c29', 'b29']);
  });

  it('on a tie, the adding caller gives way when it is among the largest; else the one longest at that count', () => {
    const history = new History<Owned>(4);
    history.add(owned('a1', 'alice'));
    history.add(owned('b1', 'bob'));
    history.add(owned('a2', 'alice'));
    history.add(owned('b2', 'bob'));
    // Tied at two: bob's own oldest goes for bob's entry, though alice's is older.
    history.add(owned('b3', 'bob'));
    expect(ids(history.recent())).toEqual(['b3', 'b2', 'a2', 'a1']);
    // carol holds none: of the two at two, alice has held two longer (bob went to one and back).
    history.add(owned('c1', 'carol'));
    expect(ids(history.recent())).toEqual(['c1', 'b3', 'b2', 'a2']);
    // Now bob alone holds the most.
    history.add(owned('c2', 'carol'));
    expect(ids(history.recent())).toEqual(['c2', 'c1', 'b3', 'a2']);
  });

  it('forgets a caller once it holds nothing: a history of any number of callers keeps at most `capacity`', () => {
    const history = new History<Owned>(3);
    for (let i = 0; i < 50; i++) history.add(owned(`s${i}`, `caller-${i}`));
    expect(history.callers).toBe(3);
    expect(ids(history.recent())).toEqual(['s49', 's48', 's47']);
    for (const id of ['s47', 's48', 's49']) history.add(owned(id, 'alice'));
    expect(history.callers).toBe(1);
  });

  it('counts sessions without an owner as one caller', () => {
    const history = new History<Owned>(3);
    history.add(owned('x1'));
    history.add(owned('a1', 'alice'));
    history.add(owned('a2', 'alice'));
    history.add(owned('x2'));
    expect(ids(history.recent())).toEqual(['x2', 'a2', 'x1']);
    history.add(owned('x3'));
    expect(ids(history.recent())).toEqual(['x3', 'x2', 'a2']);
  });

  it('moves an id added again to the newest, and its old place serves the next', () => {
    const history = new History<Owned>(3);
    for (const id of ['a', 'b', 'c']) history.add(owned(id, 'alice'));
    history.add(owned('a', 'alice', 1));
    expect(ids(history.recent())).toEqual(['a', 'c', 'b']);
    expect(history.size).toBe(3);
    history.add(owned('d', 'alice'));
    expect(ids(history.recent())).toEqual(['d', 'a', 'c']);
    expect(history.get('a')?.n).toBe(1);
    // Added again under another caller: it counts for that one now.
    history.add(owned('c', 'bob'));
    history.add(owned('e', 'alice'));
    expect(ids(history.recent())).toEqual(['e', 'c', 'd']);
  });

  /**
   * `toEqual` when the two differ, but only after a cheap look: their JSON is the same in nearly
   * every step, and about a hundred `toEqual`s a step took this property to 30 s on a loaded machine.
   */
  const json = (value: unknown) => JSON.stringify(value, (_key, v) => (v === undefined ? '(undefined)' : v));
  const same = (actual: unknown, expected: unknown) => {
    if (json(actual) !== json(expected)) expect(actual).toEqual(expected);
  };

  it('keeps what a model of the rule keeps, for any sequence of adds, replaces and reads', () => {
    const op = fc.record({
      kind: fc.constantFrom('add', 'add', 'add', 'replace'),
      id: fc.integer({ min: 0, max: 14 }),
      owner: fc.constantFrom(undefined, 'alice', 'bob', 'carol', 'dan'),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const history = new History<Owned>(capacity);
        const ended = new EndedSessions(capacity);
        const model = new HistoryModel(capacity);
        const caller = (owner: string | undefined) => (owner === undefined ? {} : { caller: { owner } });
        ops.forEach(({ kind, id, owner }, n) => {
          const item = owned(`s${id}`, owner, n);
          if (kind === 'add') {
            history.add(item);
            ended.add(metadata(item.sessionId, caller(owner)), n, n, n);
            model.add(item);
          } else {
            // The local runtime's history has no replace (its sessions end once): it adds the
            // session again for the caller it counts for, which the rule keeps in the same place.
            const before = model.get(item.sessionId);
            history.replace(item);
            model.replace(item);
            if (before === undefined) ended.add(metadata(item.sessionId, caller(owner)), n, n, n);
          }
          same(history.recent(), model.recent());
          expect(history.size).toBe(model.recent().length);
          // A caller left with no entry is forgotten: the callers kept are those holding some.
          expect(history.callers).toBe(model.callers());
          for (let k = 0; k < 15; k++) same(history.get(`s${k}`), model.get(`s${k}`));
          // The same slots under the local runtime's history, with each summary's owner.
          same(
            ended.recent().map((s) => [s.sessionId, s.owner]),
            model.recent().map((m) => [m.sessionId, model.ownerOf(m.sessionId)]),
          );
          // Each caller's own newest, read from its own list: the same as filtering the whole.
          for (const who of ['alice', 'bob', 'carol', 'dan']) {
            const own = model.recent().filter((m) => model.ownerOf(m.sessionId) === who);
            same(history.recent(undefined, who), own);
            same(history.recent(2, who), own.slice(0, 2));
            same(
              ended.recent(1, who).map((s) => s.sessionId),
              own.slice(0, 1).map((m) => m.sessionId),
            );
          }
          // A page after a cursor: the next in the same list, none after an id not held or another's.
          const all = model.recent();
          for (let k = 0; k < 15; k++) {
            const id = `s${k}`;
            const at = all.findIndex((m) => m.sessionId === id);
            same(history.recent(2, undefined, id), at < 0 ? [] : all.slice(at + 1, at + 3));
            for (const who of ['alice', 'bob']) {
              const own = all.filter((m) => model.ownerOf(m.sessionId) === who);
              const mine = own.findIndex((m) => m.sessionId === id);
              const page = mine < 0 ? [] : own.slice(mine + 1, mine + 3);
              same(history.recent(2, who, id), page);
              same(
                ended.recent(2, who, id).map((s) => s.sessionId),
                page.map((m) => m.sessionId),
              );
            }
          }
        });
      }),
      { numRuns: 400 },
    );
  });
});

/**
 * The rule as plainly as it can be said: a list, and the counts with when each was reached. An
 * entry counts for the caller it was added for; a replace keeps that (a corrected end is the same
 * session's).
 */
class HistoryModel {
  private entries: { item: Owned; owner: string | undefined }[] = [];
  private readonly since = new Map<string | undefined, number>();
  private tick = 0;

  constructor(private readonly capacity: number) {}

  add(item: Owned): void {
    if (this.capacity === 0) return;
    const held = this.entries.findIndex((e) => e.item.sessionId === item.sessionId);
    if (held !== -1) this.removeAt(held);
    if (this.entries.length === this.capacity) {
      const counts = this.counts();
      const most = Math.max(...counts.values());
      let giving: string | undefined;
      if (counts.get(item.owner) === most) giving = item.owner;
      else {
        // Not `sort`: it puts `undefined` (sessions without an owner) last without comparing it.
        let first = Number.POSITIVE_INFINITY;
        for (const [o, c] of counts) {
          const at = this.since.get(o) as number;
          if (c === most && at < first) [giving, first] = [o, at];
        }
      }
      const victim = this.entries.findIndex((e) => e.owner === giving);
      if (giving === item.owner) {
        this.entries.splice(victim, 1);
        this.entries.push({ item, owner: item.owner });
        return;
      }
      this.removeAt(victim);
    }
    this.entries.push({ item, owner: item.owner });
    this.since.set(item.owner, this.tick++);
  }

  replace(item: Owned): void {
    const entry = this.entries.find((e) => e.item.sessionId === item.sessionId);
    if (entry === undefined) this.add(item);
    else entry.item = item;
  }

  get(id: string): Owned | undefined {
    return this.entries.find((e) => e.item.sessionId === id)?.item;
  }

  ownerOf(id: string): string | undefined {
    return this.entries.find((e) => e.item.sessionId === id)?.owner;
  }

  recent(): Owned[] {
    return this.entries.map((e) => e.item).reverse();
  }

  callers(): number {
    return this.counts().size;
  }

  private removeAt(at: number): void {
    const gone = this.entries.splice(at, 1)[0] as { owner: string | undefined };
    if (this.entries.some((e) => e.owner === gone.owner)) this.since.set(gone.owner, this.tick++);
    else this.since.delete(gone.owner);
  }

  private counts(): Map<string | undefined, number> {
    const counts = new Map<string | undefined, number>();
    for (const e of this.entries) counts.set(e.owner, (counts.get(e.owner) ?? 0) + 1);
    return counts;
  }
}
