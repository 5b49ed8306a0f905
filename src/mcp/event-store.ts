/**
 * A bounded in-memory `EventStore` for resumable Streamable HTTP streams (2025-era sessions): every
 * SSE event the transport sends gets an id, and a client that reconnects with `Last-Event-ID`
 * receives the events of that stream it missed.
 *
 * The bound is a count of events across all streams (`maxEvents`); past it the oldest events are
 * dropped first. A client that resumes from a dropped event gets an error and should call again
 * (for a long call: poll it as a task). Events live in this process only: in cluster mode a client
 * must reconnect to the instance that served its session, which the `Mcp-Session-Id` requires anyway.
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

export interface MemoryEventStoreOptions {
  /** Most events kept across all streams; the oldest go first. @default 10000 */
  readonly maxEvents?: number;
}

interface Stored {
  readonly streamId: StreamId;
  readonly message: JSONRPCMessage;
}

export class UnknownEventError extends Error {
  constructor(eventId: string) {
    super(
      `Expected a Last-Event-ID this server still holds, got "${eventId}": unknown, or dropped past the event store's bound`,
    );
    this.name = 'UnknownEventError';
  }
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
      if (after && stored.streamId === last.streamId && isMessage(stored.message)) {
        missed.push([eventId, stored.message]);
      }
      if (eventId === lastEventId) after = true;
    }
    for (const [eventId, message] of missed) await send(eventId, message);
    return last.streamId;
  }
}

/** Priming events are stored as `{}` to hold an id; they carry nothing to replay. */
function isMessage(message: JSONRPCMessage): boolean {
  return Object.keys(message).length > 0;
}
