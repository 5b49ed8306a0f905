/**
 * The MCP `TaskStore` on Redis, so a task created on one instance can be polled, awaited and
 * cancelled through any other. Records are plain JSON strings under `<prefix>:mcptasks:r:<id>`,
 * expiring in Redis a little after their TTL (`expiryGraceMs`) while every read checks the TTL
 * itself, so a record past it is never served. A sorted set `index` keeps the order (by a shared
 * sequence, for cursors and the bound); `holders` counts each owner's records and `whose` names
 * each record's owner, and `done:<owner>` holds that owner's finished records, by sequence, that
 * may make room (`task-bounds.ts` says which); `expiries` keeps the expiry times `sweep` reads;
 * `cursorKey` seals `tasks/list`'s cursors (`redis-task-list.ts`).
 * Changes go out on one pub/sub channel for `subscribe`.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { systemClock } from '../core/clock.js';
import {
  holderOf,
  newResultBytes,
  type TaskBounds,
  TaskLimitError,
  taskBounds,
} from '../ports/task-bounds.js';
import {
  applyPatch,
  isTerminal,
  type TaskPage,
  type TaskPatch,
  type TaskRecord,
  type TaskStore,
} from '../ports/task-store.js';
import { reportError } from '../runtime/backend.js';
import { connectRedis, quitTimedOut, quitWithin } from './connect.js';
import { expired, listTasks } from './redis-task-list.js';

export interface RedisTaskStoreOptions {
  /** Key prefix shared by every instance of one cluster. @default 'troupe' */
  readonly prefix?: string;
  /** Most records held at once, across the cluster. @default 1000 */
  readonly maxTasks?: number;
  /** Most records held at once by one owner, across the cluster. @default a quarter of `maxTasks` */
  readonly maxTasksPerOwner?: number;
  /** Most bytes of results (their JSON) kept at once, across the cluster. @default 256 MiB */
  readonly maxResultBytes?: number;
  /** Most bytes of results kept at once for one owner, across the cluster. @default a quarter of `maxResultBytes` */
  readonly maxResultBytesPerOwner?: number;
  /** How long after its TTL Redis itself drops a record (clock skew between instances), in ms. @default 1000 */
  readonly expiryGraceMs?: number;
  /** How long an expiry stays visible to every instance's `sweep`, in ms. @default 60000 */
  readonly sweepWindowMs?: number;
  /** Current time in epoch ms. @default the system clock */
  readonly now?: () => number;
  /** Where failures nobody awaits go (a subscription Redis refused). @default a process warning */
  readonly onError?: (error: unknown) => void;
}

/**
 * Keys every script gets, in this order: the index (seq -> id), the holders (holder -> how many
 * records it holds), whose (id -> holder) and the expiries (id -> expiry). ARGV[1] is the prefix of
 * the other keys: `r:<id>` (the record), `done:<holder>` (its finished ids, by seq), and for the
 * results' bytes `size` (id -> bytes), `bytes` (holder -> bytes), `bytesTotal` and `kept:<holder>`
 * (its ids with a result, by seq).
 */
const DROP_FUNCTION = `
local function drop(id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', ARGV[1] .. 'r:' .. id)
  -- Once: a dropped id has no owner entry left, so a second drop counts nothing down again.
  local holder = redis.call('HGET', KEYS[3], id)
  if not holder then return end
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', ARGV[1] .. 'done:' .. holder, id)
  if tonumber(redis.call('ZINCRBY', KEYS[2], -1, holder)) <= 0 then redis.call('ZREM', KEYS[2], holder) end
  local size = redis.call('HGET', ARGV[1] .. 'size', id)
  if not size then return end
  redis.call('HDEL', ARGV[1] .. 'size', id)
  redis.call('ZREM', ARGV[1] .. 'kept:' .. holder, id)
  if redis.call('DECRBY', ARGV[1] .. 'bytesTotal', size) <= 0 then redis.call('DEL', ARGV[1] .. 'bytesTotal') end
  if tonumber(redis.call('ZINCRBY', ARGV[1] .. 'bytes', -tonumber(size), holder)) <= 0 then
    redis.call('ZREM', ARGV[1] .. 'bytes', holder)
  end
end
`;

