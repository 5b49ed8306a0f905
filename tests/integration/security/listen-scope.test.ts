/**
 * 2026-07-28 `subscriptions/listen` streams under per-client scoping (`sessionFilter: 'owner'`, as
 * `troupe serve` with named tokens sets it): nothing tells whose stream a session update reaches,
 * so none is published, and a client hears nothing of another client's sessions: neither their
 * activity and timing on `troupe://sessions`, nor whether a guessed `troupe://sessions/{id}` exists.
 * SDK clients over Streamable HTTP, 2026-07-28.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientWith, type Harness, startHarness, structured } from '../mcp/harness.js';

const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
];
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ http: { tokens }, context: { sessionFilter: 'owner' } });
});
afterAll(async () => {
  await h.close();
});

it('a listen stream hears nothing of another client’s sessions', async () => {
  const bob = new Client(
    { name: 'listen', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await bob.connect(
    new StreamableHTTPClientTransport(h.url, {
      requestInit: { headers: { authorization: 'Bearer bob-token-22' } },
    }),
  );
  const heard: string[] = [];
  bob.setNotificationHandler('notifications/resources/updated', (n) => {
    heard.push(String((n.params as { uri: string }).uri));
  });
  const stream = await bob.listen({ resourceSubscriptions: ['troupe://sessions'] });
  const alice = await clientWith(h, 'alice-token-1');
  // The slow provider takes 1.5 s: an update for alice's session going queued and running, were one
  // sent, would have reached bob long before her answer does. No fixed wait.
  const done = structured(
    await alice.callTool({ name: 'chat', arguments: { prompt: 'private', provider: 'slow' } }),
  );
  expect(done.ok).toBe(true);
  expect(heard).toEqual([]);
  await stream.close();
  await Promise.all([alice.close(), bob.close()]);
});
