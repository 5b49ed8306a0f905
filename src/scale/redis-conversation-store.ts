/**
 * Server-held conversations in Redis, so any instance can continue one and it outlives the
 * instance that started it. Each conversation is one JSON string under `<prefix>:conv:c:<id>` with
 * its TTL (`PX`), so Redis drops it by itself; a sorted set in save order (`index`, by a shared
 * sequence), one of expiry times (`expiries`), a hash of sizes (`sizes`) and a byte counter (`total`)
 * bound the count and the bytes across the cluster. One Lua
 * script saves, forgets the expired and evicts the least recently saved, so the bounds hold
 * whatever the instances do at once.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TroupeError } from '../core/errors.js';
import { freezeKept } from '../core/request-bytes.js';
import { checkTurn, trimConversation } from '../ports/conversation-limits.js';
import {
  type ConversationStore,
  type ConversationStoreOptions,
  type ResolvedConversationOptions,
  resolveConversationOptions,
} from '../ports/conversation-store.js';
import type { ChatMessage } from '../providers/port.js';
import { connectRedis, quitWithin } from './connect.js';

export interface RedisConversationStoreOptions extends ConversationStoreOptions {
  /** Key prefix shared by every instance of one cluster. @default 'troupe' */
  readonly prefix?: string;
}

const SAVE = `
local function drop(id)
  local size = redis.call('HGET', KEYS[2], id)
  if size then redis.call('DECRBY', KEYS[3], size) end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('DEL', ARGV[8] .. id)
end
local now = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)) do drop(old) end
drop(ARGV[1])
redis.call('SET', ARGV[8] .. ARGV[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[5]), ARGV[1])
redis.call('ZADD', KEYS[4], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('INCRBY', KEYS[3], ARGV[3])
while redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[6]) or tonumber(redis.call('GET', KEYS[3]) or '0') > tonumber(ARGV[7]) do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #oldest == 0 or oldest[1] == ARGV[1] then break end
  drop(oldest[1])
end
return 1`;

interface Stored {
  readonly messages: readonly ChatMessage[];
  readonly expiresAt: number;
  /** Each message's bytes as counted when it was saved (absent in records saved before they were kept). */
  readonly sizes?: readonly number[];
}

export class RedisConversationStore implements ConversationStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #options: ResolvedConversationOptions;
  readonly #ownsConnection: boolean;

  /** Uses `redis` for commands; `close` leaves it open unless `connect` opened it. */
  constructor(redis: Redis, options: RedisConversationStoreOptions = {}, ownsConnection = false) {
    this.#redis = redis;
    this.#prefix = `${options.prefix ?? 'troupe'}:conv`;
    this.#options = resolveConversationOptions(options);
    this.#ownsConnection = ownsConnection;
  }

  /** Connects first, so a wrong URL or a Redis that is down is a clear error at start. */
  static async connect(
    url: string,
    options: RedisConversationStoreOptions & { readonly connectTimeoutMs?: number } = {},
  ): Promise<RedisConversationStore> {
    const redis = await connectRedis(url, {
      purpose: 'for conversations',
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return new RedisConversationStore(redis, options, true);
  }

  async get(id: string): Promise<readonly ChatMessage[] | undefined> {
    const raw = await this.#redis.get(this.#recordKey(id));
    if (raw === null) return undefined;
    const stored = JSON.parse(raw) as Stored;
    // Redis's own expiry may lag by a little; the TTL holds to the millisecond.
    if (stored.expiresAt <= this.#options.now()) return undefined;
    // Kept as saved: frozen, with the sizes counted then, so the bounds and the queue's byte count
    // walk only a call's new turn (a 256 KiB conversation took about 1.3 ms to measure again).
    const { messages, sizes } = stored;
    const known = sizes?.length === messages.length ? sizes : undefined;
    for (let i = 0; i < messages.length; i++) freezeKept(messages[i], known?.[i]);
    return messages;
  }

  check(prior: readonly ChatMessage[], turn: readonly ChatMessage[]): TroupeError | undefined {
    return checkTurn(prior, turn, this.#options);
  }

  async save(messages: readonly ChatMessage[], id: string = randomUUID()): Promise<string> {
    const trimmed = trimConversation(messages, this.#options);
    const now = this.#options.now();
    const { ttlMs, maxConversations, maxTotalBytes } = this.#options;
    const stored: Stored = { messages: trimmed.messages, expiresAt: now + ttlMs, sizes: trimmed.sizes };
    await this.#redis.eval(
      SAVE,
      5,
      `${this.#prefix}:index`,
      `${this.#prefix}:sizes`,
      `${this.#prefix}:total`,
      `${this.#prefix}:expiries`,
      `${this.#prefix}:seq`,
      id,
      JSON.stringify(stored),
      trimmed.bytes,
      now,
      ttlMs,
      maxConversations,
      maxTotalBytes,
      `${this.#prefix}:c:`,
    );
    return id;
  }

  /** Conversations and bytes held across the cluster (expired ones count until the next save). */
  async usage(): Promise<{ readonly conversations: number; readonly bytes: number }> {
    const [count, total] = await Promise.all([
      this.#redis.zcard(`${this.#prefix}:index`),
      this.#redis.get(`${this.#prefix}:total`),
    ]);
    return { conversations: count, bytes: Number(total ?? 0) };
  }

  async close(): Promise<void> {
    // Bounded: a Redis that stopped answering gets the connection dropped (this store has no onError).
    if (this.#ownsConnection) await quitWithin(this.#redis);
  }

  #recordKey(id: string): string {
    return `${this.#prefix}:c:${id}`;
  }
}
