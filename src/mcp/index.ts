/**
 * `troupe/mcp`: troupe inside your own MCP server. `registerTools` adds troupe's tools to your
 * `McpServer`; `withSession` runs any tool handler of yours as a troupe session; `createHttpApp`
 * serves troupe's tools and yours (its `setup`) over troupe's own Streamable HTTP front.
 */

export type {
  ConversationModel,
  ConversationOwner,
  ConversationStore,
  ConversationStoreOptions,
  ConversationUsage,
  StoredConversation,
} from '../ports/conversation-store.js';
// What troupe's stores keep of `save`'s model, for a store of yours to keep the same.
export { keptModel } from '../ports/conversation-store.js';
export type { CostCharge, CostLedger, CostLedgerOptions } from '../ports/cost-ledger.js';
// A store of yours throws these: when nothing may make room (`create`), and for a cursor it did not hand out (`list`).
export { TaskLimitError } from '../ports/task-bounds.js';
export type {
  TaskPage,
  TaskPatch,
  TaskRecord,
  TaskRefusal,
  TaskStatus,
  TaskStore,
} from '../ports/task-store.js';
export { InvalidCursorError } from '../ports/task-store.js';
// An embedder's own tool refused in troupe's words (`server.registerTool`'s `inputSchema`).
export { withArgumentWords } from './argument-words.js';
export { type CancellationsOptions, type FetchHandler, withCancellations } from './cancellations.js';
export type {
  CatalogProvider,
  FileLimits,
  McpContext,
  McpContextOptions,
  ModelCatalog,
  SessionFilter,
} from './context.js';
export { createMcpContext } from './context.js';
export { MemoryConversationStore } from './conversations.js';
export { MemoryCostLedger, type MemoryCostLedgerOptions } from './cost-ledger.js';
export type { ToolErrorInfo } from './errors.js';
export { MemoryEventStore } from './event-store.js';
export { createHttpApp, type HttpApp, type HttpAppOptions, type RouteHandler } from './http.js';
export type { NamedToken } from './http-auth.js';
export type { RegisteredTools, RegisterToolsOptions } from './register.js';
export { registerTools, TOOL_NAMES } from './register.js';
export { sessionMetadataSchema, toolErrorSchema } from './schemas.js';
export { MemoryTaskStore } from './tasks/memory-task-store.js';
export type { TaskOptions } from './tasks/task-manager.js';
export type { ToolName } from './tool.js';
export type { PerCall, SessionToolHandler, ToolSession, WithSessionOptions } from './with-session.js';
export { withSession } from './with-session.js';
