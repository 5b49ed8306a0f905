/**
 * Task records on the wire, per protocol era, typed by ext-tasks' protocol schemas.
 *
 * 2025-11-25 (tasks v1): the client asks with `params.task`; `tasks/get|result|list|cancel`;
 * `ttl`/`pollInterval`; a failed call is `failed` and `tasks/result` returns its error result.
 * 2026-07-28 (tasks extension `io.modelcontextprotocol/tasks`): the server decides; `tasks/get`
 * carries the result inline; `ttlMs`/`pollIntervalMs`. That spec reserves `failed` for JSON-RPC
 * errors and says a tool result with `isError: true` is `completed`, so a failed or timed-out
 * session shows there as `completed` with the tool's error result (its `statusMessage` names the
 * code).
 */
import type {
  CreateTaskResultV1,
  GetTaskResultV1,
  ListTasksResultV1,
  ServerTaskCapabilitiesV1,
  TaskStatusV1,
  TaskV1,
} from '@modelcontextprotocol/ext-tasks/core/v1';
import {
  type CreateTaskResultV2,
  hasTaskClientCapabilityV2,
  TASKS_EXTENSION_ID_V2,
  type TaskV2,
} from '@modelcontextprotocol/ext-tasks/core/v2';
import type { TaskPage, TaskRecord, TaskStatus } from '../../ports/task-store.js';

/** The store port writes the status words out (see `TaskStatus`); both eras' must be the same. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type StatusWordsMatch = [Same<TaskStatus, TaskStatusV1>, Same<TaskStatus, TaskV2['status']>] extends [
  true,
  true,
]
  ? true
  : never;
const statusWordsMatch: StatusWordsMatch = true;
void statusWordsMatch;

/** `_meta` key tying a `tasks/result` response to its task (2025-11-25). */
export const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task';

/** The 2025-11-25 `tasks` capability: list, cancel, and task-augmented `tools/call`. */
export const TASKS_CAPABILITY_V1 = {
  list: {},
  cancel: {},
  requests: { tools: { call: {} } },
} satisfies ServerTaskCapabilitiesV1;

/** The 2026-07-28 extension capability (the SDK drops `tasks` for that era and keeps this). */
export const TASKS_EXTENSIONS_V2 = { [TASKS_EXTENSION_ID_V2]: {} } as const;

/** Whether a 2026-07-28 request declared the tasks extension in its per-request capabilities. */
export function declaresTasksV2(envelope: unknown): boolean {
  return hasTaskClientCapabilityV2({ _meta: envelope });
}

// ----- 2025-11-25 -----

export function taskV1(record: TaskRecord): TaskV1 {
  return {
    taskId: record.taskId,
    status: record.status,
    ...(record.statusMessage === undefined ? {} : { statusMessage: record.statusMessage }),
    createdAt: iso(record.createdAt),
    lastUpdatedAt: iso(record.lastUpdatedAt),
    ttl: record.ttlMs,
    pollInterval: record.pollIntervalMs,
  };
}

/**
 * `content: []` rides along because the SDK validates every `tools/call` result as a
 * `CallToolResult` and refuses one carrying `task` without `content`; task clients ignore it.
 */
export function createTaskResultV1(record: TaskRecord): CreateTaskResultV1 & { content: [] } {
  return { task: taskV1(record), content: [] };
}

export function getTaskResultV1(record: TaskRecord): GetTaskResultV1 {
  return taskV1(record);
}

export function listTasksResultV1(page: TaskPage): ListTasksResultV1 {
  return {
    tasks: page.tasks.map(taskV1),
    ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
  };
}

/** The tool's own result, as the plain call would have returned it, tied to its task. */
export function taskPayloadV1(record: TaskRecord): Record<string, unknown> {
  const result = record.result ?? {};
  const meta = (result._meta ?? {}) as Record<string, unknown>;
  return { ...result, _meta: { ...meta, [RELATED_TASK_META_KEY]: { taskId: record.taskId } } };
}

// ----- 2026-07-28 -----

function taskV2(record: TaskRecord): TaskV2 {
  return {
    taskId: record.taskId,
    status: record.status === 'failed' ? 'completed' : record.status,
    ...(record.statusMessage === undefined ? {} : { statusMessage: record.statusMessage }),
    createdAt: iso(record.createdAt),
    lastUpdatedAt: iso(record.lastUpdatedAt),
    ttlMs: record.ttlMs,
    pollIntervalMs: record.pollIntervalMs,
  };
}

export function createTaskResultV2(record: TaskRecord): CreateTaskResultV2 {
  return { resultType: 'task', ...taskV2(record) };
}

/** `tasks/get` for 2026-07-28: the task, with the tool result inline once it is complete. */
export function getTaskResultV2(record: TaskRecord): Record<string, unknown> {
  const task = taskV2(record);
  const inline = task.status === 'completed' && record.result !== undefined;
  return {
    resultType: 'complete',
    ...task,
    ...(inline ? { result: { resultType: 'complete', ...record.result } } : {}),
  };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
