/**
 * Server-held conversations: bounded in messages and bytes, expiring, least recently used dropped.
 */
import { describe, expect, it } from 'vitest';
import { ConversationStore } from '../../../src/mcp/conversations.js';
import type { ChatMessage } from '../../../src/providers/port.js';

const turn = (i: number): ChatMessage[] => [
  { role: 'user', content: `question ${i}` },
  { role: 'assistant', content: `answer ${i}` },
];

describe('ConversationStore', () => {
  it('keeps the system message and the newest turns within maxMessages', () => {
    const store = new ConversationStore({ maxMessages: 5 });
    const id = store.save([{ role: 'system', content: 'be brief' }, ...turn(1), ...turn(2), ...turn(3)]);
    const kept = store.get(id)!;
    expect(kept.map((m) => m.content)).toEqual([
      'be brief',
      'question 2',
      'answer 2',
      'question 3',
      'answer 3',
    ]);
    store.close();
  });

  it('cuts the oldest turns to fit maxBytes and never starts with an assistant reply', () => {
    const store = new ConversationStore({ maxBytes: 200 });
    const id = store.save([...turn(1), ...turn(2), ...turn(3), ...turn(4)]);
    const kept = store.get(id)!;
    expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(200);
    expect(kept[0]?.role).toBe('user');
    expect(kept.at(-1)?.content).toBe('answer 4');
    store.close();
  });

  it('expires after the TTL and drops the least recently used past maxConversations', () => {
    let now = 1000;
    const store = new ConversationStore({ ttlMs: 50, maxConversations: 2, now: () => now });
    const a = store.save(turn(1));
    const b = store.save(turn(2));
    store.save(turn(3));
    expect(store.get(a)).toBeUndefined();
    expect(store.get(b)).toBeDefined();
    now += 51;
    expect(store.get(b)).toBeUndefined();
    store.close();
  });
});
