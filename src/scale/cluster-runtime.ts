/**
 * The cluster runtime, written once over the ports (`ClusterPorts`, `src/runtime/ports.ts`):
 * admission (`Admission`, shared with the in-memory runtime, so refusals are the same and counted
 * the same), the lifecycle (`Lifecycle`, the supervisor machine), the session machine (run by the
 * local runtime this wraps) and the ports: the queue and its shared limits, the shared state, the
 * session store and the event bus. Any instance can submit, watch, cancel and read any session.
 * Nothing here knows which backend the ports are: Redis (`redis-ports.ts`) or one process
 * (`memory-cluster.ts`).
 *
 * What stays here is the composition: the bus heard and told on, the instance's start, sweep and
 * reconnects, cancels, status and the shutdown. The caller's side of a cluster session (the
 * sessions submitted here, from the submit to their one `session.ended`, recovered after the shared
 * server comes back) is `owners-here.ts`; the leased side is `lease-runner.ts`; a queued session
 * ended at its deadline or on cancel (a withdrawal) is `withdrawals.ts`.
 */
import { type Clock, retriedWhileAway, systemClock } from '../core/clock.js';
import { runtimeError } from '../core/errors.js';
import {
  Admission,
  Lifecycle,
  Listeners,
  type LocalRuntime,
  RuntimeCounters,
  reportError,
  resolveDefaults,
  resolveLimits,
  resolveProviders,
  safeReporter,
  withSharedSlots,
} from '../runtime/backend.js';
import type { BusMessage, ClusterContext, ClusterPorts } from '../runtime/ports.js';
import type { Runtime, RuntimeEvent, RuntimeOptions, SessionResult } from '../runtime/types.js';
import { CallerRuns } from './caller-runs.js';
import { Cancels } from './cancels.js';
import { closeWithin } from './closing.js';
import { clusterMetrics, clusterStatus } from './cluster-status.js';
import {
  bothShutdowns,
  createTaskRuntime,
  oneSupervisor,
  providersOnly,
  rememberTaskEnds,
  withTaskMetrics,
  withTaskSessions,
  withTaskStatus,
} from './cluster-tasks.js';
import { applyMessage, EndedHere } from './ended-here.js';
import { Inflight } from './inflight.js';
import { LeaseRunner } from './lease-runner.js';
import { LimitsView } from './limits-view.js';
import { OwnersHere } from './owners-here.js';
import { probeAnswered } from './probe-answered.js';
import { leaveUnfinished, type UnfinishedMode, unfinishedMode } from './unfinished.js';
import { Withdrawals } from './withdrawals.js';

/** The bounds of the runtime that runs leased sessions: none that matter (the shared queue and this file's bound what waits). */
const LOCAL_UNBOUNDED = {
  perProvider: {},
  maxConcurrent: 1e6,
  maxRunningPerCaller: 1e6, // the lease runner's (`caller-runs.ts`)
  maxQueued: 1e6,
  maxQueuedBytes: 2 ** 53 - 1,
};

