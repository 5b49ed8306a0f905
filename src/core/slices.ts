/**
 * Work that ends many sessions at once (a shutdown, a burst of deadlines falling together) runs in
 * slices: at most `maxItems` at a time and no longer than `budgetMs` by the injected clock, then it
 * yields through `clock.setTimeout(…, 0)`, so requests, I/O and other timers run in between. Ending
 * 100,000 sessions in one go held the event loop for seconds; in slices, no stall is longer than
 * one slice, whatever the depth.
 *
 * The count bound is what a simulated clock sees (its time stands still within a slice); the time
 * bound is what keeps a slice short when each item is slow.
 */
import type { Clock } from './clock.js';

export interface SliceLimits {
  /** Items per slice at most. */
  readonly maxItems: number;
  /** Time per slice at most, in ms by the clock; the item running when it passes finishes. */
  readonly budgetMs: number;
}

export const DEFAULT_SLICE: SliceLimits = { maxItems: 4096, budgetMs: 20 };

/**
 * Calls `each` on every item, in order, in slices; then `done`. The first slice runs before this
 * returns, so a short list is handled synchronously, as if there were no slicing. If `each` throws,
 * the rest still run (in the next slice) and the error propagates from this slice.
 */
export function forEachInSlices<T>(
  clock: Clock,
  items: readonly T[],
  each: (item: T) => void,
  done: () => void,
  limits: SliceLimits = DEFAULT_SLICE,
): void {
  let next = 0;
  const slice = (): void => {
    const started = clock.now();
    const end = Math.min(items.length, next + limits.maxItems);
    let finished = false;
    try {
      while (next < end) {
        each(items[next++] as T);
        if (clock.now() - started >= limits.budgetMs) break;
      }
      finished = true;
    } finally {
      if (next < items.length) clock.setTimeout(slice, 0);
      else if (finished) done();
      // A throw on the very last item: `done` still runs, after the error propagated.
      else clock.setTimeout(done, 0);
    }
  };
  slice();
}
