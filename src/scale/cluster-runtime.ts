/**
 * The cluster runtime, written once over the ports (`ClusterPorts`, `src/runtime/ports.ts`):
 * admission (`Admission`, shared with the in-memory runtime, so refusals are the same and counted
 * the same), the lifecycle (`Lifecycle`, the supervisor machine), the session machine (run by the
 * local runtime this wraps) and the ports: the queue and its shared limits, the shared state, the
 * session store and the event bus. Any instance can submit, watch, cancel and read any session.
 * Nothing here knows which backend the ports are: Redis (`redis-ports.ts`) or one process
 * (`memory-cluster.ts`).
 *
 * What stays here is the caller's side of a cluster session: the owner that waits for the one
 * `session.ended`, ends queued sessions at their deadline or on cancel (a withdrawal), and recovers
 * after the shared server comes back. The leased side is `lease-runner.ts`.
 */
import { atTime, type Clock, retriedWhileAway, systemClock } from '../core/clock.js';
import { runtimeError } from '../core/errors.js';
import {
  Admission,
  Lifecycle,
  Listeners,
  type LocalRuntime,
  RuntimeCounters,
  reasonOf,
  reportError,
  resolveDefaults,
  resolveLimits,
  resolveProviders,
  safeReporter,
  withSharedSlots,
} from '../runtime/backend.js';
import type { BusMessage, ClusterContext, ClusterPorts } from '../runtime/ports.js';
import type {
  Runtime,
  RuntimeEvent,
  RuntimeOptions,
  SessionEvent,
  SessionHandle,
  SessionRequest,
  SessionResult,
  SubmitOptions,
} from '../runtime/types.js';
import { CallerRuns } from './caller-runs.js';
import { Cancels } from './cancels.js';
import { closeWithin } from './closing.js';
import { clusterMetrics, clusterStatus } from './cluster-status.js';
import {
  bothShutdowns,
  createTaskRuntime,
  oneSupervisor,
  providersOnly,
  withTaskMetrics,
  withTaskSessions,
  withTaskStatus,
} from './cluster-tasks.js';
import { applyMessage, EndedHere, missedEnd } from './ended-here.js';
import { Inflight } from './inflight.js';
import { endedAt, type JobData, jobDataOf, queuedEvent, queuedSummary, unavailable } from './job-data.js';
import { LeaseRunner } from './lease-runner.js';
import { LimitsView } from './limits-view.js';
import { backstop, closeOwner, createOwner, notify, type Owner, ownerHandle, Waiting } from './owner.js';
import { probeAnswered } from './probe-answered.js';
import { leaveUnfinished, type UnfinishedMode, unfinishedMode } from './unfinished.js';
import { Withdrawals } from './withdrawals.js';

