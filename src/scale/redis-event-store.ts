/**
 * The event store for resumable Streamable HTTP streams on Redis (`troupe serve --redis`): every SSE
 * event an instance sends is kept in Redis, so a client that lost its stream can reconnect with
 * `Last-Event-ID` to any instance and receive what it missed.
 *
 * One Redis list per stream, `<prefix>:mcp-events:s:<streamId>`, of `<seq>\n<message JSON>` entries;
 * an event's id is `<streamId>|<seq>`, `seq` 32 random hex digits. Until 2026-12-05 it was one `INCR`
 * shared by the cluster, so every client read off its own ids how many events all the others' streams
 * had (the in-memory store's ids were the same count, `event-store.ts`). Bounded:
 * - each stream keeps its last `maxEventsPerStream` events (`LTRIM`);
 * - each caller (the owner `storeEvent` is told: `sessionEventStore` passes the session's token
 *   name; the sessions opened without a token are one caller here, `anonymous`, since this store
 *   has no bound across callers that would hold their number) holds at most `maxBytesPerCaller`,
 *   counted as the bytes of each event's entry and of its line in the caller's index, across all
 *   its streams and sessions, so opening more of them gets a client nothing; past it the caller's
 *   own oldest events go (one list per caller in store order, `<prefix>:mcp-events:o:<caller>`, and
 *   its byte count, `...:ob:<caller>`).
 *   An event over the bound alone is not kept, nor anything its caller stored before it;
 * - a stream nobody writes to expires after `ttlMs`, and a caller's index and count after its last
 *   event (`PEXPIRE` on every write), so nothing outlives the count that bounds it.
 * A caller loses events oldest first and a stream its oldest (`LTRIM`), so a replay never skips one:
 * a `Last-Event-ID` past any bound is refused (`UnknownEventError`), and the client should call
 * again. An event trimmed by `LTRIM` still counts for its caller until its index line is reached.
 * Storing is one Lua script, one round trip, atomic whatever the instances do at once.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type Clock, settlesWithin, systemClock } from '../core/clock.js';
import {
  boundedOwner,
  type EventId,
  isReplayable,
  type JSONRPCMessage,
  type OwnedEventStore,
  type StreamId,
  UnknownEventError,
} from '../ports/event-store.js';
import { connectRedis, quitWithin } from './connect.js';

export interface RedisEventStoreOptions {
  /** Key prefix shared by every instance of one cluster. @default 'troupe' */
  readonly prefix?: string;
  /** Most events kept per stream; the oldest go first. @default 1000 */
  readonly maxEventsPerStream?: number;
  /** How long a stream's events live after its last event, in ms. @default 900000 (15 min) */
  readonly ttlMs?: number;
  /** Most bytes one caller's events take, across all its streams; its oldest go first. @default 16777216 (16 MiB) */
  readonly maxBytesPerCaller?: number;
  /**
   * How long storing an event may wait for Redis, in ms. Past it, or when Redis refuses (down,
   * full), the event goes out unstored: its stream goes on, but cannot resume from it. @default 1000
   */
  readonly storeTimeoutMs?: number;
  /** Hears the first failure to store an event of each outage. */
  readonly onError?: (error: unknown) => void;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * KEYS: stream list, caller's index, caller's byte count. ARGV: message JSON, events per stream, ttl,
 * bytes per caller, stream key prefix, stream id, the event's `seq`. Returns the `seq`.
 * An index line is `<bytes>\n<seq>\n<stream id>`; an evicted event leaves its stream only when it
 * is still that stream's oldest (`LTRIM` may have taken it already).
 */
const STORE = `local seq = ARGV[7]
local entry = seq .. '\\n' .. ARGV[1]
local line = seq .. '\\n' .. ARGV[6]
local size = #entry + #line
redis.call('RPUSH', KEYS[1], entry)
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('RPUSH', KEYS[2], size .. '\\n' .. line)
local held = redis.call('INCRBY', KEYS[3], size)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
while held > tonumber(ARGV[4]) do
  local old = redis.call('LPOP', KEYS[2])
  if not old then
    redis.call('DEL', KEYS[3])
    break
  end
  local a = string.find(old, '\\n', 1, true)
  local b = string.find(old, '\\n', a + 1, true)
  local oldSeq = string.sub(old, a + 1, b - 1)
  local stream = ARGV[5] .. string.sub(old, b + 1)
  local head = redis.call('LINDEX', stream, 0)
  if head and string.sub(head, 1, #oldSeq + 1) == oldSeq .. '\\n' then redis.call('LPOP', stream) end
  held = redis.call('DECRBY', KEYS[3], tonumber(string.sub(old, 1, a - 1)))
end
return seq`;

const SEPARATOR = '|';

/** The sequence part of an event that could not be stored: not hex digits, so no replay knows it. */
const UNSTORED = 'unstored';

export class RedisEventStore implements OwnedEventStore {
  readonly maxEventsPerStream: number;
  readonly ttlMs: number;
  readonly maxBytesPerCaller: number;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ownsConnection: boolean;
  readonly #storeTimeoutMs: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #clock: Clock;
  /** An event could not be stored since the last one that was: the outage is reported once. */
  #failing = false;

