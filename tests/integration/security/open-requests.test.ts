/**
 * What one caller holds open over HTTP is bounded by caller (`maxOpenRequestsPerCaller`): every
 * request that waits (a tool call, a `tasks/result`, a GET stream, a body still arriving) holds a
 * connection, and only `maxConnections` bounded them for all clients together. One client sent
 * `tasks/result` for its own unfinished task on a connection each, and every other client's
 * connection was closed on arrival. Now one more request than its share gets 503 naming the caller
 * (its scope key), before its body is read; a request that ends gives its place back. The SDK's
 * client creates the task; raw HTTP holds the requests (one connection each).
 */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CreateTaskResultV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterEach, expect, it } from 'vitest';
import { defaultOpenRequestsPerCaller } from '../../../src/mcp/http-open.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { type Harness, type HarnessOptions, startHarness, text } from '../mcp/harness.js';

const TOKENS = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
];
const harnesses: Harness[] = [];
const held: ClientRequest[] = [];
afterEach(async () => {
  for (const req of held.splice(0)) req.destroy();
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

async function start(options: HarnessOptions): Promise<Harness> {
  const h = await startHarness({
    // A call takes a minute: whatever waits on one stays open for the whole test.
    providers: [createSimulatedProvider({ name: 'slow', latencyMs: { min: 60_000, max: 60_000 } })],
    ...options,
  });
  harnesses.push(h);
  return h;
}

interface Answer {
  readonly status: number;
  readonly sessionId?: string;
  /** The whole body of an answer that ends at once (a refusal); empty for a stream held open. */
  readonly body: string;
}

/**
 * One request on a connection of its own. Resolves with its status once answered (an SSE stream is
 * left open, held); `-1` when the connection was closed unanswered. With `partial`, only the first
 * bytes of the body are sent: the rest never comes.
 */
function send(
  h: Harness,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: unknown,
  partial = false,
): Promise<Answer> {
  return new Promise((resolve) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = request(
      h.url,
      {
        method,
        agent: false,
        headers: {
          accept: 'application/json, text/event-stream',
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': text.length }),
          ...headers,
        },
      },
      (res: IncomingMessage) => {
        const sessionId = res.headers['mcp-session-id'] as string | undefined;
        if (res.headers['content-type']?.includes('text/event-stream') === true) {
          res.resume();
          return resolve({ status: res.statusCode ?? 0, body: '', ...(sessionId ? { sessionId } : {}) });
        }
        let answer = '';
        res.on('data', (chunk: Buffer) => {
          answer += chunk.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: answer, ...(sessionId ? { sessionId } : {}) }),
        );
      },
    );
    req.on('error', () => resolve({ status: -1, body: '' }));
    held.push(req);
    if (partial) req.write(text.slice(0, 10));
    else req.end(text);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function clientOf(h: Harness, token: string): Promise<{ client: Client; sessionId: string }> {
  const transport = new StreamableHTTPClientTransport(h.url, { requestInit: { headers: bearer(token) } });
  const client = new Client({ name: 'open-requests', version: '1' });
  await client.connect(transport);
  return { client, sessionId: transport.sessionId as string };
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

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

it("refuses one caller's tasks/result waits past its share, naming it, so other clients still get connections", async () => {
  const h = await start({ http: { tokens: TOKENS, maxConnections: 12, maxOpenRequestsPerCaller: 5 } });
  const { client, sessionId } = await clientOf(h, 'alice-token-1');
  const taskId = await slowTask(client);
  await client.close(); // its connections go: every place alice holds below is a raw request
  const wait = (id: number) =>
    send(
      h,
      'POST',
      { ...bearer('alice-token-1'), 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
      { jsonrpc: '2.0', id, method: 'tasks/result', params: { taskId } },
    );
  const waits: Answer[] = [];
  for (let i = 0; i < 15; i++) waits.push(await wait(100 + i));
  // Another client (its connection closed on arrival before the bound) still gets a connection and a session.
  const bob = await send(h, 'POST', bearer('bob-token-22'), initialize);
  expect(bob.status).toBe(200);
  // Five waits hold their streams; every one after is refused at once, naming the caller and its share.
  expect(waits.slice(0, 5).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  for (const refused of waits.slice(5)) {
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error.message).toBe(
      'Expected at most 5 open requests of caller `token:alice` at once, got one more: wait for some to end (each tool call, tasks/result wait and stream holds one until it ends), or close those you are done with',
    );
  }
  // A wait that ends gives its place back.
  held[0]?.destroy();
  await expect.poll(async () => (await wait(200)).status, { timeout: 5000, interval: 100 }).toBe(200);
}, 30_000);

/** What `answer` holds after `ms`: `pending` while the server has not answered. */
function after(answer: Promise<Answer>, ms: number): Promise<Answer | 'pending'> {
  return Promise.race([answer, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

it('counts a body still arriving and a GET stream against the same share, by scope key', async () => {
  const h = await start({ http: { tokens: TOKENS, maxOpenRequestsPerCaller: 3 } });
  const alice = bearer('alice-token-1');
  const opened = [await send(h, 'POST', alice, initialize), await send(h, 'POST', alice, initialize)];
  const [one, two] = opened.map((a) => a.sessionId as string);
  const stream = (sessionId: string | undefined, auth = alice) =>
    send(h, 'GET', {
      ...auth,
      accept: 'text/event-stream',
      'mcp-session-id': sessionId ?? '',
      'mcp-protocol-version': '2025-11-25',
    });
  // Two bodies that never finish arriving (each would hold its connection for the request timeout)...
  const bodies = [send(h, 'POST', alice, initialize, true), send(h, 'POST', alice, initialize, true)];
  expect(await after(Promise.race(bodies), 300)).toBe('pending');
  // ...and a GET stream fill alice's three places; her next stream is refused, naming her.
  expect((await stream(one)).status).toBe(200);
  const refused = await stream(two);
  expect(refused.status).toBe(503);
  expect(refused.body).toContain('Expected at most 3 open requests of caller `token:alice` at once');
  // Bob is another caller, with places of his own.
  const bobs = await send(h, 'POST', bearer('bob-token-22'), initialize);
  expect((await stream(bobs.sessionId, bearer('bob-token-22'))).status).toBe(200);
  // A body given up gives its place back.
  held[2]?.destroy();
  await expect.poll(async () => (await stream(two)).status, { timeout: 5000, interval: 100 }).toBe(200);
}, 30_000);

it('gives each MCP session of a client without a named token its share, and a made-up session id none of its own', async () => {
  const h = await start({ http: { maxOpenRequestsPerCaller: 2 } });
  const [one, two] = [
    (await send(h, 'POST', {}, initialize)).sessionId as string,
    (await send(h, 'POST', {}, initialize)).sessionId as string,
  ];
  const on = (sessionId: string) => ({ 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
  const stream = (sessionId: string) => send(h, 'GET', { ...on(sessionId), accept: 'text/event-stream' });
  const body = (sessionId: string) =>
    send(h, 'POST', on(sessionId), { jsonrpc: '2.0', id: 9, method: 'ping' }, true);
  expect((await stream(one)).status).toBe(200);
  expect(await after(body(one), 300)).toBe('pending');
  const refused = await stream(one);
  expect(refused.body).toContain(`Expected at most 2 open requests of caller \`mcp:${one}\` at once`);
  expect((await stream(two)).status).toBe(200);
  // Ids the server does not hold count as `anonymous`, however many are made up.
  expect(await after(body('made-up-1'), 300)).toBe('pending');
  expect(await after(body('made-up-2'), 300)).toBe('pending');
  const third = await body('made-up-3');
  expect(third.status).toBe(503);
  expect(third.body).toContain('Expected at most 2 open requests of caller `anonymous` at once');
}, 30_000);

it("defaults to the caller's queue share, plus its share of the calls that run, plus 16 for streams: the queue share is met first", async () => {
  // troupe serve's defaults: 2,500 waiting, 48 of the 64 running.
  expect(defaultOpenRequestsPerCaller({ maxQueuedPerCaller: 2500, maxRunningPerCaller: 48 }, 4096)).toBe(
    2564,
  );
  // A runtime with no queue share (outside `troupe serve`): three quarters of the connections.
  expect(defaultOpenRequestsPerCaller({ maxQueuedPerCaller: 10_000, maxRunningPerCaller: 64 }, 4096)).toBe(
    3072,
  );

  const h = await start({
    http: { tokens: TOKENS },
    limits: { maxConcurrent: 1, maxQueued: 8, maxQueuedPerCaller: 2 },
  });
  const { client } = await clientOf(h, 'alice-token-1');
  const call = () => client.callTool({ name: 'chat', arguments: { prompt: 'x', provider: 'slow' } });
  // One runs, two wait (the share), all on requests of their own beside the client's GET stream...
  const calls = [call(), call(), call()];
  calls.forEach((c) => void c.catch(() => {}));
  await expect.poll(() => h.mcp.runtime.status().queued, { timeout: 5000 }).toBe(2);
  // ...and the next call meets the queue share, not this bound.
  expect(text(await call())).toContain('QUEUE_FULL');
  // The bound is there all the same: 2 + 1 + 16 = 19 open requests.
  let refused: Answer | undefined;
  for (let i = 0; i < 19 && refused === undefined; i++) {
    const answer = await after(send(h, 'POST', bearer('alice-token-1'), initialize, true), 200);
    if (answer !== 'pending') refused = answer;
  }
  expect(refused?.status).toBe(503);
  expect(refused?.body).toContain('Expected at most 19 open requests of caller `token:alice` at once');
}, 30_000);

it('holds one standing GET stream per session (the newest replaces it), and one connection per resumed POST stream (the SDK answers 409)', async () => {
  // What the bounds table says of GET streams rests on this: a caller's streams are bounded by its
  // sessions (`maxSessionsPerCaller`) and its calls, each counting as an open request besides.
  const h = await start({});
  const sessionId = (await send(h, 'POST', {}, initialize)).sessionId as string;
  const headers = {
    accept: 'text/event-stream',
    'mcp-session-id': sessionId,
    'mcp-protocol-version': '2025-11-25',
  };
  const first = new AbortController();
  const firstStream = await fetch(h.url, { headers, signal: first.signal });
  expect(firstStream.status).toBe(200);
  // A second GET replaces the first, whose body ends: still one standing stream per session.
  const secondAbort = new AbortController();
  const second = await fetch(h.url, { headers, signal: secondAbort.signal });
  expect(second.status).toBe(200);
  await expect(firstStream.text()).rejects.toThrow();
  secondAbort.abort();

  // A call's stream, open: resuming it from its first event is refused while it has its connection.
  const call = new AbortController();
  const calling = await fetch(h.url, {
    method: 'POST',
    headers: {
      ...headers,
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'x', provider: 'slow' } },
    }),
    signal: call.signal,
  });
  const priming = new TextDecoder().decode(
    (await (calling.body as ReadableStream<Uint8Array>).getReader().read()).value,
  );
  const eventId = /^id: (\S+)$/m.exec(priming)?.[1] as string;
  expect(eventId).toMatch(/\S/);
  const resumed = await fetch(h.url, { headers: { ...headers, 'last-event-id': eventId } });
  expect(resumed.status).toBe(409);
  expect(await resumed.text()).toContain('Stream already has an active connection');
  call.abort();

  // The standing stream closed: the session may open one again.
  first.abort();
  await expect
    .poll(
      async () => {
        const again = new AbortController();
        const res = await fetch(h.url, { headers, signal: again.signal });
        again.abort();
        return res.status;
      },
      { timeout: 5000, interval: 100 },
    )
    .toBe(200);
}, 30_000);
