/**
 * What the tool contract's harness watches: each handler run and session, where `withSession`
 * hands the handler to the runtime, and the progress notifications and response of a call as they
 * reach the client's transport (the SDK's client can drop a progress notification that arrives just
 * before the result, docs/embedding.md; its transport does not).
 */
import type { Transport } from '@modelcontextprotocol/client';
import { tookProgress } from '../../runtime/provider-call.js';
import type {
  Runtime,
  SessionHandle,
  SessionRequest,
  TaskContext,
  TaskFunction,
  TaskResult,
} from '../../runtime/types.js';

export const now = (): number => performance.now();

/** One attempt of a session's task: your handler, called once. */
export interface HandlerRun {
  readonly sessionId: string;
  readonly startedAt: number;
  /** When its signal aborted (deadline, cancellation, shutdown). */
  abortedAt?: number;
  settled?: { readonly at: number; readonly ok: boolean; readonly value?: unknown; readonly error?: unknown };
  readonly progress: { readonly at: number; readonly text: string }[];
  /** When the handler called `session.progress(...)`, each call, taken by the session or not. */
  readonly reportedAt: number[];
  /** Resolves once the handler settled. */
  readonly done: Promise<void>;
}

/** One session the call started (a `withSession` tool starts one). */
export interface SessionRun {
  readonly runs: HandlerRun[];
  ended?: { readonly at: number; readonly result: TaskResult<unknown> };
  /** Resolves once the session ended. */
  readonly end: Promise<void>;
}

export interface WireProgress {
  readonly at: number;
  readonly progress: number;
  readonly message: string | undefined;
}

export type RunHook = (
  task: TaskFunction<unknown>,
  timeoutMs: number | undefined,
) => {
  task: TaskFunction<unknown>;
  timeoutMs: number | undefined;
  ended: (result: TaskResult<unknown>) => void;
};

/** Told of each session submitted (`runtime.submit`, which `session.submit` calls). */
export type SubmitHook = (handle: SessionHandle, request: SessionRequest, signalled: boolean) => void;

/**
 * The runtime, with `run()` going through `hook` and `submit()` told to `onSubmit`; every other
 * member bound to the runtime itself.
 */
export function watchRuns(runtime: Runtime, onSubmit: SubmitHook, hook: RunHook): Runtime {
  const run: Runtime['run'] = (task, options) => {
    const watched = hook(task as TaskFunction<unknown>, options.timeoutMs);
    const handle = runtime.run(watched.task, {
      ...options,
      ...(watched.timeoutMs === undefined ? {} : { timeoutMs: watched.timeoutMs }),
    });
    void handle.result.then(watched.ended);
    return handle as never;
  };
  const submit: Runtime['submit'] = (request, options) => {
    const handle = runtime.submit(request, options);
    onSubmit(handle, request, options?.signal !== undefined);
    return handle;
  };
  return new Proxy(runtime, {
    get(target, key) {
      if (key === 'run') return run;
      if (key === 'submit') return submit;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export function newSession(): { run: SessionRun; ended: (result: TaskResult<unknown>) => void } {
  let resolve: () => void = () => {};
  const run: SessionRun = {
    runs: [],
    end: new Promise<void>((r) => {
      resolve = r;
    }),
  };
  return {
    run,
    ended: (result) => {
      run.ended = { at: now(), result };
      resolve();
    },
  };
}

export function startRun(context: TaskContext) {
  let resolve: () => void = () => {};
  const run: HandlerRun = {
    sessionId: context.sessionId,
    startedAt: now(),
    progress: [],
    reportedAt: [],
    done: new Promise<void>((r) => {
      resolve = r;
    }),
  };
  const aborted = () => {
    run.abortedAt ??= now();
  };
  if (context.signal.aborted) aborted();
  else context.signal.addEventListener('abort', aborted, { once: true });
  const watchedContext: TaskContext = {
    signal: context.signal,
    sessionId: context.sessionId,
    attempt: context.attempt,
    progress(progress, total, message) {
      // A report the session did not take (not above the last) sends nothing to be delivered; what
      // it returns goes back to `withSession`, which sends only what was taken.
      run.reportedAt.push(now());
      const taken = context.progress(progress, total, message);
      if (tookProgress(taken)) run.progress.push({ at: now(), text: progressText(progress, total, message) });
      return taken;
    },
  };
  return {
    run,
    context: watchedContext,
    settle: <T>(promise: Promise<T>): Promise<T> =>
      promise.then(
        (value) => {
          run.settled = { at: now(), ok: true, value };
          resolve();
          return value;
        },
        (error: unknown) => {
          run.settled = { at: now(), ok: false, error };
          resolve();
          throw error;
        },
      ),
  };
}

/** One session the handler submitted during the call. */
export interface SubmittedRun {
  readonly sessionId: string;
  /** The request's `provider` and `model`, as the handler gave them, for a message. */
  readonly target: string;
  readonly submittedAt: number;
  /** Whether the submission carried a signal (`session.submit` always does). */
  readonly signalled: boolean;
  endedAt?: number;
}

export function watchSubmitted(
  handle: SessionHandle,
  request: SessionRequest,
  signalled: boolean,
): SubmittedRun {
  const target = [request.provider, request.model].filter((part) => part !== undefined).join(' ');
  const run: SubmittedRun = {
    sessionId: handle.id,
    target: target === '' ? 'the default model' : target,
    submittedAt: now(),
    signalled,
  };
  void handle.result.then(() => {
    run.endedAt = now();
  });
  return run;
}

/** A handler's report as `withSession` sends it: `"<progress>/<total>: <message>"`. */
export function progressText(progress: number, total?: number, message?: string): string {
  const amount = total === undefined ? `${progress}` : `${progress}/${total}`;
  return message === undefined ? amount : `${amount}: ${message}`;
}

/** Records the last `tools/call` the client sent, its progress notifications and its response. */
export function watchWire(transport: Transport) {
  let callId: unknown;
  let progress: WireProgress[] = [];
  let responseAt: number | undefined;
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    const m = message as { method?: string; id?: unknown };
    if (m.method === 'tools/call') callId = m.id;
    return send(message, options);
  };
  const receive = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const m = message as { method?: string; id?: unknown; params?: Record<string, unknown> };
    if (m.method === 'notifications/progress' && m.params?.progressToken === callId)
      progress.push({
        at: now(),
        progress: Number(m.params?.progress),
        message: typeof m.params?.message === 'string' ? m.params.message : undefined,
      });
    else if (m.method === undefined && m.id === callId) responseAt ??= now();
    receive?.(message, extra);
  };
  return {
    begin() {
      callId = undefined;
      progress = [];
      responseAt = undefined;
    },
    read: () => ({ progress, responseAt }),
  };
}
