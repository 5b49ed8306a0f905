/**
 * Server-held conversations in Redis, so any instance can continue one and it outlives the
 * instance that started it. Each conversation is one JSON string under `<prefix>:conv:c:<id>` with
 * its TTL (`PX`), so Redis drops it by itself; a sorted set in save order (`index`, by a shared
 * sequence), one of expiry times (`expiries`), a hash of sizes (`sizes`) and a byte counter (`total`)
 * bound the count and the bytes across the cluster; a hash of each conversation's owner (`owners`),
 * one sorted set per owner in save order (`o:<owner>`) and a hash of each owner's bytes (`obytes`)
 * bound each owner. One Lua script saves, forgets the expired and evicts as the port says
 * (`conversation-store.ts`: the owner's own oldest past its bounds, then the largest holder's
 * oldest past the totals), so the bounds hold whatever the instances do at once. Conversations
 * saved by a version without owners belong to none: they leave at their TTL.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
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
import { connectRedis, quitWithin } from './connect.js';

export interface RedisConversationStoreOptions extends ConversationStoreOptions {
  /** Key prefix shared by every instance of one cluster. @default 'troupe' */
  readonly prefix?: string;
}

// KEYS: 1 index, 2 sizes, 3 total, 4 expiries, 5 seq, 6 owners, 7 obytes.
// ARGV: 1 id, 2 record, 3 bytes, 4 now, 5 ttl, 6 maxConversations, 7 maxTotalBytes, 8 record key
// prefix, 9 owner, 10 owner key prefix, 11 and 12 the owner's bounds (`boundsOf`: count, bytes).
const SAVE = `
local function drop(id)
  local size = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  redis.call('DECRBY', KEYS[3], size)
  local owner = redis.call('HGET', KEYS[6], id)
  if owner then
    redis.call('HINCRBY', KEYS[7], owner, -size)
    redis.call('ZREM', ARGV[10] .. owner, id)
    if redis.call('ZCARD', ARGV[10] .. owner) == 0 then redis.call('HDEL', KEYS[7], owner) end
    redis.call('HDEL', KEYS[6], id)
  end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('DEL', ARGV[8] .. id)
end
-- The least recently saved conversation of the largest holder by count (or bytes); between holders
-- of one size, the one holding the least recently saved; none whose only conversation is the saved one.
local function largestHoldersOldest(byCount)
  local victim, size, seq = nil, -1, math.huge
  for _, owner in ipairs(redis.call('HKEYS', KEYS[7])) do
    local first = redis.call('ZRANGE', ARGV[10] .. owner, 0, 0, 'WITHSCORES')
    if #first > 0 and first[1] ~= ARGV[1] then
      local held
      if byCount then held = redis.call('ZCARD', ARGV[10] .. owner)
      else held = tonumber(redis.call('HGET', KEYS[7], owner)) end
      local at = tonumber(first[2])
      if held > size or (held == size and at < seq) then victim, size, seq = first[1], held, at end
    end
  end
  return victim
end
local now = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)) do drop(old) end
drop(ARGV[1])
local seq = redis.call('INCR', KEYS[5])
local mine = ARGV[10] .. ARGV[9]
redis.call('SET', ARGV[8] .. ARGV[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], seq, ARGV[1])
redis.call('ZADD', KEYS[4], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('INCRBY', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[6], ARGV[1], ARGV[9])
redis.call('ZADD', mine, seq, ARGV[1])
redis.call('HINCRBY', KEYS[7], ARGV[9], ARGV[3])
while redis.call('ZCARD', mine) > tonumber(ARGV[11]) or tonumber(redis.call('HGET', KEYS[7], ARGV[9])) > tonumber(ARGV[12]) do
  local oldest = redis.call('ZRANGE', mine, 0, 0)
  if #oldest == 0 or oldest[1] == ARGV[1] then break end
  drop(oldest[1])
end
while true do
  local byCount = redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[6])
  if not byCount and tonumber(redis.call('GET', KEYS[3]) or '0') <= tonumber(ARGV[7]) then break end
  local victim = largestHoldersOldest(byCount)
  if not victim then break end
  drop(victim)
end
return 1`;
// biome-ignore lint/plugin: our own script's text, ASCII; Redis's SCRIPT LOAD digests the same UTF-8 bytes
const SAVE_SHA = createHash('sha1').update(SAVE).digest('hex');

