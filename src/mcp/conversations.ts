/**
 * Conversations the server holds for `continuation_id`, behind a small port so they can live in
 * this process (`MemoryConversationStore`) or in Redis (`RedisConversationStore`, src/scale), where
 * any instance can continue them. Every store is bounded per conversation (messages and bytes,
 * system messages included: `conversation-limits.ts`), in total (conversations and bytes), and in
 * time (a TTL from the last save), so a client that never comes back costs nothing after the TTL
 * and no client can make the server keep more than the caps.
 */
import type { TroupeError } from '../core/errors.js';
import { checkTurn, trimConversation } from '../ports/conversation-limits.js';
import {
  type ConversationStore,
  type ConversationStoreOptions,
  type ResolvedConversationOptions,
  resolveConversationOptions,
} from '../ports/conversation-store.js';
import type { ChatMessage } from '../providers/port.js';
import { flatUUID } from '../runtime/ids.js';

interface Entry {
  readonly messages: readonly ChatMessage[];
  /** Each message's bytes, counted once when it was first saved. */
  readonly sizes: readonly number[];
  readonly bytes: number;
  readonly expiresAt: number;
}

export class MemoryConversationStore implements ConversationStore {
  readonly #entries = new Map<string, Entry>();
  readonly #options: ResolvedConversationOptions;
  readonly #sweep: ReturnType<typeof setInterval>;
  #totalBytes = 0;

  constructor(options: ConversationStoreOptions = {}) {
    this.#options = resolveConversationOptions(options);
    // Expired entries are also refused on read; the sweep only returns their memory.
    this.#sweep = setInterval(() => this.#dropExpired(), Math.min(this.#options.ttlMs, 60_000));
    this.#sweep.unref();
  }

  async get(id: string): Promise<readonly ChatMessage[] | undefined> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#options.now()) {
      this.#delete(id);
      return undefined;
    }
    return entry.messages;
  }

  check(prior: readonly ChatMessage[], turn: readonly ChatMessage[]): TroupeError | undefined {
    return checkTurn(prior, turn, this.#options);
  }

  /**
   * A new conversation's id is a flat string (`flatUUID`): `randomUUID()`'s tree of cons strings
   * (about 450 bytes) lived as long as the conversation, promoted by the collector on every call.
   */
  async save(messages: readonly ChatMessage[], id: string = flatUUID()): Promise<string> {
    const trimmed = trimConversation(messages, this.#options, this.#knownSizes(id, messages));
    // Kept messages never change: frozen, the runtime measures each once for its queue bound.
    for (const message of trimmed.messages) freezeMessage(message);
    this.#delete(id); // re-insert: Map order is the LRU order
    this.#entries.set(id, {
      messages: trimmed.messages,
      sizes: trimmed.sizes,
      bytes: trimmed.bytes,
      expiresAt: this.#options.now() + this.#options.ttlMs,
    });
    this.#totalBytes += trimmed.bytes;
    const { maxConversations, maxTotalBytes } = this.#options;
    while (this.#entries.size > maxConversations || this.#totalBytes > maxTotalBytes) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined || oldest === id) break;
      this.#delete(oldest);
    }
    return id;
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

  #delete(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#totalBytes -= entry.bytes;
  }

  #dropExpired(): void {
    const now = this.#options.now();
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#delete(id);
  }
}

/**
 * Freezes a kept message and its tool calls, the nested data a `ChatMessage` has (anything else
 * nested stays as it is, and the runtime then measures that message every time). A frozen one is
 * skipped; no field is read but `tool_calls` (a message is measured once, when first saved).
 */
function freezeMessage(message: ChatMessage): void {
  if (Object.isFrozen(message)) return;
  const calls = message.tool_calls;
  if (calls !== undefined) {
    for (const call of calls) {
      if (typeof call.function === 'object' && call.function !== null) Object.freeze(call.function);
      Object.freeze(call);
    }
    Object.freeze(calls);
  }
  Object.freeze(message);
}
