/**
 * The runtime over Redis: sessions queue in one BullMQ queue per provider (the provider's limit
 * is the queue's global concurrency), a Worker per provider on every instance takes jobs and runs
 * them in the local in-memory runtime (`adopt`), and results, events and cancellations travel
 * over Redis. Any instance can submit, watch, cancel and read any session.
 *
 * Split out: the queues and Workers (`cluster-queues.ts`), withdrawals and the queue-deadline
 * sweep (`withdraw.ts`), the caller's side (`owner.ts`), `status()` (`cluster-status.ts`), the
 * job's data (`job-data.ts`), the store and bus (`redis-store.ts`). What stays here is the one
 * closure that owns this instance's state (owners, running sessions, accepting or draining) and
 * the paths that change it together: submit, run, settle, cancel, recover, shut down.
 */
import { type Job, WaitingError } from 'bullmq';
import type { Redis } from 'ioredis';
import { runtimeError } from '../core/errors.js';
import { capMetadata } from '../core/metadata.js';
import type { LocalRuntime } from '../runtime/backend.js';
import { flatUUID } from '../runtime/ids.js';
import { resolveDefaults, resolveLimits, resolveSubmitOptions } from '../runtime/options.js';
import { chatRequest, defaultRouter } from '../runtime/requests.js';
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
import { createQueues } from './cluster-queues.js';
import { clusterStatus } from './cluster-status.js';
import {
  bullPriority,
  decodeRequest,
  endedSummary,
  type JobData,
  newJobData,
  queuedSummary,
  resultOf,
  unavailable,
} from './job-data.js';
import { closeOwner, createOwner, type Owner, ownerHandle } from './owner.js';
import { type BusMessage, type CancelMessage, RedisKeys, RedisSessionStore } from './redis-store.js';
import { createWithdrawals } from './withdraw.js';

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
  const route = options.router ?? defaultRouter(new Map(local.providers.map((n) => [n, n])), defaults);
  const onError = options.onError ?? ((error: unknown) => process.emitWarning(String(error)));
  const owners = new Map<string, Owner>();
  const running = new Map<string, Running>();
  /** Jobs taken here, by session id, from before `adopt` until the session ends. */
  const jobs = new Map<string, Job<JobData>>();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  let state: RuntimeStatus['state'] = 'accepting';
  let finishedWhileDraining = 0;
  let shutdownReport: Promise<ShutdownReport> | undefined;

  const { queues, workers, applyLimits } = createQueues(local.providers, limits, settings, redis, processJob);
  const { withdraw, sweep } = createWithdrawals(queues, store, redis, keys);
  const ready = (async () => {
    await applyLimits();
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
  // The first `ready` is the first connection: `ready` has loaded the mirror.
  let connectedBefore = false;
  subscriber.on('ready', () => {
    if (!connectedBefore) {
      connectedBefore = true;
      return;
    }
    void store.reload().catch(() => {});
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
    if (state === 'draining') finishedWhileDraining++;
    closeOwner(owner, result);
    if (state === 'draining' && owners.size === 0 && running.size === 0) drained?.();
  }

  /**
   * After a reconnect: a result published while cut off is read back; a queued session whose job
   * and result are both gone was lost by a Redis that came back empty, and ends BACKEND_UNAVAILABLE.
   */
  async function recover(id: string): Promise<void> {
    for (let tries = 0; tries < 40 && redis.status !== 'ready'; tries++) await delay(250);
    const owner = owners.get(id);
    const queue = owner && queues.get(owner.data.input.provider);
    if (owner === undefined || queue === undefined) return;
    try {
      // The job first: a job leaves its queue only after its result is set.
      const queued = owner.started || (await redis.exists(queue.toKey(id))) === 1;
      const result = await store.result(id);
      if (result !== undefined) endOwner(id, result);
      else if (!queued) await endUnavailable(owner.data, 'Redis came back without the queued session');
    } catch {
      // Still cut off: the next reconnect tries again.
    }
  }

  /**
   * Ends a session Redis could not take or lost. Through `settle` when Redis answers (so the
   * cluster hears); otherwise here only: the mirror drops it and local listeners hear the end.
   */
  async function endUnavailable(data: JobData, message: string): Promise<void> {
    const id = data.input.sessionId;
    const result = unavailable(data, message);
    const settled = await store.settle(result, data.label).catch(() => false);
    if (!settled) {
      store.live.delete(id);
      store.history.add(endedSummary(result));
      const { provider } = data.input;
      const label = data.label === undefined ? {} : { label: data.label };
      broadcast({ type: 'session.ended', sessionId: id, result, at: Date.now(), provider, ...label });
    }
    endOwner(id, result);
  }

  /** The worker's processor: runs one admitted session here. */
  async function processJob(job: Job<JobData>, token: string): Promise<void> {
    const data = job.data;
    const id = data.input.sessionId;
    if ((await redis.exists(keys.result(id))) === 1) return;
    const prior = await redis.hgetall(keys.run(id));
    // Cancelled while queued, and taken before the withdrawal: it ends with no provider call.
    const early = prior.startedAt === undefined ? await redis.get(keys.cancel(id)) : null;
    if (early !== null) {
      const now = Date.now();
      await settleRetrying(resultOf(data, [{ type: 'session.cancel', now, reason: early }]), data.label);
      return;
    }
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
        await delay(500);
      }
    }
  }

  async function cancelAnywhere(id: string, reason: string): Promise<void> {
    if (running.has(id)) {
      local.cancel(id, reason);
      return;
    }
    const provider = owners.get(id)?.data.input.provider ?? store.live.get(id)?.provider;
    // The key first: a Worker that takes the job meanwhile sees it before the session starts.
    await redis.set(keys.cancel(id), reason, 'PX', 600_000);
    if (provider !== undefined && (await withdraw(provider, id, 'cancel', reason))) return;
    const message: CancelMessage = { sessionId: id, reason };
    await redis.publish(keys.cancels, JSON.stringify(message));
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
    const sessionId = flatUUID();
    const data = newJobData(
      sessionId,
      Date.now(),
      chatRequest(request, target.model),
      request,
      target,
      resolved,
      defaults,
      {
        requestId: submitOptions.requestId,
        label: submitOptions.label,
        caller: capMetadata(submitOptions.metadata, limits.callerMetadataBytes),
      },
    );
    const owner = createOwner(data);
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
    void enqueue(owner).catch(
      (error: unknown) =>
        void endUnavailable(data, `Expected Redis to take the session, got ${(error as Error).message}`),
    );
    const signal = submitOptions.signal;
    if (signal !== undefined) {
      const onAbort = () => void cancelAnywhere(sessionId, "the caller's signal aborted").catch(() => {});
      signal.addEventListener('abort', onAbort, { once: true });
      owner.detachSignal = () => signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
    }
    return ownerHandle(
      owner,
      () => owners.has(sessionId),
      (reason) => void cancelAnywhere(sessionId, reason).catch(() => {}),
    );
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
    return clusterStatus(store, local.providers, limits, state, recent);
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

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
