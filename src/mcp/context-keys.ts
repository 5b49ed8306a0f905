/**
 * The options `createMcpContext` (and so `registerTools`) takes, down to its bounds, held to their
 * interfaces at compile time. From JavaScript a misspelt bound used to be ignored and its default
 * kept: `files: { maxFileByte: 1024 }` left `multi_file_chat` reading 256 KiB a file,
 * `tasks: { maxTask: 5 }` kept 1000 tasks, `conversations: { maxMessage: 3 }` kept 40 messages.
 */
import { runtimeError } from '../core/errors.js';
import type { ConversationStoreOptions } from '../ports/conversation-store.js';
import { onlyKeys } from '../runtime/option-keys.js';
import type { FileLimits, McpContextOptions } from './context.js';
import type { TaskOptions } from './tasks/task-manager.js';

/** What `createMcpContext` takes (`registerTools` takes the same but `runtime`, and its own). */
export const CONTEXT_KEYS = {
  runtime: true,
  catalog: true,
  roots: true,
  files: true,
  conversations: true,
  conversationStore: true,
  costLedger: true,
  tasks: true,
  progressIntervalMs: true,
  maxCallerPriority: true,
  log: true,
  version: true,
  sessionFilter: true,
  charts: true,
} as const satisfies Record<keyof McpContextOptions, true>;

const FILE_KEYS = {
  maxFileBytes: true,
  maxTotalBytes: true,
  maxFiles: true,
} as const satisfies Record<keyof FileLimits, true>;

const TASK_KEYS = {
  store: true,
  maxTasks: true,
  maxTasksPerOwner: true,
  maxResultBytes: true,
  maxResultBytesPerOwner: true,
  maxResultWaits: true,
  maxResultWaitsPerOwner: true,
  defaultTtlMs: true,
  maxTtlMs: true,
  pollIntervalMs: true,
  pageSize: true,
  sweepIntervalMs: true,
  now: true,
  onError: true,
  cancelSession: true,
} as const satisfies Record<keyof TaskOptions, true>;

const CONVERSATION_KEYS = {
  maxMessages: true,
  maxBytes: true,
  maxTotalBytes: true,
  ttlMs: true,
  maxConversations: true,
  maxConversationsPerOwner: true,
  maxBytesPerOwner: true,
  now: true,
} as const satisfies Record<keyof ConversationStoreOptions, true>;

/** What the tools and resources call on the runtime first: a stand-in without one fails there. */
const RUNTIME_METHODS = ['run', 'submit', 'subscribe'] as const;

/** What stands where the runtime should, when it is not one (`undefined` when it is). */
function runtimeLack(runtime: unknown): string | undefined {
  if (runtime === undefined) return 'none';
  if (runtime === null) return 'null';
  if (typeof runtime !== 'object') return `a ${typeof runtime}`;
  const missing = RUNTIME_METHODS.find(
    (name) => typeof (runtime as Record<string, unknown>)[name] !== 'function',
  );
  return missing === undefined ? undefined : `an object without ${missing}()`;
}

/** Throws `INVALID_REQUEST` naming the first option (or bound in `files`, `tasks`, `conversations`) it does not take. */
export function checkContextKeys(options: McpContextOptions): void {
  // Without it the first use failed as `Cannot read properties of undefined (reading 'subscribe')`.
  const got = runtimeLack((options as Partial<McpContextOptions> | undefined)?.runtime);
  if (got !== undefined) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`runtime\` in \`createMcpContext options\`, the runtime the tools submit to (createMcpContext({ runtime, ... })), got ${got}`,
    );
  }
  onlyKeys('createMcpContext options', options, CONTEXT_KEYS);
  onlyKeys('files', options.files, FILE_KEYS);
  onlyKeys('tasks', options.tasks, TASK_KEYS);
  onlyKeys('conversations', options.conversations, CONVERSATION_KEYS);
  // A bare string used to pass here and fail every multi_file_chat call with `roots.map is not a function`.
  const { roots } = options;
  if (roots !== undefined && (!Array.isArray(roots) || roots.some((root) => typeof root !== 'string'))) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`roots\` to be an array of folder paths, got ${JSON.stringify(roots)}`,
    );
  }
}
