/**
 * 2025-11-25 task requests through the SDK client (`params.task`, `tasks/get|result|list|cancel`):
 * the task methods are outside its typed surface, so each goes through `client.request()` with
 * ext-tasks' schema for its answer.
 */
import type { Client } from '@modelcontextprotocol/client';
import {
  CancelTaskResultV1Schema,
  CreateTaskResultV1Schema,
  GetTaskResultV1Schema,
  ListTasksResultV1Schema,
  TaskResultV1Schema,
} from '@modelcontextprotocol/ext-tasks/core/v1';

export function v1(client: Client) {
  const ask = <S extends Parameters<Client['request']>[1]>(
    method: string,
    params: Record<string, unknown>,
    schema: S,
  ) => client.request({ method, params } as Parameters<Client['request']>[0], schema);
  return {
    create: (args: Record<string, unknown>, task: { ttl?: number } = {}) =>
      ask('tools/call', { name: 'chat', arguments: args, task }, CreateTaskResultV1Schema),
    consensus: (args: Record<string, unknown>) =>
      ask('tools/call', { name: 'consensus', arguments: args, task: {} }, CreateTaskResultV1Schema),
    get: (taskId: string) => ask('tasks/get', { taskId }, GetTaskResultV1Schema),
    result: (taskId: string) => ask('tasks/result', { taskId }, TaskResultV1Schema),
    list: (cursor?: string) =>
      ask('tasks/list', cursor === undefined ? {} : { cursor }, ListTasksResultV1Schema),
    cancel: (taskId: string) => ask('tasks/cancel', { taskId }, CancelTaskResultV1Schema),
  };
}
