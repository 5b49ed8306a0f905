/**
 * The runtime on this instance, everything in memory, as a few small objects:
 * - `Admission` (shared with every backend): refusal while draining, routing, options, counters;
 * - the scheduler and the queue's bytes here, the admission loop in `Pump` (pump.ts);
 * - `Lifecycle`: the supervisor machine;
 * - `SessionDriver`: each session's machine, deadlines and end; `SessionTable`: live and history.
 * A scale-out backend builds on it and hands it sessions its shared queue admitted (`adopt`).
 */
import type { SessionInput } from '../../machines/session.js';
import { type Clock, steadyClock, wallNow } from '../core/clock.js';
import { runtimeError } from '../core/errors.js';
import { queueRoomOf } from '../core/queue-room.js';
import { Scheduler } from '../core/scheduler.js';
import { forEachInSlices } from '../core/slices.js';
import { Admission, type Admitted, type Held } from './admission.js';
import type { AdoptedSession, LocalRuntime } from './backend.js';
import { Breakers } from './breakers.js';
import { Budgets } from './budgets.js';
import { createCallGate } from './call-gates.js';
import { RuntimeCounters } from './counters.js';
import { EventHub } from './event-hub.js';
import { Lending } from './lending.js';
import { Lifecycle } from './lifecycle.js';
import { Limiter } from './limits.js';
import { LocalLimits } from './local-limits.js';
import { MemorySharedState } from './memory-state.js';
import { resolveDefaults, resolveLimits, resolveProviders } from './options.js';
import type { RunRecord } from './ports.js';
import { Pump } from './pump.js';
import { reasonOf, reportError } from './requests.js';
import { heldGoes } from './reroute.js';
import { RunningShare } from './running-share.js';
import { type Alarm, SessionDriver } from './session-driver.js';
import { type HandleOwner, observeSession, RecordHandle } from './session-handle.js';
import { contextOfRun, recordOf, type SessionRecord } from './session-record.js';
import { SessionTable } from './session-table.js';
import { sessionTracing } from './tracing.js';
import type { RuntimeOptions, SessionHandle, SessionResult, SubmitOptions, TaskResult } from './types.js';
import { wallTimes } from './wall-times.js';