interface Stored {
  readonly messages: readonly ChatMessage[];
  readonly expiresAt: number;
  /** Each message's bytes as counted when it was saved (absent in records saved before they were kept). */
  readonly sizes?: readonly number[];
  /** The model the last turn was on (absent in records saved before it was kept, or saved without one). */
  readonly model?: ConversationModel;
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
    resolveConversationOptions(options); // a bad bound is refused before a connection is opened (it would stay open)
    const redis = await connectRedis(url, {
      purpose: 'for conversations',
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return new RedisConversationStore(redis, options, true);
  }

  async get(id: string): Promise<readonly ChatMessage[] | undefined> {
    return (await this.load(id))?.messages;
  }

  async load(id: string): Promise<StoredConversation | undefined> {
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
    const model = keptModel(stored.model);
    return model === undefined ? { messages } : { messages, model };
  }

  check(prior: readonly ChatMessage[], turn: readonly ChatMessage[]): TroupeError | undefined {
    return checkTurn(prior, turn, this.#options);
  }

  async save(
    messages: readonly ChatMessage[],
    id: string = randomUUID(),
    owner: ConversationOwner = SHARED_OWNER,
    model?: ConversationModel,
  ): Promise<string> {
    const trimmed = trimConversation(messages, this.#options);
    const now = this.#options.now();
    const { ttlMs, maxConversations, maxTotalBytes } = this.#options;
    const own = boundsOf(this.#options, owner);
    const kept = keptModel(model);
    const stored: Stored = {
      messages: trimmed.messages,
      expiresAt: now + ttlMs,
      sizes: trimmed.sizes,
      ...(kept === undefined ? {} : { model: kept }),
    };
    const args = [
      7,
      `${this.#prefix}:index`,
      `${this.#prefix}:sizes`,
      `${this.#prefix}:total`,
      `${this.#prefix}:expiries`,
      `${this.#prefix}:seq`,
      `${this.#prefix}:owners`,
      `${this.#prefix}:obytes`,
      id,
      JSON.stringify(stored),
      trimmed.bytes,
      now,
      ttlMs,
      maxConversations,
      maxTotalBytes,
      `${this.#prefix}:c:`,
      owner,
      `${this.#prefix}:o:`,
      own.conversations,
      own.bytes,
    ] as const;
    // By its hash (the script is 2.5 KB, sent and hashed again on every EVAL); a Redis that does
    // not know it yet (restarted, or a first save) gets it whole once.
    await this.#redis.evalsha(SAVE_SHA, ...args).catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.#redis.eval(SAVE, ...args);
    });
    return id;
  }

  /** Conversations and bytes held across the cluster (expired ones count until the next save). */
  async usage(): Promise<ConversationUsage> {
    const [count, total, bytesByOwner] = await Promise.all([
      this.#redis.zcard(`${this.#prefix}:index`),
      this.#redis.get(`${this.#prefix}:total`),
      this.#redis.hgetall(`${this.#prefix}:obytes`),
    ]);
    const owners = new Map<ConversationOwner, ConversationHolding>();
    for (const [owner, bytes] of Object.entries(bytesByOwner)) {
      const conversations = await this.#redis.zcard(`${this.#prefix}:o:${owner}`);
      owners.set(owner, { conversations, bytes: Number(bytes) });
    }
    return { conversations: count, bytes: Number(total ?? 0), owners };
  }

  async close(): Promise<void> {
    // Bounded: a Redis that stopped answering gets the connection dropped (this store has no onError).
    if (this.#ownsConnection) await quitWithin(this.#redis);
  }

  #recordKey(id: string): string {
    return `${this.#prefix}:c:${id}`;
  }
}
