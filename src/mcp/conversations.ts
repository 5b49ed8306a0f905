/**
 * Conversations the server holds for `continuation_id`, behind a small port so they can live in
 * this process (`MemoryConversationStore`) or in Redis (`RedisConversationStore`, src/scale), where
 * any instance can continue them. Every store is bounded per conversation (messages and bytes,
 * system messages included: `conversation-limits.ts`), per owner and in total (conversations and
 * bytes), and in time (a TTL from the last save), so a client that never comes back costs nothing
 * after the TTL, no client can make the server keep more than the caps, and no owner's burst evicts
 * another's conversations while it holds more than they do (the policy: `conversation-store.ts`).
 *
 * Cost a save: O(1) (one Map in save order for all, and each owner's conversations a list linked
 * through the entries), but for the rare save past a total bound, which scans the owners (named
 * tokens, plus one shared owner) to find the largest.
 */
import { steadyClock } from '../core/clock.js';
import type { TroupeError } from '../core/errors.js';
import { freezeKept } from '../core/request-bytes.js';
import { checkTurn, trimConversation } from '../ports/conversation-limits.js';
import {
  boundsOf,
  type ConversationHolding,
  type ConversationModel,
  type ConversationOwner,
  type ConversationStore,
  type ConversationStoreOptions,
  type ConversationUsage,
  keptModel,
  type ResolvedConversationOptions,
  resolveConversationOptions,
  SHARED_OWNER,
  type StoredConversation,
} from '../ports/conversation-store.js';
import type { ChatMessage } from '../providers/port.js';
import { flatUUID } from '../runtime/ids.js';

interface Entry {
  readonly id: string;
  readonly messages: readonly ChatMessage[];
  /** Each message's bytes, counted once when it was first saved. */
  readonly sizes: readonly number[];
  readonly bytes: number;
  readonly expiresAt: number;
  /** The model the last turn was on, as `save` was given it. */
  readonly model: ConversationModel | undefined;
  readonly holder: Holder;
  /** Save order across the store: ties between holders of one size go to the oldest. */
  readonly seq: number;
  /** The holder's conversation saved just before this one, and just after. */
  older: Entry | undefined;
  newer: Entry | undefined;
}

/**
 * One owner's conversations, a list in save order (linked through the entries: moving a continued
 * conversation to the end is two links, where a Map's delete and set cost a table each time), and
 * their count and bytes.
 */
interface Holder {
  readonly owner: ConversationOwner;
  oldest: Entry | undefined;
  newest: Entry | undefined;
  count: number;
  bytes: number;
}

export class MemoryConversationStore implements ConversationStore {
  /** Every conversation, in save order (so the expired come first: one TTL for all). */
  readonly #entries = new Map<string, Entry>();
  readonly #holders = new Map<ConversationOwner, Holder>();
  #seq = 0;
  readonly #options: ResolvedConversationOptions;
  readonly #sweep: ReturnType<typeof setInterval>;
  #totalBytes = 0;

  constructor(options: ConversationStoreOptions = {}) {
    // TTLs on the steady clock: on the wall clock a step forward past `ttlMs` dropped every conversation.
    this.#options = resolveConversationOptions({ ...options, now: options.now ?? steadyClock.now });
    // Expired entries are also refused on read; the sweep only returns their memory.
    this.#sweep = setInterval(
      () => this.#dropExpired(this.#options.now()),
      Math.min(this.#options.ttlMs, 60_000),
    );
    this.#sweep.unref();
  }

  async get(id: string): Promise<readonly ChatMessage[] | undefined> {
    return this.#live(id)?.messages;
  }

  async load(id: string): Promise<StoredConversation | undefined> {
    const entry = this.#live(id);
    if (entry === undefined) return undefined;
    return entry.model === undefined
      ? { messages: entry.messages }
      : { messages: entry.messages, model: entry.model };
  }

