/**
 * A cluster caller's `handle.events` (`ownerHandle` in src/scale/owner.ts): a reader that stops
 * early leaves the owner's observers at once (audit leftover, 2026-12-05: it stayed there until the
 * session ended, and every event of the session was still pushed to it).
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import type { JobData } from '../../../src/scale/job-data.js';
import { createOwner, ownerHandle } from '../../../src/scale/owner.js';

const clock = { now: () => 5 } as unknown as Clock;
const live = { liveSession: () => undefined, liveSessions: () => [] } as never;

describe('ownerHandle events', () => {
  it('drops a stream from the owner’s observers as soon as its reader stops', async () => {
    const owner = createOwner({ input: { sessionId: 's1' } } as unknown as JobData);
    owner.started = true;
    const handle = ownerHandle(
      clock,
      owner,
      live,
      [],
      () => true,
      () => undefined,
    );
    const first = handle.events;
    const second = handle.events;
    expect(owner.observers).toHaveLength(2);
    for await (const event of first) {
      expect(event).toEqual({ type: 'session.started', sessionId: 's1', attempt: 1, at: 5 });
      break;
    }
    expect(owner.observers).toEqual([second]);
    await second[Symbol.asyncIterator]().return?.();
    expect(owner.observers).toBeNull();
  });
});
