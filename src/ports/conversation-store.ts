/**
 * The conversation store port: conversations the MCP front holds for `continuation_id`, in this
 * process (`MemoryConversationStore`, src/mcp/conversations.ts) or in Redis
 * (`RedisConversationStore`, src/scale). Every store is bounded per conversation (messages and
 * bytes: `conversation-limits.ts`), per owner, in total (conversations and bytes) and in time (a TTL).
 *
 * Eviction, the same in every store (the shared contract in tests/unit/mcp/ runs both):
 * 1. expired conversations go first;
 * 2. a named owner past `maxConversationsPerOwner` or `maxBytesPerOwner` loses its own least
 *    recently saved conversation (`SHARED_OWNER` is held to the totals alone, `boundsOf`: a stdio
 *    server or one without named tokens has one owner, which keeps the whole store as before);
 * 3. while the store is past `maxConversations` (or else `maxTotalBytes`), the largest holder by
 *    that bound (count, or bytes) loses its least recently saved conversation; between holders of
 *    the same size, the one whose oldest conversation is the least recently saved.
 * The conversation being saved is never evicted by its own save. So an owner within its share never
 * pays for another's burst while a larger holder has something to give: with the per-owner bounds at
 * a quarter of the totals (the defaults), four owners at their caps fit; past that the largest pay.
 */
import { runtimeError, type TroupeError } from '../core/errors.js';
import { isName } from '../core/metadata.js';
import type { ChatMessage } from '../providers/port.js';
import { type ConversationLimits, DEFAULT_CONVERSATION_LIMITS, positiveInt } from './conversation-limits.js';

/**
 * Whose a conversation is, for the per-owner bounds: a named token's caller key (`token:<name>`), or
 * `SHARED_OWNER` for every caller without a named token (they share one pool: `conversation-scope.ts`).
 */
export type ConversationOwner = string;

/** The one owner of every conversation saved without a named token. */
export const SHARED_OWNER: ConversationOwner = 'shared';

export interface ConversationStoreOptions {
  /** Most messages kept per conversation, system messages included; the oldest go first. @default 40 */
  readonly maxMessages?: number;
  /** Most bytes of message JSON kept per conversation, system messages included. @default 262144 (256 KiB) */
  readonly maxBytes?: number;
  /** Most bytes of message JSON kept across all conversations; the largest holder's least recently saved go first. @default 67108864 (64 MiB) */
  readonly maxTotalBytes?: number;
  /** How long a conversation lives after its last save, in ms. @default 3600000 (1 h) */
  readonly ttlMs?: number;
  /** Most conversations held; the largest holder's least recently saved is dropped. @default 1000 */
  readonly maxConversations?: number;
  /** Most conversations one named owner holds; its own least recently saved go first (callers without a named token share the totals). @default a quarter of `maxConversations` (250) */
  readonly maxConversationsPerOwner?: number;
  /** Most bytes of message JSON one named owner holds; its own least recently saved go first (callers without a named token share the totals). @default a quarter of `maxTotalBytes` (16 MiB) */
  readonly maxBytesPerOwner?: number;
  /**
   * What TTLs are measured on. @default `steadyClock.now` in memory; `Date.now` in Redis, whose
   * expiry times every instance reads
   */
  readonly now?: () => number;
}

/** The provider and model a conversation's last turn was on (the one it asked for, when a fallback answered). */
export interface ConversationModel {
  readonly provider: string;
  readonly model: string;
}

/** A conversation as a store holds it: its messages and, when the save gave it, its model. */
export interface StoredConversation {
  readonly messages: readonly ChatMessage[];
  readonly model?: ConversationModel;
}

