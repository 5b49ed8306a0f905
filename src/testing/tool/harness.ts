/**
 * The tool contract's harness: your `register` on a real `McpServer` over the SDK's in-memory
 * transport, the SDK's own client on the other end, and an in-memory runtime watched.
 *
 * The handler is observed where `withSession` hands it to the runtime: `register` gets the runtime
 * behind a proxy whose `run()` wraps each task (a task is `withSession`'s call of your handler, so
 * it settles when the handler does) and may shorten the session's deadline. Every other method is
 * the runtime's own. The client's transport is watched too: the SDK's client can drop a progress
 * notification that arrives just before the result (docs/embedding.md), its transport does not.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { runtimeError } from '../../core/errors.js';
import { createRuntime } from '../../runtime/runtime.js';
import type { Runtime, TaskContext, TaskFunction, TaskResult } from '../../runtime/types.js';
import type { ToolArguments, ToolContractOptions } from './types.js';

/** One attempt of a session's task: your handler, called once. */
export interface HandlerRun {
  readonly sessionId: string;
  readonly startedAt: number;
  /** When its signal aborted (deadline, cancellation, shutdown). */
  abortedAt?: number;
  settled?: { readonly at: number; readonly ok: boolean; readonly value?: unknown; readonly error?: unknown };
  readonly progress: { readonly at: number; readonly text: string }[];
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

export interface CallPlan {
  readonly args: ToolArguments;
  /** The session's run deadline, in ms, in place of the tool's own. @default the tool's */
  readonly timeoutMs?: number;
  /** Cancel the call (the client's `AbortSignal`: `notifications/cancelled`) this many ms after the handler starts. */
  readonly cancelAfterMs?: number;
  /** Ask for progress notifications. */
  readonly progress?: boolean;
}

export interface CallOutcome {
  readonly sentAt: number;
  readonly answer:
    | { readonly at: number; readonly result: Record<string, unknown> }
    | { readonly at: number; readonly error: unknown };
  readonly cancelledAt: number | undefined;
  readonly sessions: readonly SessionRun[];
  /** The progress notifications of this call that reached the client's transport, and when its response did. */
  readonly wire: { readonly progress: readonly WireProgress[]; readonly responseAt: number | undefined };
}

export interface WireProgress {
  readonly at: number;
  readonly progress: number;
  readonly message: string | undefined;
}

export interface ToolHarness {
  readonly tool: string;
  call(plan: CallPlan): Promise<CallOutcome>;
  close(): Promise<void>;
}

export const now = (): number => performance.now();

export async function startHarness(
  options: ToolContractOptions,
  callTimeoutMs: number,
): Promise<ToolHarness> {
  const runtime = createRuntime(options.runtime ?? { providers: [] });
  let current: { plan: CallPlan; sessions: SessionRun[]; cancel: () => void } | undefined;
  const watched = watchRuns(runtime, (task, timeoutMs) => {
    const call = current;
    const session = newSession();
    call?.sessions.push(session.run);
    const wrapped: TaskFunction<unknown> = (context) => {
      const run = startRun(context);
      session.run.runs.push(run.run);
      if (call?.plan.cancelAfterMs !== undefined && session.run.runs.length === 1)
        setTimeout(call.cancel, call.plan.cancelAfterMs);
      return run.settle(task(run.context));
    };
    return { task: wrapped, timeoutMs: call?.plan.timeoutMs ?? timeoutMs, ended: session.ended };
  });
  const server = new McpServer({ name: 'troupe-tool-contract', version: '1' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'troupe-tool-contract', version: '1' });
  let cleanup: unknown;
  const close = async () => {
    await client.close().catch(() => {});
    if (typeof cleanup === 'function') await cleanup();
    await server.close().catch(() => {});
    await runtime.shutdown({ deadlineMs: 0 });
  };
  try {
    cleanup = await options.register(server, watched);
    await server.connect(serverSide);
    await client.connect(clientSide);
  } catch (error) {
    await close();
    throw error;
  }
  const wire = watchWire(clientSide);
  const tool = await toolName(client, options.tool).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  return {
    tool,
    close,
    async call(plan) {
      const controller = new AbortController();
      let cancelledAt: number | undefined;
      const sessions: SessionRun[] = [];
      current = {
        plan,
        sessions,
        cancel: () => {
          cancelledAt = now();
          controller.abort(new Error('the tool contract cancelled the call'));
        },
      };
      wire.begin();
      const sentAt = now();
      const answer = await client
        .callTool(
          { name: tool, arguments: { ...plan.args } },
          {
            signal: controller.signal,
            timeout: callTimeoutMs,
            ...(plan.progress === true ? { onprogress: () => {} } : {}),
          },
        )
        .then(
          (result) => ({ at: now(), result: result as Record<string, unknown> }),
          (error: unknown) => ({ at: now(), error }),
        );
      current = undefined;
      return { sentAt, answer, cancelledAt, sessions, wire: wire.read() };
    },
  };
}

type RunHook = (
  task: TaskFunction<unknown>,
  timeoutMs: number | undefined,
) => {
  task: TaskFunction<unknown>;
  timeoutMs: number | undefined;
  ended: (result: TaskResult<unknown>) => void;
};

/** The runtime, with `run()` going through `hook`; every other member bound to the runtime itself. */
function watchRuns(runtime: Runtime, hook: RunHook): Runtime {
  const run: Runtime['run'] = (task, options) => {
    const watched = hook(task as TaskFunction<unknown>, options.timeoutMs);
    const handle = runtime.run(watched.task, {
      ...options,
      ...(watched.timeoutMs === undefined ? {} : { timeoutMs: watched.timeoutMs }),
    });
    void handle.result.then(watched.ended);
    return handle as never;
  };
  return new Proxy(runtime, {
    get(target, key) {
      if (key === 'run') return run;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function newSession(): { run: SessionRun; ended: (result: TaskResult<unknown>) => void } {
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

function startRun(context: TaskContext) {
  let resolve: () => void = () => {};
  const run: HandlerRun = {
    sessionId: context.sessionId,
    startedAt: now(),
    progress: [],
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
      run.progress.push({ at: now(), text: progressText(progress, total, message) });
      context.progress(progress, total, message);
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

/** A handler's report as `withSession` sends it: `"<progress>/<total>: <message>"`. */
export function progressText(progress: number, total?: number, message?: string): string {
  const amount = total === undefined ? `${progress}` : `${progress}/${total}`;
  return message === undefined ? amount : `${amount}: ${message}`;
}

/** Records the last `tools/call` the client sent, its progress notifications and its response. */
function watchWire(transport: InMemoryTransport) {
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

async function toolName(client: Client, wanted: string | undefined): Promise<string> {
  const names = (await client.listTools()).tools.map((tool) => tool.name);
  if (wanted !== undefined) {
    if (names.includes(wanted)) return wanted;
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`tool\` to name a tool \`register\` added (${names.join(', ') || 'none'}), got ${JSON.stringify(wanted)}`,
    );
  }
  if (names.length === 1) return names[0] as string;
  throw runtimeError(
    'INVALID_REQUEST',
    `Expected \`register\` to add one tool, or \`tool\` to name the one to check, got ${names.length === 0 ? 'no tools' : names.join(', ')}`,
  );
}