/**
 * Adds a record after making room as `makeRoom` (src/ports/task-bounds.ts) says: its two steps line
 * for line, over the same ledger (`ZCARD index`, `ZSCORE holders`, the first of `done:<holder>`,
 * `ZREVRANGE holders`). Returns the seq, or -1 (the owner is full of unfinished tasks) or -2 (the
 * store is).
 */
const CREATE = `${DROP_FUNCTION}
local holder = ARGV[10]
-- 1. Per owner: the owner's oldest finished task makes room; none finished: refused.
if ARGV[9] == '1' and tonumber(redis.call('ZSCORE', KEYS[2], holder) or '0') >= tonumber(ARGV[3]) then
  local own = redis.call('ZRANGE', ARGV[1] .. 'done:' .. holder, 0, 0)
  if #own == 0 then return -1 end
  drop(own[1])
  redis.call('ZREM', KEYS[4], own[1])
-- 2. Whole store: the oldest finished task of the largest holder that has one.
elseif redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local victim, victimSeq, victimCount = nil, nil, 0
  local holders = redis.call('ZREVRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #holders, 2 do
    local count = tonumber(holders[i + 1])
    if count < victimCount then break end
    local oldest = redis.call('ZRANGE', ARGV[1] .. 'done:' .. holders[i], 0, 0, 'WITHSCORES')
    if #oldest > 0 and (victim == nil or tonumber(oldest[2]) < victimSeq) then
      victim, victimSeq, victimCount = oldest[1], tonumber(oldest[2]), count
    end
  end
  if victim == nil then return -2 end
  drop(victim)
  redis.call('ZREM', KEYS[4], victim)
end
local seq = redis.call('INCR', KEYS[5])
redis.call('SET', ARGV[1] .. 'r:' .. ARGV[6], ARGV[4], 'PX', ARGV[5])
redis.call('ZADD', KEYS[1], seq, ARGV[6])
redis.call('HSET', KEYS[3], ARGV[6], holder)
redis.call('ZINCRBY', KEYS[2], 1, holder)
if ARGV[8] == '1' then redis.call('ZADD', ARGV[1] .. 'done:' .. holder, seq, ARGV[6]) end
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[6])
redis.call('PUBLISH', ARGV[11], ARGV[12])
return seq`;

/** Drops the records named in ARGV[3..] (expired ones) and forgets the expiries up to ARGV[2]. */
const DROP = `${DROP_FUNCTION}
for i = 3, #ARGV do drop(ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[2])
return 1`;

/**
 * Compare-and-set: writes the record (KEYS[5]) only if nobody changed it since it was read. A
 * result it gets for the first time (ARGV[8] bytes, more than 0) is kept after making room as
 * `resultVictim` (src/ports/task-bounds.ts) says: its two steps line for line.
 */
const UPDATE = `${DROP_FUNCTION}
if redis.call('GET', KEYS[5]) ~= ARGV[2] then return 0 end
local id, bytes = ARGV[5], tonumber(ARGV[8])
local seq = redis.call('ZSCORE', KEYS[1], id)
local holder = redis.call('HGET', KEYS[3], id)
if bytes > 0 and seq and holder then
  local function kept(h) return tonumber(redis.call('ZSCORE', ARGV[1] .. 'bytes', h) or '0') end
  local function total() return tonumber(redis.call('GET', ARGV[1] .. 'bytesTotal') or '0') end
  while true do
    local victim, from = nil, holder
    if ARGV[9] == '1' and kept(holder) + bytes > tonumber(ARGV[10]) then
      -- 1. Per owner: the owner's oldest kept result.
      victim = redis.call('ZRANGE', ARGV[1] .. 'kept:' .. holder, 0, 0)[1]
    elseif total() + bytes > tonumber(ARGV[11]) then
      -- 2. Whole store: the oldest kept result of the holder keeping the most.
      local top = redis.call('ZREVRANGE', ARGV[1] .. 'bytes', 0, 0, 'WITHSCORES')
      local victimSeq = nil
      if #top > 0 then
        for _, h in ipairs(redis.call('ZRANGEBYSCORE', ARGV[1] .. 'bytes', top[2], top[2])) do
          local oldest = redis.call('ZRANGE', ARGV[1] .. 'kept:' .. h, 0, 0, 'WITHSCORES')
          if #oldest > 0 and (victim == nil or tonumber(oldest[2]) < victimSeq) then
            victim, victimSeq, from = oldest[1], tonumber(oldest[2]), h
          end
        end
      end
    end
    if victim == nil then break end
    drop(victim)
    redis.call('ZREM', KEYS[4], victim)
    -- Gone from its set even where the keys disagree (an id kept but no longer indexed): the loop ends.
    redis.call('ZREM', ARGV[1] .. 'kept:' .. from, victim)
  end
  redis.call('HSET', ARGV[1] .. 'size', id, bytes)
  redis.call('ZADD', ARGV[1] .. 'kept:' .. holder, seq, id)
  redis.call('ZINCRBY', ARGV[1] .. 'bytes', bytes, holder)
  redis.call('INCRBY', ARGV[1] .. 'bytesTotal', bytes)
end
redis.call('SET', KEYS[5], ARGV[3], 'KEEPTTL')
if ARGV[4] == '1' and seq and holder then redis.call('ZADD', ARGV[1] .. 'done:' .. holder, seq, id) end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1`;

