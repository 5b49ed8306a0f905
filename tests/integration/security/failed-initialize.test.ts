/**
 * An `initialize` the transport refuses before it begins (406 without `text/event-stream` in
 * Accept, 415 for another Content-Type) leaves nothing behind. Before, each one left its MCP server
 * connected, subscribed to the runtime's resource changes and never closed, since no session held
 * it: 35,000 such requests took `troupe serve` from 100 MB to 1.7 GB, past every session bound.
 * One resource-change listener per connected server tells how many are alive.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

async function initialize(headers: Record<string, string>): Promise<Response> {
  const res = await fetch(h.url, {
    method: 'POST',
    headers: { 'mcp-protocol-version': '2025-11-25', ...headers },
    body: INIT,
  });
  await res.text();
  return res;
}

it('closes the server of an initialize refused before it began; a session that began stays until DELETE', async () => {
  const before = h.mcp.resourceChanges.size;
  for (let i = 0; i < 20; i++) {
    const refused = await initialize({ 'content-type': 'application/json', accept: 'application/json' });
    expect(refused.status).toBe(406);
    const wrongType = await initialize({
      'content-type': 'text/plain',
      accept: 'application/json, text/event-stream',
    });
    expect(wrongType.status).toBe(415);
  }
  await expect.poll(() => h.mcp.resourceChanges.size).toBe(before);
  expect(h.app.sessionCount).toBe(0);

  const opened = await initialize({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  });
  expect(opened.status).toBe(200);
  const sid = opened.headers.get('mcp-session-id') ?? '';
  expect(h.mcp.resourceChanges.size).toBe(before + 1);
  expect(h.app.sessionCount).toBe(1);
  const ended = await fetch(h.url, {
    method: 'DELETE',
    headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
  });
  expect(ended.status).toBe(200);
  await expect.poll(() => h.mcp.resourceChanges.size).toBe(before);
});
