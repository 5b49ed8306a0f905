/**
 * The MCP `TaskStore` on Redis, so a task created on one instance can be polled, awaited and
 * cancelled through any other. Records are plain JSON strings under `<prefix>:mcptasks:r:<id>`,
 * expiring in Redis a little after their TTL (`expiryGraceMs`) while every read checks the TTL
 * itself, so a record past it is never served. Three sorted sets keep the order (`index`, by a
 * shared sequence, for cursors and the bound), the finished tasks that may make room, and the
 * expiry times `sweep` reads. Changes go out on one pub/sub channel for `subscribe`.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { systemClock } from '../core/clock.js';
import { decodeCursor, encodeCursor, expired } from '../ports/task-cursor.js';
import {
  applyPatch,
  isTerminal,
  ownedBy,
  type TaskPage,
  type TaskPatch,
  type TaskRecord,
  type TaskStore,
} from '../ports/task-store.js';
import { reportError } from '../runtime/backend.js';
import { connectRedis, quitTimedOut, quitWithin } from './connect.js';

export interface RedisTaskStoreOptions {
  /** Key prefix shared by every instance of one cluster. @default 'troupe' */
  readonly prefix?: string;
  /** Most records held at once, across the cluster. @default 1000 */
  readonly maxTasks?: number;
  /** How long after its TTL Redis itself drops a record (clock skew between instances), in ms. @default 1000 */
  readonly expiryGraceMs?: number;
  /** How long an expiry stays visible to every instance's `sweep`, in ms. @default 60000 */
  readonly sweepWindowMs?: number;
  /** Current time in epoch ms. @default the system clock */
  readonly now?: () => number;
  /** Where failures nobody awaits go (a subscription Redis refused). @default a process warning */
  readonly onError?: (error: unknown) => void;
}

/** Adds a record, making room by dropping the oldest finished one; 0 when full of unfinished ones. */
const CREATE = `
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 then return 0 end
  redis.call('ZREM', KEYS[1], oldest[1])
  redis.call('ZREM', KEYS[2], oldest[1])
  redis.call('ZREM', KEYS[5], oldest[1])
  redis.call('DEL', ARGV[6] .. oldest[1])
end
local seq = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], seq, ARGV[4])
if ARGV[7] == '1' then redis.call('ZADD', KEYS[2], seq, ARGV[4]) end
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[4])
redis.call('PUBLISH', ARGV[8], ARGV[9])
return seq`;

/** Compare-and-set: writes the record only if nobody changed it since it was read. */
const UPDATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
if ARGV[3] == '1' then
  local seq = redis.call('ZSCORE', KEYS[2], ARGV[4])
  if seq then redis.call('ZADD', KEYS[3], seq, ARGV[4]) end
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`;

interface ChangeMessage {
  readonly origin: string;
  readonly record: TaskRecord;
}

export class RedisTaskStore implements TaskStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #maxTasks: number;
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
    this.#maxTasks = options.maxTasks ?? 1000;
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
    const redis = await connectRedis(url, {
      purpose: 'for MCP tasks',
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return new RedisTaskStore(redis, options, true);
  }

  async create(record: TaskRecord): Promise<boolean> {
    // Room first; what this drops is reported by the next `sweep`.
    this.#unreported.push(...(await this.#dropExpired()));
    const expireAt = record.createdAt + record.ttlMs;
    const seq = await this.#redis.eval(
      CREATE,
      5,
      this.#key('index'),
      this.#key('finished'),
      this.#key('seq'),
      this.#recordKey(record.taskId),
      this.#key('expiries'),
      this.#maxTasks,
      JSON.stringify(record),
      Math.max(1, expireAt - this.#now() + this.#graceMs),
      record.taskId,
      expireAt,
      `${this.#prefix}:r:`,
      isTerminal(record.status) ? '1' : '0',
      this.#key('changes'),
      this.#message(record),
    );
    if (Number(seq) === 0) return false;
    this.#emit(record);
    return true;
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
      const written = await this.#redis.eval(
        UPDATE,
        3,
        this.#recordKey(taskId),
        this.#key('index'),
        this.#key('finished'),
        read.raw,
        JSON.stringify(next),
        isTerminal(next.status) ? '1' : '0',
        taskId,
        this.#key('changes'),
        this.#message(next),
      );
      if (Number(written) === 1) {
        this.#emit(next);
        return next;
      }
    }
  }

  async list(options: { owner?: string; cursor?: string; limit: number }): Promise<TaskPage> {
    let after = options.cursor === undefined ? 0 : decodeCursor('r', options.cursor);
    const now = this.#now();
    const page: { record: TaskRecord; seq: number }[] = [];
    const batch = Math.max(options.limit + 1, 50);
    for (;;) {
      const ids = await this.#redis.zrangebyscore(
        this.#key('index'),
        `(${after}`,
        '+inf',
        'WITHSCORES',
        'LIMIT',
        0,
        batch,
      );
      if (ids.length === 0) break;
      const pairs: { id: string; seq: number }[] = [];
      for (let i = 0; i + 1 < ids.length; i += 2) pairs.push({ id: ids[i]!, seq: Number(ids[i + 1]) });
      const raws = await this.#redis.mget(...pairs.map((p) => this.#recordKey(p.id)));
      for (const [i, pair] of pairs.entries()) {
        const raw = raws[i];
        if (raw === null || raw === undefined) continue;
        const record = JSON.parse(raw) as TaskRecord;
        if (expired(record, now) || !ownedBy(record, options.owner)) continue;
        if (page.length === options.limit) {
          const last = page.at(-1);
          return {
            tasks: page.map((e) => e.record),
            ...(last === undefined ? {} : { nextCursor: encodeCursor('r', last.seq) }),
          };
        }
        page.push({ record, seq: pair.seq });
      }
      after = pairs.at(-1)!.seq;
    }
    return { tasks: page.map((e) => e.record) };
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
    const multi = this.#redis.multi();
    for (const id of due) {
      multi.zrem(this.#key('index'), id).zrem(this.#key('finished'), id).del(this.#recordKey(id));
    }
    // Expiries stay a while, so every instance's sweep sees them and aborts its own calls.
    multi.zremrangebyscore(this.#key('expiries'), '-inf', now - this.#windowMs);
    await multi.exec();
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

  #key(name: 'index' | 'finished' | 'seq' | 'expiries' | 'changes'): string {
    return `${this.#prefix}:${name}`;
  }

  #recordKey(taskId: string): string {
    return `${this.#prefix}:r:${taskId}`;
  }
}
