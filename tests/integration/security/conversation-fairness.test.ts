/**
 * One client cannot evict another's server-held conversations (`continuation_id`): each named token
 * is one owner with its own bounds, and every client without a named token (here the shared
 * `TROUPE_TOKEN`, two MCP sessions) is one shared owner. Before, the stores evicted the least
 * recently saved of anyone, so a burst of one-shot `chat` calls made another token's next
 * `continuation_id` "unknown". SDK client over Streamable HTTP, the in-memory store.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { SHARED_OWNER } from '../../../src/ports/conversation-store.js';
import { clientWith, type Harness, startHarness, structured } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const chat = (client: Client, args: Record<string, unknown>) =>
  client.callTool({ name: 'chat', arguments: { provider: 'fast', ...args } }).then(structured);

it("a named token's burst of one-shot chats evicts its own conversations, not another token's or the shared pool's", async () => {
  const h = await startHarness({
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'bob', token: 'bob-token-22' },
        { name: 'default', token: 'shared-token-333', shared: true },
      ],
    },
    context: { conversations: { maxConversations: 5, maxConversationsPerOwner: 2 } },
  });
  harnesses.push(h);
  const alice = await clientWith(h, 'alice-token-1');
  const bob = await clientWith(h, 'bob-token-22');
  const sharedOne = await clientWith(h, 'shared-token-333');
  const sharedTwo = await clientWith(h, 'shared-token-333');

  const bobs = await chat(bob, { prompt: 'remember the word heron' });
  const shared = await chat(sharedOne, { prompt: 'remember the word egret' });
  const alices: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await chat(alice, { prompt: `one-shot ${i}` });
    expect(r.ok).toBe(true);
    alices.push(String(r.continuation_id));
  }
  // Bob's and the shared pool's conversations survived Alice's burst.
  const usage = await h.mcp.conversations.usage();
  expect(usage.owners.get('token:alice')?.conversations).toBe(2);
  expect(usage.owners.get('token:bob')?.conversations).toBe(1);
  expect(usage.owners.get(SHARED_OWNER)?.conversations).toBe(1);
  const bobAgain = await chat(bob, { prompt: 'which word?', continuation_id: bobs.continuation_id });
  expect(bobAgain.ok).toBe(true);
  expect(bobAgain.continuation_id).toBe(bobs.continuation_id);
  // Another MCP session of the shared token continues the shared pool's conversation.
  const sharedAgain = await chat(sharedTwo, {
    prompt: 'which word?',
    continuation_id: shared.continuation_id,
  });
  expect(sharedAgain.ok).toBe(true);
  // Alice paid with her own oldest: her first is gone, her newest is there.
  const lost = await chat(alice, { prompt: 'and the first?', continuation_id: alices[0] });
  expect(lost.ok).toBe(false);
  expect(lost.error.message).toContain(`got "${alices[0]}": unknown or expired`);
  const kept = await chat(alice, { prompt: 'and the last?', continuation_id: alices.at(-1) });
  expect(kept.ok).toBe(true);
});

it('clients without a named token share one pool: two MCP sessions are one owner, held to the totals', async () => {
  const h = await startHarness({
    context: { conversations: { maxConversations: 2, maxConversationsPerOwner: 1 } },
  });
  harnesses.push(h);
  const one = await h.client('legacy');
  const two = await h.client('legacy');
  const first = await chat(one, { prompt: 'one' });
  await chat(two, { prompt: 'two' });
  // Two conversations past the per-owner bound of 1: the shared pool is held to the totals only.
  expect((await h.mcp.conversations.usage()).conversations).toBe(2);
  await chat(two, { prompt: 'three' });
  const gone = await chat(one, { prompt: 'again', continuation_id: first.continuation_id });
  expect(gone.ok).toBe(false);
  expect(gone.error.message).toContain('unknown or expired');
  const usage = await h.mcp.conversations.usage();
  expect([...usage.owners.keys()]).toEqual([SHARED_OWNER]);
});