const BACKSTOP_GRACE_MS = 10_000;
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
  const providers = resolveProviders(options.providers);
  // A provider's concurrency is the shared limiter's too (a fallback hop counts); a task lane's, this instance's.
  const sharedLimits = withSharedSlots(providersOnly(options.limits, providers));
  const limits = resolveLimits(sharedLimits, providers);
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
    backend: undefined,
    sharedState,
    limits: { ...sharedLimits, ...LOCAL_UNBOUNDED },
  });
  // Tasks run here, under this instance's limits (`cluster-tasks.ts`); their events go to this runtime's listeners.
  const tasks = createTaskRuntime(options, makeLocal);
  const counters = new RuntimeCounters();
  const owners = new Map<string, Owner>();
  /** Owners whose session has not started yet, and their request bytes: what this instance keeps. */
  const waiting = new Waiting(limits);
  const listeners = new Listeners<RuntimeEvent>();
  const supervisorEvents = oneSupervisor(tasks, broadcast);
  const delay = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(() => resolve(), ms));

  let leasing: Promise<void> = Promise.resolve();
  let handingBack: Promise<unknown> = Promise.resolve();
  let mode: UnfinishedMode = 'leave';
  let leaving = false;
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
        leaving = true; // from here on its callers hear what the shutdown tells them, not an end on the bus
        const end = (id: string, result: SessionResult) => endOwner(id, result, undefined, true);
        const unfinished = { mode, owners, runner, store, clock, onError, cancel: cancels.retried, end };
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
  const providerOf = (id: string) => owners.get(id)?.data.input.provider;
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
        for (const id of owners.keys()) void recover(id);
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
      { recent, owner, after },
      store,
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
    if ('sessionId' in event) {
      const owner = owners.get(event.sessionId);
      // Past the drain deadline its caller's end is the shutdown's (`leaveUnfinished`), events included.
      if (owner !== undefined && !(leaving && event.type === 'session.ended')) {
        if (event.type === 'session.started') waiting.started(owner);
        const { provider: _p, label: _l, ...sessionEvent } = event;
        notify(owner, sessionEvent as SessionEvent);
        if (event.type === 'session.ended') endOwner(event.sessionId, event.result as SessionResult);
      }
    }
    if (applied === 'fresh') broadcast(event);
  }

  function broadcast(event: RuntimeEvent): void {
    listeners.tell(event, reportListener);
  }

  function endOwner(id: string, result: SessionResult, missed?: RuntimeEvent, atShutdown = false): void {
    const owner = owners.get(id);
    if (owner === undefined || leaving !== atShutdown || !owners.delete(id)) return;
    waiting.ended(owner);
    closeOwner(clock, owner, result);
    store.delivered?.(result).catch(onError);
    lifecycle.sessionEnded();
    if (missed !== undefined) broadcast(missed);
  }

  /** After a reconnect: a result published while cut off is read back and told (`missedEnd`); a queued
   * session whose job and result are both gone was lost by a server back empty: BACKEND_UNAVAILABLE. */
  async function recover(id: string): Promise<void> {
    for (let tries = 0; tries < 40 && !up(); tries++) await delay(250);
    const owner = owners.get(id);
    if (owner === undefined) return;
    try {
      // The job first: a job leaves its queue only after its result is set.
      const queued = owner.started || (await queue.waiting(owner.data.input.provider, id));
      const result = await store.result(id);
      if (result !== undefined) endOwner(id, result, missedEnd(store, owner.data, result));
      else if (!queued)
        await endUnavailable(owner.data, `${connection.name} came back without the queued session`);
    } catch (error) {
      // Cut off again: the next reconnect tries again, and the backstop ends it at the latest.
      if (up()) onError(error);
    }
  }

  /** Ends a session the shared server could not take or lost. Through `settle` when it answers (so
   * the cluster hears); otherwise here only: the mirror drops it and local listeners hear the end. */
  async function endUnavailable(data: JobData, message: string, settle = true): Promise<void> {
    const { sessionId: id, provider } = data.input;
    const result = unavailable(data, message, clock.now());
    // The server refusing here is the very failure being reported: the session ends locally instead.
    const settled =
      settle && (await store.settle(result, data.label, endedAt(data, result)).catch(() => false));
    if (!settled) {
      store.forget(result);
      // Redis may still tell its real end (a lease's, `confirmed.ts`; the backstop's): it takes this one's place.
      endsHere.provisional.add(id);
      const label = data.label === undefined ? {} : { label: data.label };
      broadcast({ type: 'session.ended', sessionId: id, result, at: clock.now(), provider, ...label });
    }
    endOwner(id, result);
  }

  function guard(id: string): void {
    const owner = owners.get(id);
    if (owner === undefined) return;
    const giveUp = (message: string) => void endUnavailable(owner.data, message, false);
    backstop(owner, { store, queue, onError, clock, giveUp, end: (r) => endOwner(id, r) }).catch(onError);
  }

  function submit(request: SessionRequest, submitOptions: SubmitOptions = {}): SessionHandle {
    const admitted = admission.chat(request, submitOptions);
    if (!up()) {
      admission.refuse(
        runtimeError(
          'BACKEND_UNAVAILABLE',
          `Expected ${connection.name} to be reachable, got a connection that is ${connection.status()}; retry later`,
        ),
      );
    }
    // What this instance keeps: the sessions submitted here that have not started, their bytes and
    // each caller's share of them (checked first, as the in-memory runtime does), and their number.
    admission.roomFor(waiting.room, admitted.bytes, admitted.owner);
    if (waiting.count >= limits.maxQueued) admission.queueFull(waiting.count);
    counters.submitted++;
    const { input } = admitted;
    const sessionId = input.sessionId;
    const data = jobDataOf(admitted, waiting.room.depthOf(admitted.owner, admitted.input));
    const owner = createOwner(data);
    owners.set(sessionId, owner);
    waiting.add(owner, admitted.bytes, admitted.owner);
    const queueTimeoutMs = input.queueDeadlineAt - input.createdAt;
    // At the deadline by the clock, not when a timer says: a tick before it left the machine queued.
    atTime(clock, input.queueDeadlineAt, owner.timers, () => {
      if (!owner.started) withdrawals.withdraw(input.provider, sessionId, 'tick').catch(onError);
    });
    atTime(clock, clock.now() + queueTimeoutMs + input.timeoutMs + BACKSTOP_GRACE_MS, owner.timers, () =>
      guard(sessionId),
    );
    // The summary (its caller's metadata beside it) and the job at once; `put` writes nothing once ended. The summary goes first, on its deadline's connection.
    const event = queuedEvent(data, store, waiting);
    Promise.all([store.put(queuedSummary(data), event, data), queue.add(data)]).catch(
      (error: unknown) =>
        void endUnavailable(
          data,
          `Expected ${connection.name} to take the session, got ${(error as Error).message}`,
        ),
    );
    const cancelHere = (reason: string) => cancels.away(sessionId, reason);
    const signal = submitOptions.signal;
    if (signal !== undefined) {
      const onAbort = () => cancelHere(reasonOf(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      owner.detachSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
    return ownerHandle(clock, owner, store, waiting, () => owners.has(sessionId), cancelHere);
  }

  return {
    submit,
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
