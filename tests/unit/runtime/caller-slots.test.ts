/**
 * `CallerSlots`: what each caller holds of something bounded for everyone, against its share. The
 * HTTP front bounds MCP sessions, listen streams and open requests with it; the runtime, each
 * caller's running sessions (`running-share.ts`, `caller-runs.ts`).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CallerSlots } from '../../../src/core/caller-slots.js';

describe('CallerSlots', () => {
  it('is full for a caller once it holds its share, and only for that caller', () => {
    const slots = new CallerSlots(2);
    slots.take('alice');
    expect(slots.full('alice')).toBe(false);
    slots.take('alice');
    expect(slots.full('alice')).toBe(true);
    expect(slots.full('bob')).toBe(false);
    expect(slots.heldBy('alice')).toBe(2);
    expect(slots.heldBy('bob')).toBe(0);
    slots.give('alice');
    expect(slots.full('alice')).toBe(false);
    expect(slots.heldBy('alice')).toBe(1);
  });

  it('keeps a caller only while it holds a place, so the table never outgrows the places taken', () => {
    const slots = new CallerSlots(3);
    slots.take('alice');
    slots.take('bob');
    expect(slots.callers).toBe(2);
    slots.give('alice');
    expect(slots.callers).toBe(1);
    // A give with nothing held leaves nothing behind.
    slots.give('carol');
    expect(slots.callers).toBe(1);
    slots.give('bob');
    expect(slots.callers).toBe(0);
  });

  it('lists the callers holding their whole share', () => {
    const slots = new CallerSlots(2);
    slots.take('alice');
    slots.take('alice');
    slots.take('bob');
    expect([...slots.atShare()]).toEqual(['alice']);
    slots.take('bob');
    expect([...slots.atShare()]).toEqual(['alice', 'bob']);
  });

  it('holds a place until its response closes, and refuses one past the share without taking it', () => {
    const slots = new CallerSlots(1);
    const first = new EventEmitter();
    expect(slots.hold('alice', first)).toBe(true);
    expect(slots.hold('alice', new EventEmitter())).toBe(false);
    expect(slots.heldBy('alice')).toBe(1);
    first.emit('close');
    expect(slots.heldBy('alice')).toBe(0);
    expect(slots.hold('alice', new EventEmitter())).toBe(true);
  });

  it('forgets every place on clear', () => {
    const slots = new CallerSlots(1);
    slots.take('alice');
    slots.take('bob');
    slots.clear();
    expect(slots.callers).toBe(0);
    expect(slots.full('alice')).toBe(false);
  });

  it('holds a place for a holder until it is released, once however often it takes or releases', () => {
    const slots = new CallerSlots<string>(2);
    slots.takeFor('s1', 'alice');
    slots.takeFor('s1', 'alice');
    expect(slots.heldBy('alice')).toBe(1);
    slots.takeFor('s2', 'alice');
    expect(slots.full('alice')).toBe(true);
    expect(slots.release('s1')).toBe('alice');
    expect(slots.release('s1')).toBeUndefined();
    expect(slots.release('never')).toBeUndefined();
    expect(slots.heldBy('alice')).toBe(1);
    slots.clear();
    expect(slots.release('s2')).toBeUndefined();
    expect(slots.callers).toBe(0);
  });
});
