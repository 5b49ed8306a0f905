/**
 * A `SharedState` adapter's throw taken as the rejection it stands for. The port's methods return
 * promises and fail by rejecting; an adapter of an embedder's may throw at once instead, and that
 * throw then went up through whatever called it (a call's gate, a session's end) rather than down
 * the path its rejection takes (`onError`, asked again later, a breaker failing open). The limiter,
 * the breakers and the budgets each take their state through `rejectingState`, so a throw and a
 * rejection are one outcome everywhere (docs/runtime.md, "Several runtimes, one shared state").
 */
import { MemorySharedState } from './memory-state.js';
import type { SharedState } from './ports.js';

/**
 * `state`, whose `update` and `read` reject where they would throw. A `MemorySharedState` is
 * returned as it is: it never throws (its `update` turns its change's throw into a rejection), and
 * the in-memory paths, the runtime's default, pay no wrapper.
 */
export function rejectingState(state: SharedState): SharedState {
  if (state instanceof MemorySharedState) return state;
  return {
    update: (key, init, change, ttlMs) => rejecting(() => state.update(key, init, change, ttlMs)),
    read: (key) => rejecting(() => state.read(key)),
  };
}

/** What `call` returns, or what it throws as a rejection. */
function rejecting<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (error) {
    return Promise.reject(error);
  }
}
