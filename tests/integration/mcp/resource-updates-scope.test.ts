/**
 * An embedder's `createMcpServer(mcp, { resourceUpdates: 'all' })` on a context with a session filter
 * (per-client scoping): nothing tells whose connection an update would reach, so none is sent, and
 * a client never learns of sessions the filter hides from it. The same server on an unscoped context
 * sends them, which shows the wiring works. SDK client over an in-memory transport.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { createMcpServer } from '../../../src/mcp/server.js';
import { type Harness, type HarnessOptions, startHarness, structured } from './harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

/** The URIs of the updates one client of a `resourceUpdates: 'all'` server hears over one chat. */
async function heardOverOneChat(options: HarnessOptions): Promise<string[]> {
  const h = await startHarness(options);
  harnesses.push(h);
  const server = createMcpServer(h.mcp, { resourceUpdates: 'all' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'embedded', version: '1' });
  const heard: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    heard.push(String((n.params as { uri: string }).uri));
  });
  await client.connect(clientSide);
  // The updates of the call's session go out on this transport before its result does.
  const done = structured(
    await client.callTool({ name: 'chat', arguments: { prompt: 'x', provider: 'fast' } }),
  );
  expect(done.ok).toBe(true);
  await client.close();
  await server.close();
  return heard;
}

it('sends the client of an all-updates server every session’s updates when nothing is scoped', async () => {
  expect(await heardOverOneChat({})).toContain('troupe://sessions');
});

it('sends the client of an all-updates server no session update under a session filter', async () => {
  expect(await heardOverOneChat({ context: { sessionFilter: () => false } })).toEqual([]);
});
