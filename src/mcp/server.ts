/**
 * The MCP server factory: one fresh `McpServer` per connection (stdio, 2025-era HTTP session) or
 * per request (2026-07-28 HTTP), all sharing one `McpContext` and so one runtime.
 */
import { McpServer } from '@modelcontextprotocol/server';
import type { McpContext } from './context.js';
import { installTasks } from './tasks/task-handlers.js';
import { registerTool, type TroupeTool } from './tool.js';
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

const INSTRUCTIONS =
  'troupe runs every model call as a session: queued by priority, limited per provider, retried, ' +
  'cancellable. Use list_models to see providers and models, chat / multi_file_chat / consensus to call ' +
  'them, sessions to see what is running, cancel_session to stop a call.';

export function createMcpServer(mcp: McpContext): McpServer {
  const server = new McpServer(
    { name: 'troupe', version: mcp.version },
    {
      capabilities: { tools: {}, logging: {} },
      instructions: INSTRUCTIONS,
    },
  );
  for (const tool of TOOLS) registerTool(server, tool, mcp);
  installTasks(server, mcp, TOOLS);
  return server;
}
