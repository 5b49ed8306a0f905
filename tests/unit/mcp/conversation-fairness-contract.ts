/**
 * Per-owner fairness, the same in every conversation store (memory and Redis run these cases): an
 * owner's burst evicts its own conversations, never another's while it holds more than they do;
 * past the totals the largest holder pays; the byte and count accounting stays exact. The policy
 * is in `src/ports/conversation-store.ts`; `FairnessModel` below is that policy written plainly
 * (scans, no indexes), and a property drives a store and the model with the same random saves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conversationBytes } from '../../../src/ports/conversation-limits.js';
import {
  type ConversationOwner,
  type ConversationStore,
  type ConversationStoreOptions,
  resolveConversationOptions,
  SHARED_OWNER,
} from '../../../src/ports/conversation-store.js';
import type { StoreFactory } from './conversation-store-contract.js';
import { turn } from './conversation-store-contract.js';

const A = 'token:alice';
const B = 'token:bob';
const C = 'token:carol';

/** `ids` as held (`true`) or not, in order. */
async function held(store: ConversationStore, ids: readonly string[]): Promise<boolean[]> {
  const out: boolean[] = [];
  for (const id of ids) out.push((await store.get(id)) !== undefined);
  return out;
}

async function saveMany(store: ConversationStore, owner: string, n: number, size = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await store.save(turn(i, size), `${owner}/${i}`, owner));
  return ids;
}

