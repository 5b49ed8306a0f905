/**
 * `troupe/mcp`: troupe inside your own MCP server. `registerTools` adds troupe's tools to your
 * `McpServer`; `withSession` runs any tool handler of yours as a troupe session.
 */

export type {
  CatalogProvider,
  FileLimits,
  McpContext,
  McpContextOptions,
  ModelCatalog,
  SessionFilter,
} from './context.js';
export { createMcpContext } from './context.js';
export type { ToolErrorInfo } from './errors.js';
export type { RegisteredTools, RegisterToolsOptions } from './register.js';
export { registerTools, TOOL_NAMES } from './register.js';
export { sessionMetadataSchema, toolErrorSchema } from './schemas.js';
export type { TaskOptions } from './tasks/task-manager.js';
export type { ToolName } from './tool.js';
export type { PerCall, SessionToolHandler, ToolSession, WithSessionOptions } from './with-session.js';
export { withSession } from './with-session.js';
