/**
 * How long a session its caller's share held at an instance of a cluster waits before it is leased
 * again (`src/scale/caller-runs.ts`). Until 2026-12-05 it was 1 s every time: a caller at its share
 * with 2,000 sessions waiting on Redis had each leased and put back every second, about 34 Redis
 * commands each (67,000 a second, a third of a core on the instance), for as long as its running
 * calls ran. Now each hold in a row doubles the wait, up to `CALLER_WAIT_MAX_MS`; a place freed
 * here still lets the first held go at once (`wakeCaller`).
 */
import { describe, expect, it } from 'vitest';
import type { QueuedSession } from '../../../src/runtime/ports.js';
import { CALLER_WAIT_MAX_MS, CALLER_WAIT_MS, CallerRuns } from '../../../src/scale/caller-runs.js';

const session = (id: string, owner = 'alice') =>
  ({ input: { sessionId: id }, caller: { owner } }) as unknown as QueuedSession;

describe('a session its caller’s share holds at an instance of a cluster', () => {
  it('waits twice as long each time it is held again in a row, up to a bound', () => {
    const runs = new CallerRuns(1, 4, () => {});
    expect(runs.take(session('a1'))).toBeUndefined();
    const waits = Array.from({ length: 8 }, () => runs.take(session('a2'))?.retryInMs);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 16_000, 16_000, 16_000]);
    expect(CALLER_WAIT_MS).toBe(1000);
    expect(CALLER_WAIT_MAX_MS).toBe(16_000);
    // Another session of that caller starts at the first wait.
    expect(runs.take(session('a3'))).toMatchObject({ retryInMs: 1000, modelOnly: true, caller: 'alice' });
  });

  it('starts again from the first wait once it has run here', () => {
    const woken: string[] = [];
    const runs = new CallerRuns(1, 4, (caller) => woken.push(caller));
    runs.take(session('a1'));
    runs.take(session('a2'));
    runs.take(session('a2'));
    runs.give('a1');
    expect(woken).toEqual(['alice']);
    expect(runs.take(session('a2'))).toBeUndefined();
    runs.take(session('a3'));
    runs.give('a3');
    runs.give('a2');
    runs.take(session('a4'));
    expect(runs.take(session('a2'))?.retryInMs).toBe(1000);
  });

  it('remembers a bounded number of sessions held', () => {
    const runs = new CallerRuns(1, 4, () => {});
    runs.take(session('a0'));
    for (let i = 1; i <= 20_000; i++) runs.take(session(`h${i}`));
    expect(runs.remembered).toBeLessThanOrEqual(10_000);
  });
});
