/**
 * `troupe/host` against three real MCP servers: the BUILT `troupe stdio` (`npx tsc -p
 * tsconfig.build.json` first) and two small Streamable HTTP servers started here, each counting
 * the calls it has in flight and the cancellations its handlers see.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod';
import { createHost } from '../../src/host/index.js';
import { connectStdioCli } from '../support/stdio-cli.js';

interface Counting {
  readonly url: URL;
  inFlight: number;
  maxInFlight: number;
  aborted: number;
  close(): Promise<void>;
}

/**
 * A server with `work` (waits for `hold`, then sleeps `delayMs`, honouring the signal) and `hang`
 * (waits for its signal).
 */
async function startCountingServer(
  delayMs: number,
  hold: Promise<void> = Promise.resolve(),
): Promise<Counting> {
  const state = { inFlight: 0, maxInFlight: 0, aborted: 0 };
  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          state.aborted += 1;
          reject(signal.reason);
        },
        { once: true },
      );
    });
  const counted =
    <A>(run: (args: A, signal: AbortSignal) => Promise<void>) =>
    async (args: A, ctx: { mcpReq: { signal: AbortSignal } }) => {
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        await run(args, ctx.mcpReq.signal);
        return { content: [{ type: 'text' as const, text: 'ok' }] };
      } finally {
        state.inFlight -= 1;
      }
    };
  const newServer = () => {
    const server = new McpServer({ name: `counting-${delayMs}`, version: '1' });
    server.registerTool(
      'work',
      { inputSchema: z.object({ n: z.number() }) },
      counted(async (_args, signal) => {
        await hold;
        await sleep(delayMs, signal);
      }),
    );
    server.registerTool(
      'hang',
      { inputSchema: z.object({}) },
      counted(async (_args, signal) => sleep(3_600_000, signal)),
    );
    return server;
  };
  // One server and transport per MCP session, as a stateful Streamable HTTP server does it.
  const sessions = new Map<string, { server: McpServer; transport: NodeStreamableHTTPServerTransport }>();
  const http: Server = createServer((req, res) => {
    const id = req.headers['mcp-session-id'];
    const known = typeof id === 'string' ? sessions.get(id) : undefined;
    if (known !== undefined) {
      void known.transport.handleRequest(req, res);
      return;
    }
    const server = newServer();
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessions.set(sid, { server, transport });
      },
    });
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return Object.assign(state, {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    async close() {
      for (const { server } of sessions.values()) await server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  });
}

async function httpClient(url: URL): Promise<Client> {
  const client = new Client({ name: 'host-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url));
  return client;
}

let fast: Counting;
let slow: Counting;
let clients: Client[] = [];
let releaseSlow: () => void = () => {};

beforeAll(async () => {
  fast = await startCountingServer(5);
  // The slow server answers nothing until the test has seen every other call finish.
  slow = await startCountingServer(
    20,
    new Promise<void>((resolve) => {
      releaseSlow = resolve;
    }),
  );
});

afterAll(async () => {
  for (const client of clients) await client.close();
  await fast?.close();
  await slow?.close();
});

it('fans 200 calls out to three servers: per-server limits hold and the slow server delays only its own calls', async () => {
  const troupe = await connectStdioCli('host-test', 0);
  const fastClient = await httpClient(fast.url);
  const slowClient = await httpClient(slow.url);
  clients = [troupe, fastClient, slowClient];
  const host = createHost({
    servers: {
      troupe: { client: troupe, maxConcurrent: 3 },
      fast: { client: fastClient, maxConcurrent: 5 },
      slow: { client: slowClient, maxConcurrent: 2 },
    },
  });

  // troupe's own `sessions` tool, called beside the host, shows how many chats it runs at once.
  let troupeMaxRunning = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const snapshot = await troupe.callTool({ name: 'sessions', arguments: {} });
      const providers = (snapshot.structuredContent as { providers: { running: number }[] }).providers;
      troupeMaxRunning = Math.max(troupeMaxRunning, ...providers.map((p) => p.running));
    }
  })();

  const finished: string[] = [];
  const track = (server: string, call: Promise<Awaited<ReturnType<typeof host.callTool>>>) =>
    call.then((result) => {
      finished.push(server);
      return { server, result };
    });
  const calls = [
    ...Array.from({ length: 20 }, (_, n) =>
      track('slow', host.callTool('slow', { name: 'work', arguments: { n } })),
    ),
    ...Array.from({ length: 30 }, () =>
      track(
        'troupe',
        host.callTool('troupe', {
          name: 'chat',
          arguments: { prompt: 'hi', extra: { simulateLatencyMs: 40 } },
        }),
      ),
    ),
    ...Array.from({ length: 150 }, (_, n) =>
      track('fast', host.callTool('fast', { name: 'work', arguments: { n } }, { priority: 7 })),
    ),
  ];
  expect(calls).toHaveLength(200);
  const others = await Promise.all(calls.slice(20));
  // The slow server holds its limit's worth of calls and has answered none: nobody else waited for it.
  expect(finished.filter((server) => server === 'slow')).toHaveLength(0);
  expect(slow.inFlight).toBe(2);
  releaseSlow();
  const results = [...(await Promise.all(calls.slice(0, 20))), ...others];
  sampling = false;
  await sampler;

  for (const { server, result } of results) {
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(result.metadata).toMatchObject({ provider: server, state: 'done', attempts: 1 });
    expect(result.metadata.sessionId).not.toBe('');
    if (result.ok) expect(result.value.isError).toBeFalsy();
  }
  expect(fast.maxInFlight).toBeGreaterThan(1);
  expect(fast.maxInFlight).toBeLessThanOrEqual(5);
  expect(slow.maxInFlight).toBe(2);
  expect(troupeMaxRunning).toBeGreaterThan(0);
  expect(troupeMaxRunning).toBeLessThanOrEqual(3);
  // Released last, the slow server's twenty came last.
  expect(finished.slice(-20).every((server) => server === 'slow')).toBe(true);
  await host.shutdown();
});

