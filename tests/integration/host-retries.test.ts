/**
 * `troupe/host` retries: only tools marked retry-safe are called again, and only for failures a
 * retry can fix. The remote end is a scripted `ToolCaller` (the part of the SDK `Client` used).
 */
import { type CallToolResult, Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { expect, it } from 'vitest';
import { createHost, type ToolCaller } from '../../src/host/index.js';

/** Fails each tool's first call with a lost connection (an SDK error code), then answers. */
function flakyServer(): ToolCaller & { calls: string[] } {
  const seen = new Set<string>();
  const calls: string[] = [];
  return {
    calls,
    async callTool(params): Promise<CallToolResult> {
      calls.push(params.name);
      if (!seen.has(params.name)) {
        seen.add(params.name);
        throw Object.assign(new Error('Connection closed'), { code: 'CONNECTION_CLOSED' });
      }
      return { content: [{ type: 'text', text: `${params.name} ok` }] };
    },
  };
}

it('retries a retry-safe tool after a lost connection and runs any other tool once', async () => {
  const remote = flakyServer();
  const host = createHost({ servers: { remote: { client: remote, retrySafe: ['search'] } } });
  const safe = await host.callTool('remote', { name: 'search', arguments: {} });
  expect(safe.ok).toBe(true);
  expect(safe.metadata).toMatchObject({ state: 'done', attempts: 2, provider: 'remote', model: 'search' });

  const unsafe = await host.callTool('remote', { name: 'write', arguments: {} });
  expect(unsafe.ok).toBe(false);
  if (!unsafe.ok) expect(unsafe.error).toMatchObject({ code: 'NETWORK', retryable: true });
  expect(unsafe.metadata).toMatchObject({ state: 'failed', attempts: 1, code: 'NETWORK' });
  expect(remote.calls).toEqual(['search', 'search', 'write']);
  await host.shutdown();
});

it('does not retry a call the server refused, and refuses unknown servers and host-side limits on your runtime', async () => {
  const refusing: ToolCaller = {
    callTool: async () => {
      throw Object.assign(new Error('Tool nope not found'), { code: -32602 });
    },
  };
  const host = createHost({ servers: { remote: { client: refusing, retrySafe: () => true } } });
  const refused = await host.callTool('remote', { name: 'nope', arguments: {} });
  expect(refused.ok).toBe(false);
  expect(refused.metadata).toMatchObject({ attempts: 1, code: 'INVALID_REQUEST' });
  expect(() => host.server('missing')).toThrow(/Expected a server from remote, got "missing"/);
  expect(() =>
    createHost({ runtime: host.runtime, servers: { remote: { client: refusing, maxConcurrent: 2 } } }),
  ).toThrow(/limits\.perProvider\.remote/);
  await host.shutdown();
});

/** A stdio MCP server of the SDK whose `lookup` tool ends its process mid-call. */
const DYING_SERVER = `
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod';
serveStdio(() => {
  const server = new McpServer({ name: 'dying', version: '1' }, { capabilities: { tools: {} } });
  server.registerTool('lookup', { inputSchema: z.object({}) }, async () => process.exit(1));
  return server;
});
`;

// The SDK client, its transport closed, rejects with a plain Error('Not connected'): that read as
// BAD_RESPONSE (not retried), where embedding.md promises a lost connection as NETWORK.
it('a server that dies mid-call fails the call and every later one as NETWORK, retried where safe', async () => {
  const client = new Client({ name: 'host-test', version: '1' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['--input-type=module', '-e', DYING_SERVER],
      stderr: 'pipe',
    }),
  );
  const host = createHost({ servers: { s: { client, retrySafe: ['lookup'] } } });
  try {
    const died = await host.callTool('s', { name: 'lookup', arguments: {} });
    expect(died.ok).toBe(false);
    if (!died.ok) expect(died.error).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(died.metadata).toMatchObject({ state: 'failed', attempts: 3, code: 'NETWORK' });
    const later = await host.callTool('s', { name: 'lookup', arguments: {} });
    if (!later.ok) expect(later.error.message).toContain('got a closed connection (Not connected)');
    expect(later.metadata).toMatchObject({ state: 'failed', attempts: 3, code: 'NETWORK' });
  } finally {
    await host.shutdown();
    await client.close();
  }
});
