/**
 * The MCP server factory: one fresh `McpServer` per connection (stdio, 2025-era HTTP session) or
 * per request (2026-07-28 HTTP), all sharing one `McpContext` and so one runtime.
 */
import { type McpRequestContext, McpServer } from '@modelcontextprotocol/server';
import type { McpContext } from './context.js';
import { pickTools, registerTools } from './register.js';
import { installResources, type ResourceUpdates } from './resources.js';
import type { ToolName } from './tool.js';
import { installToolCalls } from './tool-calls.js';

export { TOOLS } from './register.js';

const ABOUT =
  'troupe runs every model call as a session: queued by priority, limited per provider, retried, cancellable.';
const RESOURCES =
  'Resources: troupe://sessions, troupe://sessions/{id} (subscribable), troupe://models, troupe://charts/{machine}.';
const INSTRUCTIONS =
  `${ABOUT} Use list_models to see providers and models, chat / multi_file_chat / consensus to call ` +
  `them, sessions to see what is running, cancel_session to stop a call. ${RESOURCES}`;

export interface ServerOptions {
  /**
   * How resource updates reach this server's client (see `ResourceUpdates`).
   * @default 'subscribed' (a 2025-era connection)
   */
  readonly resourceUpdates?: ResourceUpdates;
  /** Which of troupe's tools to register; a prompt comes only with its tool. @default all six */
  readonly tools?: readonly ToolName[];
}

export function createMcpServer(mcp: McpContext, options: ServerOptions = {}): McpServer {
  const { tools } = options;
  const server = new McpServer(
    { name: 'troupe', version: mcp.version },
    {
      capabilities: { tools: {}, logging: {}, resources: {}, prompts: {} },
      // Beside an embedder's tools (`tools` chosen), only troupe's own are named.
      instructions:
        tools === undefined
          ? INSTRUCTIONS
          : `${ABOUT}${tools.length > 0 ? ` troupe's tools here: ${tools.join(', ')}.` : ''} ${RESOURCES}`,
    },
  );
  // Each prompt beside its tool (`registerTools`' `prompts`).
  registerTools(server, mcp.runtime, {
    context: mcp,
    prompts: true,
    ...(tools === undefined ? {} : { tools }),
  });
  // None of troupe's: its `tools/call` still tracks the embedder's tools (`tool-calls.ts`).
  if (tools?.length === 0) installToolCalls(server, mcp, []);
  installResources(server, mcp, options.resourceUpdates ?? 'subscribed');
  return server;
}

/** What an embedder adds to every server `createHttpApp` builds (`HttpAppOptions`). */
export interface ServerSetup {
  readonly tools?: readonly ToolName[] | undefined;
  readonly setup?: ((server: McpServer, context: McpRequestContext) => void | Promise<void>) | undefined;
}

/**
 * `createMcpServer` with an embedder's `tools` and `setup` (called after troupe's registrations).
 * The tool names are checked here, once, rather than at the first request.
 */
export function serverBuilder(mcp: McpContext, { tools, setup }: ServerSetup) {
  if (tools !== undefined) pickTools(tools);
  return (context: McpRequestContext, resourceUpdates: ResourceUpdates): McpServer | Promise<McpServer> => {
    const server = createMcpServer(mcp, { resourceUpdates, ...(tools === undefined ? {} : { tools }) });
    const done = setup?.(server, context);
    return done instanceof Promise ? done.then(() => server) : server;
  };
}
