/**
 * One client cannot push another's ended sessions out of the history (`limits.historySize`): when
 * it is full, the caller holding the most gives its own oldest. Before, it was one list for every
 * caller: a burst of one token's calls made another token's session, read by id with `sessions`,
 * answer `UNKNOWN_SESSION`, and its `recent` list empty. SDK client over Streamable HTTP.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { MemoryClusterHub } from '../../../src/runtime/backend.js';
import { memoryClusterBackend } from '../../../src/scale/memory-cluster.js';
import { IN_MEMORY_BACKENDS } from '../../support/in-memory-backends.js';
import { clientWith, type Harness, startHarness, structured } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const chat = async (client: Client, prompt: string): Promise<string> => {
  const r = structured(await client.callTool({ name: 'chat', arguments: { provider: 'fast', prompt } }));
  expect(r.ok).toBe(true);
  return String(r.session.sessionId);
};
const session = (client: Client, id: string) =>
  client.callTool({ name: 'sessions', arguments: { session_id: id } }).then(structured);
const recent = async (client: Client) =>
  (
    structured(await client.callTool({ name: 'sessions', arguments: {} })).recent as { sessionId: string }[]
  ).map((s) => s.sessionId);

it("a token's burst of calls pushes out its own ended sessions, not another token's", async () => {
  const h = await startHarness({
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'bob', token: 'bob-token-22' },
      ],
    },
    limits: { historySize: 4 },
  });
  harnesses.push(h);
  const alice = await clientWith(h, 'alice-token-1');
  const bob = await clientWith(h, 'bob-token-22');

  const bobs = await chat(bob, 'remember me');
  const alices: string[] = [];
  for (let i = 0; i < 10; i++) alices.push(await chat(alice, `burst ${i}`));

  const mine = await session(bob, bobs);
  expect(mine.ok).toBe(true);
  expect(mine.session).toMatchObject({ sessionId: bobs, state: 'done', owner: 'token:bob' });
  expect(await recent(bob)).toEqual([bobs]);
  // Alice paid with her own oldest: three of hers are kept, the newest.
  expect(await recent(alice)).toEqual(alices.slice(-3).reverse());
  expect((await session(alice, alices[0] as string)).error.code).toBe('UNKNOWN_SESSION');
  expect(h.mcp.runtime.status().recent.length).toBe(4);
});

it('holds on a cluster too: an instance’s history of sessions ended anywhere keeps each token’s own', async () => {
  const hub = new MemoryClusterHub();
  const tokens = [
    { name: 'alice', token: 'alice-token-1' },
    { name: 'bob', token: 'bob-token-22' },
  ];
  const instance = () =>
    startHarness({
      runtime: { backend: memoryClusterBackend({ hub, sweepIntervalMs: 1000 }) },
      limits: { historySize: 4 },
      http: { tokens },
    });
  const a = await instance();
  harnesses.push(a);
  const b = await instance();
  harnesses.push(b);
  const bobOnB = await clientWith(b, 'bob-token-22');
  const bobOnA = await clientWith(a, 'bob-token-22');
  const aliceOnA = await clientWith(a, 'alice-token-1');

  const bobs = await chat(bobOnB, 'remember me');
  await expect.poll(() => a.mcp.runtime.session(bobs)?.state, { timeout: 10_000 }).toBe('done');
  const alices: string[] = [];
  for (let i = 0; i < 10; i++) alices.push(await chat(aliceOnA, `burst ${i}`));

  expect((await session(bobOnA, bobs)).session).toMatchObject({ sessionId: bobs, owner: 'token:bob' });
  expect(await recent(bobOnA)).toEqual([bobs]);
  expect(await recent(aliceOnA)).toEqual(alices.slice(-3).reverse());
});

it.each(IN_MEMORY_BACKENDS)(
  'a token finds its own recent sessions however many others ended since (%s): the `sessions` tool and resources',
  async (_, runtimeOptions) => {
    // A history larger than the tool's look (1,000) and than the resources' lists (20 and 50): the
    // look used to read every caller's newest and filter, so Bob's list came back empty.
    const h = await startHarness({
      http: {
        tokens: [
          { name: 'alice', token: 'alice-token-1' },
          { name: 'bob', token: 'bob-token-22' },
        ],
      },
      runtime: runtimeOptions(),
      limits: { historySize: 3000 },
      context: { sessionFilter: 'owner' },
    });
    harnesses.push(h);
    const alice = await clientWith(h, 'alice-token-1');
    const bob = await clientWith(h, 'bob-token-22');
    const bobs = await chat(bob, 'remember me');
    // Alice's burst, straight into the runtime (as fast as it can end them), then one through MCP.
    const burst = Array.from({ length: 1100 }, (_, i) =>
      h.mcp.runtime.submit(
        {
          provider: 'fast',
          messages: [{ role: 'user', content: `burst ${i}` }],
          extra: { simulateLatencyMs: 0 },
        },
        { metadata: { owner: 'token:alice' } },
      ),
    );
    await Promise.all(burst.map((x) => x.result));
    const alices = await chat(alice, 'one more');
    expect(h.mcp.runtime.status({ recent: 2000 }).recent.length).toBe(1102);

    expect(await recent(bob)).toEqual([bobs]);
    expect((await recent(alice)).slice(0, 2)).toEqual([alices, burst[1099]?.id]);
    const read = (await bob.readResource({ uri: 'troupe://sessions' })).contents[0];
    const view = JSON.parse(read !== undefined && 'text' in read ? read.text : '{}') as {
      recent: { sessionId: string }[];
    };
    expect(view.recent.map((s) => s.sessionId)).toEqual([bobs]);
    const listed = (await bob.listResources()).resources.map((r) => r.uri);
    expect(listed).toContain(`troupe://sessions/${bobs}`);
    expect(listed.filter((uri) => uri.startsWith('troupe://sessions/'))).toHaveLength(1);
  },
  // Work, not a bound of troupe's: 1,100 sessions and the MCP calls took up to 6.6 s niced at a load of 14.
  120_000,
);

it('lists a token’s live sessions as resources however many of another token’s are live before them', async () => {
  const h = await startHarness({
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'bob', token: 'bob-token-22' },
      ],
    },
    context: { sessionFilter: 'owner' },
  });
  harnesses.push(h);
  const bob = await clientWith(h, 'bob-token-22');
  // Sixty of Alice's first (the list used to take the runtime's first 50 live, then filter).
  const alices = Array.from({ length: 60 }, (_, i) =>
    h.mcp.runtime.submit(
      { provider: 'slow', messages: [{ role: 'user', content: `slow ${i}` }] },
      { metadata: { owner: 'token:alice' } },
    ),
  );
  const call = bob.callTool({ name: 'chat', arguments: { provider: 'slow', prompt: 'mine' } });
  let bobs = '';
  await expect
    .poll(
      () => {
        bobs = h.mcp.runtime.sessions({ limit: 100 }).find((s) => s.owner === 'token:bob')?.sessionId ?? '';
        return bobs;
      },
      { timeout: 10_000 },
    )
    .not.toBe('');
  const listed = (await bob.listResources()).resources.map((r) => r.uri);
  expect(listed.filter((uri) => uri.startsWith('troupe://sessions/'))).toEqual([`troupe://sessions/${bobs}`]);
  for (const handle of alices) handle.cancel();
  await call;
});
