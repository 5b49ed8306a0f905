/**
 * The owners index of the MCP front's sessions (`SessionOwners`, `src/mcp/session-owners.ts`):
 * an entry from the submit to the session's end, bounded, the owner holding the most giving its own
 * oldest; an id it no longer holds is read from the runtime's summary, so a caller keeps seeing its
 * own session after the index forgot it; `local` is never kept.
 */
import { describe, expect, it } from 'vitest';
import { canSee } from '../../../src/mcp/caller.js';
import { SessionOwners, sessionOwnersOf } from '../../../src/mcp/session-owners.js';

describe('SessionOwners', () => {
  it('holds at most its bound, forgetting the oldest entry first', () => {
    const owners = new SessionOwners(3);
    for (const id of ['s1', 's2', 's3']) owners.record(id, `token:${id}`);
    expect(owners.size).toBe(3);
    owners.record('s4', 'token:s4');
    expect(owners.size).toBe(3);
    expect(owners.ownerOf('s1')).toBeUndefined();
    expect(['s2', 's3', 's4'].map((id) => owners.ownerOf(id))).toEqual(['token:s2', 'token:s3', 'token:s4']);
  });

  it('makes room from the owner holding the most: one caller’s burst pushes out its own entries, not another’s', () => {
    const owners = new SessionOwners(4);
    owners.record('a1', 'token:alice');
    owners.record('c1', 'token:carol');
    for (let i = 1; i <= 10; i++) owners.record(`b${i}`, 'token:bob');
    expect(owners.size).toBe(4);
    expect(owners.ownerOf('a1')).toBe('token:alice');
    expect(owners.ownerOf('c1')).toBe('token:carol');
    expect(['b9', 'b10'].map((id) => owners.ownerOf(id))).toEqual(['token:bob', 'token:bob']);
    expect(owners.ownerOf('b8')).toBeUndefined();
    // A new owner's entry: bob holds the most, and gives its oldest.
    owners.record('d1', 'token:dave');
    expect(owners.ownerOf('b9')).toBeUndefined();
    // Now all four hold one: alice, among them, gives her own oldest for her next one.
    owners.record('a2', 'token:alice');
    expect(owners.ownerOf('a1')).toBeUndefined();
    // A new owner's entry: of those holding the most, the one that came to hold that many first.
    owners.record('e1', 'token:erin');
    expect(['c1', 'b10', 'd1', 'a2', 'e1'].map((id) => owners.ownerOf(id))).toEqual([
      undefined,
      'token:bob',
      'token:dave',
      'token:alice',
      'token:erin',
    ]);
  });

  it('after an entry ends, still makes room from the owner holding the most', () => {
    const owners = new SessionOwners(3);
    owners.record('b1', 'token:bob');
    owners.record('b2', 'token:bob');
    owners.record('a1', 'token:alice');
    // Alice's session ends while Bob holds more: the most is still Bob's two.
    owners.forget('a1');
    owners.record('c1', 'token:carol');
    owners.record('d1', 'token:dave');
    expect(['b1', 'b2', 'c1', 'd1'].map((id) => owners.ownerOf(id))).toEqual([
      undefined,
      'token:bob',
      'token:carol',
      'token:dave',
    ]);
  });

  it('after one of two owners holding the most lets an entry go, the other holds the most', () => {
    const owners = new SessionOwners(5);
    for (const id of ['b1', 'b2']) owners.record(id, 'token:bob');
    for (const id of ['c1', 'c2']) owners.record(id, 'token:carol');
    owners.forget('b1');
    owners.record('d1', 'token:dave');
    owners.record('e1', 'token:erin');
    owners.record('f1', 'token:frank');
    expect(['c1', 'c2', 'b2', 'd1', 'e1', 'f1'].map((id) => owners.ownerOf(id))).toEqual([
      undefined,
      'token:carol',
      'token:bob',
      'token:dave',
      'token:erin',
      'token:frank',
    ]);
  });

  it('among owners holding as many, the one that came to hold that many first gives way', () => {
    const owners = new SessionOwners(3);
    owners.record('a1', 'token:alice');
    owners.record('a2', 'token:alice');
    owners.record('b1', 'token:bob');
    // Alice holds the most and gives a1: she now holds one, as Bob has since before.
    owners.record('c1', 'token:carol');
    expect(owners.ownerOf('a1')).toBeUndefined();
    owners.record('d1', 'token:dave');
    expect(['b1', 'a2', 'c1', 'd1'].map((id) => owners.ownerOf(id))).toEqual([
      undefined,
      'token:alice',
      'token:carol',
      'token:dave',
    ]);
  });

  it('drops an entry once its session’s result settles, and keeps one id once', async () => {
    const owners = new SessionOwners(10);
    let end: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    owners.record('done', 'token:a', new Promise<void>((resolve) => (end = resolve)));
    owners.record('failed', 'token:a', new Promise<void>((_, reject) => (fail = reject)));
    owners.record('again', 'token:a');
    owners.record('again', 'token:b');
    expect(owners.size).toBe(3);
    expect(owners.ownerOf('again')).toBe('token:b');
    end();
    fail(new Error('x'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(owners.size).toBe(1);
    expect(owners.ownerOf('done')).toBeUndefined();
    expect(owners.ownerOf('failed')).toBeUndefined();
    expect(owners.holders).toBe(1);
    owners.forget('again');
    owners.forget('never');
    expect(owners.size).toBe(0);
    // No owner is kept once it holds nothing.
    expect(owners.holders).toBe(0);
  });

  it('takes only a positive integer as its bound', () => {
    for (const bad of [0, -1, 1.5, Number.POSITIVE_INFINITY])
      expect(() => new SessionOwners(bad)).toThrow(/Expected `maxEntries` to be a positive integer/);
  });

  it('reads an id it does not hold from elsewhere (the runtime’s summary), its own entry first', () => {
    const owners = new SessionOwners(1, (id) => (id === 'old' ? 'user:alice' : undefined));
    owners.record('old', 'user:bob');
    expect(owners.ownerOf('old')).toBe('user:bob');
    owners.record('new', 'user:carol');
    expect(owners.ownerOf('old')).toBe('user:alice');
    expect(owners.ownerOf('never')).toBeUndefined();
  });

  it('keeps no entry for `local`: the stdio client sees all, and nobody else sees its work', () => {
    const owners = new SessionOwners();
    owners.record('s1', 'local');
    expect(owners.size).toBe(0);
    expect(canSee({ key: 'token:a', admin: false }, owners.ownerOf('s1'))).toBe(false);
    expect(canSee({ key: 'local', admin: false }, owners.ownerOf('s1'))).toBe(true);
  });

  it('is one index per runtime, falling back to the owner its summary names', () => {
    const summaries = new Map([['elsewhere', { owner: 'token:b' }]]);
    const runtime = { session: (id: string) => summaries.get(id), status: unread };
    const owners = sessionOwnersOf(runtime);
    expect(sessionOwnersOf(runtime)).toBe(owners);
    expect(sessionOwnersOf({ session: () => undefined, status: unread })).not.toBe(owners);
    expect(owners.ownerOf('elsewhere')).toBe('token:b');
    expect(owners.ownerOf('nowhere')).toBeUndefined();
  });

  it('tells `several`, with the owners holding entries, each time a second owner comes to hold any', () => {
    const told: string[][] = [];
    const owners = new SessionOwners(10, undefined, (callers) => told.push([...callers]));
    owners.record('a1', 'user:alice');
    owners.record('a2', 'user:alice');
    owners.record('l1', 'local'); // the stdio client shares with nobody
    expect(told).toEqual([]);
    owners.record('b1', 'user:bob');
    expect(told).toEqual([['user:alice', 'user:bob']]);
    owners.record('c1', 'mcp:s-1');
    owners.record('b2', 'user:bob');
    expect(told).toHaveLength(1);
    for (const id of ['a1', 'a2', 'b1', 'b2']) owners.forget(id);
    owners.record('d1', 'token:dan');
    expect(told).toEqual([
      ['user:alice', 'user:bob'],
      ['mcp:s-1', 'token:dan'],
    ]);
  });
});

/** A runtime's `status`, which these tests never reach (one owner, or none, at a time). */
function unread(): never {
  throw new Error('status read');
}
