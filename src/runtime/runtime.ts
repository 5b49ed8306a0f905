/**
 * `createRuntime()`: the supervisor. It owns the scheduler (admission policy), one deadline heap
 * (every session's timers), the supervisor machine (lifecycle) and a session actor per admitted
 * session, and turns provider calls into events for those actors.
 */
import {
  initialContext,
  leafState,
  nextWakeAt,
  type SessionContext,
  type SessionInput,
  type SessionMachineEvent,
} from '../../machines/session.js';
import { type Clock, systemClock } from '../core/clock.js';
import { DeadlineHeap } from '../core/deadlines.js';
import { describe, runtimeError, TroupeError } from '../core/errors.js';
import { capMetadata } from '../core/metadata.js';
import { Scheduler } from '../core/scheduler.js';
import { forEachInSlices } from '../core/slices.js';
import type { ChatProvider } from '../providers/port.js';
import type { AdoptedSession, LocalRuntime } from './backend.js';
import { RuntimeCounters } from './counters.js';
import { EventHub } from './event-hub.js';
import { EndedSessions } from './history.js';
import { flatUUID } from './ids.js';
import { Lifecycle } from './lifecycle.js';
import {
  type ResolvedSubmitOptions,
  resolveDefaults,
  resolveLimits,
  resolveProviders,
  resolveSubmitOptions,
  sessionInput,
} from './options.js';
import { chatRequest, defaultRouter, reasonOf, reportError } from './requests.js';
import { provideSessionMachine } from './session-actions.js';
import { type SessionActor, sessionEngine } from './session-engine.js';
import { type HandleOwner, observeSession, RecordHandle } from './session-handle.js';
import {
  buildResult,
  failedInside,
  type SessionRecord,
  type SessionWork,
  summarize,
} from './session-record.js';
import type {
  FinalState,
  RunOptions,
  Runtime,
  RuntimeOptions,
  SessionHandle,
  SessionRequest,
  SessionResult,
  SessionSummary,
  SubmitOptions,
  TaskFunction,
  TaskResult,
} from './types.js';

export function createRuntime(options: RuntimeOptions): Runtime {
  const backend = options.backend;
  return backend === undefined || backend.kind === 'memory'
    ? createLocalRuntime(options)
    : backend.createRuntime(options, createLocalRuntime);
}

/**
 * The runtime on this instance: everything in memory. A scale-out backend builds on it and hands
 * it sessions its shared queue admitted (`adopt`).
 */
