/**
 * The runtime over Redis: sessions queue in one BullMQ queue per provider (the provider's limit
 * is the queue's global concurrency), a Worker per provider on every instance takes jobs and runs
 * them in the local in-memory runtime (`adopt`), and results, events and cancellations travel
 * over Redis. Any instance can submit, watch, cancel and read any session.
 */
import { randomUUID } from 'node:crypto';
import { type Job, Queue, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { runtimeError } from '../core/errors.js';
import { capMetadata } from '../core/metadata.js';
import type { ChatRequest } from '../providers/port.js';
import type { LocalRuntime } from '../runtime/backend.js';
import { EventStream } from '../runtime/event-stream.js';
import { resolveDefaults, resolveLimits, resolveSubmitOptions } from '../runtime/options.js';
import type {
  Runtime,
  RuntimeEvent,
  RuntimeOptions,
  RuntimeStatus,
  SessionEvent,
  SessionHandle,
  SessionRequest,
  SessionResult,
  ShutdownReport,
  SubmitOptions,
} from '../runtime/types.js';
import {
  bullPriority,
  decodeRequest,
  encodeRequest,
  type JobData,
  queuedSummary,
  resultOf,
} from './job-data.js';
import { type BusMessage, type CancelMessage, RedisKeys, RedisSessionStore } from './redis-store.js';

export interface ClusterSettings {
  readonly url: string;
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly prefix: string;
  readonly instanceId: string;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly sweepIntervalMs: number;
  readonly work: boolean;
  readonly close: () => Promise<void>;
}

/** A session submitted here: its caller waits on this instance. */
interface Owner {
  readonly data: JobData;
  readonly resolve: (result: SessionResult) => void;
  readonly result: Promise<SessionResult>;
  observers: EventStream<SessionEvent>[] | null;
  started: boolean;
  timers: NodeJS.Timeout[];
  detachSignal: (() => void) | null;
}

/** A session this instance runs for the cluster. */
interface Running {
  readonly handle: SessionHandle;
  readonly job: Job<JobData>;
  readonly token: string;
  handover: boolean;
}

const BACKSTOP_GRACE_MS = 10_000;

export function createClusterRuntime(
  options: RuntimeOptions,
  makeLocal: (options: RuntimeOptions) => LocalRuntime,
  settings: ClusterSettings,
): Runtime {
  const limits = resolveLimits(options.limits);
  const defaults = resolveDefaults(options.defaults);
  const { redis, subscriber, instanceId } = settings;
  const keys = new RedisKeys(settings.prefix);
  const store = new RedisSessionStore(redis, keys, instanceId, limits.historySize);
  // Admission is the shared queues' job; locally every adopted session starts at once.
  const local = makeLocal({
    ...options,
    backend: undefined,
    limits: { ...options.limits, perProvider: {}, maxConcurrent: 1_000_000, maxQueued: 1_000_000 },
  });
  const route = options.router ?? defaultRoute(local.providers, defaults);
  const onError = options.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  const owners = new Map<string, Owner>();
  const running = new Map<string, Running>();
  /** Jobs taken here, by session id, from before `adopt` until the session ends. */
  const jobs = new Map<string, Job<JobData>>();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  let state: RuntimeStatus['state'] = 'accepting';
  let finishedWhileDraining = 0;
  let shutdownReport: Promise<ShutdownReport> | undefined;

  const connection = { url: settings.url };
  const queues = new Map<string, Queue<JobData>>();
  const workers: Worker<JobData>[] = [];
  for (const name of local.providers) {
    queues.set(
      name,
      new Queue<JobData>(name, {
        connection: { ...connection, enableOfflineQueue: false },
        prefix: settings.prefix,
      }),
    );
    const limit = limits.perProvider[name];
    const worker = new Worker<JobData>(name, (job, token) => processJob(job, token ?? ''), {
      connection: { ...connection, maxRetriesPerRequest: null },
      prefix: settings.prefix,
      autorun: false,
      concurrency: Math.min(limit ?? limits.maxConcurrent, limits.maxConcurrent),
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      // Deadlines bound how often a session can be taken over; BullMQ must not fail it first.
      maxStalledCount: 1000,
    });
    worker.on('error', () => {});
    workers.push(worker);
  }
  const ready = (async () => {
    for (const [name, queue] of queues) {
      const limit = limits.perProvider[name];
      if (limit === undefined) await queue.removeGlobalConcurrency();
      else await queue.setGlobalConcurrency(limit);
    }
    await store.load();
    if (settings.work) for (const worker of workers) void worker.run().catch(onError);
  })();
  ready.catch(onError);

  // Events of sessions run here go to the cluster; `session.ended` goes out through `settle`.
  local.subscribe((event) => {
    if (!('sessionId' in event) || event.type === 'session.queued' || event.type === 'session.ended') return;
    if (event.type === 'session.started' || event.type === 'session.retry') {
      // After the transition that emitted it, so the summary shows it.
      queueMicrotask(() => void recordRun(event.sessionId, event).catch(() => {}));
    } else store.publish(event).catch(() => {});
  });

  async function recordRun(id: string, event: RuntimeEvent): Promise<void> {
    const summary = local.session(id);
    const job = jobs.get(id);
    if (summary === undefined || job === undefined || summary.state !== 'running') return;
    const startedAt = summary.startedAt ?? Date.now();
    await redis
      .multi()
      .hset(keys.run(id), {
        attempts: summary.attempts,
        startedAt,
        runDeadlineAt: startedAt + job.data.input.timeoutMs,
        instance: instanceId,
      })
      .pexpire(keys.run(id), job.data.input.timeoutMs + 60_000)
      .exec();
    await store.put(summary, event);
  }

  subscriber.on('message', (channel: string, text: string) => {
    try {
      if (channel === keys.events) onBus(JSON.parse(text) as BusMessage);
      else if (channel === keys.cancels) {
        const message = JSON.parse(text) as CancelMessage;
        if (running.has(message.sessionId)) local.cancel(message.sessionId, message.reason);
      }
    } catch (error) {
      onError(error);
    }
  });
  // Results published while this instance was cut off are read back when it reconnects.
  subscriber.on('ready', () => {
    for (const id of owners.keys()) void recover(id);
  });
  void subscriber.subscribe(keys.events, keys.cancels).catch(onError);

  const sweeper = setInterval(() => void sweep().catch(() => {}), settings.sweepIntervalMs);
  sweeper.unref();

  function onBus(message: BusMessage): void {
    store.apply(message);
    const event = message.event;
    if ('sessionId' in event) {
      const owner = owners.get(event.sessionId);
      if (owner !== undefined) {
        if (event.type === 'session.started') owner.started = true;
        const { provider: _p, label: _l, ...sessionEvent } = event;
        if (owner.observers !== null) for (const s of owner.observers) s.push(sessionEvent as SessionEvent);
        if (event.type === 'session.ended') endOwner(event.sessionId, event.result as SessionResult);
      }
    }
    broadcast(event);
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

  function endOwner(id: string, result: SessionResult): void {
    const owner = owners.get(id);
    if (owner === undefined) return;
    owners.delete(id);
    for (const timer of owner.timers) clearTimeout(timer);
    owner.detachSignal?.();
    if (owner.observers !== null) for (const s of owner.observers) s.close();
    owner.observers = null;
    if (state === 'draining') finishedWhileDraining++;
    owner.resolve(result);
    if (state === 'draining' && owners.size === 0 && running.size === 0) drained?.();
  }

  async function recover(id: string): Promise<void> {
    const result = await store.result(id).catch(() => undefined);
    if (result !== undefined) endOwner(id, result);
  }

  /** The worker's processor: runs one admitted session here. */
  async function processJob(job: Job<JobData>, token: string): Promise<void> {
    const data = job.data;
    const id = data.input.sessionId;
    if ((await redis.exists(keys.result(id))) === 1) return;
    const prior = await redis.hgetall(keys.run(id));
    const restore =
      prior.startedAt === undefined
        ? undefined
        : {
            attempts: Number(prior.attempts),
            startedAt: Number(prior.startedAt),
            runDeadlineAt: Number(prior.runDeadlineAt),
          };
    jobs.set(id, job);
    const handle = local.adopt({
      input: data.input,
      request: decodeRequest(data.request),
      ...(data.label === undefined ? {} : { label: data.label }),
      ...(data.caller === undefined ? {} : { caller: data.caller }),
      callerTruncated: data.callerTruncated === true,
      ...(restore === undefined ? {} : { restore }),
    });
    const entry: Running = { handle, job, token, handover: false };
    running.set(id, entry);
    const cancelled = await redis.get(keys.cancel(id)).catch(() => null);
    if (cancelled !== null) handle.cancel(cancelled);
    const result = await handle.result;
    running.delete(id);
    jobs.delete(id);
    if (entry.handover) throw new WaitingError();
    await settleRetrying(result, data.label);
    if (state === 'draining' && owners.size === 0 && running.size === 0) drained?.();
  }

  async function settleRetrying(result: SessionResult, label: string | undefined): Promise<boolean> {
    for (let tries = 0; ; tries++) {
      try {
        return await store.settle(result, label);
      } catch (error) {
        if (tries >= 60) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Takes a queued job out and ends its session with `event`; false when it was not queued. */
  async function withdraw(
    provider: string,
    id: string,
    event: 'cancel' | 'tick',
    reason = '',
  ): Promise<boolean> {
    const queue = queues.get(provider);
    if (queue === undefined) return false;
    const job = await queue.getJob(id);
    if (job === undefined || job === null) return false;
    if ((await queue.remove(id)) !== 1) return false;
    const now = Date.now();
    const result = resultOf(job.data, [
      event === 'cancel' ? { type: 'session.cancel', now, reason } : { type: 'session.tick', now },
    ]);
    await store.settle(result, job.data.label);
    return true;
  }

  /** Queue deadlines of sessions whose owner may be gone: any instance ends them. */
  async function sweep(): Promise<void> {
    if (redis.status !== 'ready') return;
    const due = await redis.zrangebyscore(keys.queueDeadlines, '-inf', Date.now(), 'LIMIT', 0, 100);
    for (const member of due) {
      const bar = member.lastIndexOf('|');
      const provider = member.slice(0, bar);
      const id = member.slice(bar + 1);
      if (!(await withdraw(provider, id, 'tick'))) await redis.zrem(keys.queueDeadlines, member);
    }
  }

  async function cancelAnywhere(id: string, reason: string): Promise<void> {
    if (running.has(id)) {
      local.cancel(id, reason);
      return;
    }
    const provider = owners.get(id)?.data.input.provider ?? store.live.get(id)?.provider;
    if (provider !== undefined && (await withdraw(provider, id, 'cancel', reason))) return;
    const message: CancelMessage = { sessionId: id, reason };
    await redis
      .multi()
      .set(keys.cancel(id), reason, 'PX', 600_000)
      .publish(keys.cancels, JSON.stringify(message))
      .exec();
  }

  function submit(request: SessionRequest, submitOptions: SubmitOptions = {}): SessionHandle {
    if (state !== 'accepting') {
      throw runtimeError(
        'SHUTTING_DOWN',
        'Expected the runtime to accept work, got a runtime that is shutting down',
      );
    }
    if (redis.status !== 'ready') {
      throw runtimeError(
        'BACKEND_UNAVAILABLE',
        `Expected Redis to be reachable, got a connection that is ${redis.status}; retry later`,
      );
    }
    const target = route(request);
    if (!queues.has(target.provider)) {
      const known = local.providers.map((n) => `"${n}"`).join(', ');
      throw runtimeError('UNKNOWN_PROVIDER', `Expected a provider among ${known}, got "${target.provider}"`);
    }
    const resolved = resolveSubmitOptions(submitOptions, defaults);
    const now = Date.now();
    const sessionId = randomUUID();
    const caller = capMetadata(submitOptions.metadata, limits.callerMetadataBytes);
    const chat = Object.assign({}, request, { model: target.model }) as ChatRequest & {
      provider?: string;
      stream?: boolean;
    };
    delete chat.provider;
    delete chat.stream;
    const data: JobData = {
      input: {
        sessionId,
        requestId: submitOptions.requestId ?? sessionId,
        provider: target.provider,
        model: target.model,
        priority: resolved.priority,
        stream: request.stream === true,
        createdAt: now,
        queueDeadlineAt: now + resolved.queueTimeoutMs,
        timeoutMs: resolved.timeoutMs,
        idleTimeoutMs: resolved.idleTimeoutMs,
        maxAttempts: resolved.maxAttempts,
        backoffBaseMs: defaults.backoffBaseMs,
        backoffMaxMs: defaults.backoffMaxMs,
      },
      request: encodeRequest(chat),
      ...(submitOptions.label === undefined ? {} : { label: submitOptions.label }),
      ...(caller.value === undefined ? {} : { caller: caller.value }),
      ...(caller.truncated ? { callerTruncated: true } : {}),
    };
    let resolve: (result: SessionResult) => void = () => {};
    const result = new Promise<SessionResult>((r) => {
      resolve = r;
    });
    const owner: Owner = {
      data,
      resolve,
      result,
      observers: null,
      started: false,
      timers: [],
      detachSignal: null,
    };
    owners.set(sessionId, owner);
    owner.timers.push(
      setTimeout(() => {
        if (!owner.started) void withdraw(target.provider, sessionId, 'tick').catch(() => {});
      }, resolved.queueTimeoutMs),
      setTimeout(
        () => void backstop(sessionId),
        resolved.queueTimeoutMs + resolved.timeoutMs + BACKSTOP_GRACE_MS,
      ),
    );
    void enqueue(owner).catch((error: unknown) => {
      const now = Date.now();
      const failed = resultOf(data, [{ type: 'session.cancel', now, reason: 'unused' }]);
      endOwner(sessionId, {
        ok: false,
        error: {
          family: 'runtime',
          code: 'BACKEND_UNAVAILABLE',
          message: `Expected Redis to take the session, got ${(error as Error).message}`,
          retryable: true,
        },
        metadata: { ...failed.metadata, code: 'BACKEND_UNAVAILABLE' },
      });
    });
    const signal = submitOptions.signal;
    if (signal !== undefined) {
      const onAbort = () => void cancelAnywhere(sessionId, "the caller's signal aborted").catch(() => {});
      signal.addEventListener('abort', onAbort, { once: true });
      owner.detachSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
    return {
      id: sessionId,
      result,
      get events() {
        const stream = new EventStream<SessionEvent>();
        stream.push({ type: 'session.queued', sessionId, position: 0, at: Date.now() });
        if (!owners.has(sessionId)) {
          void result.then((r) => {
            stream.push({ type: 'session.ended', sessionId, result: r, at: Date.now() });
            stream.close();
          });
        } else {
          owner.observers ??= [];
          owner.observers.push(stream);
        }
        return stream;
      },
      cancel: (reason = 'cancelled by the caller') => {
        if (!owners.has(sessionId)) return false;
        void cancelAnywhere(sessionId, reason).catch(() => {});
        return true;
      },
    };
  }

  async function enqueue(owner: Owner): Promise<void> {
    const { input } = owner.data;
    const queue = queues.get(input.provider)!;
    await store.put(queuedSummary(owner.data), {
      type: 'session.queued',
      sessionId: input.sessionId,
      position: 0,
      at: input.createdAt,
      provider: input.provider,
      ...(owner.data.label === undefined ? {} : { label: owner.data.label }),
    });
    await queue.add('session', owner.data, {
      jobId: input.sessionId,
      priority: bullPriority(input.priority),
      removeOnComplete: true,
      removeOnFail: true,
    });
    await redis.zadd(keys.queueDeadlines, input.queueDeadlineAt, `${input.provider}|${input.sessionId}`);
  }

  /** The last guard: a session nobody ended well past its deadlines ends timed out. */
  async function backstop(id: string): Promise<void> {
    const owner = owners.get(id);
    if (owner === undefined) return;
    const existing = await store.result(id).catch(() => undefined);
    if (existing !== undefined) return endOwner(id, existing);
    const { input } = owner.data;
    const startedAt = store.live.get(id)?.startedAt ?? input.queueDeadlineAt - 1;
    const result = resultOf(owner.data, [
      { type: 'session.admit', now: startedAt },
      { type: 'session.tick', now: startedAt + input.timeoutMs },
    ]);
    await store.settle(result, owner.data.label).catch(() => {});
    endOwner(id, (await store.result(id).catch(() => undefined)) ?? result);
  }

  let drained: (() => void) | undefined;

  function shutdown({ deadlineMs = 10_000 } = {}): Promise<ShutdownReport> {
    if (shutdownReport !== undefined) return shutdownReport;
    state = 'draining';
    const now = Date.now();
    broadcast({ type: 'supervisor.draining', at: now, deadlineAt: now + deadlineMs });
    shutdownReport = (async () => {
      // Stop taking jobs; queued work stays in Redis for the other instances.
      const closing = workers.map((w) => w.close().catch(() => {}));
      if (owners.size > 0 || running.size > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, deadlineMs).unref();
        });
      }
      // Running sessions go back to the cluster, to be taken up as a further attempt.
      const handedBack: string[] = [];
      for (const [id, entry] of running) {
        entry.handover = true;
        handedBack.push(id);
        await entry.job.moveToWait(entry.token).catch(() => {});
        local.cancel(id, 'this instance shut down; the session goes on elsewhere');
      }
      for (const [id, owner] of owners) {
        const failed = resultOf(owner.data, [
          { type: 'session.cancel', now: Date.now(), reason: 'shutdown', code: 'SHUTTING_DOWN' },
        ]);
        endOwner(id, {
          ...failed,
          error: {
            ...(failed as Extract<SessionResult, { ok: false }>).error,
            message:
              'This instance shut down before the session ended; it goes on in the cluster (read it by id)',
          },
        } as SessionResult);
      }
      await Promise.all(closing);
      clearInterval(sweeper);
      await local.shutdown({ deadlineMs: 0 });
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
      state = 'stopped';
      broadcast({ type: 'supervisor.stopped', at: Date.now(), cancelled: [] });
      await settings.close();
      return { finished: finishedWhileDraining, cancelled: [] };
    })();
    return shutdownReport;
  }

  function status({ recent = 20 } = {}): RuntimeStatus {
    let queued = 0;
    let runningCount = 0;
    const byPriority: Record<number, number> = {};
    const perProvider = new Map<string, { queued: number; running: number }>();
    for (const name of local.providers) perProvider.set(name, { queued: 0, running: 0 });
    for (const summary of store.live.values()) {
      const counts = perProvider.get(summary.provider) ?? { queued: 0, running: 0 };
      perProvider.set(summary.provider, counts);
      if (summary.state === 'queued') {
        queued++;
        counts.queued++;
        byPriority[summary.priority] = (byPriority[summary.priority] ?? 0) + 1;
      } else {
        runningCount++;
        counts.running++;
      }
    }
    return {
      state,
      queued,
      running: runningCount,
      queuedByPriority: byPriority,
      providers: [...perProvider].map(([name, c]) => ({
        name,
        queued: c.queued,
        running: c.running,
        limit: limits.perProvider[name] ?? null,
      })),
      maxConcurrent: limits.maxConcurrent,
      maxQueued: limits.maxQueued,
      recent: store.history.recent(recent),
    };
  }

  return {
    submit,
    run: (task, runOptions) => local.run(task, runOptions),
    shutdown,
    providers: local.providers,
    status,
    session: (id) => store.live.get(id) ?? store.history.get(id),
    sessions: ({ limit = 100 } = {}) => [...store.live.values()].slice(0, limit),
    cancel: (id, reason = 'cancelled by request') => {
      if (!store.live.has(id) && !owners.has(id) && !running.has(id)) return false;
      void cancelAnywhere(id, reason).catch(onError);
      return true;
    },
    metrics: () => {
      const s = status({ recent: 0 });
      return { ...local.metrics(), queued: s.queued, running: s.running };
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready,
  } as Runtime & { ready: Promise<void> };
}

function defaultRoute(
  providers: readonly string[],
  defaults: { provider: string | undefined; model: string | undefined },
) {
  const only = providers.length === 1 ? providers[0] : undefined;
  return (request: SessionRequest) => {
    const provider = request.provider ?? defaults.provider ?? only;
    if (provider === undefined)
      throw runtimeError(
        'INVALID_REQUEST',
        'Expected `provider` (there are several and no default), got none',
      );
    const model = request.model ?? defaults.model;
    if (model === undefined || model === '')
      throw runtimeError('INVALID_REQUEST', 'Expected `model` (there is no default), got none');
    return { provider, model };
  };
}
