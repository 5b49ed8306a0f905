/**
 * The conversation store port: conversations the MCP front holds for `continuation_id`, in this
 * process (`MemoryConversationStore`, src/mcp/conversations.ts) or in Redis
 * (`RedisConversationStore`, src/scale). Every store is bounded per conversation (messages and
 * bytes: `conversation-limits.ts`), in total (conversations and bytes) and in time (a TTL).
 */
import type { TroupeError } from '../core/errors.js';
import type { ChatMessage } from '../providers/port.js';
import { type ConversationLimits, DEFAULT_CONVERSATION_LIMITS, positiveInt } from './conversation-limits.js';

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
