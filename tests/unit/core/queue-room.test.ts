/**
 * The request bytes waiting in a queue, against their bound: what fits (exactly at the bound too),
 * what is full now, what never fits, and a release that gives back what an item holds, once.
 */
import { describe, expect, it } from 'vitest';
import { QueueBytes } from '../../../src/core/queue-bytes.js';

describe('QueueBytes', () => {
  it('fits a request up to the bound exactly, is full one byte past it, and never fits one larger than the bound', () => {
    const bytes = new QueueBytes(100);
    expect(bytes.limit).toBe(100);
    expect(bytes.room(100)).toBe('fits');
    expect(bytes.room(101)).toBe('never');
    bytes.hold({ queuedBytes: 0 }, 60);
    expect(bytes.held).toBe(60);
    expect(bytes.room(40)).toBe('fits');
    expect(bytes.room(41)).toBe('full');
    expect(bytes.room(100)).toBe('full');
    expect(bytes.room(101)).toBe('never');
    expect(bytes.room(0)).toBe('fits');
  });

  it('with a bound of 0 fits only what holds nothing (a task)', () => {
    const bytes = new QueueBytes(0);
    expect(bytes.room(0)).toBe('fits');
    expect(bytes.room(1)).toBe('never');
  });

  it('holds each item’s bytes on the item and gives them back once, however often it is released', () => {
    const bytes = new QueueBytes(1000);
    const a = { queuedBytes: 0 };
    const b = { queuedBytes: 0 };
    bytes.hold(a, 300);
    bytes.hold(b, 200);
    expect([bytes.held, a.queuedBytes, b.queuedBytes]).toEqual([500, 300, 200]);
    bytes.release(a);
    expect([bytes.held, a.queuedBytes]).toEqual([200, 0]);
    bytes.release(a);
    expect(bytes.held).toBe(200);
    bytes.release({ queuedBytes: 0 });
    expect(bytes.held).toBe(200);
    bytes.release(b);
    expect(bytes.held).toBe(0);
    expect(bytes.room(1000)).toBe('fits');
  });
});
