/**
 * The event store port for resumable Streamable HTTP streams (2025-era sessions): the MCP SDK's
 * `EventStore`, which the transport calls to give every SSE event an id (`storeEvent`, a priming
 * event first) and to replay what followed a `Last-Event-ID` (`replayEventsAfter`). Implemented in
 * this process (`MemoryEventStore`, src/mcp/event-store.ts) and on Redis (`RedisEventStore`,
 * src/scale/redis-event-store.ts), where a client may resume on any instance. Every store is bounded.
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

export type { EventId, EventStore, JSONRPCMessage, StreamId };

export class UnknownEventError extends Error {
  constructor(eventId: string) {
    super(
      `Expected a Last-Event-ID this server still holds, got "${eventId}": unknown, or dropped past the event store's bound`,
    );
    this.name = 'UnknownEventError';
  }
}

/** Priming events are stored as `{}` to hold an id; they carry nothing to replay. */
export function isReplayable(message: JSONRPCMessage): boolean {
  return Object.keys(message).length > 0;
}
