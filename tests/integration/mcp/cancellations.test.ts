/**
 * `withCancellations` (docs/embedding.md, "A client that cancels"): on the SDK's stateless HTTP
 * handler, a 2025-era client's cancellation reaches the call it names, and only its own. Real HTTP
 * (`toNodeHandler` on a `node:http` server), the SDK's own client, `withSession` tools whose sessions
 * take 800 ms.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { type AuthInfo, createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import {
  type CancellationsOptions,
  type FetchHandler,
  withCancellations,
} from '../../../src/mcp/cancellations.js';
import { withSession } from '../../../src/mcp/with-session.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { SessionHandle } from '../../../src/runtime/types.js';
import { abortableCall } from '../../support/abortable-call.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Serve {
  /** Wrap the SDK's handler with `withCancellations` (and these options). */
  readonly wrap?: CancellationsOptions | false;
  readonly maxRequestBodySize?: number;
  /** Parse the body in front of the handler, as `express.json()` does, and pass it on parsed. */
  readonly parse?: boolean;
}

/** A server whose `ask` tool submits one 800 ms model call; `x-user` names the caller, if any. */
async function serve({ wrap = {}, maxRequestBodySize, parse = false }: Serve = {}) {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 800, max: 800 } })],
    defaults: { model: 'sim-fast' },
  });
  const started: SessionHandle[] = [];
  const asked = new Map<SessionHandle, string>();
  const waiters: (() => void)[] = [];
  const sdk = createMcpHandler(
    () => {
      const server = new McpServer({ name: 'saas', version: '1' });
      server.registerTool(
        'ask',
        { inputSchema: z.object({ text: z.string() }) },
        withSession(runtime, async ({ text }, session) => {
          const handle = session.submit({ messages: [{ role: 'user', content: text }] });
          started.push(handle);
          asked.set(handle, text);
          for (const w of waiters.splice(0)) w();
          const answer = await handle.result;
          return { content: [{ type: 'text', text: answer.ok ? answer.content : answer.error.code }] };
        }),
      );
      return server;
    },
    maxRequestBodySize === undefined ? {} : { maxRequestBodySize },
  );
  const handler = wrap === false ? sdk : withCancellations(sdk, wrap);
  const node = toNodeHandler(handler);
  const http = createServer((req: IncomingMessage & { auth?: AuthInfo }, res) => {
    const user = req.headers['x-user'];
    if (typeof user === 'string')
      req.auth = { token: 't', clientId: 'app', scopes: [], extra: { troupeCaller: user } };
    if (!parse || req.method !== 'POST') {
      void node(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => void node(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8'))));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  cleanups.push(async () => {
    http.closeAllConnections();
    http.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  /** The sessions started so far, once there are `n`. */
  const sessions = async (n: number) => {
    while (started.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    return started.slice(0, n);
  };
  const connect = async (user?: string, pin?: string) => {
    const client = new Client(
      { name: user ?? 'nobody', version: '1' },
      pin === undefined ? undefined : ({ versionNegotiation: { mode: { pin } } } as never),
    );
    await client.connect(
      new StreamableHTTPClientTransport(
        url,
        user === undefined ? {} : { requestInit: { headers: { 'x-user': user } } },
      ),
    );
    cleanups.push(() => client.close());
    return client;
  };
  return { connect, sessions, url, asked, handler };
}

/** Starts an `ask` call that `cancel()` aborts on the client (which sends `notifications/cancelled`). */
function ask(client: Client, text = 'hi') {
  return abortableCall(client, 'ask', { text });
}

const ends = (handles: readonly SessionHandle[]) =>
  Promise.all(handles.map(async (h) => (await h.result).metadata.state));

it('lets a 2025-era client’s cancellation end its call on the SDK’s stateless handler, where without it the call runs on', async () => {
  for (const wrap of [{}, false] as const) {
    const { connect, sessions } = await serve({ wrap });
    const alice = await connect('alice');
    expect(alice.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    const call = ask(alice);
    const [session] = await sessions(1);
    call.cancel();
    expect(await call.result).toBe('rejected');
    // The SDK's fallback serves the cancellation on a server of its own: the call is not found there.
    expect(await ends([session as SessionHandle])).toEqual([wrap === false ? 'done' : 'cancelled']);
  }
});

it('cancels only the call of the client that sent the cancellation, though the other’s call has the same request id', async () => {
  const { connect, sessions, asked } = await serve();
  const [alice, bob] = [await connect('alice'), await connect('bob')];
  const [a, b] = [ask(alice, 'from alice'), ask(bob, 'from bob')];
  const started = await sessions(2);
  b.cancel();
  expect(await a.result).toBe('answered');
  expect(await b.result).toBe('rejected');
  const byText = new Map(
    await Promise.all(started.map(async (h) => [asked.get(h), (await h.result).metadata.state] as const)),
  );
  expect(Object.fromEntries(byText)).toEqual({ 'from alice': 'done', 'from bob': 'cancelled' });
});

it('cancels nothing when the client has that request id in flight twice (two connections of one caller), and again once one has ended', async () => {
  const { connect, sessions } = await serve();
  const [first, second] = [await connect('alice'), await connect('alice')];
  const [a, b] = [ask(first), ask(second)];
  const twins = await sessions(2);
  b.cancel();
  expect(await a.result).toBe('answered');
  expect(await ends(twins)).toEqual(['done', 'done']);
  // Both ended: their ids are no longer held, so the next call with that id is the only one.
  const third = await connect('alice');
  const c = ask(third);
  const [, , session] = await sessions(3);
  c.cancel();
  expect(await ends([session as SessionHandle])).toEqual(['cancelled']);
});

it('matches a cancellation when the body comes parsed (a body parser in front of the handler)', async () => {
  const { connect, sessions } = await serve({ parse: true });
  const alice = await connect('alice');
  const answered = await alice.callTool({ name: 'ask', arguments: { text: 'parsed' } });
  expect(JSON.stringify(answered.content)).toContain('parsed');
  const call = ask(alice);
  const [, session] = await sessions(2);
  call.cancel();
  expect(await ends([session as SessionHandle])).toEqual(['cancelled']);
});

it('matches no client it cannot tell apart unless `clientOf` names it', async () => {
  for (const clientOf of [undefined, () => 'the one user'] as const) {
    const { connect, sessions } = await serve({ wrap: clientOf === undefined ? {} : { clientOf } });
    const nobody = await connect();
    const call = ask(nobody);
    const [session] = await sessions(1);
    call.cancel();
    expect(await ends([session as SessionHandle])).toEqual([clientOf === undefined ? 'done' : 'cancelled']);
  }
});

it('passes 2026-07-28 calls through: answered, and cancelled by their stream as before', async () => {
  const { connect, sessions } = await serve();
  const client = await connect('alice', '2026-07-28');
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  const answered = await client.callTool({ name: 'ask', arguments: { text: 'modern' } });
  expect(JSON.stringify(answered.content)).toContain('modern');
  const call = ask(client);
  const [, session] = await sessions(2);
  call.cancel();
  expect(await ends([session as SessionHandle])).toEqual(['cancelled']);
});

it('keeps the SDK’s own body bound: a body over the handler’s maxRequestBodySize still gets 413', async () => {
  const { connect, url } = await serve({ maxRequestBodySize: 2_000 });
  const alice = await connect('alice');
  const big = await alice
    .callTool({ name: 'ask', arguments: { text: 'x'.repeat(5_000) } })
    .catch((e) => String(e));
  expect(String(big)).toMatch(/413|too large/i);
  const raw = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'x-user': 'alice',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 9,
      method: 'tools/call',
      params: { name: 'ask', arguments: { text: 'y'.repeat(5_000) } },
    }),
  });
  expect(raw.status).toBe(413);
});

it('ends a call whose client closes its connection, in either era, wrapped or not', async () => {
  for (const [pin, wrap] of [
    [undefined, false],
    ['2026-07-28', false],
    [undefined, {}],
  ] as const) {
    const { connect, sessions } = await serve({ wrap });
    const client = await connect('alice', pin);
    const call = ask(client);
    const [session] = await sessions(1);
    await client.close();
    expect(await call.result).toBe('rejected');
    expect(await ends([session as SessionHandle])).toEqual(['cancelled']);
  }
});

it('answers a body over its own maxRequestBodySize with the SDK’s 413, declared or streamed, and runs nothing', async () => {
  const { connect, url, asked } = await serve({ wrap: { maxRequestBodySize: 2_000 } });
  const alice = await connect('alice');
  const call = (text: string) => ({
    jsonrpc: '2.0',
    id: 9,
    method: 'tools/call',
    params: { name: 'ask', arguments: { text } },
  });
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
    'x-user': 'alice',
  };
  const declared = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify(call('y'.repeat(5_000))),
  });
  const bytes = new TextEncoder().encode(JSON.stringify(call('z'.repeat(5_000))));
  const streamed = await fetch(url, {
    method: 'POST',
    headers,
    body: new ReadableStream({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 1_000) controller.enqueue(bytes.slice(at, at + 1_000));
        controller.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  for (const response of [declared, streamed]) {
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      error: { code: -32000, message: expect.stringMatching(/2000 bytes/) },
    });
  }
  expect(asked.size).toBe(0);
  // A call within the bound is served.
  const answered = await alice.callTool({ name: 'ask', arguments: { text: 'small' } });
  expect(JSON.stringify(answered.content)).toContain('small');
  expect([...asked.values()]).toEqual(['small']);
});