/** The port every conversation store implements. */
export interface ConversationStore {
  /** The messages so far, or `undefined` when the id is unknown or expired. */
  get(id: string): Promise<readonly ChatMessage[] | undefined>;
  /**
   * The messages so far with the model `save` was given, in one read, or `undefined` as `get`.
   * Optional, so a store written before it still works: without it a continued conversation that
   * names no model goes to the default one (the tools then read `get`).
   */
  load?(id: string): Promise<StoredConversation | undefined>;
  /** Refuses a turn that could never be kept (over the per-conversation byte cap); see `checkTurn`. */
  check(prior: readonly ChatMessage[], turn: readonly ChatMessage[]): TroupeError | undefined;
  /**
   * Stores the whole conversation, trimmed to its bounds, under `id` (a new id when absent), as
   * `owner`'s (absent: `SHARED_OWNER`), then evicts as the module comment says.
   */
  save(
    messages: readonly ChatMessage[],
    id?: string,
    owner?: ConversationOwner,
    /** What the last turn was on, for `load` (a store without `load` may ignore it). Replaced by each save. */
    model?: ConversationModel,
  ): Promise<string>;
  /** What the store holds, in all and per owner (owners holding nothing are not listed). */
  usage(): Promise<ConversationUsage>;
  close(): void | Promise<void>;
}

export interface ConversationHolding {
  readonly conversations: number;
  /** Bytes of message JSON, as counted against the bounds. */
  readonly bytes: number;
}

export interface ConversationUsage extends ConversationHolding {
  readonly owners: ReadonlyMap<ConversationOwner, ConversationHolding>;
}

/**
 * The model a store keeps for a save, or gives back from a record it reads: a frozen copy of its two
 * names, or `undefined` for anything else than an object whose `provider` and `model` are non-empty
 * strings of at most `MAX_NAME_CHARS` (no more than the session it came from could carry, so the
 * messages' byte bounds need not count it).
 */
export function keptModel(model: unknown): ConversationModel | undefined {
  if (typeof model !== 'object' || model === null) return undefined;
  const { provider, model: name } = model as Partial<Record<keyof ConversationModel, unknown>>;
  return isName(provider) && isName(name) ? Object.freeze({ provider, model: name }) : undefined;
}

/** Resolved options shared by the stores. */
export interface ResolvedConversationOptions extends ConversationLimits {
  readonly maxTotalBytes: number;
  readonly ttlMs: number;
  readonly maxConversations: number;
  readonly maxConversationsPerOwner: number;
  readonly maxBytesPerOwner: number;
  readonly now: () => number;
}

export function resolveConversationOptions(
  options: ConversationStoreOptions = {},
): ResolvedConversationOptions {
  const maxTotalBytes = positiveInt('maxTotalBytes', options.maxTotalBytes, 64 * 1024 * 1024);
  const maxConversations = positiveInt('maxConversations', options.maxConversations, 1000);
  return {
    maxMessages: positiveInt('maxMessages', options.maxMessages, DEFAULT_CONVERSATION_LIMITS.maxMessages),
    maxBytes: positiveInt('maxBytes', options.maxBytes, DEFAULT_CONVERSATION_LIMITS.maxBytes),
    maxTotalBytes,
    ttlMs: positiveInt('ttlMs', options.ttlMs, 3_600_000),
    maxConversations,
    maxConversationsPerOwner: perOwner(
      'maxConversationsPerOwner',
      options.maxConversationsPerOwner,
      'maxConversations',
      maxConversations,
    ),
    maxBytesPerOwner: perOwner('maxBytesPerOwner', options.maxBytesPerOwner, 'maxTotalBytes', maxTotalBytes),
    now: options.now ?? Date.now,
  };
}

/**
 * The bounds step 2 holds `owner` to. `SHARED_OWNER` is everyone without a named token: on stdio or a
 * server without named tokens the only owner there is, so it gets the totals (step 3 still makes it
 * pay first, being then the largest holder, when a named owner within its share saves).
 */
export function boundsOf(
  options: ResolvedConversationOptions,
  owner: ConversationOwner,
): { readonly conversations: number; readonly bytes: number } {
  return owner === SHARED_OWNER
    ? { conversations: options.maxConversations, bytes: options.maxTotalBytes }
    : { conversations: options.maxConversationsPerOwner, bytes: options.maxBytesPerOwner };
}

/** A per-owner bound: a quarter of its total unless given, and never above the total. */
function perOwner(name: string, value: number | undefined, totalName: string, total: number): number {
  const chosen = positiveInt(name, value, Math.max(1, Math.floor(total / 4)));
  if (chosen > total) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`${name}\` to be at most \`${totalName}\` (${total}), got ${chosen}: one owner cannot hold more than the store. Set it to ${total} to bound owners by the total alone.`,
    );
  }
  return chosen;
}
