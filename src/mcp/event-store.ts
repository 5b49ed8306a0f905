/**
 * A bounded in-memory `EventStore` for resumable Streamable HTTP streams (2025-era sessions): every
 * SSE event the transport sends gets an id, and a client that reconnects with `Last-Event-ID`
 * receives the events of that stream it missed.
 *
 * The bound is a count of events across all streams (`maxEvents`); past it the oldest events are
 * dropped first. A client that resumes from a dropped event gets an error and should call again
 * (for a long call: poll it as a task). Events live in this process only; in cluster mode
 * (`--redis`) `troupe serve` uses `RedisEventStore` (src/scale/redis-event-store.ts) instead.
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
}

interface Stored {
  readonly streamId: StreamId;
  readonly message: JSONRPCMessage;
}

export class MemoryEventStore implements EventStore {
  readonly maxEvents: number;
  /** Insertion order is event order, so the first key is the oldest event. */
  readonly #events = new Map<EventId, Stored>();
  #seq = 0;

  constructor(options: MemoryEventStoreOptions = {}) {
    const max = options.maxEvents ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Expected \`maxEvents\` to be a positive integer, got ${String(max)}`);
    }
    this.maxEvents = max;
  }

  get size(): number {
    return this.#events.size;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    this.#seq += 1;
    const eventId = `${streamId}_${this.#seq}`;
    this.#events.set(eventId, { streamId, message });
    while (this.#events.size > this.maxEvents) {
      const oldest = this.#events.keys().next().value as EventId;
      this.#events.delete(oldest);
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
      if (after && stored.streamId === last.streamId && isReplayable(stored.message)) {
        missed.push([eventId, stored.message]);
      }
      if (eventId === lastEventId) after = true;
    }
    for (const [eventId, message] of missed) await send(eventId, message);
    return last.streamId;
  }
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