  check(prior: readonly ChatMessage[], turn: readonly ChatMessage[]): TroupeError | undefined {
    return checkTurn(prior, turn, this.#options);
  }

  /**
   * A new conversation's id is a flat string (`flatUUID`): `randomUUID()`'s tree of cons strings
   * (about 450 bytes) lived as long as the conversation, promoted by the collector on every call.
   */
  async save(
    messages: readonly ChatMessage[],
    given?: string,
    owner: ConversationOwner = SHARED_OWNER,
    model?: ConversationModel,
  ): Promise<string> {
    // A new id names nothing held yet: no sizes to reuse, nothing to replace (two lookups a call).
    const id = given ?? flatUUID();
    const known = given === undefined ? undefined : this.#knownSizes(id, messages);
    const trimmed = trimConversation(messages, this.#options, known);
    // Kept messages never change: frozen, the runtime measures each once for its queue bound and
    // takes it as it is into a request (`freezeKept`), not copied on each turn.
    trimmed.messages.forEach((message, i) => {
      freezeKept(message, trimmed.sizes[i]);
    });
    const now = this.#options.now();
    this.#dropExpired(now);
    let holder = this.#holders.get(owner);
    if (holder === undefined) {
      holder = { owner, oldest: undefined, newest: undefined, count: 0, bytes: 0 };
      this.#holders.set(owner, holder);
    }
    if (given !== undefined) this.#delete(id, holder); // re-insert: Map order is the save order
    const entry: Entry = {
      id,
      messages: trimmed.messages,
      sizes: trimmed.sizes,
      bytes: trimmed.bytes,
      expiresAt: now + this.#options.ttlMs,
      model: keptModel(model),
      holder,
      seq: ++this.#seq,
      older: holder.newest,
      newer: undefined,
    };
    this.#entries.set(id, entry);
    if (holder.newest === undefined) holder.oldest = entry;
    else holder.newest.newer = entry;
    holder.newest = entry;
    holder.count += 1;
    holder.bytes += entry.bytes;
    this.#totalBytes += entry.bytes;
    const o = this.#options;
    const own = boundsOf(o, owner);
    while (holder.count > own.conversations || holder.bytes > own.bytes) {
      const oldest = holder.oldest;
      if (oldest === undefined || oldest === entry) break;
      this.#delete(oldest.id);
    }
    while (this.#entries.size > o.maxConversations || this.#totalBytes > o.maxTotalBytes) {
      const victim = this.#largestHoldersOldest(this.#entries.size > o.maxConversations, entry);
      if (victim === undefined) break;
      this.#delete(victim);
    }
    return id;
  }

  async usage(): Promise<ConversationUsage> {
    const owners = new Map<ConversationOwner, ConversationHolding>();
    for (const h of this.#holders.values()) owners.set(h.owner, { conversations: h.count, bytes: h.bytes });
    return { conversations: this.#entries.size, bytes: this.#totalBytes, owners };
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of message JSON held across every conversation. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  /** The entry of `id` unless it expired (then it goes). */
  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#options.now()) {
      this.#delete(id);
      return undefined;
    }
    return entry;
  }

  /**
   * The sizes already counted for `messages`: a continued conversation starts with the very
   * messages `get` handed out, so only the turn's new ones are counted.
   */
  #knownSizes(id: string, messages: readonly ChatMessage[]): readonly number[] | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.messages.length > messages.length) return undefined;
    for (let i = 0; i < entry.messages.length; i++) if (entry.messages[i] !== messages[i]) return undefined;
    return entry.sizes;
  }

  /**
   * The least recently saved conversation of the largest holder, by count or by bytes; between
   * holders of one size, the one holding the least recently saved conversation. A holder whose
   * only conversation is `saved` has nothing to give.
   */
  #largestHoldersOldest(byCount: boolean, saved: Entry): string | undefined {
    let victim: string | undefined;
    let size = -1;
    let seq = Number.POSITIVE_INFINITY;
    for (const holder of this.#holders.values()) {
      const first = holder.oldest;
      if (first === undefined || first === saved) continue;
      const held = byCount ? holder.count : holder.bytes;
      if (held > size || (held === size && first.seq < seq)) {
        [victim, size, seq] = [first.id, held, first.seq];
      }
    }
    return victim;
  }

  /** Forgets `id`, and its holder once it holds nothing (but `keep`, the holder a save is for). */
  #delete(id: string, keep?: Holder): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#totalBytes -= entry.bytes;
    const { holder, older, newer } = entry;
    if (older === undefined) holder.oldest = newer;
    else older.newer = newer;
    if (newer === undefined) holder.newest = older;
    else newer.older = older;
    holder.count -= 1;
    holder.bytes -= entry.bytes;
    if (holder.count === 0 && holder !== keep) this.#holders.delete(holder.owner);
  }

  /** The expired go before anything is evicted; they are the oldest (one TTL), so this stops at the first live one. */
  #dropExpired(now: number): void {
    const first = this.#entries.values().next().value;
    if (first === undefined || first.expiresAt > now) return; // the common case, without a loop
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt > now) return;
      this.#delete(id);
    }
  }
}
