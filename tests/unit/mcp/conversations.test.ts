/**
 * The in-memory conversation store against the shared contract, plus its own byte accounting.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryConversationStore } from '../../../src/mcp/conversations.js';
import { conversationStoreContract, turn } from './conversation-store-contract.js';

const stores: MemoryConversationStore[] = [];
afterAll(() => {
  for (const store of stores) store.close();
});

conversationStoreContract('MemoryConversationStore', async (options) => {
  const store = new MemoryConversationStore(options);
  stores.push(store);
  return store;
});

describe('MemoryConversationStore', () => {
  it('keeps its byte total exact through replacement and eviction', async () => {
    const store = new MemoryConversationStore({ maxTotalBytes: 3000, maxBytes: 2000 });
    stores.push(store);
    const id = await store.save(turn(1, 1000));
    await store.save(turn(1, 100), id);
    expect(store.totalBytes).toBeLessThan(300);
    for (let i = 0; i < 10; i++) await store.save(turn(i, 900));
    expect(store.totalBytes).toBeLessThanOrEqual(3000);
    expect(store.size).toBe(3);
  });

  it('refuses nonsense caps', () => {
    expect(() => new MemoryConversationStore({ maxBytes: 0 })).toThrow(/maxBytes/);
  });
});
