/**
 * Runs one model call as a runtime session on behalf of a tool call, tying the two together:
 * the call's abort signal cancels the session (which aborts the provider request), progress
 * follows the session's events, and an admission refusal comes back as data, never a throw.
 */
import type { TroupeErrorData } from '../core/errors.js';
import { runtimeError, toErrorData } from '../core/errors.js';
import type { SessionHandle, SessionRequest, SessionResult, SubmitOptions } from '../runtime/types.js';
import { type Caller, sessionOwner } from './caller.js';
import type { McpContext } from './context.js';
import { ProgressReporter, type ProgressSink } from './progress.js';

/** What a tool handler knows about the MCP request it serves. */
export interface ToolCallContext {
  /** Aborted on MCP cancellation, a closed connection, or task cancellation. */
  readonly signal: AbortSignal;
  /** Present when the client asked for progress. */
  readonly progress?: ProgressSink;
  /** The MCP request id, echoed in session metadata as `requestId`. */
  readonly requestId?: string;
  /** Who is calling (see `caller.ts`); its sessions are recorded as its own. @default local */
  readonly caller?: Caller;
  /** Called with each session the call starts (tasks follow them). */
  readonly onSession?: (handle: SessionHandle) => void;
  /** Called with each request refused before its session existed, in turn with `onSession`'s. */
  readonly onRefused?: (request: SessionRequest, error: TroupeErrorData) => void;
  /**
   * Sends a `notifications/message` to the client, if its log level lets it through (2025-11-25:
   * `logging/setLevel`; 2026-07-28: the request's log level).
   */
  readonly log?: ClientLog;
  /**
   * The HTTP request the call came in (every message of a JSON-RPC batch shares it), whose answer
   * budget read-heavy tools count against (`answer-budget.ts`); absent on stdio and in tasks.
   */
  readonly httpRequest?: object;
}

/**
 * Whether a call's sessions stream: streaming gives progress, and a task's status, their character
 * counts, and a failure what was written (`partial`); a plain call without a progress token takes
 * its answer whole. Task calls took theirs whole too until 2026-12-04.
 */
export function streams(call: ToolCallContext): boolean {
  return call.progress !== undefined || call.onSession !== undefined;
}

export type ClientLog = (level: 'info' | 'warning' | 'error', data: Record<string, unknown>) => void;

export type SessionOutcome =
  | { readonly kind: 'ended'; readonly result: SessionResult }
  /** Refused at admission (QUEUE_FULL, SHUTTING_DOWN, INVALID_REQUEST, ...): no session exists. */
  | { readonly kind: 'refused'; readonly error: TroupeErrorData };

/** How a tool's sessions are scheduled: the tool's own `priority` and `timeout_ms` arguments. */
export interface Scheduling {
  readonly priority?: number | undefined;
  readonly timeout_ms?: number | undefined;
}

/**
 * Runs one session for a tool call: the request goes to the runtime as the tool built it (with
 * `stream` set when the tool left it open), the submit options are built once, here, and no array,
 * `Promise.all` or copy of the request is made (a plain `chat` call is the hot path of the server).
 */
export function runSession(
  mcp: McpContext,
  call: ToolCallContext,
  request: SessionRequest,
  label: string,
  scheduling: Scheduling,
): Promise<SessionOutcome> {
  if (call.progress === undefined) return follow(mcp, call, request, label, scheduling, call.requestId);
  const reporter = new ProgressReporter(call.progress, mcp.progressIntervalMs);
  return follow(mcp, call, request, label, scheduling, call.requestId, reporter).finally(() =>
    reporter.stop(),
  );
}

/** Submits every request, follows them all with one progress reporter, waits for every result. */
export async function runSessions(
  mcp: McpContext,
  call: ToolCallContext,
  requests: readonly SessionRequest[],
  label: string,
  scheduling: Scheduling,
): Promise<SessionOutcome[]> {
  const reporter =
    call.progress === undefined ? undefined : new ProgressReporter(call.progress, mcp.progressIntervalMs);
  try {
    const pending = requests.map((request, index) => {
      const requestId =
        call.requestId === undefined || requests.length === 1 ? call.requestId : `${call.requestId}#${index}`;
      return follow(mcp, call, request, label, scheduling, requestId, reporter);
    });
    return await Promise.all(pending);
  } finally {
    reporter?.stop();
  }
}

/** Submits one session and resolves with how it ended; a refusal comes back as data. */
function follow(
  mcp: McpContext,
  call: ToolCallContext,
  request: SessionRequest,
  label: string,
  scheduling: Scheduling,
  requestId: string | undefined,
  reporter?: ProgressReporter,
): Promise<SessionOutcome> {
  const owner = sessionOwner(call.caller);
  const cap = mcp.maxCallerPriority;
  if (scheduling.priority !== undefined && scheduling.priority > cap && call.caller?.admin !== true) {
    const error = runtimeError(
      'INVALID_REQUEST',
      `Expected \`priority\` at most ${cap} for this client (the server's maxCallerPriority; admins are not capped), got ${scheduling.priority}`,
    );
    return refused(call, request, toErrorData(error));
  }
  // Built once, field by field: the runtime's caller record (the owner goes with the session and
  // into its metadata), the call's signal and request id, the tool's scheduling.
  const options: { -readonly [K in keyof SubmitOptions]: SubmitOptions[K] } = {
    label,
    metadata: { owner },
    signal: call.signal,
  };
  if (requestId !== undefined) options.requestId = requestId;
  if (scheduling.priority !== undefined) options.priority = scheduling.priority;
  if (scheduling.timeout_ms !== undefined) options.timeoutMs = scheduling.timeout_ms;
  let handle: SessionHandle;
  try {
    const submitted = request.stream === undefined ? { ...request, stream: streams(call) } : request;
    handle = mcp.runtime.submit(submitted, options);
  } catch (error) {
    return refused(call, request, toErrorData(error));
  }
  mcp.owners.record(handle.id, owner, handle.result);
  // The runtime watches `signal` (already aborted included) and cancels the session: no
  // second listener here (a listener pair per call was a measurable share of a stdio call).
  reporter?.watch(handle);
  call.onSession?.(handle);
  if (call.log === undefined) return handle.result.then(ended);
  const id = handle.id;
  mcp.retryLogs.follow(id, call.log);
  return handle.result.then((result) => {
    mcp.retryLogs.forget(id);
    return ended(result);
  });
}

function ended(result: SessionResult): SessionOutcome {
  return { kind: 'ended', result };
}

/** A request refused before its session existed: told to `onRefused`, and returned as data. */
function refused(
  call: ToolCallContext,
  request: SessionRequest,
  error: TroupeErrorData,
): Promise<SessionOutcome> {
  call.onRefused?.(request, error);
  return Promise.resolve({ kind: 'refused', error });
}
