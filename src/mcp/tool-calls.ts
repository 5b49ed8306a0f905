/**
 * The one owner of `tools/list` and `tools/call` for troupe's tools on an `McpServer`, for plain
 * and task calls alike.
 *
 * troupe answers these itself rather than through `McpServer.registerTool` because the SDK's tool
 * handler can return only a `CallToolResult`, and a task call (2025-11-25 `params.task`, or a
 * 2026-07-28 request declaring the tasks extension) answers with a `CreateTaskResult`. Every other
 * tool name goes to the handlers `McpServer` installed, so tools the host registers on the same
 * server, before or after, keep working (`sdk-internals.ts` is how those are reached).
 */
import { TaskMetadataV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import {
  type CallToolResult,
  type ListToolsResult,
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { McpContext } from './context.js';
import { mcpServerToolHandlers, type StoredHandler } from './sdk-internals.js';
import { startToolTask } from './tasks/task-handlers.js';
import { createTaskResultV1, createTaskResultV2, declaresTasksV2 } from './tasks/task-wire.js';
import { callContext, invokeTool, type TroupeTool, toCallToolResult, toolDefinition } from './tool.js';

const callParams = z.looseObject({
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  task: TaskMetadataV1Schema.optional(),
});

/** Installs the handlers; call before `server.connect()`. Names must not repeat. */
export function installToolCalls(server: McpServer, mcp: McpContext, tools: readonly TroupeTool[]): void {
  const others = mcpServerToolHandlers(server);
  const listed = tools.map((tool) => toolDefinition(tool, mcp));
  const byName = new Map(
    tools.map((tool, i) => [tool.name as string, { tool, outputSchema: listed[i]!.outputSchema }]),
  );
  const low = server.server;

  low.setRequestHandler('tools/list', async (request, ctx) => {
    const theirs = (await others.list(request, ctx)) as ListToolsResult;
    return { ...theirs, tools: [...listed, ...theirs.tools.filter((tool) => !byName.has(tool.name))] };
  });

  low.setRequestHandler('tools/call', { params: callParams }, async (params, ctx) => {
    const own = byName.get(params.name);
    if (own === undefined) return callOther(others.call, params, mcp, ctx);
    const { tool } = own;
    const modern = ctx.mcpReq.envelope !== undefined;
    const asTask = modern
      ? tool.longRunning && declaresTasksV2(ctx.mcpReq.envelope)
      : params.task !== undefined;
    if (!asTask) {
      const result = await callTool(tool, params.arguments, mcp, ctx);
      return low.projectCallToolResult(result, own.outputSchema);
    }
    if (!tool.longRunning) {
      throw new ProtocolError(
        ProtocolErrorCode.MethodNotFound,
        `Tool ${tool.name} does not run as a task (execution.taskSupport is absent); call it without \`task\``,
      );
    }
    const record = await startToolTask(mcp, tool, params.arguments, ctx, params.task?.ttl);
    return modern ? createTaskResultV2(record) : createTaskResultV1(record);
  });
}

/**
 * A tool of the host's (`withSession`, or any): tracked as troupe's own, so on troupe's HTTP front a
 * closed 2025-era stream cancels it after `disconnectGraceMs` too (until 2026-12-06 it ran on to its
 * end), and a cancellation taken before it started finds it. The handler reads the tracked signal.
 */
async function callOther(
  call: StoredHandler,
  params: z.infer<typeof callParams>,
  mcp: McpContext,
  ctx: ServerContext,
): Promise<CallToolResult> {
  const tracked = mcp.calls.track(ctx.sessionId, ctx.mcpReq.id, ctx.mcpReq.signal);
  try {
    const own =
      tracked.signal === ctx.mcpReq.signal
        ? ctx
        : { ...ctx, mcpReq: { ...ctx.mcpReq, signal: tracked.signal } };
    return (await call({ method: 'tools/call', params }, own)) as CallToolResult;
  } finally {
    tracked.release();
  }
}

/** A plain (not task) call: tracked so a closed HTTP stream can cancel it. */
async function callTool(
  tool: TroupeTool,
  raw: unknown,
  mcp: McpContext,
  ctx: ServerContext,
): Promise<CallToolResult> {
  const tracked = mcp.calls.track(ctx.sessionId, ctx.mcpReq.id, ctx.mcpReq.signal);
  try {
    return toCallToolResult(await invokeTool(tool, raw, mcp, callContext(ctx, tracked.signal)));
  } finally {
    tracked.release();
  }
}
