/**
 * Tasks on one `McpServer`: the `tasks` capability (2025-11-25), the tasks extension (2026-07-28),
 * `tasks/get|cancel|result|list`, and starting a tool call as a task.
 */
import {
  CancelTaskRequestV1Schema,
  GetTaskRequestV1Schema,
  GetTaskResultRequestV1Schema,
  ListTasksRequestV1Schema,
} from '@modelcontextprotocol/ext-tasks/core/v1';
import { TASKS_EXTENSION_ID_V2 } from '@modelcontextprotocol/ext-tasks/core/v2';
import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { jsonBytes } from '../../core/json-bytes.js';
import { InvalidCursorError, type TaskRecord } from '../../ports/task-store.js';
import { checkAnswerBudget, takeAnswerBytes } from '../answer-budget.js';
import { callerOf, canSee, listingOwner, taskOwner } from '../caller.js';
import { logStoreFailure, type McpContext } from '../context.js';
import { keptRequestId } from '../request-ids.js';
import { invokeTool, type TroupeTool } from '../tool.js';
import { TaskLimitError, WaitLimitError } from './task-manager.js';
import {
  declaresTasksV2,
  getTaskResultV1,
  getTaskResultV2,
  listTasksResultV1,
  TASKS_CAPABILITY_V1,
  TASKS_EXTENSIONS_V2,
  taskPayloadV1,
  taskV1,
} from './task-wire.js';

