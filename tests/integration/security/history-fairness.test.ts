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
  await expect.poll(() => a.mcp.runtime.session(bobs)?.state).toBe('done');
  const alices: string[] = [];
  for (let i = 0; i < 10; i++) alices.push(await chat(aliceOnA, `burst ${i}`));

  expect((await session(bobOnA, bobs)).session).toMatchObject({ sessionId: bobs, owner: 'token:bob' });
  expect(await recent(bobOnA)).toEqual([bobs]);
  expect(await recent(aliceOnA)).toEqual(alices.slice(-3).reverse());
});
