/**
 * The in-memory conversation store against the shared contract, plus its own byte accounting.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { requestBytes } from '../../../src/core/request-bytes.js';
import { MemoryConversationStore } from '../../../src/mcp/conversations.js';
import { conversationBytes } from '../../../src/ports/conversation-limits.js';
import { resolveConversationOptions } from '../../../src/ports/conversation-store.js';
import type { ChatMessage } from '../../../src/providers/port.js';
import { conversationFairnessContract } from './conversation-fairness-contract.js';
import { conversationStoreContract, type StoreFactory, turn } from './conversation-store-contract.js';

const stores: MemoryConversationStore[] = [];
afterAll(() => {
  for (const store of stores) store.close();
});

const makeStore: StoreFactory = async (options) => {
  const store = new MemoryConversationStore(options);
  stores.push(store);
  return store;
};
conversationStoreContract('MemoryConversationStore', makeStore);
conversationFairnessContract('MemoryConversationStore', makeStore);

describe('MemoryConversationStore', () => {
  it('names each new conversation by a fresh version 4 UUID', async () => {
    const store = new MemoryConversationStore();
    stores.push(store);
    const ids = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const id = await store.save(turn(i, 10));
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(300);
  });

  it('keeps its byte total exact through replacement and eviction', async () => {
    const store = new MemoryConversationStore({
      maxTotalBytes: 3000,
      maxBytesPerOwner: 3000,
      maxBytes: 2000,
    });
    stores.push(store);
    const id = await store.save(turn(1, 1000));
    await store.save(turn(1, 100), id);
    expect(store.totalBytes).toBeLessThan(300);
    for (let i = 0; i < 10; i++) await store.save(turn(i, 900));
    expect(store.totalBytes).toBeLessThanOrEqual(3000);
    expect(store.size).toBe(3);
  });

  it('counts each message once: a continued conversation counts only its new messages', async () => {
    const store = new MemoryConversationStore();
    stores.push(store);
    let reads = 0;
    // An accessor read whenever the message is measured (or serialised).
    const counted = (content: string): ChatMessage =>
      Object.defineProperty({ role: 'user' as const }, 'content', {
        enumerable: true,
        get: () => {
          reads += 1;
          return content;
        },
      }) as unknown as ChatMessage;
    const first = [counted('hello'), counted('hi, how can I help?')];
    const id = await store.save(first);
    expect(reads).toBe(2);
    const prior = (await store.get(id)) ?? [];
    const next = [
      ...prior,
      { role: 'user' as const, content: 'more' },
      { role: 'assistant' as const, content: 'ok' },
    ];
    reads = 0;
    await store.save(next, id);
    expect(reads, 'the held messages were not measured again').toBe(0);
    expect(store.totalBytes).toBe(conversationBytes(next));
    // Messages the store does not hold are measured, even under the same id.
    const other = [counted('x'), ...next.slice(1)];
    reads = 0;
    await store.save(other, id);
    expect(reads, 'only the new first message is not held at its place').toBeGreaterThanOrEqual(1);
    expect(store.totalBytes).toBe(conversationBytes(other));
  });

  it('freezes the messages it keeps and their tool calls, so the runtime measures each once for its queue bound', async () => {
    const store = new MemoryConversationStore();
    stores.push(store);
    const call = { id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } };
    const id = await store.save([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [call] },
    ]);
    const kept = (await store.get(id)) ?? [];
    expect(kept).toHaveLength(2);
    for (const message of kept) expect(Object.isFrozen(message)).toBe(true);
    expect([kept[1]?.tool_calls, call, call.function].map((o) => Object.isFrozen(o))).toEqual([
      true,
      true,
      true,
    ]);
    // The next turn keeps them as they are (a frozen message is not walked again).
    await store.save([...kept, { role: 'user', content: 'more' }], id);
    expect((await store.get(id))?.[0]).toBe(kept[0]);
    const request = { model: 'm', messages: kept };
    expect(requestBytes(request)).toBe(Buffer.byteLength(JSON.stringify(request)));
  });

  it('refuses nonsense caps', () => {
    expect(() => new MemoryConversationStore({ maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => new MemoryConversationStore({ maxConversationsPerOwner: 0 })).toThrow(
      'Expected `maxConversationsPerOwner` to be a positive integer, got 0',
    );
    expect(() => new MemoryConversationStore({ maxBytesPerOwner: 1.5 })).toThrow(
      'Expected `maxBytesPerOwner` to be a positive integer, got 1.5',
    );
    expect(() => new MemoryConversationStore({ maxConversations: 10, maxConversationsPerOwner: 11 })).toThrow(
      'Expected `maxConversationsPerOwner` to be at most `maxConversations` (10), got 11',
    );
    expect(() => new MemoryConversationStore({ maxBytesPerOwner: 64 * 1024 * 1024 + 1 })).toThrow(
      'Expected `maxBytesPerOwner` to be at most `maxTotalBytes` (67108864), got 67108865',
    );
  });

  it('bounds each owner by a quarter of the totals unless told otherwise', () => {
    const defaults = resolveConversationOptions();
    expect(defaults.maxConversationsPerOwner).toBe(250);
    expect(defaults.maxBytesPerOwner).toBe(16 * 1024 * 1024);
    const raised = resolveConversationOptions({ maxConversations: 4000, maxTotalBytes: 1000 });
    expect(raised.maxConversationsPerOwner).toBe(1000);
    expect(raised.maxBytesPerOwner).toBe(250);
    // Never below one, and equal to the total when asked (owners bounded by the total alone).
    expect(resolveConversationOptions({ maxConversations: 3 }).maxConversationsPerOwner).toBe(1);
    expect(
      resolveConversationOptions({ maxConversations: 3, maxConversationsPerOwner: 3 })
        .maxConversationsPerOwner,
    ).toBe(3);
  });
});
