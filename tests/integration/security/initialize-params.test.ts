/**
 * An `initialize` with wrongly typed params gets -32602 and one line saying what was expected and
 * what came, as the other spec methods' params do (`spec-params.ts`). Until 2026-12-08 stdio
 * answered -32603 with zod's raw dump as the message, and a 2025-era HTTP server answered 400
 * "Mcp-Session-Id header required (or send initialize)" to a client that had sent initialize. The
 * built CLI for stdio (`npm run build` first); raw POSTs for HTTP, since the SDK's client sends a
 * well-formed one.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { connectStdioCli } from '../../support/stdio-cli.js';
import { type Harness, startHarness } from '../mcp/harness.js';
import { post } from '../mcp/raw-legacy.js';

const CLIENT_INFO = { name: 'raw', version: '1' };
const CASES: readonly (readonly [Record<string, unknown>, string])[] = [
  [
    { protocolVersion: '2025-11-25', capabilities: {} },
    'Expected `params.clientInfo` to be an object, got none',
  ],
  [
    { protocolVersion: '2025-11-25', capabilities: 5, clientInfo: CLIENT_INFO },
    'Expected `params.capabilities` to be an object, got `5` (number)',
  ],
  [
    { protocolVersion: 7, capabilities: {}, clientInfo: CLIENT_INFO },
    'Expected `params.protocolVersion` to be a string, got `7` (number)',
  ],
];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('answers an initialize with wrongly typed params -32602 by its id over HTTP, and opens nothing', async () => {
  h = await startHarness();
  for (const [params, message] of CASES) {
    const res = await post(h.url, undefined, { jsonrpc: '2.0', id: 'init-1', method: 'initialize', params });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      id: 'init-1',
      error: { code: -32602, message: `Invalid params for initialize: ${message}` },
    });
  }
  expect(h.app.sessionCount).toBe(0);
  // A well-formed one still opens a session.
  const good = await post(h.url, undefined, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: CLIENT_INFO },
  });
  expect(good.status).toBe(200);
  await good.text();
  expect(h.app.sessionCount).toBe(1);
});

it('answers an initialize with wrongly typed params -32602 with one line over stdio, and goes on', async () => {
  const client: Client = await connectStdioCli('initialize-params', 100);
  try {
    for (const [params, message] of CASES) {
      const sent = client.request(
        { method: 'initialize', params } as Parameters<Client['request']>[0],
        z.object({}).loose(),
      );
      await expect(sent, JSON.stringify(params)).rejects.toMatchObject({
        code: -32602,
        message: `Invalid params for initialize: ${message}`,
      });
    }
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  } finally {
    await client.close();
  }
}, 30_000);
