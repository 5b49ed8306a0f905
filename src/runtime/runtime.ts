/**
 * `createRuntime()`: the supervisor. It owns the scheduler (admission policy), one deadline heap
 * (every session's timers), the supervisor machine (lifecycle) and a session actor per admitted
 * session, and turns provider calls into events for those actors.
 */
import { randomUUID } from 'node:crypto';
import { createActor } from 'xstate';
import {
  initialContext,
  leafState,
  nextWakeAt,
  type SessionContext,
  type SessionInput,
  type SessionMachineEvent,
  sessionMachine,
} from '../../machines/session.js';
import { supervisorMachine } from '../../machines/supervisor.js';
import { type Clock, systemClock } from '../core/clock.js';
import { DeadlineHeap } from '../core/deadlines.js';
import { describe, runtimeError, TroupeError } from '../core/errors.js';
import { capMetadata } from '../core/metadata.js';
import { Scheduler } from '../core/scheduler.js';
import type { ChatRequest } from '../providers/port.js';
import type { AdoptedSession, LocalRuntime } from './backend.js';
import { RuntimeCounters } from './counters.js';
import { EventStream } from './event-stream.js';
import { History } from './history.js';
import {
  type ResolvedSubmitOptions,
  resolveDefaults,
  resolveLimits,
  resolveProviders,
  resolveSubmitOptions,
} from './options.js';
import { type CallEvent, ProviderCall } from './provider-call.js';
import { buildResult, type SessionRecord, type SessionWork, summarize } from './session-record.js';
import type {
  FinalState,
  RunOptions,
  Runtime,
  RuntimeEvent,
  RuntimeOptions,
  RuntimeStatus,
  SessionEvent,
  SessionHandle,
  SessionRequest,
  SessionResult,
  SessionSummary,
  ShutdownReport,
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
  const history = new History<SessionSummary>(limits.historySize);
  const counters = new RuntimeCounters();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  const deadlines = new DeadlineHeap<SessionRecord>(clock, (record, now) => {
    if (record.result === null) deliver(record, { type: 'session.tick', now });
  });

  let pumping = false;
  let stopping = false;
  let drainTimer: unknown;
  let finishedWhileDraining = 0;
  let cancelledAtDeadline: string[] = [];
  let shutdownReport: Promise<ShutdownReport> | undefined;
  let resolveShutdown: (report: ShutdownReport) => void = () => {};

  const machine = sessionMachine.provide({
    actions: {
      startProviderCall: ({ context }) => {
        const record = live.get(context.input.sessionId)!;
        const call = new ProviderCall();
        record.call = call;
        call.start(record.work, context.input.stream, {
          sessionId: context.input.sessionId,
          attempt: context.attempts,
          now: () => clock.now(),
          random,
          deliver: (event: CallEvent) => {
            if (record.call === call) deliver(record, event);
          },
          value: (value) => {
            record.value = value;
          },
          progress: (progress, total, message) => {
            emit(record, () => {
              const event: Extract<SessionEvent, { type: 'session.progress' }> = {
                type: 'session.progress',
                sessionId: context.input.sessionId,
                progress,
                at: clock.now(),
              };
              return Object.assign(
                event,
                total === undefined ? {} : { total },
                message === undefined ? {} : { message },
              );
            });
          },
        });
      },
      abortProviderCall: ({ context, event }) => {
        const record = live.get(context.input.sessionId);
        if (record?.call == null) return;
        record.call.abort(abortReason(event));
        record.call = null;
      },
      notifyStarted: ({ context }) => {
        emit(live.get(context.input.sessionId)!, () => ({
          type: 'session.started',
          sessionId: context.input.sessionId,
          attempt: context.attempts,
          at: clock.now(),
        }));
      },
      notifyDelta: ({ context, event }) => {
        if (event.type !== 'provider.chunk') return;
        emit(live.get(context.input.sessionId)!, () => ({
          type: 'session.delta',
          sessionId: context.input.sessionId,
          delta: event.delta as never,
          chars: event.chars,
          at: event.now,
        }));
      },
      notifyRetry: ({ context, event }) => {
        if (event.type !== 'provider.error') return;
        counters.retries++;
        counters.providerError(event.error.code);
        emit(live.get(context.input.sessionId)!, () => ({
          type: 'session.retry',
          sessionId: context.input.sessionId,
          attempt: context.attempts + 1,
          delayMs: (context.retryAt ?? event.now) - event.now,
          error: event.error,
          at: event.now,
        }));
      },
    },
  });

  const supervisor = createActor(
    supervisorMachine.provide({
      actions: {
        notifyDraining: ({ context }) =>
          broadcast({
            type: 'supervisor.draining',
            at: clock.now(),
            deadlineAt: context.drainDeadlineAt ?? clock.now(),
          }),
        cancelRemaining: ({ event }) => {
          stopping = true;
          // Queued first, so cancelling a running session frees no slot for a queued one.
          const remaining = [...live.values()].sort((a, b) => Number(a.admitted) - Number(b.admitted));
          for (const record of remaining) {
            if (
              cancel(
                record,
                'the runtime shut down before it finished (drain deadline passed)',
                'SHUTTING_DOWN',
              )
            ) {
              cancelledAtDeadline.push(record.input.sessionId);
            }
          }
          void event;
        },
        notifyStopped: () => {
          if (drainTimer !== undefined) clock.clearTimeout(drainTimer);
          deadlines.stop();
          const cancelled = cancelledAtDeadline;
          cancelledAtDeadline = [];
          broadcast({ type: 'supervisor.stopped', at: clock.now(), cancelled });
          resolveShutdown({ finished: finishedWhileDraining, cancelled });
        },
      },
    }),
  ).start();

  function lifecycle(): RuntimeStatus['state'] {
    return supervisor.getSnapshot().value as RuntimeStatus['state'];
  }

  function refuseWhileDraining(): void {
    if (lifecycle() !== 'accepting') {
      counters.reject('SHUTTING_DOWN');
      throw runtimeError(
        'SHUTTING_DOWN',
        'Expected the runtime to accept work, got a runtime that is shutting down',
      );
    }
  }

  /** Runs `resolve` for a submission, counting a refusal under its code before rethrowing it. */
  function admitting<T>(resolve: () => T): T {
    try {
      return resolve();
    } catch (error) {
      counters.reject(error instanceof TroupeError ? error.code : 'INVALID_REQUEST');
      throw error;
    }
  }

  function submit(request: SessionRequest, submitOptions: SubmitOptions = {}): SessionHandle {
    refuseWhileDraining();
    const { resolved, target, provider } = admitting(() => {
      const target = route(request);
      const provider = providers.get(target.provider);
      if (provider === undefined) {
        const known = [...providers.keys()].map((n) => `"${n}"`).join(', ');
        const expected =
          providers.size === 0 ? 'a chat provider (this runtime has none)' : `a provider among ${known}`;
        throw runtimeError('UNKNOWN_PROVIDER', `Expected ${expected}, got "${target.provider}"`);
      }
      return { resolved: resolveSubmitOptions(submitOptions, defaults), target, provider };
    });
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
    const sessionId = randomUUID();
    const caller = capMetadata(submitOptions.metadata, limits.callerMetadataBytes);
    const input: SessionInput = {
      sessionId,
      requestId: submitOptions.requestId ?? sessionId,
      provider: lane,
      model,
      priority: resolved.priority,
      stream,
      createdAt: now,
      queueDeadlineAt: now + resolved.queueTimeoutMs,
      timeoutMs: resolved.timeoutMs,
      idleTimeoutMs: resolved.idleTimeoutMs,
      maxAttempts: resolved.maxAttempts,
      backoffBaseMs: defaults.backoffBaseMs,
      backoffMaxMs: defaults.backoffMaxMs,
    };
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
      resolve: () => {},
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
    if (listeners.size > 0) {
      emit(record, () => ({
        type: 'session.queued',
        sessionId,
        position: scheduler.position(record),
        at: now,
      }));
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
      record.actor = createActor(machine, {
        input: session.input,
        snapshot: machine.resolveState({ value: { running: 'backingOff' }, context }),
      }).start();
      record.leaf = 'backingOff';
    }
    return track(record, session.signal === undefined ? {} : { signal: session.signal }) as SessionHandle;
  }

  function handleFor<R>(record: SessionRecord, result: Promise<R>): SessionHandle<R> {
    return {
      id: record.input.sessionId,
      result,
      get events() {
        return observe(record);
      },
      cancel: (reason = 'cancelled by the caller') => cancel(record, reason),
    };
  }

  /** A stream of this session's events, starting with its current state. */
  function observe(record: SessionRecord): AsyncIterable<SessionEvent> {
    const stream = new EventStream<SessionEvent>();
    const sessionId = record.input.sessionId;
    const at = clock.now();
    if (record.result !== null) {
      stream.push({ type: 'session.ended', sessionId, result: record.result, at });
      stream.close();
      return stream;
    }
    if (record.leaf === 'queued')
      stream.push({ type: 'session.queued', sessionId, position: scheduler.position(record), at });
    else
      stream.push({
        type: 'session.started',
        sessionId,
        attempt: record.actor?.getSnapshot().context.attempts ?? 1,
        at,
      });
    if (record.observers === null) record.observers = [];
    record.observers.push(stream);
    return stream;
  }

  function pump(): void {
    if (pumping) return;
    pumping = true;
    try {
      while (!stopping) {
        const record = scheduler.next();
        if (record === undefined) break;
        record.admitted = true;
        record.actor ??= startActor(record);
        deliver(record, { type: 'session.admit', now: clock.now() });
      }
    } finally {
      pumping = false;
    }
  }

  function startActor(record: SessionRecord) {
    return createActor(machine, { input: record.input }).start();
  }

  function deliver(record: SessionRecord, event: SessionMachineEvent): void {
    if (record.result !== null) return;
    record.actor ??= startActor(record);
    const actor = record.actor;
    actor.send(event);
    const snapshot = actor.getSnapshot();
    const leaf = leafState(snapshot.value as string);
    record.leaf = leaf;
    if (snapshot.status === 'done') finish(record, snapshot.context, leaf as FinalState);
    else deadlines.schedule(record, nextWakeAt(leaf, snapshot.context));
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
    history.add(summarize(record, context));
    if (lifecycle() === 'draining') finishedWhileDraining++;
    record.resolve(result);
    emit(record, () => ({
      type: 'session.ended',
      sessionId: context.input.sessionId,
      result,
      at: context.endedAt ?? clock.now(),
    }));
    if (record.observers !== null) for (const stream of record.observers) stream.close();
    record.observers = null;
    if (live.size === 0 && lifecycle() === 'draining')
      supervisor.send({ type: 'supervisor.idle', now: clock.now() });
    else pump();
  }

  function emit(record: SessionRecord, make: () => SessionEvent): void {
    if (listeners.size === 0 && record.observers === null) return;
    const event = make();
    if (record.observers !== null) for (const stream of record.observers) stream.push(event);
    if (listeners.size > 0) {
      broadcast(Object.assign({}, event, { provider: record.provider, label: record.label }));
    }
  }

  function broadcast(event: RuntimeEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        onError(error);
      }
    }
  }

  function shutdown(shutdownOptions: { deadlineMs?: number } = {}): Promise<ShutdownReport> {
    if (shutdownReport !== undefined) return shutdownReport;
    const deadlineMs = shutdownOptions.deadlineMs ?? 10_000;
    shutdownReport = new Promise<ShutdownReport>((resolve) => {
      resolveShutdown = resolve;
    });
    const now = clock.now();
    supervisor.send({ type: 'supervisor.shutdown', now, deadlineMs });
    if (live.size === 0) supervisor.send({ type: 'supervisor.idle', now });
    else
      drainTimer = clock.setTimeout(
        () => supervisor.send({ type: 'supervisor.tick', now: clock.now() }),
        deadlineMs,
      );
    return shutdownReport;
  }

  function liveSummary(record: SessionRecord): SessionSummary {
    return summarize(record, record.actor?.getSnapshot().context);
  }

  return {
    submit,
    run,
    adopt,
    shutdown,
    providers: [...providers.keys()],
    status: ({ recent = 20 } = {}) => ({
      state: lifecycle(),
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
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function defaultRouter(
  providers: ReadonlyMap<string, unknown>,
  defaults: { provider: string | undefined; model: string | undefined },
) {
  const only = providers.size === 1 ? [...providers.keys()][0] : undefined;
  return (request: SessionRequest) => {
    const provider = request.provider ?? defaults.provider ?? only;
    if (provider === undefined) {
      throw runtimeError(
        'INVALID_REQUEST',
        'Expected `provider` (there are several and no default), got none',
      );
    }
    const model = request.model ?? defaults.model;
    if (model === undefined || model === '') {
      throw runtimeError('INVALID_REQUEST', 'Expected `model` (there is no default), got none');
    }
    return { provider, model };
  };
}

/** The request as the provider sees it: the routed model, without troupe's own fields. */
function chatRequest(request: SessionRequest, model: string): ChatRequest {
  // Rest-destructure, then set: `delete` would leave a slow dictionary-mode object and
  // spread-and-add is far slower in V8; this runs once per session.
  const { provider: _provider, stream: _stream, model: _model, ...chat } = request;
  const out = chat as Omit<SessionRequest, 'provider' | 'stream' | 'model'> & { model?: string };
  out.model = model;
  return out as ChatRequest;
}

function abortReason(event: SessionMachineEvent): string {
  switch (event.type) {
    case 'session.cancel':
      return event.reason;
    case 'session.tick':
      return 'a deadline passed';
    default:
      return 'the attempt ended';
  }
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.message) return `the caller's signal aborted (${reason.message})`;
  if (typeof reason === 'string' && reason) return `the caller's signal aborted (${reason})`;
  return "the caller's signal aborted";
}

/** The default reporter: a listener's error must not break the runtime, nor vanish. */
function reportError(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : String(error), { code: 'TROUPE_LISTENER_ERROR' });
}
