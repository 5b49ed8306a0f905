/**
 * The sessions an instance ended without running them in its local runtime: withdrawn from the
 * queue (cancelled, past their queue deadline), leased only to end (cancelled before they started,
 * leased past their queue deadline), or ended by the backstop. The local runtime counts the ends
 * of what it ran; these are the rest, so that `metrics().ended` counts every session this instance
 * ended, as one process counts every session it ended (each session is settled once, so the
 * instances' counts add up to the cluster's).
 */
import { Recent } from '../core/recent.js';
import type { ClusterPorts, EventMessage, SessionStore } from '../runtime/ports.js';
import type { FinalState, Runtime, RuntimeEvent, SessionResult } from '../runtime/types.js';
import { endedAt, type JobData, labelOf } from './job-data.js';

export class EndedHere {
  readonly counts: Record<FinalState, number> = { done: 0, failed: 0, timedOut: 0, cancelled: 0 };
  /** The sessions whose end this instance told while Redis did not answer, the latest 1,024 (`applyMessage`). */
  readonly provisional = new Recent(1024);

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

/**
 * The `session.ended` listeners missed for a session whose result was read back after the bus was
 * cut (Redis pub/sub delivers at most once), now in the mirror's history; `undefined` when the mirror
 * had it. Without it a dashboard showed such a session live for good and `subscribe()` (the metrics'
 * troupe_sessions_total) never counted it: 7 of 400 ends in a load with the bus cut six times.
 */
export function missedEnd(
  store: SessionStore,
  data: JobData,
  result: SessionResult,
): RuntimeEvent | undefined {
  if (store.ended(data.input.sessionId) !== undefined) return undefined;
  store.forget(result);
  return {
    type: 'session.ended',
    sessionId: data.input.sessionId,
    result,
    at: endedAt(data, result),
    provider: result.metadata.provider,
    ...labelOf(data),
  };
}

/**
 * Applies a bus message to the mirror: `fresh`; `late`, a late copy of an end `missedEnd` already
 * told (nothing done); or `corrected`, the cluster's end of a session this instance ended while
 * Redis did not answer (`provisional`, `BACKEND_UNAVAILABLE`: the backstop's give-up, or an enqueue
 * whose end was not written), which takes that end's place in the mirror. Its listeners heard the
 * provisional end: they hear no second one.
 */
export function applyMessage(
  store: SessionStore,
  message: EventMessage,
  provisional: Recent,
): 'fresh' | 'late' | 'corrected' {
  const event = message.event;
  if (event.type === 'session.ended' && store.ended(event.sessionId) !== undefined) {
    if (!provisional.take(event.sessionId)) return 'late';
    store.correctEnded(event.result as SessionResult, event.at);
    return 'corrected';
  }
  store.apply(message);
  return 'fresh';
}