const alice: AuthInfo = { token: 't', clientId: 'app', scopes: [], extra: { troupeCaller: 'alice' } };

/**
 * A 2025-era POST of alice's handed to the handler as a fetch-native host does (Deno, Bun, Hono on
 * Node): its body streams in, and when `open` is true it is held after ten bytes until `finish()`.
 */
function post(handler: FetchHandler, url: URL, body: unknown, open = false) {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  let finish = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, open ? 10 : bytes.length));
      finish = () => {
        if (open) controller.enqueue(bytes.slice(10));
        controller.close();
      };
      if (!open) finish();
    },
  });
  const request = new Request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  return { response: handler.fetch(request, { authInfo: alice }), finish: () => finish() };
}

const rawCall = (id: number, text: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'ask', arguments: { text } },
});
const rawCancel = (requestId: number) => ({
  jsonrpc: '2.0',
  method: 'notifications/cancelled',
  params: { requestId },
});

it('matches a cancellation that arrives while its call’s POST is still being read, and not one sent before the call', async () => {
  const { sessions, url, handler } = await serve();
  // The call's body is ten bytes in when the cancellation arrives.
  const call = post(handler, url, rawCall(7, 'slow body'), true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect((await post(handler, url, rawCancel(7)).response).status).toBe(202);
  call.finish();
  const [first] = await sessions(1);
  expect(await ends([first as SessionHandle])).toEqual(['cancelled']);
  await (await call.response).text();
  // A cancellation sent before a call's POST arrived is not kept for it: that call runs to its end.
  expect((await post(handler, url, rawCancel(8)).response).status).toBe(202);
  const later = post(handler, url, rawCall(8, 'after'));
  const [, next] = await sessions(2);
  expect(await ends([next as SessionHandle])).toEqual(['done']);
  expect(await (await later.response).text()).toContain('after');
});

it('keeps at most 64 cancellations for a POST still being read: past them, its call runs on', async () => {
  const { sessions, url, handler } = await serve();
  const call = post(handler, url, rawCall(100, 'slow body'), true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (let id = 0; id < 64; id += 1) await (await post(handler, url, rawCancel(id)).response).text();
  await (await post(handler, url, rawCancel(100)).response).text();
  call.finish();
  const [session] = await sessions(1);
  expect(await ends([session as SessionHandle])).toEqual(['done']);
  await (await call.response).text();
});
