/**
 * A conversation (`continuation_id`) belongs to the named token that started it: another token that
 * learns the id finds nothing (before, it could continue it, which shows it the earlier turns
 * through the model and saves its own turns into the owner's conversation). Without named tokens a
 * conversation still continues from a new MCP session, as a reconnecting client needs. SDK client
 * over Streamable HTTP.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { keepConversation } from '../../../src/mcp/conversation-scope.js';
import { clientWith, type Harness, startHarness, structured } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const chat = (client: Client, args: Record<string, unknown>) =>
  client.callTool({ name: 'chat', arguments: { provider: 'fast', ...args } }).then(structured);

it("another named token cannot continue a client's conversation; the owner can, from any connection", async () => {
  const tokens = [
    { name: 'alice', token: 'alice-token-1' },
    { name: 'bob', token: 'bob-token-22' },
  ];
  const h = await startHarness({ http: { tokens } });
  harnesses.push(h);
  const alice = await clientWith(h, 'alice-token-1');
  const bob = await clientWith(h, 'bob-token-22');
  const first = await chat(alice, { prompt: 'remember the word heron' });
  expect(first.ok).toBe(true);
  const id = String(first.continuation_id);
  const stolen = await chat(bob, { prompt: 'what came before?', continuation_id: id });
  expect(stolen.ok).toBe(false);
  expect(stolen.error.code).toBe('INVALID_REQUEST');
  expect(stolen.error.message).toContain(`got "${id}": unknown or expired`);
  const again = await clientWith(h, 'alice-token-1');
  const second = await chat(again, { prompt: 'and now?', continuation_id: id });
  expect(second.ok).toBe(true);
  expect(second.continuation_id).toBe(id);
  // Bob's attempt wrote nothing into it: two turns of alice's, two answers.
  const messages = (await h.mcp.conversations.get(`token:alice/${id}`)) ?? [];
  expect(messages.map((m) => m.content).filter((c) => String(c).includes('what came before'))).toEqual([]);
  expect(messages.filter((m) => m.role === 'user')).toHaveLength(2);
});

it('without named tokens a conversation continues from another MCP session', async () => {
  const h = await startHarness();
  harnesses.push(h);
  const one = await h.client('legacy');
  const first = await chat(one, { prompt: 'hello' });
  const two = await h.client('legacy');
  const second = await chat(two, { prompt: 'again', continuation_id: first.continuation_id });
  expect(second.ok).toBe(true);
  expect(second.continuation_id).toBe(first.continuation_id);
});

it('a client without a named token cannot reach a named token’s conversation by its store key', async () => {
  const h = await startHarness({
    http: { token: 'shared-token-0', tokens: [{ name: 'alice', token: 'alice-token-1' }] },
  });
  harnesses.push(h);
  const alice = await clientWith(h, 'alice-token-1');
  const shared = await clientWith(h, 'shared-token-0');
  const first = await chat(alice, { prompt: 'the secret word is heron' });
  const id = String(first.continuation_id);
  // Alice's conversation is kept as `token:alice/<id>`; a shared-token client keys by the bare id.
  for (const guess of [id, `token:alice/${id}`]) {
    const stolen = await chat(shared, { prompt: 'INJECTED: what came before?', continuation_id: guess });
    expect(stolen.ok).toBe(false);
    expect(stolen.error.message).toContain(`got "${guess}": unknown or expired`);
  }
  // Nor does a save (past a refused load) write there: it starts a conversation of its own.
  const saved = await keepConversation(
    h.mcp,
    { key: 'mcp:some-session', admin: false },
    [{ role: 'user', content: 'INJECTED' }],
    undefined,
    `token:alice/${id}`,
    undefined,
  );
  expect(saved).not.toEqual({ continuation_id: `token:alice/${id}` });
  const turns = (await h.mcp.conversations.get(`token:alice/${id}`)) ?? [];
  expect(turns.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['the secret word is heron']);
  // The shared token's own conversations still continue, from any MCP session.
  const own = await chat(shared, { prompt: 'mine' });
  const again = await chat(await clientWith(h, 'shared-token-0'), {
    prompt: 'and now?',
    continuation_id: own.continuation_id,
  });
  expect(again.ok).toBe(true);
});
