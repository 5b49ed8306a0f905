/**
 * A bounded in-memory `EventStore` for resumable Streamable HTTP streams (2025-era sessions): every
 * SSE event the transport sends gets an id, and a client that reconnects with `Last-Event-ID`
 * receives the events of that stream it missed.
 *
 * Two bounds across all streams, whichever is reached first: a count of events (`maxEvents`) and
 * the bytes of their JSON (`maxBytes`); past either the oldest events are dropped first. The bytes
 * bound matters because a client chooses how large an answer is (a `review` prompt echoes its
 * `content`, a chat answer its model's output): 10,000 events of a 4 MiB body each would be 40 GB.
 * Events are kept as their JSON text, which is what the bound counts. A client that resumes from
 * a dropped event gets an error and should call again (for a long call: poll it as a task).
 * Events live in this process only; in cluster mode (`--redis`) `troupe serve` uses
 * `RedisEventStore` (src/scale/redis-event-store.ts) instead.
 */
import type { ServerResponse } from 'node:http';
import {
  type EventId,
  type EventStore,
  isReplayable,
  type JSONRPCMessage,
  type StreamId,
  UnknownEventError,
} from '../ports/event-store.js';

export { UnknownEventError };

export interface MemoryEventStoreOptions {
  /** Most events kept across all streams; the oldest go first. @default 10000 */
  readonly maxEvents?: number;
  /** Most bytes of event JSON kept across all streams; the oldest go first. @default 67108864 (64 MiB) */
  readonly maxBytes?: number;
}

interface Stored {
  readonly streamId: StreamId;
  /** The message as JSON: what the byte bound counts, parsed back only to replay. */
  readonly json: string;
  readonly bytes: number;
}

export class MemoryEventStore implements EventStore {
  readonly maxEvents: number;
  readonly maxBytes: number;
  /** Insertion order is event order, so the first key is the oldest event. */
  readonly #events = new Map<EventId, Stored>();
  #bytes = 0;
  #seq = 0;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.maxEvents = positiveInteger('maxEvents', options.maxEvents ?? 10_000);
    this.maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 64 * 1024 * 1024);
  }

  get size(): number {
    return this.#events.size;
  }

  /** Bytes of event JSON held now. */
  get bytes(): number {
    return this.#bytes;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.#seq += 1;
    const eventId = `${streamId}_${this.#seq}`;
    const json = JSON.stringify(message);
    const bytes = Buffer.byteLength(json);
    this.#events.set(eventId, { streamId, json, bytes });
    this.#bytes += bytes;
    // The new event goes too when it alone is over `maxBytes`: resuming from it is then refused.
    while (this.#events.size > this.maxEvents || this.#bytes > this.maxBytes) {
      const [oldest, stored] = this.#events.entries().next().value as [EventId, Stored];
      this.#events.delete(oldest);
      this.#bytes -= stored.bytes;
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.#events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.#events.get(lastEventId);
    if (last === undefined) throw new UnknownEventError(lastEventId);
    const missed: [EventId, JSONRPCMessage][] = [];
    let after = false;
    for (const [eventId, stored] of this.#events) {
      if (after && stored.streamId === last.streamId) {
        const message = JSON.parse(stored.json) as JSONRPCMessage;
        if (isReplayable(message)) missed.push([eventId, message]);
      }
      if (eventId === lastEventId) after = true;
    }
    for (const [eventId, message] of missed) await send(eventId, message);
    return last.streamId;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * One MCP session's view of a shared store: its streams are kept as `<sessionId>/<caller>/<streamId>`
 * (`caller`: the name of the token that opened the session), and a `Last-Event-ID` of another
 * session's stream, or of this session's under another token, is unknown here. Without it the SDK's
 * standalone GET stream (`_GET_stream`, the same id in every session) would replay one session's
 * notifications to another, and a leaked session id would let any token resume its streams.
 */
export function sessionEventStore(store: EventStore, sessionId: string, caller: string): EventStore {
  const prefix = `${sessionId}/${encodeURIComponent(caller)}/`;
  const own = async (eventId: EventId): Promise<StreamId | undefined> => {
    const streamId = await store.getStreamIdForEventId?.(eventId);
    return streamId?.startsWith(prefix) ? streamId.slice(prefix.length) : undefined;
  };
  return {
    storeEvent: (streamId, message) => store.storeEvent(`${prefix}${streamId}`, message),
    getStreamIdForEventId: own,
    async replayEventsAfter(lastEventId, callbacks) {
      if ((await own(lastEventId)) === undefined) throw new UnknownEventError(lastEventId);
      return (await store.replayEventsAfter(lastEventId, callbacks)).slice(prefix.length);
    },
  };
}

/**
 * A `GET` with `Last-Event-ID` for a session this instance does not hold (it lives on another
 * instance of the cluster): replays what the shared store has after that event as SSE, with the
 * `retry` field, and ends the response, so the client reconnects from its newest event id (SSE
 * polling). `false` when the event is not one of that session's streams under `caller`'s token.
 */
export async function replayForeignSession(
  store: EventStore,
  sessionId: string,
  caller: string,
  lastEventId: string,
  res: ServerResponse,
  retryMs: number,
): Promise<boolean> {
  const scoped = sessionEventStore(store, sessionId, caller);
  if ((await scoped.getStreamIdForEventId?.(lastEventId)) === undefined) return false;
  const chunks: string[] = [`retry: ${retryMs}\n\n`];
  try {
    await scoped.replayEventsAfter(lastEventId, {
      send: async (eventId, message) => {
        chunks.push(`id: ${eventId}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`);
      },
    });
  } catch (error) {
    if (error instanceof UnknownEventError) return false;
    throw error;
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache, no-transform',
    'mcp-session-id': sessionId,
  });
  res.end(chunks.join(''));
  return true;
}
