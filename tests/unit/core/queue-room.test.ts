/**
 * What waits in a queue, against its bounds: request bytes (what fits, exactly at the bound too,
 * what is full now, what never fits) and each caller's share of the queue; a release gives back
 * what an item holds, once.
 */
import { describe, expect, it } from 'vitest';
import { type HoldsRoom, MAX_DEPTH, QueueRoom, queueRoomOf } from '../../../src/core/queue-room.js';

const item = (): HoldsRoom => ({ queuedBytes: 0, queuedTurn: undefined });

describe('QueueRoom', () => {
  it('fits a request up to the bound exactly, is full one byte past it, and never fits one larger than the bound', () => {
    const room = new QueueRoom(100);
    expect(room.limit).toBe(100);
    expect(room.perCaller).toBe(Number.POSITIVE_INFINITY);
    expect(room.room(100)).toBe('fits');
    expect(room.room(101)).toBe('never');
    room.hold(item(), 60);
    expect(room.held).toBe(60);
    expect(room.room(40)).toBe('fits');
    expect(room.room(41)).toBe('full');
    expect(room.room(100)).toBe('full');
    expect(room.room(101)).toBe('never');
    expect(room.room(0)).toBe('fits');
  });

  it('with a bound of 0 fits only what holds nothing (a task)', () => {
    const room = new QueueRoom(0);
    expect(room.room(0)).toBe('fits');
    expect(room.room(1)).toBe('never');
  });

  it('holds each item’s bytes on the item and gives them back once, however often it is released', () => {
    const room = new QueueRoom(1000);
    const a = item();
    const b = item();
    room.hold(a, 300);
    room.hold(b, 200);
    expect([room.held, a.queuedBytes, b.queuedBytes]).toEqual([500, 300, 200]);
    room.release(a);
    expect([room.held, a.queuedBytes]).toEqual([200, 0]);
    room.release(a);
    expect(room.held).toBe(200);
    room.release(item());
    expect(room.held).toBe(200);
    room.release(b);
    expect(room.held).toBe(0);
    expect(room.room(1000)).toBe('fits');
  });

  it('fits past a caller’s count share when asked (a child its parent’s slot takes at once), never past the bytes', () => {
    const room = new QueueRoom(100, 1);
    room.hold(item(), 10, 'alice');
    expect(room.room(10, 'alice')).toBe('share');
    expect(room.room(10, 'alice', true)).toBe('fits');
    // The bytes bound still holds.
    expect(room.room(91, 'alice', true)).toBe('full');
    expect(room.room(101, 'alice', true)).toBe('never');
  });

  it('fits a caller up to its share exactly, refuses it past that while others and the ownerless still fit', () => {
    const room = new QueueRoom(1000, 2);
    expect(room.perCaller).toBe(2);
    const a1 = item();
    const a2 = item();
    room.hold(a1, 10, 'alice');
    expect(room.room(10, 'alice')).toBe('fits');
    room.hold(a2, 10, 'alice');
    expect([room.heldBy('alice'), a1.queuedTurn?.caller, a2.queuedTurn?.caller]).toEqual([
      2,
      'alice',
      'alice',
    ]);
    expect(room.room(10, 'alice')).toBe('share');
    expect(room.room(0, 'alice')).toBe('share');
    expect(room.room(10, 'bob')).toBe('fits');
    expect(room.room(10)).toBe('fits');
    // A request larger than the byte bound never fits, whoever sends it; a full queue is full for all.
    expect(room.room(1001, 'alice')).toBe('never');
    room.hold(item(), 980);
    expect(room.room(10, 'bob')).toBe('full');
  });

  it('gives a caller its place back once per item, and keeps no count for a caller with nothing waiting', () => {
    const room = new QueueRoom(1000, 1);
    const a = item();
    room.hold(a, 10, 'alice');
    room.release(a);
    expect([room.heldBy('alice'), a.queuedTurn, a.queuedBytes]).toEqual([0, undefined, 0]);
    expect(room.room(10, 'alice')).toBe('fits');
    // A second release of the same item takes nothing from the caller's next one.
    const b = item();
    room.hold(b, 10, 'alice');
    room.release(a);
    expect(room.heldBy('alice')).toBe(1);
    expect(room.room(10, 'alice')).toBe('share');
    room.release(b);
    expect(room.heldBy('alice')).toBe(0);
    expect(tablesOf(room)).toEqual({ callers: 0, turns: 0, spares: 2 });
  });

  it('gives back one place of a caller with several waiting, keeping the rest counted', () => {
    const room = new QueueRoom(1000, 2);
    const [a, b] = [item(), item()];
    room.hold(a, 10, 'alice');
    room.hold(b, 10, 'alice');
    room.release(a);
    expect(room.heldBy('alice')).toBe(1);
    expect(room.room(10, 'alice')).toBe('fits');
    room.hold(item(), 10, 'alice');
    expect(room.room(10, 'alice')).toBe('share');
  });

  it('keeps no count for items without a caller', () => {
    const room = new QueueRoom(1000, 1);
    const a = item();
    room.hold(a, 10);
    room.hold(item(), 10);
    expect(tablesOf(room)).toEqual({ callers: 0, turns: 0, spares: 0 });
    room.release(a);
    expect([room.held, a.queuedTurn]).toEqual([10, undefined]);
  });

  it('holds a caller to its share of the bytes while it has some waiting: exactly at it fits, a byte past it does not', () => {
    const room = new QueueRoom(1000, 10, true, 300);
    expect(room.perCallerBytes).toBe(300);
    // Alone, a caller may send one larger than its share (within the bound), or it never could.
    expect(room.room(500, 'alice')).toBe('fits');
    const a = item();
    room.hold(a, 200, 'alice');
    expect(room.bytesHeldBy('alice')).toBe(200);
    expect(room.room(100, 'alice')).toBe('fits');
    expect(room.room(101, 'alice')).toBe('shareBytes');
    // Others and the ownerless are held to the bound alone, and to their own shares.
    expect(room.room(300, 'bob')).toBe('fits');
    expect(room.room(800)).toBe('fits');
    const b = item();
    room.hold(b, 100, 'alice');
    expect([room.bytesHeldBy('alice'), room.room(1, 'alice')]).toEqual([300, 'shareBytes']);
    // A release gives its bytes back to its caller, once; none kept once nothing waits.
    room.release(a);
    room.release(a);
    expect([room.bytesHeldBy('alice'), room.room(200, 'alice'), room.room(201, 'alice')]).toEqual([
      100,
      'fits',
      'shareBytes',
    ]);
    room.release(b);
    expect([room.bytesHeldBy('alice'), room.room(900, 'alice')]).toEqual([0, 'fits']);
    // The count's share is checked first, and a full queue is full for all.
    const counted = new QueueRoom(1000, 1, true, 300);
    counted.hold(item(), 10, 'alice');
    expect(counted.room(500, 'alice')).toBe('share');
    counted.hold(item(), 900, 'bob');
    expect(counted.room(100, 'carol')).toBe('full');
  });

  it('is made from a runtime’s resolved bounds, floored unless told otherwise', () => {
    const bounds = { maxQueuedBytes: 1000, maxQueuedPerCaller: 3, maxQueuedBytesPerCaller: 250 };
    const room = queueRoomOf(bounds);
    expect([room.limit, room.perCaller, room.perCallerBytes, room.floored]).toEqual([1000, 3, 250, true]);
    expect(queueRoomOf(bounds, false).floored).toBe(false);
  });

  it('has no byte share when it is the whole bound: past it, the queue is what is full', () => {
    const room = new QueueRoom(300, 10, true, 300);
    room.hold(item(), 200, 'alice');
    expect(room.room(101, 'alice')).toBe('full');
    expect(new QueueRoom(300).perCallerBytes).toBe(Number.POSITIVE_INFINITY);
  });

  it('with a share of 0 refuses every owned item and still takes the ownerless', () => {
    const room = new QueueRoom(1000, 0);
    expect(room.room(1, 'alice')).toBe('share');
    expect(room.room(1)).toBe('fits');
  });

  it('gives each item its turn: its caller’s count waiting, never below its caller’s previous depth, 0 once none waits', () => {
    const room = new QueueRoom(1000);
    const alice = [item(), item(), item()];
    expect(room.depthOf('alice')).toBe(0);
    expect(alice.map((a) => room.hold(a, 1, 'alice'))).toEqual([0, 1, 2]);
    expect(room.hold(item(), 1, 'bob')).toBe(0);
    expect(room.depthOf('bob')).toBe(1);
    // Two of Alice's leave: one waits, but her next still comes after her last (depth 2, not 1).
    room.release(alice[0]!);
    room.release(alice[1]!);
    expect(room.heldBy('alice')).toBe(1);
    expect(room.depthOf('alice')).toBe(2);
    const later = item();
    expect(room.hold(later, 1, 'alice')).toBe(2);
    // Her count is what rules once it reaches her last depth.
    expect(room.hold(item(), 1, 'alice')).toBe(2);
    expect(room.hold(item(), 1, 'alice')).toBe(3);
    // With the older ones gone her next still comes after her latest.
    for (const a of [alice[2]!, later]) room.release(a);
    expect(room.heldBy('alice')).toBe(2);
    expect(room.depthOf('alice')).toBe(3);
    expect(room.hold(item(), 1)).toBe(0);
    expect(room.depthOf()).toBe(0);
  });

  it('forgets a caller’s depth once none of its items waits', () => {
    const room = new QueueRoom(1000);
    const items = [item(), item(), item()];
    for (const a of items) room.hold(a, 1, 'alice');
    for (const a of items) room.release(a);
    expect(room.depthOf('alice')).toBe(0);
    expect(tablesOf(room)).toEqual({ callers: 0, turns: 0, spares: 2 });
    // Its next item starts from the floor, not from the depth its spare turn last gave.
    expect(room.hold(item(), 1, 'alice')).toBe(0);
  });

  it('keeps at most one spare entry a table beyond the items waiting, however many callers come and go', () => {
    const room = new QueueRoom(1000);
    const waiting = item();
    room.hold(waiting, 1, 'zoe', { provider: 'p0', priority: 0 });
    for (let i = 0; i < 100; i++) {
      const queue = { provider: `p${i % 3}`, priority: i % 10 };
      const [a, b] = [item(), item()];
      room.hold(a, 1, `caller-${i}`, queue);
      room.hold(b, 1, `caller-${i}`, queue);
      room.release(a);
      room.release(b);
    }
    // zoe's entries, and one spare at 0 in each of the two tables: the last caller's.
    expect(tablesOf(room)).toEqual({ callers: 1, turns: 1, spares: 2 });
    expect(room.heldBy('caller-99')).toBe(0);
    room.release(waiting);
    expect(tablesOf(room)).toEqual({ callers: 0, turns: 0, spares: 2 });
    expect(
      floorsOf(room).every((f) => f.size === 0 && f.floor === 0 && f.depths === 0 && f.entries <= 1),
    ).toBe(true);
  });

  it('reads a caller’s spare entry as none: it has room for one within the bound, and its depth starts from the floor', () => {
    const room = new QueueRoom(1000, 10, true, 300);
    const q = { provider: 'glm', priority: 5 };
    const alice = [item(), item(), item()];
    expect(alice.map((a) => room.hold(a, 100, 'alice', q))).toEqual([0, 1, 2]);
    for (const a of alice) room.release(a);
    // Its spare holds 0 bytes and turns at 0: a request past its byte share fits, as for a caller never seen.
    expect([room.bytesHeldBy('alice'), room.room(400, 'alice'), room.room(400, 'bob')]).toEqual([
      0,
      'fits',
      'fits',
    ]);
    const bob = item();
    expect(room.hold(bob, 1, 'bob', q)).toBe(0);
    expect(room.hold(item(), 1, 'bob', q)).toBe(1);
    // bob's item at the floor: alice joins at 0, not at 2 as her last depth was.
    expect([room.depthOf('alice', q), room.hold(item(), 1, 'alice', q)]).toEqual([0, 0]);
    expect(room.bytesHeldBy('alice')).toBe(1);
    // A caller never seen holds nothing either.
    expect([room.heldBy('carol'), room.bytesHeldBy('carol')]).toEqual([0, 0]);
  });

  it('takes a spare back into use whole: another caller’s turn emptying later leaves it counted', () => {
    const room = new QueueRoom(1000);
    const q = { provider: 'glm', priority: 5 };
    const first = item();
    room.hold(first, 1, 'alice', q);
    room.release(first);
    // alice's turn is the spare; she comes back, and bob's turn empties after.
    const [a1, a2] = [item(), item()];
    expect([room.hold(a1, 1, 'alice', q), room.hold(a2, 1, 'alice', q)]).toEqual([0, 1]);
    const bob = item();
    room.hold(bob, 1, 'bob', q);
    room.release(bob);
    expect(tablesOf(room)).toEqual({ callers: 1, turns: 1, spares: 2 });
    expect([room.heldBy('alice'), room.depthOf('alice', q)]).toEqual([2, 2]);
  });

  it('gives the depth of the queue an item names now, when the same queue object moved to another provider', () => {
    const room = new QueueRoom(1000);
    // A record is its own queue: its provider changes when it moves on to its next target.
    const record = { provider: 'glm', priority: 5 };
    expect(room.depthOf('alice', record)).toBe(0);
    expect(room.hold(item(), 1, 'alice', record)).toBe(0);
    expect(room.depthOf('alice', record)).toBe(1);
    record.provider = 'kimi';
    expect(room.depthOf('alice', record)).toBe(0);
    expect(room.hold(item(), 1, 'alice', record)).toBe(0);
    expect(room.depthOf('alice', { provider: 'glm', priority: 5 })).toBe(1);
    // And at another priority of the same provider, its turns there.
    expect(room.depthOf('alice', record)).toBe(1);
    record.priority = 7;
    expect(room.depthOf('alice', record)).toBe(0);
  });

  it('counts a caller’s turns per queue: what waits in one provider’s queue, or at one priority, does not deepen another', () => {
    const room = new QueueRoom(1000);
    const glm5 = { provider: 'glm', priority: 5 };
    const kimi5 = { provider: 'kimi', priority: 5 };
    const glm9 = { provider: 'glm', priority: 9 };
    expect([0, 1, 2].map(() => room.hold(item(), 1, 'alice', glm5))).toEqual([0, 1, 2]);
    expect(room.depthOf('alice', glm5)).toBe(3);
    expect(room.depthOf('alice', kimi5)).toBe(0);
    expect(room.depthOf('alice', glm9)).toBe(0);
    expect(room.hold(item(), 1, 'alice', kimi5)).toBe(0);
    expect(room.hold(item(), 1, 'alice', kimi5)).toBe(1);
    expect(room.hold(item(), 1, 'alice', glm9)).toBe(0);
    // The share counts all of them, wherever they wait.
    expect(room.heldBy('alice')).toBe(6);
    expect(room.depthOf('bob', glm5)).toBe(0);
    // Sessions without a caller are at depth 0 whoever waits, a caller named "undefined" too.
    room.hold(item(), 1, 'undefined', glm5);
    expect(room.depthOf(undefined, glm5)).toBe(0);
    expect(room.hold(item(), 1, undefined, glm5)).toBe(0);
    // Not two of its queues' turns in one: releasing one from glm/5 leaves kimi/5 as it was.
    const g = item();
    room.hold(g, 1, 'alice', glm5);
    room.release(g);
    expect([room.depthOf('alice', glm5), room.depthOf('alice', kimi5)]).toEqual([3, 2]);
  });

  it('stops depths at MAX_DEPTH: a caller’s items past it in one queue share the last depth, in order', () => {
    const room = new QueueRoom(Number.POSITIVE_INFINITY);
    const queue = { provider: 'p', priority: 5 };
    const depths = Array.from({ length: MAX_DEPTH + 3 }, () => room.hold(item(), 0, 'alice', queue));
    expect(MAX_DEPTH).toBe(1023);
    expect(depths.slice(0, MAX_DEPTH + 1)).toEqual(Array.from({ length: MAX_DEPTH + 1 }, (_, i) => i));
    expect(depths.slice(MAX_DEPTH + 1)).toEqual([MAX_DEPTH, MAX_DEPTH]);
    expect(room.depthOf('alice', queue)).toBe(MAX_DEPTH);
    expect(room.depthOf('bob', queue)).toBe(0);
  });

  it('counts depths from the floor, the lowest depth waiting in the queue: a caller with none waiting joins there, not at 0', () => {
    const room = new QueueRoom(1000);
    const q = { provider: 'p', priority: 5 };
    const other = { provider: 'p', priority: 4 };
    const alice = [item(), item(), item(), item()];
    expect(alice.map((a) => room.hold(a, 1, 'alice', q))).toEqual([0, 1, 2, 3]);
    // Her first two start: the floor rises to her third's depth, and Bob joins beside it.
    expect(room.depthOf('bob', q)).toBe(0);
    room.release(alice[0]!);
    expect(room.depthOf('bob', q)).toBe(1);
    room.release(alice[1]!);
    expect(room.depthOf('bob', q)).toBe(2);
    const bob = item();
    expect(room.hold(bob, 1, 'bob', q)).toBe(2);
    expect(bob.queuedDepth).toBe(2);
    // A caller with some waiting: the floor plus its count, never below its latest.
    expect(room.depthOf('bob', q)).toBe(3);
    expect(room.depthOf('alice', q)).toBe(4);
    // Another provider's queue at this priority has the same floor (depths compare between
    // providers); another priority has its own. The ownerless are at 0 and move no floor.
    expect(room.depthOf('bob', other)).toBe(0);
    expect(room.depthOf('bob', { provider: 'q', priority: 5 })).toBe(2);
    expect(room.depthOf('alice', { provider: 'q', priority: 5 })).toBe(2);
    expect(room.hold(item(), 1, undefined, q)).toBe(0);
    expect(room.depthOf('carol', q)).toBe(2);
    // One of two at the floor leaves: it stays. The other leaves: it rises to the next in use.
    room.release(alice[2]!);
    expect(room.depthOf('carol', q)).toBe(2);
    room.release(bob);
    expect(room.depthOf('carol', q)).toBe(3);
    // A depth above the floor leaving moves nothing.
    const dave = [item(), item(), item()];
    expect(dave.map((d) => room.hold(d, 1, 'dave', q))).toEqual([3, 4, 5]);
    room.release(dave[1]!);
    expect(room.depthOf('carol', q)).toBe(3);
    // The floor skips the depths nothing holds: 3 and 4 go, 5 is next in use.
    room.release(alice[3]!);
    expect(room.depthOf('carol', q)).toBe(3);
    room.release(dave[0]!);
    expect(room.depthOf('carol', q)).toBe(5);
    // None waits: back to 0, and nothing kept but the priority's floor, empty.
    room.release(dave[2]!);
    expect(room.depthOf('carol', q)).toBe(0);
    expect(floorsOf(room)).toEqual([{ key: '5', size: 0, floor: 0, depths: 0, entries: 0 }]);
    expect(tablesOf(room).turns).toBe(0);
    // The kept floor starts again from 0.
    expect(room.hold(item(), 1, 'erin', q)).toBe(0);
    expect(room.hold(item(), 1, 'erin', q)).toBe(1);
  });

  it('stops depths at MAX_DEPTH above the floor, so a queue has at most MAX_DEPTH + 1 depths in use', () => {
    const room = new QueueRoom(Number.POSITIVE_INFINITY);
    const queue = { provider: 'p', priority: 5 };
    const alice = Array.from({ length: MAX_DEPTH + 3 }, () => item());
    for (const a of alice) room.hold(a, 0, 'alice', queue);
    // Two of hers start: the floor is 2, and the last depth is 2 + MAX_DEPTH.
    room.release(alice[0]!);
    room.release(alice[1]!);
    expect(room.depthOf('bob', queue)).toBe(2);
    expect(room.depthOf('alice', queue)).toBe(MAX_DEPTH + 2);
    const bobs = Array.from({ length: MAX_DEPTH + 2 }, () => room.hold(item(), 0, 'bob', queue));
    expect(bobs.at(0)).toBe(2);
    expect(bobs.slice(-2)).toEqual([MAX_DEPTH + 2, MAX_DEPTH + 2]);
  });

  it("keeps one floor per priority across providers: the lowest depth waiting in any provider's queue", () => {
    const room = new QueueRoom(1000);
    const p = { provider: 'p', priority: 5 };
    const q = { provider: 'q', priority: 5 };
    const alice = [item(), item(), item()];
    expect(alice.map((a) => room.hold(a, 1, 'alice', p))).toEqual([0, 1, 2]);
    room.release(alice[0]!);
    // Bob's first in q joins at p's floor, not at 0: a fresh queue does not go ahead of a busy one.
    const bob = item();
    expect(room.hold(bob, 1, 'bob', q)).toBe(1);
    room.release(alice[1]!);
    expect(room.depthOf('carol', p)).toBe(1);
    room.release(bob);
    expect(room.depthOf('carol', q)).toBe(2);
  });

  it('counts depths from 0 when not floored (a cluster instance), as before the floor', () => {
    const room = new QueueRoom(1000, Number.POSITIVE_INFINITY, false);
    const q = { provider: 'p', priority: 5 };
    const alice = [item(), item(), item()];
    expect(alice.map((a) => room.hold(a, 1, 'alice', q))).toEqual([0, 1, 2]);
    room.release(alice[0]!);
    room.release(alice[1]!);
    expect(room.depthOf('bob', q)).toBe(0);
    expect(room.hold(item(), 1, 'bob', q)).toBe(0);
    expect(room.depthOf('alice', q)).toBe(2);
    expect(new QueueRoom(1000).floored).toBe(true);
  });

  // Found by the Redis property run: a caller's items above one that started, another caller joining
  // at 0 below them, then theirs leaving: the floor, risen to 1, looked for a depth in use above it
  // forever (only 0 was), and the cluster instance's event loop spun.
  it('without a floor, gives items back whatever depths are left below the one that leaves', () => {
    const room = new QueueRoom(1000, Number.POSITIVE_INFINITY, false);
    const q = { provider: 'p', priority: 5 };
    const alice = [item(), item(), item()];
    expect(alice.map((a) => room.hold(a, 1, 'alice', q))).toEqual([0, 1, 2]);
    room.release(alice[0]!);
    const bob = item();
    expect(room.hold(bob, 1, 'bob', q)).toBe(0);
    room.release(alice[1]!);
    room.release(alice[2]!);
    expect([room.held, room.depthOf('alice', q), room.depthOf('carol', q)]).toEqual([1, 0, 0]);
    room.release(bob);
    // bob's depth, 0, stays at a count of 0: the next item's, with none waiting.
    expect(floorsOf(room)).toEqual([{ key: '5', size: 0, floor: 0, depths: 0, entries: 1 }]);
  });

  it('keeps one floor a priority, however many sessions wait alone and leave', () => {
    const room = new QueueRoom(1000);
    for (let i = 0; i < 100; i++) {
      const a = item();
      const queue = { provider: `p${i % 3}`, priority: i % 10 };
      expect(room.hold(a, 1, `caller-${i}`, queue)).toBe(0);
      room.release(a);
    }
    const floors = floorsOf(room);
    expect(floors).toHaveLength(10);
    expect(floors.every((f) => f.size === 0 && f.floor === 0 && f.depths === 0 && f.entries === 1)).toBe(
      true,
    );
  });
});

/**
 * The room's caller and turn tables: the entries counting items (above 0), and the spares kept at 0
 * (at most one a table).
 */
function tablesOf(room: QueueRoom) {
  const { callers, turns } = room as unknown as {
    callers: Map<string, { count: number }>;
    turns: Map<string, { count: number }>;
  };
  const inUse = (table: Map<string, { count: number }>) =>
    [...table.values()].filter((e) => e.count > 0).length;
  return {
    callers: inUse(callers),
    turns: inUse(turns),
    spares: callers.size - inUse(callers) + turns.size - inUse(turns),
  };
}

/** The room's floors as plain data: each priority's key, how many wait, its floor, depths in use and table entries. */
function floorsOf(room: QueueRoom) {
  const floors = (
    room as unknown as {
      floors: Map<string, { key: string; size: number; floor: number; counts: Map<number, number> }>;
    }
  ).floors;
  return [...floors.values()].map((f) => ({
    key: f.key,
    size: f.size,
    floor: f.floor,
    depths: [...f.counts.values()].filter((n) => n > 0).length,
    entries: f.counts.size,
  }));
}
