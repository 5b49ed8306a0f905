/**
 * Conversations the server holds for `continuation_id`: bounded in turns, bytes and count, and
 * expiring, so a client that never comes back costs nothing after the TTL.
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../providers/port.js';

export interface ConversationStoreOptions {
  /** Most messages kept per conversation; the oldest non-system messages go first. @default 40 */
  readonly maxMessages?: number;
  /** Most bytes of message JSON kept per conversation; the oldest go first. @default 262144 (256 KiB) */
  readonly maxBytes?: number;
  /** How long a conversation lives after its last use, in ms. @default 3600000 (1 h) */
  readonly ttlMs?: number;
  /** Most conversations held; the least recently used is dropped. @default 1000 */
  readonly maxConversations?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  messages: ChatMessage[];
  expiresAt: number;
}

export class ConversationStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #maxConversations: number;
  readonly #now: () => number;
  readonly #sweep: ReturnType<typeof setInterval>;

  constructor(options: ConversationStoreOptions = {}) {
    this.#maxMessages = options.maxMessages ?? 40;
    this.#maxBytes = options.maxBytes ?? 256 * 1024;
    this.#ttlMs = options.ttlMs ?? 3_600_000;
    this.#maxConversations = options.maxConversations ?? 1000;
    this.#now = options.now ?? Date.now;
    // Expired entries are also refused on read; the sweep only returns their memory.
    this.#sweep = setInterval(() => this.#dropExpired(), Math.min(this.#ttlMs, 60_000));
    this.#sweep.unref();
  }

  /** The messages so far, or `undefined` when the id is unknown or expired. */
  get(id: string): readonly ChatMessage[] | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry.messages;
  }

  /** Stores the whole conversation under `id` (a new id when absent) and returns the id. */
  save(messages: readonly ChatMessage[], id: string = randomUUID()): string {
    this.#entries.delete(id); // re-insert: Map order is the LRU order
    this.#entries.set(id, { messages: this.#trim(messages), expiresAt: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#maxConversations) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return id;
  }

  get size(): number {
    return this.#entries.size;
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  #trim(messages: readonly ChatMessage[]): ChatMessage[] {
    const system = messages.filter((m) => m.role === 'system');
    let rest = messages.filter((m) => m.role !== 'system');
    const bytes = (list: readonly ChatMessage[]) => Buffer.byteLength(JSON.stringify(list));
    while (
      rest.length > 0 &&
      (system.length + rest.length > this.#maxMessages || bytes([...system, ...rest]) > this.#maxBytes)
    ) {
      rest = rest.slice(1);
      // A conversation must not start with an orphaned tool answer or assistant reply.
      while (rest.length > 0 && rest[0]?.role !== 'user') rest = rest.slice(1);
    }
    return [...system, ...rest];
  }

  #dropExpired(): void {
    const now = this.#now();
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(id);
  }
}