export function createLocalRuntime(options: RuntimeOptions): LocalRuntime {
  const providers = resolveProviders(options.providers);
  const limits = resolveLimits(options.limits);
  const defaults = resolveDefaults(options.defaults);
  const clock: Clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const route = options.router ?? defaultRouter(providers, defaults);
  const onError = options.onError ?? reportError;

  const scheduler = new Scheduler<SessionRecord>(limits);
  for (const name of providers.keys()) scheduler.lane(name);
  const live = new Map<string, SessionRecord>();
  const history = new EndedSessions(limits.historySize);
  const counters = new RuntimeCounters();
  const events = new EventHub(onError);
  const deadlines = new DeadlineHeap<SessionRecord>(clock, (record, now) => {
    if (record.result === null) deliver(record, { type: 'session.tick', now });
  });

  let pumping = false;
  let stopping = false;

  // The session whose actor is handling an event (see `SessionEffects.current`).
  let handling: SessionRecord | null = null;
  const machine = provideSessionMachine({
    clock,
    random,
    counters,
    events,
    current: () => handling as SessionRecord,
    deliver: (record, event) => deliver(record, event),
  });
  const engine = sessionEngine(machine, options);

  const lifecycle = new Lifecycle({
    clock,
    broadcast: (event) => events.broadcast(event),
    liveCount: () => live.size,
    cancelRemaining: (done) => {
      stopping = true;
      // Queued first, so cancelling a running session frees no slot for a queued one.
      const remaining: SessionRecord[] = [];
      for (const record of live.values()) if (!record.admitted) remaining.push(record);
      for (const record of live.values()) if (record.admitted) remaining.push(record);
      const reason = 'the runtime shut down before it finished (drain deadline passed)';
      const cancelled: string[] = [];
      // In slices: cancelling 100,000 sessions at once held the event loop for seconds.
      forEachInSlices(
        clock,
        remaining,
        (record) => {
          if (cancel(record, reason, 'SHUTTING_DOWN')) cancelled.push(record.input.sessionId);
        },
        () => done(cancelled),
      );
    },
    stopped: () => deadlines.stop(),
  });

  function refuseWhileDraining(): void {
    if (lifecycle.state !== 'accepting') {
      counters.reject('SHUTTING_DOWN');
      throw runtimeError(
        'SHUTTING_DOWN',
        'Expected the runtime to accept work, got a runtime that is shutting down',
      );
    }
  }

  /** Counts a refused submission under its code, then rethrows what refused it. */
  function refused(error: unknown): never {
    counters.reject(error instanceof TroupeError ? error.code : 'INVALID_REQUEST');
    throw error;
  }

  /** Runs `resolve` for a submission, counting a refusal under its code before rethrowing it. */
  function admitting<T>(resolve: () => T): T {
    try {
      return resolve();
    } catch (error) {
      return refused(error);
    }
  }

  function submit(request: SessionRequest, submitOptions: SubmitOptions = {}): SessionHandle {
    refuseWhileDraining();
    let target: { provider: string; model: string };
    let provider: ChatProvider | undefined;
    let resolved: ResolvedSubmitOptions;
    try {
      target = route(request);
      provider = providers.get(target.provider);
      if (provider === undefined) {
        const known = [...providers.keys()].map((n) => `"${n}"`).join(', ');
        const expected =
          providers.size === 0 ? 'a chat provider (this runtime has none)' : `a provider among ${known}`;
        throw runtimeError('UNKNOWN_PROVIDER', `Expected ${expected}, got "${target.provider}"`);
      }
      resolved = resolveSubmitOptions(submitOptions, defaults);
    } catch (error) {
      refused(error);
    }
    const work: SessionWork = { kind: 'chat', provider, request: chatRequest(request, target.model) };
    return enqueue(
      work,
      target.provider,
      target.model,
      request.stream === true,
      resolved,
      submitOptions,
    ) as SessionHandle;
  }

  function run<T>(task: TaskFunction<T>, runOptions: RunOptions): SessionHandle<TaskResult<T>> {
    refuseWhileDraining();
    const resolved = admitting(() => {
      if (typeof task !== 'function') {
        throw runtimeError('INVALID_REQUEST', `Expected a task function, got ${describe(task)}`);
      }
      if (typeof runOptions?.lane !== 'string' || runOptions.lane === '') {
        throw runtimeError(
          'INVALID_REQUEST',
          `Expected \`lane\` to be a non-empty string, got ${describe(runOptions?.lane)}`,
        );
      }
      return resolveSubmitOptions({ maxAttempts: 1, ...runOptions }, defaults);
    });
    const work: SessionWork = { kind: 'task', task };
    const name = runOptions.name ?? runOptions.lane;
    return enqueue(work, runOptions.lane, name, false, resolved, runOptions) as SessionHandle<TaskResult<T>>;
  }

  function enqueue(
    work: SessionWork,
    lane: string,
    model: string,
    stream: boolean,
    resolved: ResolvedSubmitOptions,
    submitOptions: SubmitOptions,
  ): SessionHandle<SessionResult | TaskResult<unknown>> {
    const now = clock.now();
    const sessionId = flatUUID();
    const caller = capMetadata(submitOptions.metadata, limits.callerMetadataBytes);
    const input = sessionInput(
      { sessionId, requestId: submitOptions.requestId },
      { lane, model, stream },
      now,
      resolved,
      defaults,
    );
    return track(newRecord(input, work, submitOptions.label, caller.value, caller.truncated), submitOptions);
  }

  function newRecord(
    input: SessionInput,
    work: SessionWork,
    label: string | undefined,
    caller: Readonly<Record<string, unknown>> | undefined,
    callerTruncated: boolean,
  ): SessionRecord {
    return {
      provider: input.provider,
      priority: input.priority,
      seq: 0,
      wakeAt: 0,
      heapIndex: -1,
      input,
      work,
      label,
      caller,
      callerTruncated,
      actor: null,
      leaf: 'queued',
      call: null,
      admitted: false,
      result: null,
      resolve: unresolved,
      value: undefined,
      observers: null,
      detachSignal: null,
    };
  }

  /** Queues a new record and hands back its handle. */
  function track(
    record: SessionRecord,
    submitOptions: SubmitOptions,
  ): SessionHandle<SessionResult | TaskResult<unknown>> {
    const now = clock.now();
    const sessionId = record.input.sessionId;
    if (!scheduler.enqueue(record)) {
      counters.reject('QUEUE_FULL');
      throw runtimeError(
        'QUEUE_FULL',
        `Expected room in the queue, got ${scheduler.queued} sessions waiting (limit ${limits.maxQueued}); retry later`,
      );
    }
    counters.submitted++;
    const result = new Promise<SessionResult | TaskResult<unknown>>((resolve) => {
      record.resolve = resolve;
    });
    live.set(sessionId, record);
    deadlines.schedule(record, record.input.queueDeadlineAt);
    // Only an adopted session (queued elsewhere) can arrive past its queue deadline.
    if (record.input.queueDeadlineAt <= now && record.actor === null)
      deliver(record, { type: 'session.tick', now });
    if (events.listening) {
      events.emit(record, {
        type: 'session.queued',
        sessionId,
        position: scheduler.position(record),
        at: now,
      });
    }
    const signal = submitOptions.signal;
    if (signal !== undefined) {
      const onAbort = () => cancel(record, reasonOf(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      record.detachSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
    pump();
    return handleFor(record, result);
  }

  /** Runs a session a shared queue admitted for this instance; see `AdoptedSession`. */
  function adopt(session: AdoptedSession): SessionHandle {
    refuseWhileDraining();
    const provider = providers.get(session.input.provider);
    if (provider === undefined) {
      throw runtimeError(
        'UNKNOWN_PROVIDER',
        `Expected a provider named "${session.input.provider}" here, got none`,
      );
    }
    const record = newRecord(
      session.input,
      { kind: 'chat', provider, request: session.request },
      session.label,
      session.caller,
      session.callerTruncated === true,
    );
    const restore = session.restore;
    if (restore !== undefined) {
      // Taken over from a lost instance: resume between attempts, so the next one counts as
      // a further attempt and the original run deadline still holds.
      const context: SessionContext = Object.assign(initialContext(session.input), {
        startedAt: restore.startedAt,
        runDeadlineAt: restore.runDeadlineAt,
        attempts: restore.attempts,
        retryAt: clock.now(),
      });
      record.actor = engine.restore(session.input, { running: 'backingOff' }, context);
      record.leaf = 'backingOff';
    }
    return track(record, session.signal === undefined ? {} : { signal: session.signal }) as SessionHandle;
  }

  const owner: HandleOwner = {
    observe: (record) => observeSession(record, clock.now(), (r) => scheduler.position(r)),
    cancel,
  };
  function handleFor<R>(record: SessionRecord, result: Promise<R>): SessionHandle<R> {
    return new RecordHandle(record, result, owner);
  }

  function pump(): void {
    if (pumping) return;
    pumping = true;
    try {
      while (!stopping) {
        const record = scheduler.next();
        if (record === undefined) break;
        record.admitted = true;
        // The admission time is read before the actor starts: that is the runtime's cost, not queue wait.
        deliver(record, { type: 'session.admit', now: clock.now() });
      }
    } finally {
      pumping = false;
    }
  }

  /**
   * Admission after a session ends waits for the end of the current synchronous work: a caller
   * cancelling 100,000 handles in a loop would otherwise admit, start and abort a provider call
   * for each queued session in turn, only to cancel it on the next iteration.
   */
  let pumpQueued = false;
  function pumpSoon(): void {
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => {
      pumpQueued = false;
      pump();
    });
  }

  function startActor(record: SessionRecord) {
    return engine.start(record.input);
  }

  function deliver(record: SessionRecord, event: SessionMachineEvent): void {
    if (record.result !== null) return;
    const outer = handling;
    handling = record;
    let snapshot: ReturnType<SessionActor['getSnapshot']>;
    try {
      record.actor ??= startActor(record);
      record.actor.send(event);
      snapshot = record.actor.getSnapshot();
    } finally {
      handling = outer;
    }
    if (snapshot.status === 'error') {
      failInternally(record, snapshot, event);
      return;
    }
    const leaf = leafState(snapshot.value as string);
    record.leaf = leaf;
    if (snapshot.status === 'done') finish(record, snapshot.context, leaf as FinalState);
    else deadlines.schedule(record, nextWakeAt(leaf, snapshot.context));
  }

  /**
   * One of the session's own actions threw (a runtime bug, or a clock or effect that failed): the
   * actor stopped, so the runtime ends the session itself as failed with `INTERNAL`, aborting its
   * call and freeing its slot, rather than leave it pending.
   */
  function failInternally(
    record: SessionRecord,
    snapshot: { readonly context: SessionContext; readonly error?: unknown },
    event: SessionMachineEvent,
  ): void {
    record.call?.abort('the session failed inside the runtime');
    record.call = null;
    const context = failedInside(snapshot.context, event, snapshot.error);
    record.leaf = 'failed';
    finish(record, context, 'failed');
  }

  function cancel(record: SessionRecord, reason: string, code?: 'SHUTTING_DOWN'): boolean {
    if (record.result !== null) return false;
    deliver(
      record,
      code === undefined
        ? { type: 'session.cancel', now: clock.now(), reason }
        : { type: 'session.cancel', now: clock.now(), reason, code },
    );
    return true;
  }

  function finish(record: SessionRecord, context: SessionContext, state: FinalState): void {
    const result = buildResult(record, context, state);
    record.result = result;
    deadlines.cancel(record);
    if (record.admitted) scheduler.release(record.provider);
    else scheduler.remove(record);
    live.delete(context.input.sessionId);
    record.detachSignal?.();
    record.actor = null;
    counters.ended(state, result);
    history.add(result.metadata, context.input.createdAt, context.startedAt, context.endedAt ?? clock.now());
    record.resolve(result);
    if (events.wants(record)) {
      events.emit(record, {
        type: 'session.ended',
        sessionId: context.input.sessionId,
        result,
        at: context.endedAt ?? clock.now(),
      });
    }
    if (record.observers !== null) for (const stream of record.observers) stream.close();
    record.observers = null;
    lifecycle.sessionEnded();
    pumpSoon();
  }

  function liveSummary(record: SessionRecord): SessionSummary {
    return summarize(record, record.actor?.getSnapshot().context);
  }

  return {
    submit,
    run,
    adopt,
    shutdown: ({ deadlineMs = 10_000 } = {}) => lifecycle.shutdown(deadlineMs),
    providers: [...providers.keys()],
    status: ({ recent = 20 } = {}) => ({
      state: lifecycle.state,
      queued: scheduler.queued,
      running: scheduler.running,
      queuedByPriority: scheduler.queuedByPriority(),
      providers: scheduler.providers(),
      maxConcurrent: limits.maxConcurrent,
      maxQueued: limits.maxQueued,
      recent: history.recent(recent),
    }),
    session: (id) => {
      const record = live.get(id);
      return record === undefined ? history.get(id) : liveSummary(record);
    },
    sessions: ({ limit = 100 } = {}) => {
      const out: SessionSummary[] = [];
      for (const record of live.values()) {
        if (out.length >= limit) break;
        out.push(liveSummary(record));
      }
      return out;
    },
    cancel: (id, reason = 'cancelled by request') => {
      const record = live.get(id);
      return record === undefined ? false : cancel(record, reason);
    },
    metrics: () => counters.snapshot(scheduler.queued, scheduler.running),
    subscribe: (listener) => events.subscribe(listener),
  };
}

/** A record's `resolve` until its result promise is made. */
function unresolved(): void {}