export function createClusterRuntime(
  options: RuntimeOptions,
  makeLocal: (options: RuntimeOptions) => LocalRuntime,
  makePorts: (context: ClusterContext) => ClusterPorts,
): Runtime {
  refuseSteadyClock(options.clock);
  const providers = resolveProviders(options.providers);
  // A provider's concurrency is the shared limiter's too (a fallback hop counts); a task lane's, this instance's.
  const sharedLimits = withSharedSlots(providersOnly(options.limits, providers));
  const limits = resolveLimits(sharedLimits, providers);
  // The wall clock, not the local runtime's default `steadyClock`: queue and run deadlines, rate
  // windows and cooldowns are epoch times in Redis that every instance reads on its own clock.
  const clock: Clock = options.clock ?? systemClock;
  const onError = options.onError ?? reportError;
  const reportListener = safeReporter(onError);
  // Ends written here for sessions the local runtime did not run: in `metrics().ended` (`ended-here.ts`).
  const endsHere = new EndedHere(() => local);
  const ports = endsHere.ports(makePorts({ providers: [...providers.keys()], limits, clock, onError }));
  // Every call into the ports (from here and from the local runtime) is counted: shutdown waits for them.
  // Limits in providers' own units, cooldowns, breakers and budgets live in the shared state, shared by every instance.
  const inflight = new Inflight();
  const { queue, store, bus, connection, state: sharedState, limits: queueLimits } = inflight.ports(ports);
  // Admission is the shared queue's; locally a leased session starts at once, retries ask the limiter.
  const local = makeLocal({
    ...options,
    clock,
    backend: undefined,
    sharedState,
    limits: { ...sharedLimits, ...LOCAL_UNBOUNDED },
  });
  // Tasks run here, under this instance's limits (`cluster-tasks.ts`); their events go to this runtime's listeners.
  const tasks = createTaskRuntime(options, makeLocal);
  const counters = new RuntimeCounters();
  const listeners = new Listeners<RuntimeEvent>();
  rememberTaskEnds(tasks, store); // before `oneSupervisor` tells listeners the end
  const supervisorEvents = oneSupervisor(tasks, broadcast);

  let leasing: Promise<void> = Promise.resolve();
  let handingBack: Promise<unknown> = Promise.resolve();
  let mode: UnfinishedMode = 'leave';
  /** Aborted when the close lets go of Redis: the shutdown's cancels stop being tried again. */
  const givingUp = new AbortController();
  let sweepTimer: unknown;
  const lifecycle: Lifecycle = new Lifecycle({
    clock,
    onError,
    broadcast: supervisorEvents,
    liveCount: () => owners.size + runner.size,
    // Stop taking sessions (one on its way goes back); queued ones stay in the queue for the others.
    draining: () => {
      runner.stopTaking();
      leasing = queue.stopLeasing();
    },
    cancelRemaining: (done) => {
      // Outside the supervisor's action: a handed-over result runs the session machine (`resultOf`), and
      // an XState actor run in another's custom action warns on every `assign`. The report names the callers.
      queueMicrotask(() => {
        owners.leave(); // from here on its callers hear what the shutdown tells them, not an end on the bus
        const end = (id: string, result: SessionResult) => owners.end(id, result, undefined, true);
        const unfinished = {
          mode,
          owners: owners.byId,
          runner,
          store,
          clock,
          onError,
          cancel: cancels.retried,
          end,
        };
        const left = leaveUnfinished(unfinished);
        handingBack = left.settling;
        done(left.ids);
      });
      return undefined;
    },
    // Within `closeTimeoutMs` (`closing.ts`): what cannot close by then is dropped, and reported.
    stopped: () =>
      closeWithin({
        clock,
        onError,
        ports,
        inflight,
        handingBack,
        leasing,
        stopLocal: () => {
          clock.clearTimeout(sweepTimer);
          view.stop();
          return local.shutdown({ deadlineMs: 0 });
        },
        letGo: () => {
          runner.letGo();
          givingUp.abort();
        },
      }),
  });
  const admission = new Admission({
    providers,
    limits,
    defaults: resolveDefaults(options.defaults),
    clock,
    counters,
    router: options.router,
    state: () => lifecycle.state,
    // A caller this instance saw spent is refused at once, as in memory; the gate checks before each call.
    budgets: local.budgets,
  });
  // The sessions submitted here, from the submit to their one end (`owners-here.ts`).
  const owners = new OwnersHere(limits, {
    admission,
    counters,
    clock,
    onError,
    store,
    queue,
    connection,
    provisional: endsHere.provisional,
    broadcast,
    sessionEnded: () => lifecycle.sessionEnded(),
    // Tried again while Redis is away, as a cancel is (every 500 ms, about 30 s, until the close lets go).
    withdraw: (provider, id) =>
      retriedWhileAway(clock, () => withdrawals.withdraw(provider, id, 'tick'), 61, 500, givingUp.signal),
    cancel: (id, reason) => cancels.away(id, reason),
  });
  const { waiting } = owners;
  const ended = () => lifecycle.workEnded();
  const viewed = resolveLimits(options.limits, providers).rates;
  const view = new LimitsView(sharedState, viewed, local.providers, clock, onError);
  const callers = new CallerRuns(limits.maxRunningPerCaller, limits.maxConcurrent, (caller) =>
    queue.wakeCaller(caller),
  );
  const runner = new LeaseRunner({
    local,
    store,
    bus,
    clock,
    onError,
    limits,
    sharedState,
    queue,
    ended,
    view,
    callers,
  });
  const withdrawals = new Withdrawals({ queue, store, runner, view, clock, onError });
  const providerOf = (id: string) => owners.providerOf(id);
  const cancels = new Cancels({
    store,
    bus,
    runner,
    withdrawals,
    providerOf,
    clock,
    onError,
    givingUp: givingUp.signal,
  });

  const ready = (async () => {
    await queueLimits.apply();
    await store.load();
    await bus.listen({
      event: onBus,
      cancel: (message) => runner.cancel(message.sessionId, message.reason),
      reconnected: () => {
        void retriedWhileAway(clock, () => store.load(), 41, 250).catch(onError); // its connection may come back later
        owners.recoverAll();
        cancels.missed();
      },
    });
    if (ports.work) queue.lease((lease) => runner.take(lease, queue));
    armSweep();
    view.start();
  })();
  ready.catch(onError);

  // The limits again on every reconnect: a server that came back empty (no persistence) lost them.
  connection.onReady(() => void retriedWhileAway(clock, () => queueLimits.apply(), 41, 250).catch(onError));
  const up = () => connection.status() === 'ready';
  const status = (recent: number, owner: string | undefined, after?: string) =>
    withTaskStatus(
      clusterStatus(store, local, limits, lifecycle.state, { recent, owner, after }, view, waiting.room.held),
      tasks,
    );

  function armSweep(): void {
    if (lifecycle.state === 'stopped') return;
    sweepTimer = clock.setTimeout(() => {
      (up() ? withdrawals.sweep() : Promise.resolve()).catch(onError).finally(armSweep);
    }, ports.sweepIntervalMs);
  }

  function onBus(message: BusMessage): void {
    // A summary alone (`putSummary`): the mirror shows it, nobody is told.
    if (message.event === undefined) return void store.apply(message);
    const event = message.event;
    // Its one end: a run of it here (its lease lapsed, run elsewhere too) stops; this run's own echo, nothing.
    if (event.type === 'session.ended') runner.endedElsewhere(event.sessionId);
    const applied = applyMessage(store, message, endsHere.provisional);
    if (applied === 'late') return;
    // Maybe a probe's answer: what it held back here looks again.
    const answered = probeAnswered(event);
    if (answered !== undefined) {
      queue.wake(answered.provider, answered.sessionId);
      local.wake(answered.provider, answered.sessionId);
    }
    owners.heard(event);
    if (applied === 'fresh') broadcast(event);
  }

  function broadcast(event: RuntimeEvent): void {
    listeners.tell(event, reportListener);
  }

  return {
    submit: (request, submitOptions) => owners.submit(request, submitOptions),
    run: (task, runOptions) => tasks.run(task, runOptions),
    shutdown: async ({ deadlineMs = 10_000, unfinished } = {}) => {
      mode = unfinishedMode(unfinished);
      return bothShutdowns(
        ...(await Promise.all([lifecycle.shutdown(deadlineMs), tasks.shutdown({ deadlineMs })])),
      );
    },
    providers: local.providers,
    ready,
    status: ({ recent = 20, owner, after } = {}) => status(recent, owner, after),
    ...withTaskSessions(store, (summary) => view.decorate(summary), tasks),
    cancel: (id, reason = 'cancelled by request') => {
      if (tasks.cancel(id, reason)) return true;
      if (store.liveSession(id) === undefined && !owners.has(id) && !runner.has(id)) return false;
      cancels.away(id, reason);
      return true;
    },
    metrics: () =>
      withTaskMetrics(
        clusterMetrics(status(0, undefined), counters, local, view, runner.stopped, endsHere.counts),
        tasks,
      ),
    subscribe: (listener) => listeners.add(listener),
  };
}

/**
 * A clock with `wall()` says its `now()` follows no wall clock (`steadyClock`'s counts from where the
 * wall clock stood when its process loaded): a cluster's deadlines, rate windows and cooldowns are
 * epoch times in Redis that every instance reads on its own clock, so such a clock put them off on
 * every other instance by however far it had parted from theirs (docs/scale-out.md).
 */
function refuseSteadyClock(clock: Clock | undefined): void {
  if (clock?.wall === undefined) return;
  throw runtimeError(
    'INVALID_REQUEST',
    "Expected `clock` of a cluster runtime to read the wall clock (`systemClock`, the default, or a clock without `wall()`), got one with `wall()` (such as `steadyClock`): a cluster's deadlines are epoch times every instance reads",
  );
}