it("cancels the remote call when the deadline passes or the caller aborts: the server's handler sees it", async () => {
  const client = await httpClient(fast.url);
  clients.push(client);
  const host = createHost({ servers: { fast: client } });
  const before = fast.aborted;

  const timedOut = await host.callTool('fast', { name: 'hang', arguments: {} }, { timeoutMs: 100 });
  expect(timedOut.ok).toBe(false);
  expect(timedOut.metadata).toMatchObject({ state: 'timedOut', code: 'TIMED_OUT', provider: 'fast' });
  await expect.poll(() => fast.aborted).toBe(before + 1);

  const controller = new AbortController();
  const pending = host.callTool('fast', { name: 'hang', arguments: {} }, { signal: controller.signal });
  await expect.poll(() => fast.inFlight).toBe(1);
  controller.abort('caller gave up');
  const cancelled = await pending;
  expect(cancelled.ok).toBe(false);
  expect(cancelled.metadata).toMatchObject({ state: 'cancelled', code: 'CANCELLED' });
  await expect.poll(() => fast.aborted).toBe(before + 2);
  expect(fast.inFlight).toBe(0);
  await host.shutdown();
});

it('bounds the bytes of the calls waiting (maxQueuedBytes): a call past it is refused QUEUE_FULL, one larger than it INVALID_REQUEST', async () => {
  const client = await httpClient(fast.url);
  clients.push(client);
  const waiting = { name: 'work', arguments: { n: 1, note: 'ü'.repeat(40) } };
  const size = Buffer.byteLength(JSON.stringify(waiting));
  const host = createHost({ servers: { fast: { client, maxConcurrent: 1 } }, maxQueuedBytes: size + 10 });
  const controller = new AbortController();
  const running = host.callTool('fast', { name: 'hang', arguments: {} }, { signal: controller.signal });
  await expect.poll(() => fast.inFlight).toBe(1);
  const queued = host.callTool('fast', waiting);
  expect(host.runtime.status()).toMatchObject({ queued: 1, queuedBytes: size, maxQueuedBytes: size + 10 });
  const refused = await host.callTool('fast', { name: 'work', arguments: { n: 123456789 } });
  expect(refused).toMatchObject({ ok: false, error: { code: 'QUEUE_FULL' }, metadata: { provider: 'fast' } });
  const huge = await host.callTool('fast', { name: 'work', arguments: { n: 1, note: 'x'.repeat(size) } });
  expect(huge).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  controller.abort('done');
  expect((await running).ok).toBe(false);
  expect((await queued).ok).toBe(true);
  expect(host.runtime.status().queuedBytes).toBe(0);
  await host.shutdown();
});
