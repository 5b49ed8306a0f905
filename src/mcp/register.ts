/**
 * `registerTools`: troupe's tools on an `McpServer` someone else owns, with the same progress,
 * cancellation, tasks and session metadata as `troupe serve` (which is built on it).
 */
import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { runtimeError } from '../core/errors.js';
import type { Runtime } from '../runtime/types.js';
import { createMcpContext, type McpContext, type McpContextOptions } from './context.js';
import { installTasks } from './tasks/task-handlers.js';
import { registerTool, type ToolName, type TroupeTool } from './tool.js';
import { cancelSessionTool } from './tools/cancel-session.js';
import { chatTool } from './tools/chat.js';
import { consensusTool } from './tools/consensus.js';
import { listModelsTool } from './tools/list-models.js';
import { multiFileChatTool } from './tools/multi-file-chat.js';
import { sessionsTool } from './tools/sessions.js';

export const TOOLS: readonly TroupeTool[] = [
  chatTool,
  multiFileChatTool,
  consensusTool,
  listModelsTool,
  sessionsTool,
  cancelSessionTool,
] as readonly TroupeTool[];

/** Every troupe tool name, in the order `tools/list` shows them. */
export const TOOL_NAMES: readonly ToolName[] = TOOLS.map((tool) => tool.name);

export interface RegisterToolsOptions extends Omit<McpContextOptions, 'runtime'> {
  /** Which tools to add. @default all six (`TOOL_NAMES`) */
  readonly tools?: readonly ToolName[];
  /** Put before every tool name (`'troupe_'` gives `troupe_chat`). @default '' */
  readonly prefix?: string;
  /**
   * Share one context (conversations, tasks, live sessions) across several servers, e.g. one per
   * HTTP connection; the other context options are then ignored. @default a new context
   */
  readonly context?: McpContext;
}

export interface RegisteredTools {
  /** The names as registered, prefix included. */
  readonly names: readonly string[];
  readonly context: McpContext;
  /** Stops the context's timers if `registerTools` created it; never shuts the runtime down. */
  close(): void;
}

/**
 * Adds troupe's tools to `server`. Call it before `server.connect()` (it declares the tasks
 * capability). Tools you register yourself, before or after, keep working: `tools/call` goes to
 * troupe's handler (which answers plain calls and MCP tasks) only for troupe's names.
 */
export function registerTools(
  server: McpServer,
  runtime: Runtime,
  options: RegisterToolsOptions = {},
): RegisteredTools {
  const own = options.context === undefined;
  const context = options.context ?? createMcpContext({ ...options, runtime });
  if (context.runtime !== runtime) {
    throw runtimeError('INVALID_REQUEST', 'Expected `context` to be built on the same runtime as `runtime`');
  }
  const prefix = options.prefix ?? '';
  const chosen = pick(options.tools);
  const tools = chosen.map((tool) =>
    prefix === '' ? tool : ({ ...tool, name: `${prefix}${tool.name}` as ToolName } as TroupeTool),
  );
  for (const tool of tools) registerTool(server, tool, context);
  if (tools.length > 0) {
    const names = new Set(tools.map((tool) => tool.name as string));
    const others = handlerOf(server);
    installTasks(server, context, tools);
    routeToolCalls(server, names, handlerOf(server), others);
  }
  return {
    names: tools.map((tool) => tool.name),
    context,
    close: () => {
      if (own) context.close();
    },
  };
}

function pick(names: readonly ToolName[] | undefined): readonly TroupeTool[] {
  if (names === undefined) return TOOLS;
  return names.map((name) => {
    const tool = TOOLS.find((candidate) => candidate.name === name);
    if (tool === undefined) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected tool names from ${TOOL_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
      );
    }
    return tool;
  });
}

type RawHandler = (request: { params?: { name?: unknown } }, ctx: ServerContext) => Promise<unknown>;

/**
 * The SDK keeps one `tools/call` handler per server and has no public way to chain them, so these
 * two reach its handler table: the tasks hook replaces `McpServer`'s handler, and troupe puts a
 * router in front that sends other names back to it. A test registers a tool of its own on the
 * same server and calls it, so an SDK change here fails loudly.
 */
interface HandlerTable {
  _getRequestHandler(method: string): RawHandler | undefined;
  readonly _requestHandlers: Map<string, RawHandler>;
}

function handlerOf(server: McpServer): RawHandler | undefined {
  return (server.server as unknown as HandlerTable)._getRequestHandler('tools/call');
}

function routeToolCalls(
  server: McpServer,
  names: ReadonlySet<string>,
  troupe: RawHandler | undefined,
  others: RawHandler | undefined,
): void {
  if (troupe === undefined || others === undefined || troupe === others) return;
  const table = server.server as unknown as HandlerTable;
  table._requestHandlers.set('tools/call', (request, ctx) => {
    const name = request.params?.name;
    return typeof name === 'string' && names.has(name) ? troupe(request, ctx) : others(request, ctx);
  });
}
