/**
 * `progressIntervalMs` of `withSession` and `registerTools` must be a positive number. Before,
 * `0` (read as "no heartbeat") or a negative or `NaN` value went to `setInterval`, which ran it
 * every millisecond: a 200 ms call sent its client about 170 progress notifications.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { heartbeatMs } from '../../../src/mcp/progress.js';
import { registerTools } from '../../../src/mcp/register.js';
import { withSession } from '../../../src/mcp/with-session.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const runtime = createRuntime({ providers: [] });
afterAll(() => runtime.shutdown({ deadlineMs: 0 }));

const handler = async () => ({ content: [] });

describe('progressIntervalMs', () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('withSession refuses %s', (value) => {
    expect(() => withSession(runtime, handler, { progressIntervalMs: value })).toThrow(RangeError);
  });

  it.each([0, -5, Number.NaN])('registerTools refuses %s', (value) => {
    const server = new McpServer({ name: 'mine', version: '1' });
    expect(() => registerTools(server, runtime, { progressIntervalMs: value })).toThrow(
      /Expected `progressIntervalMs` of registerTools .* positive number/,
    );
  });

  it('defaults to 5000 and uses at most 10000', () => {
    expect(heartbeatMs(undefined, 'x')).toBe(5000);
    expect(heartbeatMs(250, 'x')).toBe(250);
    expect(heartbeatMs(60_000, 'x')).toBe(10_000);
  });

  it('a small period sends a heartbeat at that period, not every millisecond', async () => {
    const server = new McpServer({ name: 'mine', version: '1' });
    server.registerTool(
      'wait',
      { inputSchema: z.object({}) },
      withSession(
        runtime,
        async (_args, session) => {
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, 220);
            session.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
          });
          return { content: [{ type: 'text', text: 'ok' }] };
        },
        { progressIntervalMs: 50 },
      ),
    );
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(clientSide);
    let notes = 0;
    await client.callTool({ name: 'wait', arguments: {} }, { onprogress: () => (notes += 1) });
    // started + about four heartbeats in 220 ms; every millisecond would be over a hundred.
    expect(notes).toBeGreaterThanOrEqual(2);
    expect(notes).toBeLessThan(15);
    await client.close();
    await server.close();
  });
});
