/**
 * The MCP server factory: one fresh `McpServer` per connection (stdio, 2025-era HTTP session) or
 * per request (2026-07-28 HTTP), all sharing one `McpContext` and so one runtime.
 */
import { McpServer } from '@modelcontextprotocol/server';
import type { McpContext } from './context.js';
import { installPrompts } from './prompts.js';
import { registerTools } from './register.js';
import { installResources, type ResourceUpdates } from './resources.js';

export { TOOLS } from './register.js';

const INSTRUCTIONS =
  'troupe runs every model call as a session: queued by priority, limited per provider, retried, ' +
  'cancellable. Use list_models to see providers and models, chat / multi_file_chat / consensus to call ' +
  'them, sessions to see what is running, cancel_session to stop a call. Resources: troupe://sessions, ' +
  'troupe://sessions/{id} (subscribable), troupe://models, troupe://charts/{machine}.';

export interface ServerOptions {
  /**
   * How resource updates reach this server's client (see `ResourceUpdates`).
   * @default 'subscribed' (a 2025-era connection)
   */
  readonly resourceUpdates?: ResourceUpdates;
}

export function createMcpServer(mcp: McpContext, options: ServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'troupe', version: mcp.version },
    {
      capabilities: { tools: {}, logging: {}, resources: {}, prompts: {} },
      instructions: INSTRUCTIONS,
    },
  );
  registerTools(server, mcp.runtime, { context: mcp });
  installResources(server, mcp, options.resourceUpdates ?? 'subscribed');
  installPrompts(server, mcp);
  return server;
}
