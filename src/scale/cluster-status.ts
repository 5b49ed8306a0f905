/**
 * `status()` of a cluster runtime, from this instance's mirror of the cluster's live sessions:
 * queued and running counts cover every instance.
 */

import type { RuntimeCounters } from '../runtime/backend.js';
import type { SessionStore } from '../runtime/ports.js';
import type { FinalState, Runtime, RuntimeMetrics, RuntimeStatus } from '../runtime/types.js';
import { type LimitsView, sumWaits } from './limits-view.js';

/** How many of the newest ended sessions a status lists, whose, and after which (`status({ recent, owner, after })`). */
export interface EndedQuery {
  readonly recent: number;
  readonly owner: string | undefined;
  readonly after?: string | undefined;
}

export function clusterStatus(
  store: SessionStore,
  /** This instance's local runtime: its providers, and its view of the shared circuit breakers. */
  local: Pick<Runtime, 'providers' | 'status'>,
  limits: {
    readonly perProvider: Readonly<Record<string, number>>;
    readonly maxConcurrent: number;
    readonly maxRunningPerCaller: number;
    readonly maxQueued: number;
    readonly maxQueuedPerCaller: number;
    readonly maxQueuedBytes: number;
    readonly maxQueuedBytesPerCaller: number;
  },
  state: RuntimeStatus['state'],
  ended: EndedQuery,
  /** The cluster's limits in providers' own units, as this instance last read them. */
  view: { budgets(): RuntimeStatus['limits'] },
  /** The request bytes of the sessions submitted here that have not started (`maxQueuedBytes` is per instance). */
  queuedBytes = 0,
): RuntimeStatus {
  let queued = 0;
  let running = 0;
  const byPriority: Record<number, number> = {};
  const perProvider = new Map<string, { queued: number; running: number }>();
  const { breakers, defaults } = local.status({ recent: 0 });
  const budgets = view.budgets();
  for (const name of local.providers) perProvider.set(name, { queued: 0, running: 0 });
  for (const summary of store.liveSessions()) {
    const counts = perProvider.get(summary.provider) ?? { queued: 0, running: 0 };
    perProvider.set(summary.provider, counts);
    if (summary.state === 'queued') {
      queued++;
      counts.queued++;
      byPriority[summary.priority] = (byPriority[summary.priority] ?? 0) + 1;
    } else {
      running++;
      counts.running++;
    }
  }
  return {
    state,
    queued,
    running,
    queuedByPriority: byPriority,
    providers: [...perProvider].map(([name, c]) => ({
      name,
      queued: c.queued,
      running: c.running,
      limit: limits.perProvider[name] ?? null,
    })),
    maxConcurrent: limits.maxConcurrent,
    maxRunningPerCaller: limits.maxRunningPerCaller,
    maxQueued: limits.maxQueued,
    maxQueuedPerCaller: limits.maxQueuedPerCaller,
    maxQueuedBytes: limits.maxQueuedBytes,
    maxQueuedBytesPerCaller: limits.maxQueuedBytesPerCaller,
    queuedBytes,
    defaults,
    recent: store.recent(ended.recent, ended.owner, ended.after),
    ...(breakers === undefined ? {} : { breakers }),
    ...(budgets === undefined ? {} : { limits: budgets }),
  };
}

/**
 * `metrics()` of a cluster runtime: submissions and refusals at this instance; ends, retries,
 * tokens and limit waits of what ran here (its leases held back and its retries); queued and
 * running from the cluster view.
 */
export function clusterMetrics(
  status: RuntimeStatus,
  counters: RuntimeCounters,
  local: Pick<Runtime, 'metrics'>,
  view: Pick<LimitsView, 'waits'>,
  /** Local ends that were not the session's end, by state: stops to go on elsewhere (hops, hand-backs), ends a shutdown could not write. */
  stopped: Readonly<Record<FinalState, number>> = { done: 0, failed: 0, timedOut: 0, cancelled: 0 },
  /** Ends written here for sessions not run here (`ended-here.ts`). */
  endedHere: Readonly<Record<keyof RuntimeMetrics['ended'], number>> = {
    done: 0,
    failed: 0,
    timedOut: 0,
    cancelled: 0,
  },
): RuntimeMetrics {
  const mine = counters.snapshot(status.queued, status.running);
  const here = local.metrics();
  return {
    ...here,
    ended: {
      done: Math.max(0, here.ended.done - stopped.done) + endedHere.done,
      failed: Math.max(0, here.ended.failed - stopped.failed) + endedHere.failed,
      timedOut: Math.max(0, here.ended.timedOut - stopped.timedOut) + endedHere.timedOut,
      cancelled: Math.max(0, here.ended.cancelled - stopped.cancelled) + endedHere.cancelled,
    },
    submitted: mine.submitted,
    rejected: mine.rejected,
    queued: status.queued,
    running: status.running,
    limits: {
      waits: sumWaits(here.limits?.waits, view.waits),
      rateLimited: here.limits?.rateLimited ?? 0,
      cooldowns: here.limits?.cooldowns ?? 0,
    },
  };
}
