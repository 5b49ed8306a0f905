/**
 * `SharedState` in this process: a `Map` of states, each with its expiry. Every change is
 * synchronous, so it is atomic without a lock; `updateNow` is the synchronous twin the in-memory
 * admission loop uses (the port's `update` is the same call behind a promise). States are kept by
 * reference: a policy returns a new state and never mutates the one it got.
 */
import type { Clock } from '../core/clock.js';
import type { SharedState } from './ports.js';

interface Entry {
  state: unknown;
  /** Epoch ms after which the state is gone; `Infinity` when it never expires. */
  expiresAt: number;
}

export class MemorySharedState implements SharedState {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  updateNow<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): R {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    const current = entry !== undefined && entry.expiresAt > now ? (entry.state as S) : init();
    const { state, result } = change(current);
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs;
    if (entry === undefined) this.entries.set(key, { state, expiresAt });
    else {
      entry.state = state;
      entry.expiresAt = expiresAt;
    }
    return result;
  }

  readNow<S>(key: string): S | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
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
}
