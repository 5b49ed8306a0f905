/**
 * The bounded histories of ended sessions (`src/runtime/history.ts`): the oldest dropped first,
 * read by id or most recent first; `EndedSessions` builds each summary from the metadata and the
 * three times it keeps.
 */
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
