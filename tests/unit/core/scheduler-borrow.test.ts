/**
 * Slots lent by a running session to one it waits for (`Scheduler.borrow`, `keep` and
 * `release(..., true)`; the links live in src/runtime/lending.ts): a borrowed slot runs a session
 * beyond `maxConcurrent` without counting against it, goes back to no one when that session ends,
 * and becomes its session's own when it keeps it.
 */
import { expect, it } from 'vitest';
import { Scheduler } from '../../../src/core/scheduler.js';

interface Item {
  readonly provider: string;
  readonly priority: number;
  seq: number;
  readonly name: string;
}

const item = (name: string, provider = 'p'): Item => ({ name, priority: 5, provider, seq: 0 });

function scheduler(maxConcurrent: number) {
  return new Scheduler<Item>({ maxConcurrent, maxQueued: 100, perProvider: { p: 5 }, fairnessEvery: 1000 });
}

it('runs a borrowing session past maxConcurrent without counting it, and takes back nothing at its end', () => {
  const s = scheduler(1);
  const parent = item('parent', 'tools');
  const child = item('child');
  const other = item('other');
  s.enqueue(parent);
  expect(s.next()?.name).toBe('parent');
  s.enqueue(child);
  s.enqueue(other);
  // Full for everyone.
  expect(s.next()).toBeUndefined();
  expect(s.borrow(child)).toBe(true);
  expect(s.running).toBe(2);
  expect(s.queued).toBe(1);
  expect(s.providers().find((lane) => lane.name === 'p')).toMatchObject({ running: 1, queued: 1 });
  // Still full: the borrowed slot is the parent's.
  expect(s.next()).toBeUndefined();
  expect(s.take(other)).toBe(false);
  // The child ends: its slot goes back to the parent, the count to 1, still full.
  s.release('p', true);
  expect(s.running).toBe(1);
  expect(s.next()).toBeUndefined();
  // The parent ends: a slot is free.
  s.release('tools');
  expect(s.next()?.name).toBe('other');
});

it('counts a borrowing session as its own once it keeps the slot of a parent that ended', () => {
  const s = scheduler(1);
  const parent = item('parent', 'tools');
  const child = item('child');
  s.enqueue(parent);
  s.next();
  s.enqueue(child);
  s.borrow(child);
  s.release('tools');
  s.keep();
  expect(s.running).toBe(1);
  s.enqueue(item('later'));
  // The child holds the one slot now.
  expect(s.next()).toBeUndefined();
  s.release('p');
  expect(s.next()?.name).toBe('later');
});

/** Two slots: a parent and u hold them, the parent's child runs on the parent's, then u ends. */
function oneFreeBesideABorrowedSlot() {
  const s = scheduler(2);
  s.enqueue(item('parent', 'tools'));
  s.enqueue(item('u'));
  s.next();
  s.next();
  const child = item('child');
  s.enqueue(child);
  expect(s.borrow(child)).toBe(true);
  s.release('p'); // u ends
  return s;
}

it('lets a slot freed beside a borrowed one admit the next session, and only that one', () => {
  const s = oneFreeBesideABorrowedSlot();
  s.enqueue(item('v'));
  s.enqueue(item('w'));
  expect(s.next()?.name).toBe('v');
  expect(s.running).toBe(3);
  expect(s.next()).toBeUndefined();
});

it('lets a slot freed beside a borrowed one take the next session, and only that one', () => {
  const s = oneFreeBesideABorrowedSlot();
  const v = item('v');
  const w = item('w');
  s.enqueue(v);
  s.enqueue(w);
  expect(s.take(v)).toBe(true);
  expect(s.take(w)).toBe(false);
});

it('borrows only a queued session', () => {
  const s = scheduler(1);
  expect(s.borrow(item('never queued'))).toBe(false);
  expect(s.running).toBe(0);
});

it('queues past maxQueued only when asked (a child its running parent’s slot takes at once)', () => {
  const s = new Scheduler<Item>({ maxConcurrent: 1, maxQueued: 1, perProvider: {}, fairnessEvery: 1000 });
  expect(s.enqueue(item('first'))).toBe(true);
  expect(s.enqueue(item('refused'))).toBe(false);
  expect(s.enqueue(item('past'), true)).toBe(true);
  expect(s.queued).toBe(2);
});
