/**
 * A task started without a named token belongs to its MCP session (`mcp:<id>`): once that session
 * ends (DELETE, or the idle sweep) nobody but an admin can read it, so its call is cancelled rather
 * than left to run (and bill) to its ttl for nobody, which it did before. A named token's tasks
 * are the token's, and outlive one connection. SDK client over Streamable HTTP, 2025-11-25.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CreateTaskResultV1Schema, GetTaskResultV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterEach, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

async function connect(h: Harness, headers: Record<string, string> = {}) {
  const transport = new StreamableHTTPClientTransport(h.url, { requestInit: { headers } });
  const client = new Client({ name: 'tasks', version: '1' });
  await client.connect(transport);
  return { client, transport };
}

async function slowTask(client: Client): Promise<string> {
  const created = await client.request(
    {
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'x', provider: 'slow' }, task: {} },
    } as Parameters<Client['request']>[0],
    CreateTaskResultV1Schema,
  );
  return created.task.taskId;
}

it('cancels the tasks of an MCP session without a named token once the session ends', async () => {
  const h = await startHarness();
  harnesses.push(h);
  const { client, transport } = await connect(h);
  const taskId = await slowTask(client);
  await expect.poll(async () => (await h.mcp.tasks.get(taskId))?.sessionIds.length).toBe(1);
  await transport.terminateSession();
  await expect.poll(async () => (await h.mcp.tasks.get(taskId))?.status, { timeout: 1000 }).toBe('cancelled');
  const record = await h.mcp.tasks.get(taskId);
  expect(record?.statusMessage).toBe('cancelled by the end of its MCP session');
  expect(h.mcp.runtime.session(record?.sessionIds[0] ?? '')?.state).toBe('cancelled');
});

it("keeps a named token's tasks when one of its connections ends", async () => {
  const h = await startHarness({ http: { tokens: [{ name: 'alice', token: 'alice-token-1' }] } });
  harnesses.push(h);
  const auth = { authorization: 'Bearer alice-token-1' };
  const first = await connect(h, auth);
  const taskId = await slowTask(first.client);
  await first.transport.terminateSession();
  const again = await connect(h, auth);
  const task = await again.client.request(
    { method: 'tasks/get', params: { taskId } } as Parameters<Client['request']>[0],
    GetTaskResultV1Schema,
  );
  expect(task.status).toBe('working');
  await expect.poll(async () => (await h.mcp.tasks.get(taskId))?.status, { timeout: 5000 }).toBe('completed');
});
