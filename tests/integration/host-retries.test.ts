/**
 * `troupe/host` retries: only tools marked retry-safe are called again, and only for failures a
 * retry can fix. The remote end is a scripted `ToolCaller` (the part of the SDK `Client` used).
 */
import type { CallToolResult } from '@modelcontextprotocol/client';
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
