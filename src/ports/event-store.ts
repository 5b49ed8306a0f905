/**
 * The event store port for resumable Streamable HTTP streams (2025-era sessions): the MCP SDK's
 * `EventStore`, which the transport calls to give every SSE event an id (`storeEvent`, a priming
 * event first) and to replay what followed a `Last-Event-ID` (`replayEventsAfter`). Implemented in
 * this process (`MemoryEventStore`, src/mcp/event-store.ts) and on Redis (`RedisEventStore`,
 * src/scale/redis-event-store.ts), where a client may resume on any instance. Every store is bounded.
 *
 * The HTTP front stores each event with its caller (`OwnedEventStore`, the name of the token that
 * opened the session), so a store can bound callers against each other: in memory no caller's burst
 * evicts another's events while it holds more than they do; on Redis each caller has its own bytes.
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

export type { EventId, EventStore, JSONRPCMessage, StreamId };

/**
 * An `EventStore` told whose each event is: `owner` is the caller (a token's name; for a session
 * opened without a token, `sessionOwner(its id)`). A store without owners (the SDK's interface)
 * simply ignores the argument; absent, the event belongs to one shared owner.
 */
export interface OwnedEventStore extends EventStore {
  storeEvent(streamId: StreamId, message: JSONRPCMessage, owner?: string): Promise<EventId>;
  /** Drops every event `owner` holds: a closed session's own, which nothing can resume now. */
  forgetOwner?(owner: string): void;
}

/** The owner of a session opened without a token: a caller of its own, as in every other share. */
export function sessionOwner(sessionId: string): string {
  return `${SESSION_OWNER}${sessionId}`;
}

/**
 * The owner a store with no bound across its owners counts an event against: the sessions opened
 * without a token are one owner there, `anonymous`, or a client could hold a caller's bound per
 * session it opened.
 */
export function boundedOwner(owner: string): string {
  return owner.startsWith(SESSION_OWNER) ? 'anonymous' : owner;
}

const SESSION_OWNER = 'session:';

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
