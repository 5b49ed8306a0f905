/**
 * `resources/subscribe` is bounded per connection: a client cannot make the server keep URIs
 * without end (before, every URI of every subscribe request was kept, each with its request's
 * context). A subscription to a session the caller cannot read (unknown, or another named token's
 * caller's) is refused as `resources/read` refuses it: until 2026-12-07 it was acknowledged with
 * `{}`, and nothing was ever sent for it. SDK client over Streamable HTTP, 2025-11-25.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS } from '../../../src/mcp/resources.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { defaultProviders, type Harness, startHarness, structured } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

// Its time is work (1,000 sessions, 1,000 subscriptions over HTTP): 7 to 16 s at a load of 8 to 14 on
// 2 cores, past vitest's 30 s at more. No bound of troupe's is timed here.
it(`keeps at most ${MAX_SUBSCRIPTIONS} subscriptions per connection and refuses one more by name`, {
  timeout: 180_000,
}, async () => {
  // Sessions to subscribe to: the recent ones the history keeps (1,000 by default).
  const ids = await Promise.all(
    Array.from({ length: MAX_SUBSCRIPTIONS }, async (_, i) => {
      const handle = h.mcp.runtime.submit({
        provider: 'fast',
        messages: [{ role: 'user', content: `s${i}` }],
      });
      await handle.result;
      return handle.id;
    }),
  );
  const client = await h.client('legacy');
  const uri = (i: number) => `troupe://sessions/${ids[i]}`;
  for (let from = 0; from < MAX_SUBSCRIPTIONS; from += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.subscribeResource({ uri: uri(from + i) })),
    );
  }
  await expect(client.subscribeResource({ uri: 'troupe://sessions' })).rejects.toThrow(
    `Expected at most ${MAX_SUBSCRIPTIONS} resource subscriptions on one connection, got one more (troupe://sessions): unsubscribe`,
  );
  // Again to one it holds: nothing new to keep.
  await client.subscribeResource({ uri: uri(7) });
  // URIs troupe never updates are acknowledged and not kept, so they do not count.
  await client.subscribeResource({ uri: 'test://watched-resource' });
  // Unsubscribing makes room.
  await client.unsubscribeResource({ uri: uri(7) });
  await client.subscribeResource({ uri: 'troupe://sessions' });
  await expect(client.subscribeResource({ uri: uri(7) })).rejects.toThrow(/at most/);
  // Another connection has its own room.
  const other = await h.client('legacy');
  await other.subscribeResource({ uri: uri(0) });
});

it('refuses a subscription to a session that is not there as its read does, a made-up id of any length too', async () => {
  const client = await h.client('legacy');
  for (const id of ['no-such-session', 'x'.repeat(60_000)]) {
    const uri = `troupe://sessions/${id}`;
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => ({ code: 'acknowledged', message: '' }),
        (error: Error & { code: unknown }) => ({ code: error.code, message: error.message }),
      );
    const read = await refused(client.readResource({ uri }));
    expect(read.message).toContain('Expected a live or recent session id');
    expect(await refused(client.subscribeResource({ uri }))).toEqual(read);
  }
});

it('a subscription to another caller’s session is refused as one to a session that is not there; the owner’s brings updates', async () => {
  const tokens = [
    { name: 'alice', token: 'alice-token-1' },
    { name: 'bob', token: 'bob-token-22' },
  ];
  // Alice's session runs until the test answers its call: it is live while she subscribes, however loaded the machine.
  const held = new ScriptedProvider('held');
  const scoped = await startHarness({
    providers: [...defaultProviders(), held],
    http: { tokens },
    context: { sessionFilter: 'owner' },
  });
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
    const call = alice.client.callTool({
      name: 'chat',
      arguments: { prompt: 'x', provider: 'held', model: 'm' },
    });
    await expect.poll(() => held.pending().length, { timeout: 10_000 }).toBe(1);
    expect(scoped.mcp.live.list()).toHaveLength(1);
    const uri = `troupe://sessions/${scoped.mcp.live.list()[0]?.sessionId}`;
    await alice.client.subscribeResource({ uri });
    // Bob is answered as for a session that does not exist, as his read of it is: nothing says it is there.
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => 'acknowledged',
        (error: Error) => error,
      );
    const asBob = await refused(bob.client.subscribeResource({ uri }));
    const bobReads = await refused(bob.client.readResource({ uri }));
    const madeUp = `troupe://sessions/${'0'.repeat(36)}`;
    const unknown = await refused(bob.client.subscribeResource({ uri: madeUp }));
    expect(asBob).toBeInstanceOf(Error);
    const answer = (e: unknown, u: string) => ({
      code: (e as { code: unknown }).code,
      message: (e as Error).message.replace(u.slice('troupe://sessions/'.length), '<id>'),
    });
    expect(answer(asBob, uri)).toEqual(answer(bobReads, uri));
    expect(answer(asBob, uri)).toEqual(answer(unknown, madeUp));
    await Promise.all([alice, bob].map((c) => c.client.subscribeResource({ uri: 'troupe://sessions' })));
    held.pending()[0]?.settle('ok');
    expect(structured(await call).ok).toBe(true);
    await expect.poll(() => alice.updated, { timeout: 10_000 }).toContain(uri);
    expect(alice.updated).toContain('troupe://sessions');
    expect(bob.updated).toEqual([]);
    await Promise.all([alice, bob].map((c) => c.client.close()));
  } finally {
    await scoped.close();
  }
});
