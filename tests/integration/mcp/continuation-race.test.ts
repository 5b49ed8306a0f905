/**
 * Two calls that continue one conversation at once (a host's parallel tool calls): both answers are
 * kept. The one that saves second goes on in a conversation of its own, forked from the first turn,
 * and says so (`forked_from`, and in its text). Before 2026-12-04 the second save replaced the
 * first's turn: both answered with the same `continuation_id`, and one turn, paid for and answered,
 * was gone ("found by an audit"). SDK client over Streamable HTTP; in-memory conversation store.
 */
import { afterEach, expect, it } from 'vitest';
import { type Harness, startHarness, structured } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const said = (messages: readonly { role: string; content: unknown }[] | undefined) =>
  (messages ?? []).filter((m) => m.role === 'user').map((m) => m.content);

it('keeps both turns of two calls continuing one conversation at once: the later one forks', async () => {
  h = await startHarness();
  const client = await h.client('legacy');
  const chat = (args: Record<string, unknown>) => client.callTool({ name: 'chat', arguments: args });
  const first = structured(await chat({ prompt: 'turn 1', provider: 'fast' }));
  const id = String(first.continuation_id);
  const [slow, quick] = await Promise.all([
    chat({ prompt: 'turn 2a', continuation_id: id, extra: { simulateLatencyMs: 300 } }),
    chat({ prompt: 'turn 2b', continuation_id: id, extra: { simulateLatencyMs: 50 } }),
  ]);
  expect([structured(slow).ok, structured(quick).ok]).toEqual([true, true]);
  // The one that saved first (the quicker, unless a loaded machine held it back) continued the
  // conversation; the other found it moved on and forked.
  const quickFirst = structured(quick).continuation_id === id;
  const [kept, forked] = quickFirst ? [quick, slow] : [slow, quick];
  const [keptTurn, forkedTurn] = quickFirst ? ['turn 2b', 'turn 2a'] : ['turn 2a', 'turn 2b'];
  const [b, a] = [structured(kept), structured(forked)];
  expect(b.continuation_id).toBe(id);
  expect('forked_from' in b).toBe(false);
  expect(a.forked_from).toBe(id);
  expect(a.continuation_id).not.toBe(id);
  const text = (forked.content as { type: string; text: string }[]).map((c) => c.text).join('');
  expect(text).toContain(
    `[continuation_id ${a.continuation_id}: a new conversation, since another call continued ${id} meanwhile]`,
  );
  expect(said(await h.mcp.conversations.get(id))).toEqual(['turn 1', keptTurn]);
  expect(said(await h.mcp.conversations.get(String(a.continuation_id)))).toEqual(['turn 1', forkedTurn]);
  // Each goes on from its own.
  const next = structured(await chat({ prompt: 'turn 3', continuation_id: a.continuation_id }));
  expect(next.continuation_id).toBe(a.continuation_id);
  expect('forked_from' in next).toBe(false);
});