export function createLocalRuntime(options: RuntimeOptions): LocalRuntime {
  const providers = resolveProviders(options.providers);
  const limits = resolveLimits(options.limits, providers);
  const defaults = resolveDefaults(options.defaults);
  // Deadlines on the monotonic clock by default; what a user reads, on the wall clock (wall-times.ts).
  const clock: Clock = options.clock ?? steadyClock;
  const wall = wallTimes(clock);
  const onError = options.onError ?? reportError;
  const scheduler = new Scheduler<SessionRecord>(limits);
  const queueRoom = queueRoomOf(limits); // bytes, shares
  for (const name of providers.keys()) scheduler.lane(name);
  const table = new SessionTable(limits.historySize);
  const counters = new RuntimeCounters();
  const events = new EventHub(onError, wall.stamp);
  if (options.tracer !== undefined) events.subscribe(sessionTracing(options.tracer));
  let stopping = false;
  const lifecycle: Lifecycle = new Lifecycle({
    clock,
    onError,
    broadcast: (event) => events.broadcast(wall.supervisor(event)),
    liveCount: () => table.size,
    cancelRemaining: (done) => {
      stopping = true;
      const reason = 'the runtime shut down before it finished (drain deadline passed)';
      const cancelled: string[] = [];
      // In slices: cancelling 100,000 sessions at once held the event loop for seconds.
      forEachInSlices(
        clock,
        table.liveQueuedFirst(),
        (record) => {
          if (driver.cancel(record, reason, 'SHUTTING_DOWN')) cancelled.push(record.input.sessionId);
        },
        () => done(cancelled),
      );
      return undefined;
    },
    stopped: () => driver.deadlines.stop(),
  });
  const sharedState = options.sharedState ?? new MemorySharedState(clock);
  const breakers =
    options.breakers === undefined || options.breakers === false
      ? undefined
      : new Breakers(
          sharedState,
          // Stryker disable next-line ConditionalExpression,BooleanLiteral: `true` names no option either; Breakers spreads only defined options over its defaults.
          options.breakers === true ? {} : options.breakers,
          clock,
          onError,
        );
  const budgets = options.budgets && new Budgets(options.budgets, options.prices, sharedState, clock);
  const admission = new Admission({
    providers,
    limits,
    defaults,
    clock,
    counters,
    router: options.router,
    state: () => lifecycle.state,
    budgets,
  });
  // Limits in providers' own units: a gate on admission and on due retries (local-limits.ts).
  const alarm: Alarm = { wakeAt: 0, heapIndex: -1, fire: () => pump.run() };
  /** Told when a running session's wait at its gate changes (`LocalRuntime.onWaiting`). */
  let waiting: ((sessionId: string) => void) | undefined;
  const rates = new LocalLimits(
    limits.rates,
    clock,
    limits.charge,
    (item, at) => driver.deadlines.schedule(item, at),
    alarm,
    scheduler,
    options.sharedState === undefined
      ? undefined
      : {
          limiter: new Limiter(limits.rates, options.sharedState),
          // A queued session let go (or refused, its cooldown may move others on) waits for a pass.
          go: (record) =>
            record.admitted ? driver.deliver(record, heldGoes(record, clock.now())) : pumpSoon(),
          onError,
          waited: (record) => waiting?.(record.input.sessionId),
        },
  );
  table.waitingOf = (record) => rates.waitingOf(record);
  // Each caller's share of the running sessions, if set (running-share.ts). A share of all the
  // slots holds too: on lent slots (`parent`) a caller may run past `maxConcurrent`, and until
  // 2026-12-06 such a share was left out, so a caller ran past it there (`lending.test.ts`).
  const share =
    options.limits?.maxRunningPerCaller === undefined
      ? undefined
      : new RunningShare(limits.maxRunningPerCaller, rates.holds);
  // A session waited for by another (`SubmitOptions.parent`) may run on its slot (lending.ts).
  const lending = new Lending();
  // The admission loop (pump.ts): a pass on a submit, after an end or an outcome, at the alarm.
  const pump = new Pump({
    clock,
    scheduler,
    queueRoom,
    rates,
    share,
    deliver: (record, event) => driver.deliver(record, event),
    stopping: () => stopping,
    lending,
  });
  const pumpSoon = () => pump.soon();
  const driver = new SessionDriver({
    gate: createCallGate({ breakers, budgets, onError }),
    clock,
    random: options.random ?? Math.random,
    counters,
    events,
    table,
    engine: options,
    prices: options.prices,
    release: (record) => {
      const placeLeft = share?.ended(record) === true;
      queueRoom.release(record); // ended while queued; an admitted one released already (holds 0)
      // On a lent slot, it goes back to its lender; a lender leaves its slot to the child on it.
      const borrowed =
        record.lending !== undefined &&
        lending.ended(record, record.lending, (child, counted) => keepSlot(child, counted, placeLeft));
      if (record.admitted) scheduler.release(record.laneless === true ? null : record.provider, borrowed);
      else scheduler.remove(record);
      // Last: it may reach a `sharedState` of the embedder's, whose throw (reported by the driver)
      // then leaves the runtime's own slot free. Until 2026-12-06 it came first, and kept it taken.
      rates.ended(record);
    },
    observe: (record, event) => {
      // Stryker disable next-line ConditionalExpression,LogicalOperator: a shortcut; the mark is read only when a queued session times out, and the share clears it when it lets one go.
      if (event.type === 'session.tick' && !record.admitted) share?.timingOut(record);
      if (rates.observe(record, event)) pumpSoon();
    },
    mayRetry: (record) => pump.retry(record),
    callLeft: (record) => {
      rates.callLeft(record);
      pumpSoon();
    },
    ended: () => {
      lifecycle.sessionEnded();
      pumpSoon();
    },
  });

  /**
   * A child keeps the slot its ended lender lent it (`counted`: the lender's own, now the child's in
   * the count; else one lent to the lender, which the child runs on from the lender's lender), and
   * the place in its caller's share the lender left (of the lender's caller, the lender's; else it
   * holds one already, or runs in the place of its new lender, of its caller too).
   */
  function keepSlot(child: SessionRecord, counted: boolean, placeLeft: boolean): void {
    if (counted) scheduler.keep();
    // A place left implies a share.
    if (placeLeft) (share as RunningShare).started(child);
  }

  /**
   * Queues a new record and hands back its handle; `parent`: the live session it was submitted
   * within, linked once the queue took it (a refused one is linked to nothing).
   */
  function track(
    record: SessionRecord,
    held: Held,
    signal?: AbortSignal,
    parent?: SessionRecord,
  ): SessionHandle<unknown> {
    const now = clock.now();
    const sessionId = record.input.sessionId;
    // A child its parent's slot takes at once waits past the queue's counts (one a parent at a time).
    const past = lending.mayQueuePast(parent);
    admission.roomFor(queueRoom, held.bytes, held.owner, past);
    record.depth = queueRoom.depthOf(held.owner, record); // its turn among callers, before it takes its place
    if (!scheduler.enqueue(record, past)) admission.queueFull(scheduler.queued);
    queueRoom.hold(record, held.bytes, held.owner, record);
    lending.link(record, parent);
    rates.queued(record);
    share?.check(record); // named as held by its caller's share while it is (`holdsAll` looks at none)
    counters.submitted++;
    const result = new Promise<SessionResult | TaskResult<unknown>>((resolve) => {
      record.resolve = resolve;
    });
    table.add(record);
    driver.deadlines.schedule(record, record.input.queueDeadlineAt);
    // Stryker disable next-line ConditionalExpression: a shortcut that saves building the event; a new record has no observers, and with no listener `emit` calls nobody.
    if (events.listening) {
      events.emit(record, {
        type: 'session.queued',
        sessionId,
        position: scheduler.position(record),
        at: now,
      });
    }
    // An adopted session (queued elsewhere) can arrive past its queue deadline: it ends after its
    // `session.queued`. One submitted here cannot, whatever the clock read meanwhile (a thread
    // preempted mid-submit, under load, read past a 20 ms deadline and timed out with room free).
    // Stryker disable next-line ConditionalExpression: `true` ticks an adopted session not yet due as well, which finds nothing due (the machine's guard) and is admitted next.
    const due = record.input.queueDeadlineAt <= now;
    if (record.leased === true && due && record.actor === null)
      driver.deliver(record, { type: 'session.tick', now });
    if (signal !== undefined) {
      const onAbort = () => driver.cancel(record, reasonOf(signal));
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: a signal aborts once, and the listener goes when the session ends (detachSignal).
      signal.addEventListener('abort', onAbort, { once: true });
      record.detachSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
    pump.run();
    return new RecordHandle(record, result, owner);
  }

  const put = (admitted: Admitted, options: SubmitOptions) => {
    // Stryker disable next-line ConditionalExpression: a shortcut; no session has the id `undefined`, and `link` links nothing to none.
    const parent = options.parent === undefined ? undefined : table.get(options.parent);
    return track(recordOf(admitted), admitted, options.signal, parent);
  };

  /** Runs a session a shared queue admitted for this instance; see `AdoptedSession`. */
  function adopt(session: AdoptedSession): SessionHandle {
    admission.refuseWhileDraining();
    const provider = providers.get(session.input.provider);
    if (provider === undefined) {
      throw runtimeError(
        'UNKNOWN_PROVIDER',
        `Expected a provider named "${session.input.provider}" here, got none`,
      );
    }
    const record = recordOf({
      input: session.input,
      work: {
        kind: 'chat',
        provider,
        request: session.request,
        // As `routeChat` gives it: without targets a session never leaves its provider (`workFor`).
        providers,
      },
      label: session.label,
      caller: session.caller,
      callerTruncated: session.callerTruncated === true,
    });
    // Charged to the shared limits when the queue leased it: the call's outcome settles that charge.
    record.limitStart = session.limitStart ?? null;
    record.leased = true;
    // Its provider cools down past its queue deadline: it moves on to its next target at once.
    record.reroute = session.reroute;
    const restore = session.restore;
    if (restore !== undefined) {
      // Taken over from a lost instance: resume between attempts, so the next one counts as
      // a further attempt and the original run deadline still holds; with fallbacks, on the
      // target it had reached, its route so far kept.
      const context = contextOfRun(session.input as SessionInput, restore, clock.now());
      driver.restore(record, { running: 'backingOff' }, context);
      record.leaf = 'backingOff';
    }
    // Its bytes and its caller's share were counted at the instance it was submitted to.
    return track(record, { bytes: 0, owner: undefined }, session.signal) as SessionHandle;
  }

  function runRecord(id: string): RunRecord | undefined {
    const context = table.get(id)?.actor?.getSnapshot().context;
    // Stryker disable next-line ConditionalExpression: the machine sets startedAt and runDeadlineAt together (machines/session.ts): either check alone suffices.
    if (context === undefined || context.startedAt === null || context.runDeadlineAt === null)
      return undefined;
    const { attempts, startedAt, runDeadlineAt, routing } = context;
    return routing === null
      ? { attempts, startedAt, runDeadlineAt }
      : { attempts, startedAt, runDeadlineAt, routing };
  }

  const owner: HandleOwner = {
    observe: (record) => observeSession(record, wallNow(clock), (r) => scheduler.position(r)),
    cancel: (record, reason) => driver.cancel(record, reason),
  };
  return {
    submit: (request, submitOptions: SubmitOptions = {}) =>
      put(admission.chat(request, submitOptions), submitOptions) as SessionHandle,
    run: (task, runOptions) => put(admission.task(task, runOptions), runOptions) as SessionHandle<never>,
    adopt,
    runRecord,
    budgets,
    wake: (provider, sessionId) => rates.wake(provider, sessionId),
    onWaiting: (listener) => {
      waiting = listener;
    },
    shutdown: ({ deadlineMs = 10_000 } = {}) => lifecycle.shutdown(deadlineMs),
    providers: [...providers.keys()],
    ready: Promise.resolve(),
    status: ({ recent = 20, owner, after } = {}) => ({
      state: lifecycle.state,
      queued: scheduler.queued,
      running: scheduler.running,
      queuedByPriority: scheduler.queuedByPriority(),
      providers: scheduler.providers(),
      maxConcurrent: limits.maxConcurrent,
      maxRunningPerCaller: limits.maxRunningPerCaller,
      maxQueued: limits.maxQueued,
      maxQueuedPerCaller: limits.maxQueuedPerCaller,
      maxQueuedBytes: limits.maxQueuedBytes,
      maxQueuedBytesPerCaller: limits.maxQueuedBytesPerCaller,
      queuedBytes: queueRoom.held,
      defaults: {
        priority: defaults.priority,
        timeoutMs: defaults.timeoutMs,
        queueTimeoutMs: defaults.queueTimeoutMs,
      },
      recent: wall.summaries(table.recent(recent, owner, after)),
      ...(breakers === undefined ? {} : { breakers: wall.breakers(breakers.views()) }),
      // A shared state read only asynchronously (Redis): its backend's view reports them.
      ...(limits.rates.size === 0 || !((options.sharedState ?? rates.state) instanceof MemorySharedState)
        ? {}
        : { limits: wall.budgets(rates.budgets([...limits.rates.keys()])) }),
    }),
    session: (id) => wall.summary(table.summary(id)),
    sessions: ({ limit = 100 } = {}) => wall.summaries(table.summaries(limit)),
    cancel: (id, reason = 'cancelled by request') => {
      const record = table.get(id);
      return record === undefined ? false : driver.cancel(record, reason);
    },
    metrics: () => ({
      ...counters.snapshot(scheduler.queued, scheduler.running),
      limits: {
        waits: { ...rates.counters.waits },
        rateLimited: rates.counters.rateLimited,
        cooldowns: rates.counters.cooldowns,
      },
    }),
    subscribe: (listener) => events.subscribe(listener),
  };
}
