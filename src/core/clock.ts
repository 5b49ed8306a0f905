/**
 * Time, injected. Compatible with XState's `SimulatedClock`, so tests drive every deadline by hand.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): unknown;
  clearTimeout(id: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, timeoutMs) => globalThis.setTimeout(fn, timeoutMs),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof globalThis.setTimeout>),
};

/**
 * Whether `work` settles, either way, within `ms` on `clock`; the timer is cleared either way. Only
 * waits: what `work` resolves or rejects with stays the caller's to handle.
 */
export async function settlesWithin(clock: Clock, work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: unknown;
  const bound = new Promise<false>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(settled, settled), bound]);
  } finally {
    clock.clearTimeout(timer);
  }
}

function settled(): true {
  return true;
}
