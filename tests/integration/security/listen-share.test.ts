/**
 * 2026-07-28 `subscriptions/listen` streams over HTTP: the SDK keeps 1,024 open for all clients
 * together, so one client could hold them all and every other client's listen got "Subscription
 * limit reached". Each caller (token name) now has its share; one more gets 503 naming it, and a
 * closed stream gives its slot back. SDK client over Streamable HTTP, 2026-07-28.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
];
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ http: { tokens, maxListensPerCaller: 2 } });
});
afterAll(async () => {
  await h.close();
});

async function modern(token: string): Promise<Client> {
  const client = new Client(
    { name: 'listen', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(h.url, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

it('gives each caller its share of listen streams, so one cannot lock the others out', async () => {
  const alice = await modern('alice-token-1');
  const bob = await modern('bob-token-22');
  const filter = { resourceSubscriptions: ['troupe://sessions'] };
  const open = [await alice.listen(filter), await alice.listen(filter)];
  await expect(alice.listen(filter)).rejects.toThrow(
    'Expected at most 2 open subscriptions/listen streams for caller `alice`, got one more: close a stream',
  );
  const bobs = await bob.listen(filter);
  await open[0]?.close();
  await expect
    .poll(
      async () =>
        alice.listen(filter).then(
          (s) => s.close().then(() => 'opened'),
          () => 'refused',
        ),
      {
        timeout: 5000,
      },
    )
    .toBe('opened');
  await Promise.all([open[1]?.close(), bobs.close()]);
  await Promise.all([alice.close(), bob.close()]);
});
