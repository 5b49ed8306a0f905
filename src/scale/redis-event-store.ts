/**
 * The event store for resumable Streamable HTTP streams on Redis (`troupe serve --redis`): every SSE
 * event an instance sends is kept in Redis, so a client that lost its stream can reconnect with
 * `Last-Event-ID` to any instance and receive what it missed.
 *
 * One Redis list per stream, `<prefix>:mcp-events:s:<streamId>`, of `<seq>\n<message JSON>` entries;
 * an event's id is `<streamId>|<seq>`, the sequence one `INCR` shared by the cluster. Bounded: each
 * stream keeps its last `maxEventsPerStream` events (`LTRIM`), and a stream nobody writes to expires
 * after `ttlMs` (`PEXPIRE` on every write). A `Last-Event-ID` past either bound is refused
 * (`UnknownEventError`), and the client should call again. Storing is one Lua script, one round trip.
 */
import type { Redis } from 'ioredis';
import {
  type EventId,
  type EventStore,
  isReplayable,
  type JSONRPCMessage,
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
}

/** KEYS: sequence, stream list. ARGV: message JSON, cap, ttl. Returns the event's sequence number. */
const STORE = `local seq = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], seq .. '\\n' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return seq`;

const SEPARATOR = '|';

export class RedisEventStore implements EventStore {
  readonly maxEventsPerStream: number;
  readonly ttlMs: number;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ownsConnection: boolean;

  /** Uses `redis` for commands; `close` leaves it open unless `connect` opened it. */
  constructor(redis: Redis, options: RedisEventStoreOptions = {}, ownsConnection = false) {
    this.#redis = redis;
    this.#prefix = `${options.prefix ?? 'troupe'}:mcp-events`;
    this.maxEventsPerStream = positive('maxEventsPerStream', options.maxEventsPerStream ?? 1000);
    this.ttlMs = positive('ttlMs', options.ttlMs ?? 900_000);
    this.#ownsConnection = ownsConnection;
  }

  /** Connects first, so a wrong URL or a Redis that is down is a clear error at start. */
  static async connect(
    url: string,
    options: RedisEventStoreOptions & { readonly connectTimeoutMs?: number } = {},
  ): Promise<RedisEventStore> {
    const redis = await connectRedis(url, {
      purpose: 'for resumable streams',
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    return new RedisEventStore(redis, options, true);
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const seq = await this.#redis.eval(
      STORE,
      2,
      `${this.#prefix}:seq`,
      this.#streamKey(streamId),
      JSON.stringify(message),
      this.maxEventsPerStream,
      this.ttlMs,
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
  if (at <= 0 || !/^\d+$/.test(seq)) return undefined;
  return { streamId: eventId.slice(0, at), seq };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  return value;
}
