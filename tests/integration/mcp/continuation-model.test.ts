/**
 * A conversation continued without naming a model stays on the model that answered its last turn.
 * Before 2026-12-05 the store kept the messages only: a `chat` continuing a conversation begun on
 * `sim-pro` and naming no model went to the default (`sim-fast`), and the host had to name the model
 * again on every turn to stay on it. SDK client over Streamable HTTP; in-memory conversation store.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryConversationStore } from '../../../src/mcp/conversations.js';
import { type ConversationStore, SHARED_OWNER } from '../../../src/ports/conversation-store.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { tempDir } from '../../support/temp-dir.js';
import { type Harness, startHarness, structured } from './harness.js';

let h: Harness;
let root: string;
beforeAll(async () => {
  root = tempDir('troupe-continued-');
  await writeFile(join(root, 'notes.txt'), 'some notes');
  h = await startHarness({ context: { roots: [root] } });
});
afterAll(async () => {
  await h.close();
});

type Answer = { ok: boolean; continuation_id: string; session: { provider: string; model: string } };

async function call(name: string, args: Record<string, unknown>): Promise<Answer> {
  const client = await h.client('legacy');
  const answer = structured(await client.callTool({ name, arguments: args })) as Answer;
  expect(answer.ok).toBe(true);
  return answer;
}
const chat = (args: Record<string, unknown>) => call('chat', args);
/** A conversation of one exchange kept as on `model`, as another instance or an older build kept it. */
const keptOn = (model: { provider: string; model: string }) =>
  h.mcp.conversations.save(
    [
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hi' },
    ],
    undefined,
    SHARED_OWNER,
    model,
  );
const on = (a: Answer) => `${a.session.provider}/${a.session.model}`;

it('continues on the model of the last turn when the call names neither provider nor model', async () => {
  const first = await chat({ prompt: 'turn 1', provider: 'fast', model: 'sim-pro' });
  expect(on(first)).toBe('fast/sim-pro');
  const second = await chat({ prompt: 'turn 2', continuation_id: first.continuation_id });
  expect(on(second)).toBe('fast/sim-pro');
  // A call of its own still goes to the default.
  expect(on(await chat({ prompt: 'alone' }))).toBe('fast/sim-fast');
});

it('goes where a continuing call names, and stays there after', async () => {
  const first = await chat({ prompt: 'turn 1', model: 'sim-pro' });
  const moved = await chat({
    prompt: 'turn 2',
    continuation_id: first.continuation_id,
    model: 'sim-thinker',
  });
  expect(on(moved)).toBe('fast/sim-thinker');
  const after = await chat({ prompt: 'turn 3', continuation_id: first.continuation_id });
  expect(on(after)).toBe('fast/sim-thinker');
  // Naming the provider alone gets that provider's default model, not the held one on another provider.
  const other = await chat({
    prompt: 'turn 4',
    continuation_id: first.continuation_id,
    provider: 'slow',
    extra: { simulateLatencyMs: 0 },
  });
  expect(on(other)).toBe('slow/sim-fast');
});

it('goes to the default when the held provider is not on this server (a conversation kept elsewhere)', async () => {
  const id = await keptOn({ provider: 'gone', model: 'old-model' });
  const next = await chat({ prompt: 'and now?', continuation_id: id });
  expect(on(next)).toBe('fast/sim-fast');
  // What answered now is what the conversation keeps.
  expect((await h.mcp.conversations.load?.(id))?.model).toEqual({ provider: 'fast', model: 'sim-fast' });
});

it('keeps the model for multi_file_chat too', async () => {
  const first = await call('multi_file_chat', {
    files: ['notes.txt'],
    prompt: 'summarise',
    model: 'sim-pro',
  });
  const next = await call('multi_file_chat', {
    files: ['notes.txt'],
    prompt: 'again',
    continuation_id: first.continuation_id,
  });
  expect(on(next)).toBe('fast/sim-pro');
  expect(on(await chat({ prompt: 'and in chat', continuation_id: next.continuation_id }))).toBe(
    'fast/sim-pro',
  );
});

it('continues a conversation of a store without `load` (written before it) on the default model', async () => {
  const inner = new MemoryConversationStore();
  const store: ConversationStore = {
    get: (id) => inner.get(id),
    check: (prior, turn) => inner.check(prior, turn),
    save: (messages, id, owner) => inner.save(messages, id, owner),
    usage: () => inner.usage(),
    close: () => inner.close(),
  };
  const own = await startHarness({ context: { conversationStore: store } });
  try {
    const client = await own.client('legacy');
    const chatOn = async (args: Record<string, unknown>) =>
      structured(await client.callTool({ name: 'chat', arguments: args })) as Answer;
    const first = await chatOn({ prompt: 'turn 1', model: 'sim-pro' });
    const next = await chatOn({ prompt: 'turn 2', continuation_id: first.continuation_id });
    expect(next.ok).toBe(true);
    expect(on(next)).toBe('fast/sim-fast');
    const said = (await inner.get(first.continuation_id))
      ?.filter((m) => m.role === 'user')
      .map((m) => m.content);
    expect(said).toEqual(['turn 1', 'turn 2']);
  } finally {
    await own.close();
  }
});

