/**
 * The sessions an instance ended without running them in its local runtime: withdrawn from the
 * queue (cancelled, past their queue deadline), leased only to end (cancelled before they started,
 * leased past their queue deadline), or ended by the backstop. The local runtime counts the ends
 * of what it ran; these are the rest, so that `metrics().ended` counts every session this instance
 * ended, as one process counts every session it ended (each session is settled once, so the
 * instances' counts add up to the cluster's).
 */
import type { ClusterPorts, SessionStore } from '../runtime/ports.js';
import type { FinalState, Runtime } from '../runtime/types.js';

export class EndedHere {
  readonly counts: Record<FinalState, number> = { done: 0, failed: 0, timedOut: 0, cancelled: 0 };

  /** `local`: the runtime that runs this instance's leases (read at each end, not before). */
  constructor(private readonly local: () => Pick<Runtime, 'session'>) {}

  /** The ports, their store's `settle` counting each end it wrote for a session the local runtime did not run. */
  ports(ports: ClusterPorts): ClusterPorts {
    const store = ports.store;
    const settle: SessionStore['settle'] = async (result, label, endedAt) => {
      const written = await store.settle(result, label, endedAt);
      const id = result.metadata.sessionId;
      if (written && this.local().session(id) === undefined) this.counts[result.metadata.state]++;
      return written;
    };
    // Each method bound once, on first use: the store is on every session's path.
    const bound = new Map<PropertyKey, unknown>([['settle', settle]]);
    const counting = new Proxy(store, {
      get(target, key) {
        const known = bound.get(key);
        if (known !== undefined) return known;
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== 'function') return value;
        const method = value.bind(target);
        bound.set(key, method);
        return method;
      },
    });
    return { ...ports, store: counting };
  }
}