export function conversationFairnessContract(name: string, make: StoreFactory): void {
  describe(`${name}: per-owner fairness`, () => {
    it("an owner's burst of one-shot conversations leaves another owner's conversations", async () => {
      const store = await make({ maxConversations: 8, maxConversationsPerOwner: 4 });
      const bobs = await saveMany(store, B, 2);
      const alices = await saveMany(store, A, 20);
      expect(await held(store, bobs)).toEqual([true, true]);
      // Alice past her own bound lost her own oldest: her newest four are left.
      expect(await held(store, alices)).toEqual([...Array(16).fill(false), ...Array(4).fill(true)]);
      const usage = await store.usage();
      expect(usage.conversations).toBe(6);
      expect(usage.owners.get(A)?.conversations).toBe(4);
      expect(usage.owners.get(B)?.conversations).toBe(2);
    });

    it("an owner's burst of large conversations leaves another owner's, and pays with its own oldest", async () => {
      const store = await make({ maxBytes: 2000, maxTotalBytes: 8000, maxBytesPerOwner: 4000 });
      const bobs = await saveMany(store, B, 2, 1500);
      const alices = await saveMany(store, A, 10, 1500);
      expect(await held(store, bobs)).toEqual([true, true]);
      // Two of ~1.55 KB fit in Alice's 4000 bytes, three do not.
      expect(await held(store, alices)).toEqual([...Array(8).fill(false), true, true]);
      const usage = await store.usage();
      expect(usage.owners.get(A)?.bytes).toBeLessThanOrEqual(4000);
      expect(usage.owners.get(A)?.bytes).toBe(2 * conversationBytes(turn(0, 1500)));
    });

    it('past maxConversations the largest holder by count pays, not the least recently saved', async () => {
      const store = await make({ maxConversations: 6, maxConversationsPerOwner: 4 });
      const bobs = await saveMany(store, B, 2); // the least recently saved
      const alices = await saveMany(store, A, 4);
      const carols = await saveMany(store, C, 1); // 7 > 6: Alice (4) is the largest
      expect(await held(store, bobs)).toEqual([true, true]);
      expect(await held(store, alices)).toEqual([false, true, true, true]);
      expect(await held(store, carols)).toEqual([true]);
    });

    it('past maxTotalBytes the largest holder by bytes pays, though another holds more conversations', async () => {
      const store = await make({ maxBytes: 2000, maxTotalBytes: 3000, maxBytesPerOwner: 3000 });
      const bobs = await saveMany(store, B, 3, 200); // three small, the least recently saved
      const alices = await saveMany(store, A, 2, 900); // two large: fewer, but more bytes
      expect(await held(store, [...bobs, ...alices])).toEqual([true, true, true, true, true]);
      const carols = await saveMany(store, C, 1, 400);
      expect(await held(store, bobs)).toEqual([true, true, true]);
      expect(await held(store, alices)).toEqual([false, true]);
      expect(await held(store, carols)).toEqual([true]);
      const usage = await store.usage();
      expect(usage.bytes).toBeLessThanOrEqual(3000);
    });

    it('between holders of one size, the one holding the least recently saved conversation pays', async () => {
      const store = await make({ maxConversations: 4, maxConversationsPerOwner: 4 });
      const a1 = await store.save(turn(1), 'a1', A);
      const b1 = await store.save(turn(2), 'b1', B);
      const a2 = await store.save(turn(3), 'a2', A);
      const b2 = await store.save(turn(4), 'b2', B);
      await store.save(turn(5), 'c1', C);
      expect(await held(store, [a1, b1, a2, b2])).toEqual([false, true, true, true]);
      // Now Bob's b1 is the oldest of two holders of two: Bob pays next.
      await store.save(turn(6), 'c2', C);
      expect(await held(store, [b1, a2, b2])).toEqual([false, true, true]);
    });

    it('every caller without a named token is one owner, held to the totals alone: the largest, it pays first', async () => {
      const store = await make({ maxConversations: 3, maxConversationsPerOwner: 1 });
      const first = await store.save(turn(1)); // no owner given: the shared one
      const second = await store.save(turn(2), undefined, SHARED_OWNER);
      // Two shared conversations past a per-owner bound of 1: a stdio server keeps the whole store.
      expect(await held(store, [first, second])).toEqual([true, true]);
      const named = await store.save(turn(3), 'n1', A);
      const third = await store.save(turn(4));
      expect(await held(store, [first, second, third, named])).toEqual([false, true, true, true]);
      expect((await store.usage()).owners.get(SHARED_OWNER)?.conversations).toBe(2);
    });

    it('never evicts the conversation being saved, even when it alone is over its owner bytes', async () => {
      const store = await make({ maxBytes: 2000, maxTotalBytes: 4000, maxBytesPerOwner: 1000 });
      const big = await store.save(turn(1, 1500), 'big', A);
      expect(await held(store, [big])).toEqual([true]);
      // And the next save of Alice's evicts the one over the bound, not itself.
      const small = await store.save(turn(2, 100), 'small', A);
      expect(await held(store, [big, small])).toEqual([false, true]);
    });

    it('past a total, a saver whose only conversation is the one saved keeps it: the next largest pays', async () => {
      const store = await make({ maxBytes: 2000, maxTotalBytes: 3000, maxBytesPerOwner: 3000 });
      const bobs = await saveMany(store, B, 3, 400);
      // Alice's one conversation is the largest holding, but it is the one being saved.
      const big = await store.save(turn(1, 1800), 'big', A);
      expect(await held(store, [big, ...bobs])).toEqual([true, false, true, true]);
      expect((await store.usage()).bytes).toBeLessThanOrEqual(3000);
    });

    it('counts a conversation saved again under another owner as the new owner’s alone', async () => {
      const store = await make({});
      await store.save(turn(1, 100), 'moved', A);
      await store.save(turn(2, 300), 'moved', B);
      const usage = await store.usage();
      expect([...usage.owners.keys()]).toEqual([B]);
      expect(usage.owners.get(B)).toEqual({ conversations: 1, bytes: conversationBytes(turn(2, 300)) });
      expect(usage.bytes).toBe(conversationBytes(turn(2, 300)));
    });

    it('drops the expired before evicting anyone', async () => {
      let now = 1_000_000;
      const store = await make({
        ttlMs: 3_600_000,
        maxConversations: 3,
        maxConversationsPerOwner: 3,
        now: () => now,
      });
      const b1 = await store.save(turn(1), 'b1', B);
      now += 1_800_000;
      const a1 = await store.save(turn(2), 'a1', A);
      const a2 = await store.save(turn(3), 'a2', A);
      now += 1_800_000; // b1 expires
      const c1 = await store.save(turn(4), 'c1', C);
      expect(await held(store, [b1, a1, a2, c1])).toEqual([false, true, true, true]);
      expect((await store.usage()).conversations).toBe(3);
    });

    it('keeps the byte and count accounting exact, and agrees with the policy written plainly, over random saves', async () => {
      const options: ConversationStoreOptions = {
        maxBytes: 700,
        maxTotalBytes: 2400,
        maxBytesPerOwner: 1000,
        maxConversations: 5,
        maxConversationsPerOwner: 3,
        ttlMs: 3_600_000,
      };
      const owners = [A, B, C, SHARED_OWNER];
      const op = fc.oneof(
        {
          arbitrary: fc.record({
            kind: fc.constant('save' as const),
            owner: fc.nat(owners.length - 1),
            slot: fc.nat(3),
            size: fc.nat(550),
          }),
          weight: 8,
        },
        { arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(1_200_000) }), weight: 1 },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
          let now = 1_000_000;
          const store = await make({ ...options, now: () => now });
          const model = new FairnessModel(options);
          const ids = owners.flatMap((o) => [0, 1, 2, 3].map((slot) => `${o}/${slot}`));
          const ownerOf = (id: string) => id.slice(0, id.lastIndexOf('/'));
          for (const [step, o] of ops.entries()) {
            if (o.kind === 'tick') {
              now += o.ms;
              continue;
            }
            const owner = owners[o.owner] as string;
            const id = `${owner}/${o.slot}`;
            const messages = turn(step, o.size);
            await store.save(messages, id, owner);
            model.save(id, owner, conversationBytes(messages), now);
            // Right after a save (nothing expired is left): the store's figures are the model's.
            const usage = await store.usage();
            expect(usage.conversations).toBe(model.count());
            expect(usage.bytes).toBe(model.bytes());
            expect(new Map([...usage.owners].map(([k, v]) => [k, { ...v }]))).toEqual(model.owners());
            // What it holds is what the model holds, and the figures are the sum of it.
            let sum = 0;
            const sums = new Map<string, number>();
            for (const [i, isHeld] of (await held(store, ids)).entries()) {
              const key = ids[i] as string;
              expect(isHeld, `${key} held`).toBe(model.holds(key));
              if (!isHeld) continue;
              const bytes = conversationBytes((await store.get(key)) ?? []);
              sum += bytes;
              sums.set(ownerOf(key), (sums.get(ownerOf(key)) ?? 0) + bytes);
            }
            expect(sum).toBe(usage.bytes);
            for (const [owner, holding] of usage.owners) expect(sums.get(owner)).toBe(holding.bytes);
            const o2 = resolveConversationOptions(options);
            expect(usage.conversations).toBeLessThanOrEqual(o2.maxConversations);
            expect(usage.bytes).toBeLessThanOrEqual(o2.maxTotalBytes);
          }
          await store.close();
        }),
        { numRuns: 30 },
      );
    });
  });
}

