import type { Clock } from '../../src/core/clock.js';

/**
 * Real time, `factor` times faster: a 60 s rate window passes in 60 / factor s. The runtime and the
 * test server share one, so they agree on every window while real HTTP runs between them.
 */
export function fastClock(factor: number): Clock {
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * factor,
    setTimeout: (fn, ms) => setTimeout(fn, ms / factor),
    clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  };
}
