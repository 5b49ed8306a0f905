/**
 * A `withSession` handler's result is held to MCP's `CallToolResult` before it is answered (real
 * HTTP, the SDK's `createMcpHandler` behind `toNodeHandler`, the SDK's own client). Until
 * 2026-12-07 an object the schema refuses ended its session `done` and the client threw "Invalid
 * tools/call result" with zod's issues, no code or session; a result JSON cannot carry (a bigint, a
 * cycle) failed the transport's write, so the client heard nothing until its own timeout; and a
 * `structuredContent` that is no object (MCP's schema takes any JSON value) was spread into one;
 * and a thrown value that throws as it is read left its session running to its deadline.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { type CallToolResult, createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod';
import { withSession } from '../../../src/mcp/with-session.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';

const cycle = (): unknown => {
  const structured: Record<string, unknown> = {};
  structured.self = structured;
  return { content: [{ type: 'text', text: 'x' }], structuredContent: structured };
};

/** An Error whose `message` throws as it is read. */
const unreadable = (): never => {
  const error = new Error('hidden');
  Object.defineProperty(error, 'message', {
    get() {
      throw new Error('getter');
    },
  });
  throw error;
};

const RESULTS: Record<string, () => unknown> = {
  contentText: () => ({ content: 'hello' }),
  unknownBlock: () => ({ content: [{ type: 'nope' }] }),
  isErrorText: () => ({ content: [], isError: 'yes' }),
  bigint: () => ({ content: [{ type: 'text', text: 'x' }], structuredContent: { n: 10n } }),
  cycle,
  toJSON: () => ({
    content: [{ type: 'text', text: 'x' }],
    structuredContent: {
      at: {
        toJSON() {
          throw new Error('no JSON here');
        },
      },
    },
  }),
  shared: () => {
    const twice = { n: 1 };
    return { content: [{ type: 'text', text: 'x' }], structuredContent: { a: twice, b: [twice] } };
  },
  array: () => ({ content: [{ type: 'text', text: 'a, b' }], structuredContent: ['a', 'b'] }),
  text: () => ({ content: [{ type: 'text', text: 'ok' }], structuredContent: 'ok' }),
  nothing: () => ({ content: [{ type: 'text', text: 'none' }], structuredContent: null }),
  unreadable,
  empty: () => ({}),
  taskOnly: () => ({ task: { taskId: 't1', status: 'working' } }),
};

let runtime: Runtime;
let client: Client;
let modern: Client;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = createRuntime({ providers: [] });
  const node = toNodeHandler(
    createMcpHandler(() => {
      const server = new McpServer({ name: 'mine', version: '1' });
      for (const [name, result] of Object.entries(RESULTS))
        server.registerTool(
          name,
          { inputSchema: z.object({}) },
          withSession(runtime, async () => result() as CallToolResult, { lane: 'mine', timeoutMs: 60_000 }),
        );
      return server;
    }),
  );
  const http = createServer((req, res) => void node(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
  client = new Client({ name: 'c', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url));
  modern = new Client({ name: 'm', version: '1' }, {
    versionNegotiation: { mode: { pin: '2026-07-28' } },
  } as never);
  await modern.connect(new StreamableHTTPClientTransport(url));
  close = async () => {
    await client.close();
    await modern.close();
    http.closeAllConnections();
    http.close();
    await runtime.shutdown({ deadlineMs: 0 });
  };
});
afterAll(() => close());

it.each([
  ['contentText', 'Expected `content` to be an array, got `"hello"` (string)'],
  // A content block's `type` names no kind (until 2026-12-07 zod's "`content.0`: Invalid input").
  [
    'unknownBlock',
    'Expected `content.0.type` to be one of `"text"`, `"image"`, `"audio"`, `"resource_link"`, `"resource"`, got `"nope"` (string)',
  ],
  ['isErrorText', 'Expected `isError` to be a boolean, got `"yes"` (string)'],
  ['bigint', 'that JSON can carry, got one it cannot: a bigint'],
  ['cycle', 'that JSON can carry, got one it cannot: a cycle'],
  ['toJSON', 'that JSON can carry, got one it cannot: no JSON here'],
  ['taskOnly', "got one without `content` that carries `task`, another result's field"],
])(
  'answers a handler’s %s result with an INTERNAL error result naming what is wrong, its session failed',
  async (name, says) => {
    // The SDK's timeout, short: a result the transport could not write was never answered.
    const result = await client.callTool({ name, arguments: {} }, { timeout: 5_000 });
    expect(result.isError).toBe(true);
    const text = String((result.content as { text: string }[])[0]?.text);
    expect(text).toMatch(
      /^INTERNAL: Expected the tool's handler to return a CallToolResult \(\{ content: \[\.\.\.\] \}\)/,
    );
    expect(text).toContain(says);
    expect(result.structuredContent).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL' },
      session: { provider: 'mine', state: 'failed', code: 'INTERNAL' },
    });
  },
);

it('answers a handler’s `{}` as an empty result with its session, `content: []` on the wire in either era', async () => {
  for (const era of [modern, client]) {
    const result = await era.callTool({ name: 'empty', arguments: {} }, { timeout: 5_000 });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([]);
    expect(result.structuredContent).toMatchObject({ session: { provider: 'mine', state: 'done' } });
  }
});

it.each([
  ['array', ['a', 'b']],
  ['text', 'ok'],
  ['nothing', null],
])(
  'answers a %s `structuredContent` as the handler gave it, MCP taking any JSON value there (a 2025-era client gets the SDK’s `{ result }`)',
  async (name, structured) => {
    for (const [era, expected] of [
      [modern, structured],
      [client, { result: structured }],
    ] as const) {
      const result = await era.callTool({ name, arguments: {} }, { timeout: 5_000 });
      expect(result.isError).toBeUndefined();
      expect(result.structuredContent).toStrictEqual(expected);
    }
  },
);

it('answers a handler that throws a value which throws as it is read with an INTERNAL error result at once, not at its deadline', async () => {
  const result = await client.callTool({ name: 'unreadable', arguments: {} }, { timeout: 5_000 });
  expect(result.isError).toBe(true);
  expect(String((result.content as { text: string }[])[0]?.text)).toMatch(
    /^INTERNAL: Unexpected thrown value, which threw as it was read\n/,
  );
  expect(result.structuredContent).toMatchObject({ session: { state: 'failed', code: 'INTERNAL' } });
});

it('answers a result holding one object twice, which is no cycle, with its session', async () => {
  const result = await client.callTool({ name: 'shared', arguments: {} }, { timeout: 5_000 });
  expect(result.isError).toBeUndefined();
  expect(result.structuredContent).toMatchObject({ a: { n: 1 }, b: [{ n: 1 }], session: { state: 'done' } });
});
