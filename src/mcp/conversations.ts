/**
 * Conversations the server holds for `continuation_id`, behind a small port so they can live in
 * this process (`MemoryConversationStore`) or in Redis (`RedisConversationStore`, src/scale), where
 * any instance can continue them. Every store is bounded per conversation (messages and bytes,
 * system messages included: `conversation-limits.ts`), in total (conversations and bytes), and in
 * time (a TTL from the last save), so a client that never comes back costs nothing after the TTL
 * and no client can make the server keep more than the caps.
 */
import { randomUUID } from 'node:crypto';
import type { TroupeError } from '../core/errors.js';
import type { ChatMessage } from '../providers/port.js';
import {
  type ConversationLimits,
  checkTurn,
  DEFAULT_CONVERSATION_LIMITS,
  positiveInt,
  trimConversation,
} from './conversation-limits.js';

export interface ConversationStoreOptions {
  /** Most messages kept per conversation, system messages included; the oldest go first. @default 40 */
  readonly maxMessages?: number;
  /** Most bytes of message JSON kept per conversation, system messages included. @default 262144 (256 KiB) */
  readonly maxBytes?: number;
  /** Most bytes of message JSON kept across all conversations; the least recently saved go first. @default 67108864 (64 MiB) */
  readonly maxTotalBytes?: number;
  /** How long a conversation lives after its last save, in ms. @default 3600000 (1 h) */
  readonly ttlMs?: number;
  /** Most conversations held; the least recently saved is dropped. @default 1000 */
  readonly maxConversations?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The port every conversation store implements. */
export interface ConversationStore {
  /** The messages so far, or `undefined` when the id is unknown or expired. */
  get(id: string): Promise<readonly ChatMessage[] | undefined>;
  /** Refuses a turn that could never be kept (over the per-conversation byte cap); see `checkTurn`. */
  check(prior: readonly ChatMessage[], turn: readonly ChatMessage[]): TroupeError | undefined;
  /** Stores the whole conversation, trimmed to its bounds, under `id` (a new id when absent). */
  save(messages: readonly ChatMessage[], id?: string): Promise<string>;
  close(): void | Promise<void>;
}

/** Resolved options shared by the stores. */
export interface ResolvedConversationOptions extends ConversationLimits {
  readonly maxTotalBytes: number;
  readonly ttlMs: number;
  readonly maxConversations: number;
  readonly now: () => number;
}

export function resolveConversationOptions(
  options: ConversationStoreOptions = {},
): ResolvedConversationOptions {
  return {
    maxMessages: positiveInt('maxMessages', options.maxMessages, DEFAULT_CONVERSATION_LIMITS.maxMessages),
    maxBytes: positiveInt('maxBytes', options.maxBytes, DEFAULT_CONVERSATION_LIMITS.maxBytes),
    maxTotalBytes: positiveInt('maxTotalBytes', options.maxTotalBytes, 64 * 1024 * 1024),
    ttlMs: positiveInt('ttlMs', options.ttlMs, 3_600_000),
    maxConversations: positiveInt('maxConversations', options.maxConversations, 1000),
    now: options.now ?? Date.now,
  };
}

interface Entry {
  readonly messages: readonly ChatMessage[];
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

  async save(messages: readonly ChatMessage[], id: string = randomUUID()): Promise<string> {
    const trimmed = trimConversation(messages, this.#options);
    this.#delete(id); // re-insert: Map order is the LRU order
    this.#entries.set(id, {
      messages: trimmed.messages,
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
