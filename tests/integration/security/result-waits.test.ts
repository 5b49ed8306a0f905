/**
 * `tasks/result` requests waiting are bounded, per caller and all together
 * (`maxResultWaitsPerOwner`, `maxResultWaits`). Each waiting request holds the SDK's state for it
 * (about 6 KB), and a JSON-RPC batch carries 100 of them: one client sent batches of `tasks/result`
 * for its own unfinished task and held 10,000 waits in 57 MB from 100 requests, with nothing to
 * stop it going on. One more past a bound is refused at once (-32603, naming the caller or the
 * server's bound); a wait that ends gives its place back. SDK client for the tasks, raw HTTP for
 * the batches.
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
  readonly taskId: string;
}

/** A client of `token` with one task that runs for a minute. */
async function callerWithTask(token: string): Promise<Caller> {
  const transport = new StreamableHTTPClientTransport(h.url, {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'waits', version: '1' });
  await client.connect(transport);
  const created = await client.request(
    {
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'x', provider: 'slow' }, task: {} },
    } as Parameters<Client['request']>[0],
    CreateTaskResultV1Schema,
  );
  return { token, sessionId: transport.sessionId as string, taskId: created.task.taskId };
}

/**
 * Posts a batch of `count` `tasks/result` for the caller's task and resolves, once the answers
 * sent at once have come, with those answers' error messages; the waits stay open.
 */
function waitBatch(caller: Caller, count: number): Promise<string[]> {
  const batch = Array.from({ length: count }, (_, i) => ({
    jsonrpc: '2.0',
    id: i,
    method: 'tasks/result',
    params: { taskId: caller.taskId },
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
  await start({ maxResultWaitsPerOwner: 150, maxResultWaits: 250 });
  const alice = await callerWithTask('alice-token-1');
  const bob = await callerWithTask('bob-token-22');

  expect(await waitBatch(alice, 100)).toEqual([]);
  const past = await waitBatch(alice, 100);
  // 150 of alice's wait; the other 50 are refused, naming her share.
  expect(past).toHaveLength(50);
  expect(new Set(past)).toEqual(
    new Set([
      'Expected at most 150 tasks/result requests waiting for caller `token:alice` at once, got one more: wait on each task once, or poll tasks/get until it ends',
    ]),
  );
  // Bob has his own share: 100 of his wait (250 in all), and the server's bound refuses the next.
  expect(await waitBatch(bob, 100)).toEqual([]);
  expect(await waitBatch(bob, 1)).toEqual([
    'Expected at most 250 tasks/result requests waiting on the server at once, got one more: wait on each task once, or poll tasks/get until it ends',
  ]);
}, 30_000);

it('ends the waits of a request whose response the client closed, and gives their places back', async () => {
  // The SDK's 2025-era transport does not abort a request whose stream was closed: the waits of a
  // cut batch went on, each holding its place, until the task ended.
  await start({ maxResultWaitsPerOwner: 100 });
  const alice = await callerWithTask('alice-token-1');
  expect(await waitBatch(alice, 100)).toEqual([]);
  expect(await waitBatch(alice, 1)).toHaveLength(1);
  held[0]?.destroy();
  await expect.poll(async () => (await waitBatch(alice, 1)).length, { timeout: 5000, interval: 200 }).toBe(0);
}, 30_000);
