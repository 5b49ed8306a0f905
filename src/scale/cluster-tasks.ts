/**
 * Tasks (`run`) on a cluster. A task is a function: it cannot travel, so it runs on the instance
 * that got it, in a local runtime of its own (the same `createLocalRuntime` as one process) under
 * this instance's limits: `maxConcurrent`, `maxQueued`, `maxQueuedBytes` and its lane's
 * `perProvider`, counted apart from the shared queue's sessions. Its sessions join the cluster
 * runtime's views here: status counts, lookups, cancellation, events and metrics, as on one process.
 */
import type { LocalRuntime } from '../runtime/backend.js';
import type { SessionStore } from '../runtime/ports.js';
import type {
  Limits,
  Runtime,
  RuntimeEvent,
  RuntimeMetrics,
  RuntimeOptions,
  RuntimeStatus,
  SessionSummary,
  ShutdownReport,
  SupervisorEvent,
} from '../runtime/types.js';

/** The runtime that runs this instance's tasks: no providers, no shared state, the limits as given. */
export function createTaskRuntime(
  options: RuntimeOptions,
  makeLocal: (options: RuntimeOptions) => LocalRuntime,
): Runtime {
  // Limits in providers' own units, breakers and budgets count provider calls only: none here.
  const { providers: _rates, ...limits } = options.limits ?? {};
  return makeLocal({
    ...options,
    providers: [],
    backend: undefined,
    sharedState: undefined,
    breakers: undefined,
    budgets: undefined,
    limits,
  });
}

/** The limits without `perProvider` entries of lanes that are no provider's: those are the tasks'. */
export function providersOnly(limits: Limits | undefined, providers: ReadonlyMap<string, unknown>): Limits {
  const perProvider = limits?.perProvider;
  if (perProvider === undefined) return limits ?? {};
  return {
    ...limits,
    perProvider: Object.fromEntries(Object.entries(perProvider).filter(([name]) => providers.has(name))),
  };
}

/**
 * Keeps each task's end in the cluster's history on this instance (`SessionStore.remember`), before
 * any listener hears it: `status().recent` is the store's one list, tasks' ends and the cluster's
 * in the order they came here, and a page after a cursor of either kind reads on from its entry
 * (the page's cost, whatever the history holds). Until 2026-12-07 the two lists were merged by end
 * time, and a page after a cursor read both whole (up to `historySize` entries each) to place it.
 */
export function rememberTaskEnds(
  tasks: Pick<Runtime, 'subscribe' | 'session'>,
  store: Pick<SessionStore, 'remember'>,
): void {
  tasks.subscribe((event) => {
    if (event.type !== 'session.ended') return;
    const summary = tasks.session(event.sessionId);
    if (summary !== undefined) store.remember(summary);
  });
}

/** The cluster's status with this instance's tasks counted in: queued, running, lanes, bytes (their ends are in its `recent`: `rememberTaskEnds`). */
export function withTaskStatus(cluster: RuntimeStatus, tasks: Runtime): RuntimeStatus {
  const mine = tasks.status({ recent: 0 });
  const byPriority: Record<number, number> = { ...cluster.queuedByPriority };
  for (const [priority, count] of Object.entries(mine.queuedByPriority))
    byPriority[Number(priority)] = (byPriority[Number(priority)] ?? 0) + count;
  const lanes = new Map(cluster.providers.map((p) => [p.name, p]));
  for (const lane of mine.providers) {
    const shared = lanes.get(lane.name);
    // A task lane named after a provider: both counts, and the provider's limit (the tasks' is per instance).
    lanes.set(
      lane.name,
      shared === undefined
        ? lane
        : { ...shared, queued: shared.queued + lane.queued, running: shared.running + lane.running },
    );
  }
  return {
    ...cluster,
    queued: cluster.queued + mine.queued,
    running: cluster.running + mine.running,
    queuedByPriority: byPriority,
    providers: [...lanes.values()],
    queuedBytes: cluster.queuedBytes + mine.queuedBytes,
  };
}

/** Lookups with this instance's tasks in: a task by its id, and the cluster's live sessions, then tasks, up to `limit`. */
export function withTaskSessions(
  cluster: Pick<SessionStore, 'liveSession' | 'liveSessions' | 'ended'>,
  decorate: (summary: SessionSummary) => SessionSummary,
  tasks: Runtime,
): Pick<Runtime, 'session' | 'sessions'> {
  return {
    session: (id) => {
      const task = tasks.session(id);
      if (task !== undefined) return task;
      const live = cluster.liveSession(id);
      return live === undefined ? cluster.ended(id) : decorate(live);
    },
    sessions: ({ limit = 100 } = {}) => {
      const shared = [...cluster.liveSessions()].slice(0, limit).map(decorate);
      return shared.length < limit
        ? [...shared, ...tasks.sessions({ limit: limit - shared.length })]
        : shared;
    },
  };
}

/** The cluster's metrics with this instance's tasks counted in (queued and running come from the merged status). */
export function withTaskMetrics(cluster: RuntimeMetrics, tasks: Runtime): RuntimeMetrics {
  const mine = tasks.metrics();
  return {
    ...cluster,
    submitted: cluster.submitted + mine.submitted,
    rejected: sum(cluster.rejected, mine.rejected),
    ended: sum(cluster.ended, mine.ended),
    retries: cluster.retries + mine.retries,
    providerErrors: sum(cluster.providerErrors, mine.providerErrors),
    tokens: {
      prompt: cluster.tokens.prompt + mine.tokens.prompt,
      completion: cluster.tokens.completion + mine.tokens.completion,
    },
    cost: sum(cluster.cost, mine.cost),
  };
}

function sum<K extends string>(
  a: Readonly<Record<K, number>>,
  b: Readonly<Record<K, number>>,
): Record<K, number> {
  const out = { ...a } as Record<K, number>;
  for (const [key, value] of Object.entries(b) as [K, number][]) out[key] = (out[key] ?? 0) + value;
  return out;
}

/** Both shutdowns' reports as one. */
export function bothShutdowns(a: ShutdownReport, b: ShutdownReport): ShutdownReport {
  return { finished: a.finished + b.finished, cancelled: [...a.cancelled, ...b.cancelled] };
}

/**
 * One supervisor for subscribers, as on one process: the cluster's lifecycle and the tasks' runtime
 * each have one, and both drain and stop on `shutdown()`. `supervisor.draining` is the cluster's
 * (the tasks' begins at the same call, with the same deadline); `supervisor.stopped` goes out once
 * both stopped, naming what either cancelled. The tasks' session events pass through; the
 * cluster's lifecycle broadcasts through the function returned.
 */
export function oneSupervisor(
  tasks: Pick<Runtime, 'subscribe'>,
  broadcast: (event: RuntimeEvent) => void,
): (event: SupervisorEvent) => void {
  let stopped: Extract<SupervisorEvent, { type: 'supervisor.stopped' }> | undefined;
  const stop = (event: Extract<SupervisorEvent, { type: 'supervisor.stopped' }>) => {
    if (stopped === undefined) {
      stopped = event;
      return;
    }
    const at = Math.max(stopped.at, event.at);
    broadcast({ ...event, at, cancelled: [...stopped.cancelled, ...event.cancelled] });
  };
  tasks.subscribe((event) => {
    if (event.type === 'supervisor.stopped') stop(event);
    else if (event.type !== 'supervisor.draining') broadcast(event);
  });
  return (event) => (event.type === 'supervisor.stopped' ? stop(event) : broadcast(event));
}
