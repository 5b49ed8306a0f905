/**
 * The wall clock, stepped by a test (NTP stepping it, someone setting the date): `Date.now` reads
 * the real time plus `wall.stepMs`. Real timers and `performance.now()` (the steady clock) go on
 * as before. Undo it with `vi.restoreAllMocks()` and `wall.stepMs = 0` after each test.
 */
import { vi } from 'vitest';

export const HOUR = 3_600_000;

const realNow = Date.now.bind(Date);

/** How far the wall clock is set from the real time, in ms: the test moves it. */
export const wall = { stepMs: 0 };

/** From here on, `Date.now` reads the real time plus `wall.stepMs`. */
export function steppable(): void {
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + wall.stepMs);
}