interface ChangeMessage {
  readonly origin: string;
  readonly record: TaskRecord;
}

export class RedisTaskStore implements TaskStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #bounds: TaskBounds;
  readonly #graceMs: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  readonly #origin = randomUUID();
  readonly #listeners = new Set<(record: TaskRecord) => void>();
  #subscriber: Redis | undefined;
  /** Expiries up to here were already reported by this instance's `sweep`. */
  #sweptTo = Number.NEGATIVE_INFINITY;
  /** Expired ids `create` dropped since the last `sweep`: it reports them. */
  #unreported: string[] = [];
  readonly #ownsConnection: boolean;

  /** Uses `redis` for commands and a duplicate of it for `subscribe`; `close` leaves `redis` open. */
  constructor(redis: Redis, options: RedisTaskStoreOptions = {}, ownsConnection = false) {
    this.#redis = redis;
    this.#prefix = `${options.prefix ?? 'troupe'}:mcptasks`;
    this.#bounds = taskBounds(options);
    this.#graceMs = options.expiryGraceMs ?? 1000;
    this.#windowMs = options.sweepWindowMs ?? 60_000;
    this.#now = options.now ?? (() => systemClock.now());
    this.#onError = options.onError ?? reportError;
    this.#ownsConnection = ownsConnection;
  }

  /** Connects first, so a wrong URL or a Redis that is down is a clear error at start. */
  static async connect(
    url: string,
    options: RedisTaskStoreOptions & { readonly connectTimeoutMs?: number } = {},
  ): Promise<RedisTaskStore> {
    taskBounds(options); // a bad bound is refused before a connection is opened (it would stay open)
    const redis = await connectRedis(url, {
      purpose: 'for MCP tasks',
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return new RedisTaskStore(redis, options, true);
  }

  async create(record: TaskRecord): Promise<void> {
    // Room first; what this drops is reported by the next `sweep`.
    this.#unreported.push(...(await this.#dropExpired()));
    const expireAt = record.createdAt + record.ttlMs;
    const seq = await this.#redis.eval(
      CREATE,
      5,
      ...this.#keys(),
      this.#key('seq'),
      `${this.#prefix}:`,
      this.#bounds.maxTasks,
      this.#bounds.maxTasksPerOwner,
      JSON.stringify(record),
      Math.max(1, expireAt - this.#now() + this.#graceMs),
      record.taskId,
      expireAt,
      isTerminal(record.status) ? '1' : '0',
      record.owner === undefined ? '0' : '1',
      holderOf(record.owner),
      this.#key('changes'),
      this.#message(record),
    );
    if (Number(seq) === -1) throw new TaskLimitError('owner', this.#bounds.maxTasksPerOwner);
    if (Number(seq) === -2) throw new TaskLimitError('store', this.#bounds.maxTasks);
    this.#emit(record);
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return (await this.#read(taskId))?.record;
  }

  async update(taskId: string, patch: TaskPatch): Promise<TaskRecord | undefined> {
    // Optimistic: re-read and retry when another instance changed the record in between.
    for (;;) {
      const read = await this.#read(taskId);
      if (read === undefined) return undefined;
      const next = applyPatch(read.record, patch, this.#now());
      if (next === read.record) return next;
      const bytes = newResultBytes(read.record, next, this.#bounds);
      const written = await this.#redis.eval(
        UPDATE,
        5,
        ...this.#keys(),
        this.#recordKey(taskId),
        `${this.#prefix}:`,
        read.raw,
        JSON.stringify(next),
        isTerminal(next.status) ? '1' : '0',
        taskId,
        this.#key('changes'),
        this.#message(next),
        bytes,
        next.owner === undefined ? '0' : '1',
        this.#bounds.maxResultBytesPerOwner,
        this.#bounds.maxResultBytes,
      );
      if (Number(written) === 1) {
        this.#emit(next);
        return next;
      }
    }
  }

  list(options: { owner?: string; cursor?: string; limit: number }): Promise<TaskPage> {
    const keys = { redis: this.#redis, index: this.#key('index'), cursorKey: this.#key('cursorKey') };
    return listTasks(
      { ...keys, now: () => this.#now(), recordKey: (taskId) => this.#recordKey(taskId) },
      options,
    );
  }

  async sweep(): Promise<readonly string[]> {
    const due = await this.#dropExpired();
    const gone = this.#unreported.length === 0 ? due : [...this.#unreported, ...due];
    this.#unreported = [];
    return gone;
  }

  /** Drops the records that expired since the last look, and returns their ids. */
  async #dropExpired(): Promise<string[]> {
    const now = this.#now();
    const from = Number.isFinite(this.#sweptTo) ? `(${this.#sweptTo}` : '-inf';
    const due = await this.#redis.zrangebyscore(this.#key('expiries'), from, now);
    this.#sweptTo = now;
    // Expiries stay a while, so every instance's sweep sees them and aborts its own calls.
    await this.#redis.eval(DROP, 4, ...this.#keys(), `${this.#prefix}:`, now - this.#windowMs, ...due);
    return due;
  }

  subscribe(listener: (record: TaskRecord) => void): () => void {
    this.#listeners.add(listener);
    this.#listen();
    return () => this.#listeners.delete(listener);
  }

  /** Stops listening; closes the connection too when `connect` opened it. */
  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    if (this.#ownsConnection && !(await quitWithin(this.#redis)))
      this.#onError(quitTimedOut('for MCP tasks'));
  }

  async #read(taskId: string): Promise<{ raw: string; record: TaskRecord } | undefined> {
    const raw = await this.#redis.get(this.#recordKey(taskId));
    if (raw === null) return undefined;
    const record = JSON.parse(raw) as TaskRecord;
    return expired(record, this.#now()) ? undefined : { raw, record };
  }

  /** One subscriber connection, opened on the first `subscribe`; changes made here are emitted directly. */
  #listen(): void {
    if (this.#subscriber !== undefined) return;
    const subscriber = this.#redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => {});
    subscriber.on('message', (_channel: string, text: string) => {
      const message = JSON.parse(text) as ChangeMessage;
      if (message.origin !== this.#origin) this.#emit(message.record);
    });
    subscriber.subscribe(this.#key('changes')).catch(this.#onError);
    this.#subscriber = subscriber;
  }

  #emit(record: TaskRecord): void {
    for (const listener of this.#listeners) listener(record);
  }

  #message(record: TaskRecord): string {
    return JSON.stringify({ origin: this.#origin, record } satisfies ChangeMessage);
  }

  #key(name: 'index' | 'holders' | 'whose' | 'seq' | 'expiries' | 'changes' | 'cursorKey'): string {
    return `${this.#prefix}:${name}`;
  }

  /** The keys every script gets first (see `DROP_FUNCTION`). */
  #keys(): [string, string, string, string] {
    return [this.#key('index'), this.#key('holders'), this.#key('whose'), this.#key('expiries')];
  }

  #recordKey(taskId: string): string {
    return `${this.#prefix}:r:${taskId}`;
  }
}
