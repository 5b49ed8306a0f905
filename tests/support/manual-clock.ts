import type { Clock } from '../../src/core/clock.js';

/**
 * A clock whose timers run only when the test says, one at a time, so a test can stop between two
 * slices of sliced work. Time moves only by `advance` (or by a test's own callbacks).
 */
export class ManualClock implements Clock {
  time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): unknown {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.time + timeoutMs, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Runs the earliest due timer (the first set, among equals); `false` if none is due. */
  step(): boolean {
    let first: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers)
      if (entry[1].at <= this.time && (first === undefined || entry[1].at < first[1].at)) first = entry;
    if (first === undefined) return false;
    this.timers.delete(first[0]);
    first[1].fn();
    return true;
  }

  /** Runs due timers until none is left; returns how many ran. */
  runDue(): number {
    let ran = 0;
    while (this.step()) ran++;
    return ran;
  }

  advance(ms: number): void {
    this.time += ms;
  }
}