  /** Uses `redis` for commands; `close` leaves it open unless `connect` opened it. */
  constructor(redis: Redis, options: RedisEventStoreOptions = {}, ownsConnection = false) {
    this.#redis = redis;
    this.#prefix = `${options.prefix ?? 'troupe'}:mcp-events`;
    const b = bounds(options);
    this.maxEventsPerStream = b.maxEventsPerStream;
    this.ttlMs = b.ttlMs;
    this.maxBytesPerCaller = b.maxBytesPerCaller;
    this.#ownsConnection = ownsConnection;
    this.#storeTimeoutMs = positive('storeTimeoutMs', options.storeTimeoutMs ?? 1000);
    this.#onError = options.onError;
    this.#clock = options.clock ?? systemClock;
  }

  /** Connects first, so a wrong URL or a Redis that is down is a clear error at start. */
  static async connect(
    url: string,
    options: RedisEventStoreOptions & { readonly connectTimeoutMs?: number } = {},
  ): Promise<RedisEventStore> {
    bounds(options); // a bad bound is refused before a connection is opened (it would stay open)
    const redis = await connectRedis(url, {
      purpose: 'for resumable streams',
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return new RedisEventStore(redis, options, true);
  }

  /**
   * Stores `message` as `owner`'s (absent: one shared owner), then holds `owner` to its bytes. A
   * Redis that refuses or does not answer within `storeTimeoutMs` does not fail the request the
   * event belongs to (the SDK answered every POST with a 400 "Parse error" then, and waited on a
   * frozen Redis without a bound): the event gets an id no replay knows, and the stream goes on.
   */
  async storeEvent(streamId: StreamId, message: JSONRPCMessage, owner = ''): Promise<EventId> {
    let failure: unknown;
    const storing = this.#store(streamId, message, owner).catch((error: unknown) => {
      failure = error;
      return undefined;
    });
    const id = (await settlesWithin(this.#clock, storing, this.#storeTimeoutMs)) ? await storing : undefined;
    if (id !== undefined) {
      this.#failing = false;
      return id;
    }
    if (!this.#failing) {
      this.#failing = true;
      const why = failure === undefined ? `no answer within ${this.#storeTimeoutMs} ms` : String(failure);
      this.#onError?.(
        new Error(
          `Expected Redis to store an event of a resumable stream, got ${why}; streams go on unstored`,
        ),
      );
    }
    return `${streamId}${SEPARATOR}${UNSTORED}`;
  }

  async #store(streamId: StreamId, message: JSONRPCMessage, owner: string): Promise<EventId> {
    const holder = boundedOwner(owner);
    const seq = await this.#redis.eval(
      STORE,
      3,
      this.#streamKey(streamId),
      `${this.#prefix}:o:${holder}`,
      `${this.#prefix}:ob:${holder}`,
      JSON.stringify(message),
      this.maxEventsPerStream,
      this.ttlMs,
      this.maxBytesPerCaller,
      this.#streamKey(''),
      streamId,
      randomBytes(16).toString('hex'),
    );
    return `${streamId}${SEPARATOR}${String(seq)}`;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const parsed = parseEventId(eventId);
    if (parsed === undefined) return undefined;
    return (await this.#redis.exists(this.#streamKey(parsed.streamId))) === 1 ? parsed.streamId : undefined;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const parsed = parseEventId(lastEventId);
    if (parsed === undefined) throw new UnknownEventError(lastEventId);
    const entries = await this.#redis.lrange(this.#streamKey(parsed.streamId), 0, -1);
    const events = entries.map((entry) => {
      const newline = entry.indexOf('\n');
      return { seq: entry.slice(0, newline), json: entry.slice(newline + 1) };
    });
    const at = events.findIndex((event) => event.seq === parsed.seq);
    if (at < 0) throw new UnknownEventError(lastEventId);
    for (const event of events.slice(at + 1)) {
      const message = JSON.parse(event.json) as JSONRPCMessage;
      if (isReplayable(message)) await send(`${parsed.streamId}${SEPARATOR}${event.seq}`, message);
    }
    return parsed.streamId;
  }

  async close(): Promise<void> {
    // Bounded: a Redis that stopped answering gets the connection dropped (this store has no onError).
    if (this.#ownsConnection) await quitWithin(this.#redis);
  }

  #streamKey(streamId: StreamId): string {
    return `${this.#prefix}:s:${streamId}`;
  }
}

function parseEventId(eventId: string): { streamId: string; seq: string } | undefined {
  const at = eventId.lastIndexOf(SEPARATOR);
  const seq = eventId.slice(at + 1);
  // Hex: a number stored before 2026-12-05 (one `INCR`) still resumes.
  if (at <= 0 || !/^[0-9a-f]+$/.test(seq)) return undefined;
  return { streamId: eventId.slice(0, at), seq };
}

function bounds(options: RedisEventStoreOptions) {
  return {
    maxEventsPerStream: positive('maxEventsPerStream', options.maxEventsPerStream ?? 1000),
    ttlMs: positive('ttlMs', options.ttlMs ?? 900_000),
    maxBytesPerCaller: positive('maxBytesPerCaller', options.maxBytesPerCaller ?? 16 * 1024 * 1024),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  return value;
}
