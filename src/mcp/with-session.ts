/**
 * `withSession`: any tool handler of yours, run as a troupe session. The call is queued under a
 * lane's limit and priority, gets a deadline and an `AbortSignal`, sends MCP progress while it
 * waits and runs, and its result carries the session metadata in `structuredContent.session`.
 */
import type { CallToolResult, ServerContext } from '@modelcontextprotocol/server';
import { type TroupeErrorData, toErrorData } from '../core/errors.js';
import { jsonBytes } from '../core/json-bytes.js';
import { onlyKeys } from '../runtime/option-keys.js';
import { tookProgress } from '../runtime/provider-call.js';
import type {
  Runtime,
  SessionHandle,
  SessionMetadata,
  SessionRequest,
  SubmitOptions,
  TaskContext,
  TaskResult,
} from '../runtime/types.js';
import { sessionOwner } from './caller.js';
import { errorText, toolErrorInfo } from './errors.js';
import { ownToolHint } from './own-tool-hints.js';
import { heartbeatMs, ProgressReporter } from './progress.js';
import { sessionOwnersOf } from './session-owners.js';
import { callContext } from './tool.js';
import { toolResult } from './tool-result.js';

/** What your handler gets besides its arguments. */
export interface ToolSession extends TaskContext {
  /** The SDK's request context, as a plain handler would get it. */
  readonly ctx: ServerContext;
  /**
   * Submits a model call on behalf of this tool call (`runtime.submit` with what it needs): cancelled
   * with the call (`signal`, and a `signal` of yours too), run on the call's slot when every slot is
   * taken (`parent`), and its caller's (`metadata.owner`: its share of the running sessions, the
   * `sessions` tool, `cancel_session`), at the tool's `priority` unless you give one. Your other
   * options and metadata go with it.
   */
  submit(request: SessionRequest, options?: SubmitOptions): SessionHandle;
}

export type SessionToolHandler<A> = (
  args: A,
  session: ToolSession,
) => CallToolResult | Promise<CallToolResult>;

/** A value fixed for every call, or chosen from the call's arguments. */
export type PerCall<A, T> = T | ((args: A) => T);

export interface WithSessionOptions<A> {
  /** The lane whose limit (`limits.perProvider[lane]`) applies; shown as `provider` in metadata. @default 'tools' */
  readonly lane?: string;
  /** What runs, shown as `model` in metadata and as the session label. @default the lane */
  readonly name?: string;
  /** 0 (lowest) to 9 (highest). @default the runtime's `defaults.priority` (5) */
  readonly priority?: PerCall<A, number>;
  /** Run deadline, from admission, in ms. @default the runtime's `defaults.timeoutMs` (120000) */
  readonly timeoutMs?: PerCall<A, number>;
  /** Longest wait in the queue, in ms. @default the runtime's `defaults.queueTimeoutMs` (60000) */
  readonly queueTimeoutMs?: number;
  /** Attempts in all; a retry happens only when the handler throws a retryable `TroupeError`. @default 1 */
  readonly maxAttempts?: number;
  /** Heartbeat: a progress notification at least this often while nothing else was sent, in ms. @default 5000 */
  readonly progressIntervalMs?: number;
}

// What withSession takes, held to its interface at compile time: from JavaScript a misspelt
// `timeout: 200` used to be ignored, and the tool ran under the runtime's default deadline.
const OPTION_KEYS = {
  lane: true,
  name: true,
  priority: true,
  timeoutMs: true,
  queueTimeoutMs: true,
  maxAttempts: true,
  progressIntervalMs: true,
} as const satisfies Record<keyof WithSessionOptions<unknown>, true>;

/**
 * Wraps `handler` so each call runs as a session of `runtime`. Use the result as the callback of
 * `server.registerTool(name, { inputSchema, ... }, withSession(runtime, handler))`.
 *
 * The handler must pass `session.signal` to everything it awaits (fetch, child processes, SDK
 * calls): it aborts on the deadline, on the client's cancellation and on shutdown, and a result
 * returned after that is dropped.
 */