/** Declares tasks and answers `tasks/*`; `tool-calls.ts` starts tasks from `tools/call`. */
export function installTasks(server: McpServer, mcp: McpContext): void {
  const low = server.server;
  low.registerCapabilities({ tasks: TASKS_CAPABILITY_V1, extensions: TASKS_EXTENSIONS_V2 });

  low.setRequestHandler(
    'tasks/get',
    { params: GetTaskRequestV1Schema.shape.params },
    async ({ taskId }, ctx) => {
      requireTasksV2(ctx);
      const record = found(visible(await mcp.tasks.get(taskId).catch(storeFailed(mcp)), ctx), taskId);
      return ctx.mcpReq.envelope === undefined ? getTaskResultV1(record) : getTaskResultV2(record);
    },
  );

  low.setRequestHandler(
    'tasks/cancel',
    { params: CancelTaskRequestV1Schema.shape.params },
    async ({ taskId }, ctx) => {
      requireTasksV2(ctx);
      found(visible(await mcp.tasks.store.get(taskId).catch(storeFailed(mcp)), ctx), taskId);
      const outcome = await mcp.tasks.cancel(taskId).catch(storeFailed(mcp));
      if (outcome.kind === 'unknown') found(undefined, taskId);
      // 2026-07-28: an acknowledgement, whatever state the task was in.
      if (ctx.mcpReq.envelope !== undefined) return {};
      if (outcome.kind === 'terminal') {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Cannot cancel task ${taskId}: it already ended with status "${outcome.record.status}"`,
        );
      }
      return outcome.kind === 'cancelled' ? taskV1(outcome.record) : {};
    },
  );

  // 2025-11-25 only; the SDK answers "Method not found" to 2026-07-28 requests for these.
  low.setRequestHandler(
    'tasks/result',
    { params: GetTaskResultRequestV1Schema.shape.params },
    async ({ taskId }, ctx) => {
      onceInRequest(ctx, taskId);
      checkAnswerBudget(ctx.http?.req);
      found(visible(await mcp.tasks.store.get(taskId).catch(storeFailed(mcp)), ctx), taskId);
      const owner = taskOwner(callerOf(ctx));
      // The 2025-era HTTP transport does not abort a request whose response stream the client
      // closed: tracked, the HTTP layer ends the wait then (`call-registry.ts`), and its place with it.
      const { signal, release } = mcp.calls.track(ctx.sessionId, ctx.mcpReq.id, ctx.mcpReq.signal);
      try {
        const payload = taskPayloadV1(found(await mcp.tasks.waitForResult(taskId, signal, owner), taskId));
        // After the wait: the other messages of a batch that waited meanwhile are counted already.
        takeAnswerBytes(ctx.http?.req, () => jsonBytes(payload));
        return payload;
      } catch (error) {
        if (error instanceof WaitLimitError)
          throw new ProtocolError(ProtocolErrorCode.InternalError, error.message);
        // The wait ended (its stream closed, or the client cancelled it), not the task. A client
        // that resumes the stream reads this: it was a bare "Internal error" (the reason, a string).
        if (signal.aborted)
          throw new ProtocolError(ProtocolErrorCode.InternalError, waitEnded(taskId, signal));
        return storeFailed(mcp)(error);
      } finally {
        release();
      }
    },
  );

  low.setRequestHandler(
    'tasks/list',
    { params: ListTasksRequestV1Schema.shape.params },
    async (params, ctx) => {
      try {
        return listTasksResultV1(await mcp.tasks.list(listingOwner(callerOf(ctx)), params?.cursor));
      } catch (error) {
        if (error instanceof InvalidCursorError)
          throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
        return storeFailed(mcp)(error);
      }
    },
  );
}

/** Starts `tool` as a task, detached from the request that asked for it. */
export async function startToolTask(
  mcp: McpContext,
  tool: TroupeTool,
  raw: unknown,
  ctx: ServerContext,
  ttlMs: number | undefined,
): Promise<TaskRecord> {
  // As a plain call keeps it (`tool.ts`): until 2026-12-07 whole, and one past 256 characters failed the task.
  const requestId = keptRequestId(ctx.mcpReq.id);
  const caller = callerOf(ctx);
  const owner = taskOwner(caller);
  try {
    return await mcp.tasks.start({
      toolName: tool.name,
      ...(ttlMs === undefined ? {} : { ttlMs }),
      ...(owner === undefined ? {} : { owner }),
      // Detached from the request's signal: the request is answered now, the call goes on.
      work: (signal, onSession, onRefused) =>
        invokeTool(tool, raw, mcp, {
          signal,
          requestId,
          caller,
          onSession: (handle) => onSession(handle.id),
          onRefused: (request, error) =>
            onRefused(`${request.provider ?? '?'}/${request.model ?? '?'}`, error.code),
        }),
    });
  } catch (error) {
    if (error instanceof TaskLimitError)
      throw new ProtocolError(ProtocolErrorCode.InternalError, error.message);
    return storeFailed(mcp)(error);
  }
}

/**
 * A task store's failure (Redis away or out of memory) as the client reads it: -32603 saying so, the
 * store's own error in the log. Until 2026-12-07 it went out as it came ("Stream isn't writeable and
 * enableOfflineQueue options is false"), saying nothing of what failed. troupe's own refusals pass.
 */
function storeFailed(mcp: McpContext): (error: unknown) => never {
  return (error) => {
    if (error instanceof ProtocolError) throw error;
    logStoreFailure(mcp.log, 'task store', error);
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      'Expected the task store to answer, got a failure (the server log says why); call again in a few seconds',
    );
  };
}

function waitEnded(taskId: string, signal: AbortSignal): string {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return `Stopped waiting for task ${taskId} (${reason}); the task goes on: call tasks/result again, or poll tasks/get`;
}

/** The tasks whose result each HTTP request (a JSON-RPC batch's messages share one) asked for. */
const resultsAsked = new WeakMap<object, Set<string>>();

/**
 * One task's result at most once in the answers of one HTTP request. A JSON-RPC batch (the SDK
 * takes up to 100 messages in a 2025-era POST) could ask for one stored result 100 times, and each
 * answer carries it whole, twice (its text and its structured content): a task's result is as
 * large as the model wrote it, so one model call and an 11 KB request made the server build 100
 * copies (with a 20 KB answer, a 4 MB response; found 2026-12-05). A repeat is refused with
 * -32600, and the result stays for any later request.
 */
function onceInRequest(ctx: ServerContext, taskId: string): void {
  const request = ctx.http?.req;
  if (request === undefined) return;
  const asked = resultsAsked.get(request) ?? new Set<string>();
  resultsAsked.set(request, asked);
  if (!asked.has(taskId)) {
    asked.add(taskId);
    return;
  }
  throw new ProtocolError(
    ProtocolErrorCode.InvalidRequest,
    `Expected each task's result once in one request, got task ${taskId}'s again: this request's answers carry it already; send a request of its own to read it again`,
  );
}

/** Another caller's task reads as unknown: its id says nothing about whether it exists. */
function visible(record: TaskRecord | undefined, ctx: ServerContext): TaskRecord | undefined {
  return record !== undefined && canSee(callerOf(ctx), record.owner) ? record : undefined;
}

function found(record: TaskRecord | undefined, taskId: string): TaskRecord {
  if (record !== undefined) return record;
  throw new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    `Failed to retrieve task: task ${taskId} not found (unknown, or expired after its ttl)`,
  );
}

/** 2026-07-28: only a client that declared the tasks extension on this request may use tasks/*. */
function requireTasksV2(ctx: ServerContext): void {
  if (ctx.mcpReq.envelope === undefined || declaresTasksV2(ctx.mcpReq.envelope)) return;
  throw new ProtocolError(
    ProtocolErrorCode.MissingRequiredClientCapability,
    'Missing required client capability',
    {
      requiredCapabilities: { extensions: { [TASKS_EXTENSION_ID_V2]: {} } },
    },
  );
}
