/**
 * MCP tasks over stdio with the BUILT CLI (`npx tsc -p tsconfig.build.json` first), the SDK's
 * stdio client, 2025-11-25 task requests typed by ext-tasks' schemas.
 */
import type { Client } from '@modelcontextprotocol/client';
import {
  CancelTaskResultV1Schema,
  CreateTaskResultV1Schema,
  GetTaskResultV1Schema,
  TaskResultV1Schema,
} from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterEach, expect, it } from 'vitest';
import { connectStdioCli } from '../../support/stdio-cli.js';

let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
});

type Req = Parameters<Client['request']>[0];

it('runs a chat as a task over stdio: created, completed with its result, and a hung one cancelled', async () => {
  client = await connectStdioCli('tasks-stdio', 200);
  const c = client;
  expect(c.getServerCapabilities()?.tasks?.requests).toEqual({ tools: { call: {} } });
  const create = (args: Record<string, unknown>) =>
    c.request(
      { method: 'tools/call', params: { name: 'chat', arguments: args, task: { ttl: 30_000 } } } as Req,
      CreateTaskResultV1Schema,
    );

  const done = await create({ prompt: 'hi', extra: { simulateLatencyMs: 150 } });
  expect(done.task).toMatchObject({ status: 'working', ttl: 30_000 });
  const result = await c.request(
    { method: 'tasks/result', params: { taskId: done.task.taskId } } as Req,
    TaskResultV1Schema,
  );
  expect(result.structuredContent).toMatchObject({
    ok: true,
    session: { state: 'done', provider: 'simulated' },
  });
  expect(
    await c.request(
      { method: 'tasks/get', params: { taskId: done.task.taskId } } as Req,
      GetTaskResultV1Schema,
    ),
  ).toMatchObject({
    status: 'completed',
  });

  const hung = await create({ prompt: 'hi', extra: { simulate: 'hang' } });
  const cancelled = await c.request(
    { method: 'tasks/cancel', params: { taskId: hung.task.taskId } } as Req,
    CancelTaskResultV1Schema,
  );
  expect(cancelled.status).toBe('cancelled');
  const hungResult = await c.request(
    { method: 'tasks/result', params: { taskId: hung.task.taskId } } as Req,
    TaskResultV1Schema,
  );
  expect(hungResult.structuredContent).toMatchObject({
    error: { code: 'CANCELLED' },
    session: { state: 'cancelled' },
  });
});
