/**
 * `SharedState` in this process: a `Map` of states, each with its expiry. Exported: one instance
 * given to several runtimes (`createRuntime({ sharedState })`) gives them one set of limits,
 * cooldowns, breakers and budgets. Every change is synchronous, so it is atomic without a lock;
 * `updateNow` is the synchronous twin the in-memory admission loop uses (the port's `update` is
 * the same call behind a promise). States are kept by reference: a policy returns a new state and
 * never mutates the one it got.
 *
 * Expired states go, by the injected clock and without a timer: a read or a change of an expired
 * key drops it (lazily), and every change also examines the next `SWEEP_STEP` keys of a sweep that
 * walks the map in turn and drops those expired (reads, the closed breaker's path, stay a lookup).
 * The bound: a key is gone at most one full pass (`size / SWEEP_STEP` changes) after it expires,
 * so, as only a change adds a key and at most one, the map holds at most about
 * `SWEEP_STEP / (SWEEP_STEP - 1)` times the states that have not expired (4/3 of them), never the
 * ones a caller stopped using.
 */
import { type Clock, steadyClock } from '../core/clock.js';
import type { SharedState } from './ports.js';

interface Entry {
  state: unknown;
  /** Epoch ms after which the state is gone; `Infinity` when it never expires. */
  expiresAt: number;
}

/** Keys a change examines for expiry besides its own. */
export const SWEEP_STEP = 4;

export class MemorySharedState implements SharedState {
  private readonly entries = new Map<string, Entry>();
  /** Where the sweep stands; a `Map` iterator stays valid while keys are added and deleted. */
  private cursor: Iterator<[string, Entry]> = this.entries.entries();

  /**
   * @param clock what expiry is measured by: the runtimes' own (`createRuntime`'s `clock`). @default `steadyClock`, a local runtime's
   * @param sweepStep keys a change examines besides its own; 0 only to measure the sweep's cost.
   */
  constructor(
    private readonly clock: Pick<Clock, 'now'> = steadyClock,
    private readonly sweepStep = SWEEP_STEP,
  ) {}

  /** States held, expired ones not yet dropped included (for bounds and tests). */
  get size(): number {
    return this.entries.size;
  }

  updateNow<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): R {
    const now = this.clock.now();
    this.sweep(now);
    const entry = this.entries.get(key);
    const current = entry !== undefined && entry.expiresAt > now ? (entry.state as S) : init();
    const { state, result } = change(current);
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs;
    // Stryker disable next-line ConditionalExpression: setting a held key replaces its entry in place, as the else does.
    if (entry === undefined) this.entries.set(key, { state, expiresAt });
    else {
      entry.state = state;
      entry.expiresAt = expiresAt;
    }
    return result;
  }

  readNow<S>(key: string): S | undefined {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.state as S;
  }

  update<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): Promise<R> {
    try {
      return Promise.resolve(this.updateNow(key, init, change, ttlMs));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  read<S>(key: string): Promise<S | undefined> {
    return Promise.resolve(this.readNow<S>(key));
  }

  /** Examines the next `sweepStep` keys in turn (from the start again after the last) and drops the expired. */
  private sweep(now: number): void {
    for (let i = 0; i < this.sweepStep; i++) {
      let next = this.cursor.next();
      if (next.done === true) {
        this.cursor = this.entries.entries();
        next = this.cursor.next();
        // Nothing held.
        if (next.done === true) return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) this.entries.delete(key);
    }
  }
}