export function withSession<A>(
  runtime: Runtime,
  handler: SessionToolHandler<A>,
  options: WithSessionOptions<A> = {},
): (args: A, ctx: ServerContext) => Promise<CallToolResult> {
  onlyKeys('withSession options', options, OPTION_KEYS);
  const lane = options.lane ?? 'tools';
  const name = options.name ?? lane;
  const intervalMs = heartbeatMs(options.progressIntervalMs, 'withSession');
  const owners = sessionOwnersOf(runtime);
  // The runtime's byte bound, read once (it is fixed at createRuntime): the arguments are measured
  // up to it and no further, and a count past it is refused by admission as never fitting.
  let maxBytes: number | undefined;
  return async (args, ctx) => {
    const call = callContext(ctx);
    const priority = perCall(options.priority, args);
    const owner = sessionOwner(call.caller);
    let seq = 0;
    // Set once the call is answered: MCP says progress stops with the result, so a handler that
    // ignored its signal and reports after its deadline sends the client nothing more.
    let answered = false;
    const send =
      call.progress === undefined
        ? undefined
        : (message: string) => {
            if (answered) return Promise.resolve();
            seq += 1;
            call.progress?.(seq, message).catch(() => {
              // The client may be gone; its cancellation reaches the session by the signal.
            });
            return Promise.resolve();
          };
    const reporter =
      send === undefined ? undefined : new ProgressReporter((_, m) => send(m), intervalMs, 'task');
    let handle: SessionHandle<TaskResult<CallToolResult>>;
    try {
      maxBytes ??= runtime.status({ recent: 0 }).maxQueuedBytes;
      handle = runtime.run<CallToolResult>(
        async (context) =>
          toolResult(
            await handler(args, {
              signal: context.signal,
              sessionId: context.sessionId,
              attempt: context.attempt,
              ctx,
              submit: (request, submitOptions = {}) => {
                const signal =
                  submitOptions.signal === undefined
                    ? context.signal
                    : AbortSignal.any([context.signal, submitOptions.signal]);
                const child = runtime.submit(request, {
                  // The tool call's priority, unless the handler names one.
                  ...optional('priority', priority),
                  ...submitOptions,
                  signal,
                  parent: context.sessionId,
                  metadata: { ...submitOptions.metadata, owner },
                });
                owners.record(child.id, owner, child.result);
                return child;
              },
              progress: (progress, total, message) => {
                // Only what the session took (`false`: not above the last, or it ended) is notified.
                if (tookProgress(context.progress(progress, total, message)))
                  reporter?.step(describeProgress(progress, total, message));
              },
            }),
          ),
        {
          lane,
          name,
          label: name,
          // Its caller, as `chat`'s sessions carry theirs: in its metadata, and for its share of the queue.
          metadata: { owner },
          // What it holds while it waits, counted against `maxQueuedBytes` as a chat request's JSON
          // is: until 2026-12-06 it counted 0, and one token held a call of 4 MiB arguments on each
          // of its open requests (thousands on troupe's front) behind a lane limit, the queue's
          // bytes reading 0.
          bytes: argumentBytes(args, maxBytes),
          signal: call.signal,
          ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
          ...optional('priority', priority),
          ...optional('timeoutMs', perCall(options.timeoutMs, args)),
          ...optional('queueTimeoutMs', options.queueTimeoutMs),
          ...optional('maxAttempts', options.maxAttempts),
        },
      );
    } catch (error) {
      answered = true;
      reporter?.stop();
      return errorResult(toErrorData(error));
    }
    // Listed by the `sessions` tool and cancellable by `cancel_session` for the caller that started it.
    owners.record(handle.id, owner, handle.result);
    reporter?.watch(handle as unknown as SessionHandle);
    try {
      const result = await handle.result;
      if (!result.ok) return errorResult(result.error, result.metadata);
      return withMetadata(result.value, result.metadata);
    } finally {
      answered = true;
      reporter?.stop();
    }
  };
}

/**
 * The result with the session's metadata in `structuredContent.session`, when it has room: MCP's
 * schema takes any JSON value there, and an array, a string or `null` is answered as it is (until
 * 2026-12-07 it was spread into an object, `"ok"` answered `{ "0": "o", "1": "k", session }`).
 */
function withMetadata(result: CallToolResult, metadata: SessionMetadata): CallToolResult {
  const structured = result.structuredContent;
  if (structured === undefined) return { ...result, structuredContent: { session: metadata } };
  if (typeof structured !== 'object' || structured === null || Array.isArray(structured)) return result;
  return { ...result, structuredContent: { ...structured, session: metadata } };
}

function errorResult(error: TroupeErrorData, metadata?: SessionMetadata): CallToolResult {
  // Hints in words that fit any tool: troupe's name its own tools' arguments (`timeout_ms`).
  const info = { ...toolErrorInfo(error), hint: ownToolHint(error.code, error.timeout) };
  return {
    content: [{ type: 'text', text: errorText(info) }],
    structuredContent: { ok: false, error: info, ...(metadata === undefined ? {} : { session: metadata }) },
    isError: true,
  };
}

function describeProgress(progress: number, total: number | undefined, message: string | undefined): string {
  const amount = total === undefined ? `${progress}` : `${progress}/${total}`;
  return message === undefined ? amount : `${amount}: ${message}`;
}

/**
 * The arguments' JSON bytes, counted until past `limit` (the runtime's `maxQueuedBytes`): an
 * embedder's in-process arguments (or a stdio line) have no HTTP body bound before them, and until
 * 2026-12-07 a wide or long value was walked whole before admission refused it. 0 for arguments
 * JSON cannot carry (a schema's transform may make a bigint), which came as JSON within the
 * transport's bound.
 */
function argumentBytes(args: unknown, limit: number): number {
  try {
    return jsonBytes(args, limit);
  } catch {
    return 0;
  }
}

function perCall<A, T>(value: PerCall<A, T> | undefined, args: A): T | undefined {
  return typeof value === 'function' ? (value as (args: A) => T)(args) : value;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
