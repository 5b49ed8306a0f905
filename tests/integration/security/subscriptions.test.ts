/**
 * `resources/subscribe` is bounded per connection: a client cannot make the server keep URIs
 * without end (before, every URI of every subscribe request was kept, each with its request's
 * context). SDK client over Streamable HTTP, 2025-11-25.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS } from '../../../src/mcp/resources.js';
import { type Harness, startHarness } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

it(`keeps at most ${MAX_SUBSCRIPTIONS} subscriptions per connection and refuses one more by name`, async () => {
  const client = await h.client('legacy');
  const uri = (i: number) => `troupe://sessions/no-such-${i}`;
  for (let from = 0; from < MAX_SUBSCRIPTIONS; from += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.subscribeResource({ uri: uri(from + i) })),
    );
  }
  await expect(client.subscribeResource({ uri: uri(MAX_SUBSCRIPTIONS) })).rejects.toThrow(
    `Expected at most ${MAX_SUBSCRIPTIONS} resource subscriptions on one connection, got one more (${uri(MAX_SUBSCRIPTIONS)}): unsubscribe`,
  );
  // Again to one it holds: nothing new to keep.
  await client.subscribeResource({ uri: uri(7) });
  // URIs troupe never updates are acknowledged and not kept, so they do not count.
  await client.subscribeResource({ uri: 'test://watched-resource' });
  await client.subscribeResource({ uri: `troupe://sessions/${'x'.repeat(60_000)}` });
  // Unsubscribing makes room.
  await client.unsubscribeResource({ uri: uri(7) });
  await client.subscribeResource({ uri: uri(MAX_SUBSCRIPTIONS) });
  await expect(client.subscribeResource({ uri: uri(7) })).rejects.toThrow(/at most/);
  // Another connection has its own room.
  const other = await h.client('legacy');
  await other.subscribeResource({ uri: uri(0) });
});

it("a subscription to another caller's session brings no update; the owner's does", async () => {
  const tokens = [
    { name: 'alice', token: 'alice-token-1' },
    { name: 'bob', token: 'bob-token-22' },
  ];
  const scoped = await startHarness({ http: { tokens }, context: { sessionFilter: 'owner' } });
  try {
    const connect = async (token: string) => {
      const client = new Client({ name: 'sub', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(scoped.url, {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      const updated: string[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => {
        updated.push(n.params.uri);
      });
      return { client, updated };
    };
    const alice = await connect('alice-token-1');
    const bob = await connect('bob-token-22');
    const call = alice.client.callTool({ name: 'chat', arguments: { prompt: 'x', provider: 'slow' } });
    await expect.poll(() => scoped.mcp.live.list().length).toBe(1);
    const uri = `troupe://sessions/${scoped.mcp.live.list()[0]?.sessionId}`;
    await Promise.all([alice, bob].map((c) => c.client.subscribeResource({ uri })));
    await Promise.all([alice, bob].map((c) => c.client.subscribeResource({ uri: 'troupe://sessions' })));
    await call;
    await expect.poll(() => alice.updated).toContain(uri);
    expect(alice.updated).toContain('troupe://sessions');
    expect(bob.updated).toEqual([]);
    await Promise.all([alice, bob].map((c) => c.client.close()));
  } finally {
    await scoped.close();
  }
});