it('goes to the default when this server no longer lists the held model (its provider still here)', async () => {
  // `fast` lists the simulated models only: a catalogue changed since the conversation was kept.
  const refusals = () => h.mcp.runtime.metrics().rejected.MODEL_NOT_FOUND ?? 0;
  const before = refusals();
  const id = await keptOn({ provider: 'fast', model: 'sim-retired' });
  expect(on(await chat({ prompt: 'and now?', continuation_id: id }))).toBe('fast/sim-fast');
  const files = await keptOn({ provider: 'fast', model: 'sim-retired' });
  const next = await call('multi_file_chat', {
    files: ['notes.txt'],
    prompt: 'again',
    continuation_id: files,
  });
  expect(on(next)).toBe('fast/sim-fast');
  // Two calls answered: no refusal counted (until 2026-12-05 the held model was submitted first,
  // refused, and each answered call added one MODEL_NOT_FOUND to metrics().rejected).
  expect(refusals()).toBe(before);
  // Naming the model is still refused when this server lacks it.
  const client = await h.client('legacy');
  const named = structured(
    await client.callTool({
      name: 'chat',
      arguments: { prompt: 'x', continuation_id: id, model: 'sim-retired', provider: 'fast' },
    }),
  ) as { ok: boolean; error?: { code: string } };
  expect(named.error?.code).toBe('MODEL_NOT_FOUND');
  expect(refusals()).toBe(before + 1);
});

it('still goes to the default, the refusal counted, with a catalog that cannot tell a model it lacks', async () => {
  const lacks = h.mcp.catalog.lacks;
  Object.assign(h.mcp.catalog, { lacks: undefined });
  try {
    const before = h.mcp.runtime.metrics().rejected.MODEL_NOT_FOUND ?? 0;
    const id = await keptOn({ provider: 'fast', model: 'sim-retired' });
    expect(on(await chat({ prompt: 'and now?', continuation_id: id }))).toBe('fast/sim-fast');
    expect(h.mcp.runtime.metrics().rejected.MODEL_NOT_FOUND).toBe(before + 1);
  } finally {
    Object.assign(h.mcp.catalog, { lacks });
  }
});

it('stays on the model a turn asked for when a fallback answered it (one outage does not move it for good)', async () => {
  const down = createSimulatedProvider({ name: 'down', failureRate: 1, failureModes: ['unavailable'] });
  const fast = createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } });
  const own = await startHarness({ providers: [fast, down], context: { roots: [root] } });
  try {
    const client = await own.client('legacy');
    const chatOn = async (args: Record<string, unknown>) =>
      structured(await client.callTool({ name: 'chat', arguments: args })) as Answer & {
        session: { route?: { provider: string; model: string; outcome: string }[] };
      };
    const first = await chatOn({
      prompt: 'turn 1',
      provider: 'down',
      model: 'x-model',
      fallbacks: [{ provider: 'fast', model: 'sim-pro' }],
    });
    expect(first.ok, JSON.stringify(first)).toBe(true);
    expect(on(first)).toBe('fast/sim-pro');
    expect(first.session.route?.map((hop) => hop.outcome)).toEqual(['PROVIDER_UNAVAILABLE', 'done']);
    expect((await own.mcp.conversations.load?.(first.continuation_id))?.model).toEqual({
      provider: 'down',
      model: 'x-model',
    });
    // Asked again with its fallbacks, the next turn tries the model asked for first.
    const next = await chatOn({
      prompt: 'turn 2',
      continuation_id: first.continuation_id,
      fallbacks: [{ provider: 'fast', model: 'sim-pro' }],
    });
    expect(next.session.route?.map((hop) => `${hop.provider}/${hop.model}`)).toEqual([
      'down/x-model',
      'fast/sim-pro',
    ]);
    // multi_file_chat keeps the same: the model asked for, not the fallback that answered.
    const files = structured(
      await client.callTool({
        name: 'multi_file_chat',
        arguments: {
          files: ['notes.txt'],
          prompt: 'summarise',
          provider: 'down',
          model: 'x-model',
          fallbacks: [{ provider: 'fast', model: 'sim-pro' }],
        },
      }),
    ) as Answer;
    expect(on(files)).toBe('fast/sim-pro');
    expect((await own.mcp.conversations.load?.(files.continuation_id))?.model).toEqual({
      provider: 'down',
      model: 'x-model',
    });
  } finally {
    await own.close();
  }
});

it('does not stay on a model the conversation did not fit (a fallback with a larger window answered)', async () => {
  // About 37,500 tokens: over sim-fast's window of 32,768, within sim-pro's.
  const first = await chat({
    prompt: 'word '.repeat(30_000),
    model: 'sim-fast',
    fallbacks: [{ model: 'sim-pro' }],
  });
  expect(on(first)).toBe('fast/sim-pro');
  const next = await chat({ prompt: 'and?', continuation_id: first.continuation_id });
  expect(on(next)).toBe('fast/sim-pro');
});
