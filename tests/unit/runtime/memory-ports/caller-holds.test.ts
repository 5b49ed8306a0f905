/**
 * `CallerHolds`: the sessions an instance put back, delayed, for their caller's share of the
 * sessions running there; a place that frees lets the first still delayed go, one per place.
 */
import { describe, expect, it } from 'vitest';
import { CallerHolds } from '../../../../src/core/caller-holds.js';

describe('CallerHolds', () => {
  it('lets go one per wake, in the order held, and only the caller’s', () => {
    const holds = new CallerHolds();
    expect(holds.hold('alice', 'p|a1', 100, 0, 0)).toBe(true);
    expect(holds.hold('bob', 'p|b1', 100, 0, 0)).toBe(true);
    expect(holds.hold('alice', 'q|a2', 100, 0, 0)).toBe(true);
    expect(holds.wake('alice', 1)).toBe('p|a1');
    expect(holds.wake('alice', 1)).toBe('q|a2');
    expect(holds.size).toBe(1);
    expect(holds.wake('bob', 1)).toBe('p|b1');
    expect(holds.size).toBe(0);
  });

  it('passes over delays that ran out, and forgets them as later ones are held', () => {
    const holds = new CallerHolds();
    holds.hold('alice', 'p|old', 10, 0, 0);
    holds.hold('alice', 'p|new', 100, 0, 0);
    holds.hold('bob', 'p|b-old', 10, 0, 0);
    expect(holds.wake('alice', 10)).toBe('p|new');
    holds.hold('carol', 'p|c', 200, 50, 0);
    // bob's ran out: forgotten when carol's was held, and bob with it.
    expect(holds.size).toBe(1);
    expect(holds.callers).toBe(1);
    // A delay that ends at the time asked has run out.
    holds.hold('dan', 'p|d', 200, 200, 0);
    expect(holds.size).toBe(1);
    expect(holds.wake('dan', 199)).toBe('p|d');
  });

  it('keeps a wake that found none for the next one held, once', () => {
    const holds = new CallerHolds();
    expect(holds.wake('alice', 0)).toBeUndefined();
    expect(holds.hold('alice', 'p|a1', 100, 0, 0)).toBe(false);
    expect(holds.size).toBe(0);
    expect(holds.hold('alice', 'p|a2', 100, 0, 0)).toBe(true);
    // A wake whose jobs all ran out is kept too.
    const expired = new CallerHolds();
    expired.hold('bob', 'p|b1', 10, 0, 0);
    expect(expired.wake('bob', 20)).toBeUndefined();
    expect(expired.hold('bob', 'p|b2', 100, 20, 0)).toBe(false);
  });

  it('lets a kept wake go to a job leased before it, never to one leased after', () => {
    const holds = new CallerHolds();
    const early = holds.ticket;
    holds.wake('alice', 0);
    const late = holds.ticket;
    // Leased after the wake: its caller's check saw that place free; the wake is not its own.
    expect(holds.hold('alice', 'p|late', 100, 0, late)).toBe(true);
    expect(holds.hold('alice', 'p|early', 100, 0, early)).toBe(false);
    // Taken once; a wake kept later is another's.
    expect(holds.hold('alice', 'p|early2', 100, 0, early)).toBe(true);
    expect(holds.wake('alice', 0)).toBe('p|late');
    expect(holds.wake('alice', 0)).toBe('p|early2');
    expect(holds.wake('alice', 0)).toBeUndefined();
    expect(holds.hold('alice', 'p|next', 100, 0, late)).toBe(false);
  });

  it('forgets a released job, and the caller with its last', () => {
    const holds = new CallerHolds();
    holds.hold('alice', 'p|a1', 100, 0, 0);
    holds.hold('alice', 'p|a2', 100, 0, 0);
    holds.release('alice', 'p|a1');
    holds.release('alice', 'p|a1');
    holds.release('bob', 'p|a2');
    expect(holds.size).toBe(1);
    expect(holds.wake('alice', 0)).toBe('p|a2');
    expect(holds.callers).toBe(0);
    expect(holds.wake('alice', 0)).toBeUndefined();
    holds.hold('bob', 'p|b1', 100, 0, 0);
    holds.release('bob', 'p|b1');
    expect(holds.callers).toBe(0);
  });

  it('remembers the wakes of the last `remembered` callers only', () => {
    const holds = new CallerHolds(2);
    holds.wake('a', 0);
    holds.wake('b', 0);
    // A caller woken again is the latest.
    holds.wake('a', 0);
    holds.wake('c', 0);
    expect(holds.hold('b', 'p|1', 10, 0, 0)).toBe(true);
    expect(holds.hold('a', 'p|2', 10, 0, 0)).toBe(false);
    expect(holds.hold('c', 'p|3', 10, 0, 0)).toBe(false);
  });

  it('spends no wake on a job withdrawn while delayed, whoever’s it was', () => {
    const holds = new CallerHolds();
    holds.hold('alice', 'p|a1', 100, 0, 0);
    holds.hold('alice', 'p|a2', 100, 0, 0);
    holds.hold('bob', 'p|b1', 100, 0, 0);
    holds.drop('p|a1');
    holds.drop('p|none');
    expect(holds.wake('alice', 1)).toBe('p|a2');
    holds.drop('p|b1');
    expect(holds.callers).toBe(0);
    expect(holds.size).toBe(0);
  });

  it('drops a job that left the queue, whichever caller held it', () => {
    const holds = new CallerHolds();
    holds.hold('alice', 'p|a1', 100, 0, 0);
    holds.hold('bob', 'p|b1', 100, 0, 0);
    holds.hold('bob', 'p|b2', 100, 0, 0);
    holds.drop('p|b1');
    expect(holds.size).toBe(2);
    expect(holds.wake('bob', 0)).toBe('p|b2');
    expect(holds.wake('alice', 0)).toBe('p|a1');
  });
});