interface ModelConversation {
  readonly id: string;
  readonly owner: ConversationOwner;
  readonly bytes: number;
  readonly seq: number;
  readonly expiresAt: number;
}

/** The eviction policy of `conversation-store.ts` as plainly as it can be written: a list in save order. */
class FairnessModel {
  readonly #o: ReturnType<typeof resolveConversationOptions>;
  #held: ModelConversation[] = [];
  #seq = 0;

  constructor(options: ConversationStoreOptions) {
    this.#o = resolveConversationOptions(options);
  }

  save(id: string, owner: ConversationOwner, bytes: number, now: number): void {
    const o = this.#o;
    this.#held = this.#held.filter((c) => c.expiresAt > now && c.id !== id);
    this.#held.push({ id, owner, bytes, seq: ++this.#seq, expiresAt: now + o.ttlMs });
    const mine = () => this.#held.filter((c) => c.owner === owner);
    // The shared owner (everyone without a named token) is held to the totals alone.
    const shared = owner === SHARED_OWNER;
    const maxCount = shared ? o.maxConversations : o.maxConversationsPerOwner;
    const maxBytes = shared ? o.maxTotalBytes : o.maxBytesPerOwner;
    while (mine().length > maxCount || sumOf(mine()) > maxBytes) {
      const oldest = mine()[0] as ModelConversation;
      if (oldest.id === id) break;
      this.#drop(oldest.id);
    }
    while (this.#held.length > o.maxConversations || sumOf(this.#held) > o.maxTotalBytes) {
      const byCount = this.#held.length > o.maxConversations;
      let victim: ModelConversation | undefined;
      let size = -1;
      for (const holder of new Set(this.#held.map((c) => c.owner))) {
        const theirs = this.#held.filter((c) => c.owner === holder);
        const oldest = theirs[0] as ModelConversation;
        if (oldest.id === id) continue;
        const n = byCount ? theirs.length : sumOf(theirs);
        if (n > size || (n === size && oldest.seq < (victim?.seq ?? Number.POSITIVE_INFINITY))) {
          victim = oldest;
          size = n;
        }
      }
      if (victim === undefined) break;
      this.#drop(victim.id);
    }
  }

  holds(id: string): boolean {
    return this.#held.some((c) => c.id === id);
  }

  count(): number {
    return this.#held.length;
  }

  bytes(): number {
    return sumOf(this.#held);
  }

  owners(): Map<string, { conversations: number; bytes: number }> {
    const out = new Map<string, { conversations: number; bytes: number }>();
    for (const c of this.#held) {
      const h = out.get(c.owner) ?? { conversations: 0, bytes: 0 };
      out.set(c.owner, { conversations: h.conversations + 1, bytes: h.bytes + c.bytes });
    }
    return out;
  }

  #drop(id: string): void {
    this.#held = this.#held.filter((c) => c.id !== id);
  }
}

function sumOf(conversations: readonly ModelConversation[]): number {
  let total = 0;
  for (const c of conversations) total += c.bytes;
  return total;
}
