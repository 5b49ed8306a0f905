/**
 * `tasks/result` requests waiting are bounded, per caller and all together
 * (`maxResultWaitsPerOwner`, `maxResultWaits`). Each waiting request holds the SDK's state for it
 * (about 6 KB), and a JSON-RPC batch carries 100 of them: one client sent batches of `tasks/result`
 * for its own unfinished task and held 10,000 waits in 57 MB from 100 requests, with nothing to
 * stop it going on. One more past a bound is refused at once (-32603, naming the caller or the
 * server's bound); a wait that ends gives its place back. SDK client for the tasks, raw HTTP for
 * the batches, each asking for several tasks (one request asks for a task's result once since
 * 2026-12-05, `answer-amplification.test.ts`), under bounds scaled down to match.
 */
import { type ClientRequest, request } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CreateTaskResultV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterEach, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { type Harness, startHarness } from '../mcp/harness.js';

const TOKENS = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
];
let h: Harness;
async function start(waits: { maxResultWaitsPerOwner: number; maxResultWaits?: number }): Promise<void> {
  h = await startHarness({
    providers: [createSimulatedProvider({ name: 'slow', latencyMs: { min: 60_000, max: 60_000 } })],
    // A closed stream ends its waits at once (no grace for a resume).
    http: { tokens: TOKENS, disconnectGraceMs: 0 },
    context: { tasks: waits },
  });
}
const held: ClientRequest[] = [];
afterEach(async () => {
  for (const req of held.splice(0)) req.destroy();
  await h.close();
});

interface Caller {
  readonly token: string;
  readonly sessionId: string;
  readonly taskIds: readonly string[];
}

/** A client of `token` with `count` tasks that run for a minute. */
async function callerWithTasks(token: string, count: number): Promise<Caller> {
  const transport = new StreamableHTTPClientTransport(h.url, {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'waits', version: '1' });
  await client.connect(transport);
  const taskIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await client.request(
      {
        method: 'tools/call',
        params: { name: 'chat', arguments: { prompt: 'x', provider: 'slow' }, task: {} },
      } as Parameters<Client['request']>[0],
      CreateTaskResultV1Schema,
    );
    taskIds.push(created.task.taskId);
  }
  return { token, sessionId: transport.sessionId as string, taskIds };
}

let nextId = 1000;

/**
 * Posts a batch of `tasks/result`, one for each of the caller's first `count` tasks, and resolves,
 * once the answers sent at once have come, with those answers' error messages; the waits stay open.
 */
function waitBatch(caller: Caller, count: number): Promise<string[]> {
  // Ids of their own: one still in flight on the session is refused (reused-request-ids.test.ts).
  const batch = caller.taskIds.slice(0, count).map((taskId) => ({
    jsonrpc: '2.0',
    id: nextId++,
    method: 'tasks/result',
    params: { taskId },
  }));
  return new Promise((resolve) => {
    const errors: string[] = [];
    const req = request(
      h.url,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${caller.token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': caller.sessionId,
          'mcp-protocol-version': '2025-11-25',
        },
      },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString().split('\n')) {
            if (!line.startsWith('data: {')) continue;
            const message = JSON.parse(line.slice(6)) as { error?: { message: string } };
            if (message.error !== undefined) errors.push(message.error.message);
          }
        });
        // The refusals come at once; the waits that hold send nothing more.
        setTimeout(() => resolve(errors), 500);
      },
    );
    req.on('error', () => resolve(errors));
    held.push(req);
    req.end(JSON.stringify(batch));
  });
}

it("refuses one caller's waits past its share and everyone's past the server's, naming which", async () => {
  await start({ maxResultWaitsPerOwner: 6, maxResultWaits: 10 });
  const alice = await callerWithTasks('alice-token-1', 4);
  const bob = await callerWithTasks('bob-token-22', 4);

  expect(await waitBatch(alice, 4)).toEqual([]);
  const past = await waitBatch(alice, 4);
  // 6 of alice's wait; the other 2 are refused, naming her share.
  expect(past).toHaveLength(2);
  expect(new Set(past)).toEqual(
    new Set([
      'Expected at most 6 tasks/result requests waiting for caller `token:alice` at once, got one more: wait on each task once, or poll tasks/get until it ends',
    ]),
  );
  // Bob has his own share: 4 of his wait (10 in all), and the server's bound refuses the next.
  expect(await waitBatch(bob, 4)).toEqual([]);
  expect(await waitBatch(bob, 1)).toEqual([
    'Expected at most 10 tasks/result requests waiting on the server at once, got one more: wait on each task once, or poll tasks/get until it ends',
  ]);
}, 30_000);

it('ends the waits of a request whose response the client closed, and gives their places back', async () => {
  // The SDK's 2025-era transport does not abort a request whose stream was closed: the waits of a
  // cut batch went on, each holding its place, until the task ended.
  await start({ maxResultWaitsPerOwner: 4 });
  const alice = await callerWithTasks('alice-token-1', 4);
  expect(await waitBatch(alice, 4)).toEqual([]);
  expect(await waitBatch(alice, 1)).toHaveLength(1);
  held[0]?.destroy();
  await expect.poll(async () => (await waitBatch(alice, 1)).length, { timeout: 5000, interval: 200 }).toBe(0);
}, 30_000);
