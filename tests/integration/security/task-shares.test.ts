/**
 * One caller's tasks cannot crowd out another's (`maxTasksPerOwner`): a burst of one named token's
 * tasks once evicted another token's finished result before it was read, and one caller holding
 * every slot with unfinished tasks refused everyone. SDK client over Streamable HTTP, 2025-11-25.
 */
import { Client, InMemoryTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CreateTaskResultV1Schema, TaskResultV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterEach, expect, it } from 'vitest';
import { createMcpServer } from '../../../src/mcp/server.js';
import { type Harness, startHarness } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const TOKENS = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-1' },
];

async function start(): Promise<Harness> {
  const h = await startHarness({
    http: { tokens: TOKENS },
    context: { tasks: { maxTasks: 4, maxTasksPerOwner: 2 } },
  });
  harnesses.push(h);
  return h;
}

async function connect(h: Harness, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(h.url, {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'tasks', version: '1' });
  await client.connect(transport);
  return client;
}

async function task(client: Client, provider: 'fast' | 'slow'): Promise<string> {
  const created = await client.request(
    {
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'x', provider }, task: {} },
    } as Parameters<Client['request']>[0],
    CreateTaskResultV1Schema,
  );
  return created.task.taskId;
}

it("keeps bob's finished, unread result through a burst of alice's tasks", async () => {
  const h = await start();
  const [alice, bob] = [await connect(h, 'alice-token-1'), await connect(h, 'bob-token-1')];
  const bobs = await task(bob, 'fast');
  await expect.poll(async () => (await h.mcp.tasks.get(bobs))?.status, { timeout: 5000 }).toBe('completed');
  for (let i = 0; i < 6; i++) {
    const id = await task(alice, 'fast');
    await expect.poll(async () => (await h.mcp.tasks.get(id))?.status, { timeout: 5000 }).toBe('completed');
  }
  const result = await bob.request(
    { method: 'tasks/result', params: { taskId: bobs } } as Parameters<Client['request']>[0],
    TaskResultV1Schema,
  );
  expect(result.isError).not.toBe(true);
  expect(
    (await h.mcp.tasks.list(undefined, undefined)).tasks.filter((t) => t.owner === 'token:alice'),
  ).toHaveLength(2);
});

it('refuses only the caller whose share is full of unfinished tasks, saying why', async () => {
  const h = await start();
  const [alice, bob] = [await connect(h, 'alice-token-1'), await connect(h, 'bob-token-1')];
  await task(alice, 'slow');
  await task(alice, 'slow');
  await expect(task(alice, 'slow')).rejects.toThrow(
    'Expected at most 2 tasks held by one caller, got 2 unfinished: wait for one to finish or cancel one',
  );
  expect(await task(bob, 'slow')).toMatch(/\S/);
});

it("holds the one in-process client's tasks to the store's bound only: it has nobody to share with", async () => {
  const h = await start();
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = createMcpServer(h.mcp);
  await server.connect(serverSide);
  const local = new Client({ name: 'local', version: '1' });
  await local.connect(clientSide);
  try {
    const ids = [await task(local, 'slow'), await task(local, 'slow'), await task(local, 'slow')];
    expect((await h.mcp.tasks.get(ids[2]!))?.owner).toBeUndefined();
    const bob = await connect(h, 'bob-token-1');
    await task(bob, 'slow');
    // Four unfinished tasks fill the store: now everyone is refused, naming the store's bound.
    await expect(task(bob, 'slow')).rejects.toThrow(
      'Expected at most 4 tasks held by the server, got 4 unfinished: wait for one to finish or cancel one',
    );
    await expect(task(local, 'slow')).rejects.toThrow('Expected at most 4 tasks held by the server');
  } finally {
    await local.close();
    await server.close();
  }
});
