/**
 * What every conversation store must do (memory and Redis run the same cases): bounded per
 * conversation in messages and bytes with system messages counted, bounded in total, expiring.
 */
import { describe, expect, it } from 'vitest';
import { conversationBytes } from '../../../src/ports/conversation-limits.js';
import {
  type ConversationModel,
  type ConversationStore,
  type ConversationStoreOptions,
  SHARED_OWNER,
} from '../../../src/ports/conversation-store.js';
import type { ChatMessage } from '../../../src/providers/port.js';

export const turn = (i: number, size = 0): ChatMessage[] => [
  { role: 'user', content: `question ${i}${'q'.repeat(size)}` },
  { role: 'assistant', content: `answer ${i}` },
];

export type StoreFactory = (options: ConversationStoreOptions) => Promise<ConversationStore>;

export function conversationStoreContract(name: string, make: StoreFactory): void {
  describe(`${name}: the conversation store contract`, () => {
    it('keeps the system message and the newest turns within maxMessages (the system message counts)', async () => {
      const store = await make({ maxMessages: 5 });
      const id = await store.save([
        { role: 'system', content: 'be brief' },
        ...turn(1),
        ...turn(2),
        ...turn(3),
      ]);
      const kept = (await store.get(id))!;
      expect(kept.map((m) => m.content)).toEqual([
        'be brief',
        'question 2',
        'answer 2',
        'question 3',
        'answer 3',
      ]);
    });

    it('cuts the oldest turns to fit maxBytes and never starts with an assistant reply', async () => {
      const store = await make({ maxBytes: 200 });
      const id = await store.save([...turn(1), ...turn(2), ...turn(3), ...turn(4)]);
      const kept = (await store.get(id))!;
      expect(conversationBytes(kept)).toBeLessThanOrEqual(200);
      expect(kept[0]?.role).toBe('user');
      expect(kept.at(-1)?.content).toBe('answer 4');
    });

    // Regression (issue 16, item 1): system messages were kept whatever their size.
    it('counts system messages against maxBytes: a big system message pushes turns out, never past the cap', async () => {
      const store = await make({ maxBytes: 4000 });
      const system: ChatMessage = { role: 'system', content: 's'.repeat(3000) };
      let id: string | undefined;
      for (let i = 0; i < 10; i++) {
        const prior = id === undefined ? [] : ((await store.get(id)) ?? []);
        const next = [...(prior.length === 0 ? [system] : []), ...turn(i, 200)];
        expect(store.check(prior, next)).toBeUndefined();
        id = await store.save([...prior, ...next], id);
        expect(conversationBytes((await store.get(id))!)).toBeLessThanOrEqual(4000);
      }
      const kept = (await store.get(id!))!;
      expect(kept[0]).toEqual(system);
      expect(kept.at(-1)?.content).toBe('answer 9');
      // Later system messages (sent in `messages` on every call) do not pile up either.
      for (let i = 0; i < 5; i++) {
        const prior = (await store.get(id!))!;
        id = await store.save([...prior, { role: 'system', content: 'x'.repeat(500) }, ...turn(i)], id);
      }
      expect(conversationBytes((await store.get(id!))!)).toBeLessThanOrEqual(4000);
    });

    // `check` refuses such a turn through the chat tool; a library caller's save goes straight to the trim.
    it('keeps nothing of a conversation whose pinned system message alone is over maxBytes, never past the cap', async () => {
      const store = await make({ maxBytes: 100 });
      const id = await store.save([{ role: 'system', content: 'x'.repeat(500) }, ...turn(1)]);
      expect((await store.get(id)) ?? []).toEqual([]);
    });

    it('refuses a turn over the byte cap with INVALID_REQUEST naming the cap', async () => {
      const store = await make({ maxBytes: 1000 });
      const error = store.check([], [{ role: 'system', content: 'x'.repeat(1200) }, ...turn(1)]);
      expect(error?.code).toBe('INVALID_REQUEST');
      expect(error?.message).toContain('1000 bytes');
      // The pinned system message of the conversation so far counts against the new turn.
      const prior: ChatMessage[] = [{ role: 'system', content: 'y'.repeat(800) }, ...turn(0)];
      expect(store.check(prior, turn(1, 200))?.message).toContain('1000 bytes');
      expect(store.check(prior, turn(1))).toBeUndefined();
    });

    it('bounds the total across conversations, dropping the least recently saved', async () => {
      // One owner, its own bound the total's: the total bound alone is at work.
      const store = await make({ maxBytes: 2000, maxTotalBytes: 5000, maxBytesPerOwner: 5000 });
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await store.save(turn(i, 1500)));
      const held = [];
      for (const id of ids) held.push(await store.get(id));
      const total = held.reduce((sum, m) => sum + (m === undefined ? 0 : conversationBytes(m)), 0);
      expect(total).toBeLessThanOrEqual(5000);
      expect(held[0]).toBeUndefined();
      expect(held.at(-1)).toBeDefined();
    });

    it('expires after the TTL and drops the least recently saved past maxConversations', async () => {
      let now = 1000;
      const store = await make({
        ttlMs: 50,
        maxConversations: 2,
        maxConversationsPerOwner: 2,
        now: () => now,
      });
      const a = await store.save(turn(1));
      const b = await store.save(turn(2));
      await store.save(turn(3));
      expect(await store.get(a)).toBeUndefined();
      expect(await store.get(b)).toBeDefined();
      now += 51;
      expect(await store.get(b)).toBeUndefined();
      expect(await store.load?.(b)).toBeUndefined();
    });

    it('holds a conversation until `ttlMs` after its last save, and not at that instant (a Redis key’s PX)', async () => {
      let now = 1000;
      const store = await make({ ttlMs: 60_000, now: () => now });
      const id = await store.save(turn(1));
      now = 60_999;
      expect(await store.get(id)).toBeDefined();
      await store.save([...turn(1), ...turn(2)], id);
      now = 120_998;
      expect(await store.get(id)).toHaveLength(4);
      now = 120_999;
      expect(await store.get(id)).toBeUndefined();
      expect(await store.load?.(id)).toBeUndefined();
    });

    it('keeps the model a save gave, for load, until a save gives another or none', async () => {
      const store = await make({});
      const kimi = { provider: 'kimi', model: 'kimi-k2.6' };
      const id = await store.save(turn(1), undefined, SHARED_OWNER, kimi);
      expect(await store.load?.(id)).toEqual({ messages: turn(1), model: kimi });
      const glm = { provider: 'glm', model: 'glm-4.6' };
      await store.save([...turn(1), ...turn(2)], id, SHARED_OWNER, glm);
      expect(await store.load?.(id)).toEqual({ messages: [...turn(1), ...turn(2)], model: glm });
      await store.save([...turn(1), ...turn(2), ...turn(3)], id);
      const held = await store.load?.(id);
      expect(held?.messages).toEqual(await store.get(id));
      expect(held?.messages).toHaveLength(6);
      expect(held && 'model' in held).toBe(false);
      expect(await store.load?.('never-saved')).toBeUndefined();
    });

    it('keeps its own copy of the model, and none that is not two names of at most 256 characters', async () => {
      const store = await make({});
      const given = { provider: 'kimi', model: 'kimi-k2.6' };
      const id = await store.save(turn(1), undefined, SHARED_OWNER, given);
      given.model = 'changed';
      expect((await store.load?.(id))?.model).toEqual({ provider: 'kimi', model: 'kimi-k2.6' });
      const refused: unknown[] = [
        { provider: 'p'.repeat(257), model: 'm' },
        { provider: 'p', model: 'm'.repeat(257) },
        { provider: '', model: 'm' },
        { provider: 'p' },
        { provider: 5, model: 'm' },
        null,
        'kimi/kimi-k2.6',
      ];
      for (const model of refused) {
        const other = await store.save(turn(2), undefined, SHARED_OWNER, model as ConversationModel);
        const held = await store.load?.(other);
        expect(held?.messages, JSON.stringify(model)).toEqual(turn(2));
        expect(held && 'model' in held, JSON.stringify(model)).toBe(false);
      }
      const longest = { provider: 'p'.repeat(256), model: 'm'.repeat(256) };
      const kept = await store.save(turn(3), undefined, SHARED_OWNER, longest);
      expect((await store.load?.(kept))?.model).toEqual(longest);
    });
  });
}
